"""Where and why a low-precision run fails, and the smallest verified fix (issue 4)."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import TWO_LAYER_OVERFLOW_LAYER, invoke, scan_json


def diagnosis(report: dict, dtype: str, strategy: str = "load") -> dict:
    return next(d for d in report["diagnoses"] if d["dtype"] == dtype and d["strategy"] == strategy)


def fixes(report: dict, dtype: str) -> dict[str, dict]:
    return {f["strategy"]: f for f in report["fixes"] if f["dtype"] == dtype}


def run_snippet(snippet: str) -> torch.Tensor:
    scope: dict = {}
    exec(compile(snippet, "<snippet>", "exec"), scope)  # noqa: S102 - the user's copy-paste, run as they would
    return torch.as_tensor(scope["embeddings"]).float()


# float32 made inside the forward

def test_float32_in_forward_is_diagnosed_with_the_module_that_made_it(float32_in_forward_scan):
    _, report = float32_in_forward_scan
    found = diagnosis(report, "float16")
    assert found["cause"] == "float32-in-forward"
    assert found["module"] == "2.proj"
    assert found["producer"] == "2"
    assert found["input_dtypes"] == ["float32"]
    assert found["param_dtypes"] == ["float16"]


def test_float32_in_forward_is_not_fixed_by_cast(float32_in_forward_scan):
    _, report = float32_in_forward_scan
    for dtype in ("float16", "bfloat16"):
        assert fixes(report, dtype)["cast"]["verified"] is False


def test_float32_in_forward_is_fixed_by_autocast_and_it_is_recommended(float32_in_forward_scan):
    _, report = float32_in_forward_scan
    for dtype in ("float16", "bfloat16"):
        autocast = fixes(report, dtype)["autocast"]
        assert autocast["verified"] is True
        assert autocast["recommended"] is True
        assert [f["strategy"] for f in report["fixes"] if f["dtype"] == dtype and f["recommended"]] == ["autocast"]


def test_autocast_snippet_runs_with_plain_sentence_transformers(float32_in_forward_scan):
    _, report = float32_in_forward_scan
    snippet = fixes(report, "float16")["autocast"]["snippet"]
    assert "precheck" not in snippet
    embeddings = run_snippet(snippet)
    assert torch.isfinite(embeddings).all()


# overflow

def test_overflow_culprit_is_named_inside_the_scaled_layer(overflow_scan):
    _, report = overflow_scan
    found = diagnosis(report, "float16")
    assert found["cause"] == "overflow"
    assert f"encoder.layer.{TWO_LAYER_OVERFLOW_LAYER}." in found["module"]
    assert found["probe_items"]


def test_overflow_keep_fp32_plan_is_verified_under_15_percent(overflow_scan):
    _, report = overflow_scan
    plan = fixes(report, "float16")["keep-fp32"]
    assert plan["verified"] is True
    assert 0 < plan["fp32_param_share"] < 0.15
    assert all(f"encoder.layer.{TWO_LAYER_OVERFLOW_LAYER}" in path for path in plan["keep_fp32"])
    assert plan["min_cosine"] >= 0.999


def test_overflow_offers_bf16_too(overflow_scan):
    _, report = overflow_scan
    found = fixes(report, "float16")
    assert found["bf16"]["verified"] is True
    assert found["keep-fp32"]["recommended"] is True
    assert found["cast"]["verified"] is False and found["autocast"]["verified"] is False


def test_overflow_headroom_shows_the_block_past_float16_max(overflow_scan, plain_scan):
    _, report = overflow_scan
    over = [h for h in report["headroom"] if h["fp16_fraction"] >= 1]
    # Past the edge: the layer, its feed-forward part and the pipeline module holding them, each
    # reaching it inside that layer.
    assert any(h["module"].endswith(f"encoder.layer.{TWO_LAYER_OVERFLOW_LAYER}") for h in over)
    assert all(f"encoder.layer.{TWO_LAYER_OVERFLOW_LAYER}." in h["max_at"] for h in over)
    _, plain = plain_scan
    assert plain["headroom"] and max(h["fp16_fraction"] for h in plain["headroom"]) < 0.01


def test_keep_fp32_snippet_runs_with_plain_sentence_transformers(overflow_scan):
    _, report = overflow_scan
    embeddings = run_snippet(fixes(report, "float16")["keep-fp32"]["snippet"])
    assert torch.isfinite(embeddings).all()


def test_scan_terminal_shows_diagnosis_and_fix_panels(overflow_run):
    run = overflow_run
    assert run.exit_code == 1
    assert "Diagnosis" in run.stdout and "Fix for float16" in run.stdout
    assert "precheck.load(" in run.stdout and "register_forward_hook" in run.stdout
    assert "fix: keep-fp32 (verified" in run.stdout


def test_no_fix_skips_the_search_but_keeps_the_diagnosis(two_layer_overflow_model, probe_file):
    run, report = scan_json(two_layer_overflow_model, probe_file, "-d", "fp16", "--no-fix")
    assert run.exit_code == 1
    assert report["fixes"] == []
    assert diagnosis(report, "float16")["cause"] == "overflow"


# drift

def test_drift_is_traced_to_the_innermost_block_that_adds_most_error(drift_report):
    found = next(d for d in drift_report.diagnoses if d.dtype == "bfloat16" and d.strategy == "load")
    assert found.cause == "drift"
    assert found.module.startswith("0.")  # a block inside the Transformer, not the whole of it
    rows = {row.module: row for row in drift_report.drift}
    siblings = [r for m, r in rows.items() if m != found.module and m.count(".") == found.module.count(".")
                and m.startswith("0.") and not m.startswith(found.module)]
    assert all(rows[found.module].added >= r.added for r in siblings if ".layer." in r.module)
    assert found.module_class and found.module_class in found.detail


def test_drift_keep_fp32_search_tries_layers_and_parts_named_by_their_class(drift_report):
    keep = next(f for f in drift_report.fixes if f.dtype == "bfloat16" and f.strategy == "keep-fp32")
    assert keep.probe_runs >= 1
    assert ".layer." in keep.detail and "(Bert" in keep.detail
    assert "keeping 0 would" not in keep.detail


def forward_entry_order(model_path) -> list[str]:
    """Every module of the plain sentence-transformers model, in the order one encode enters it."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu")
    order: list[str] = []
    handles = [module.register_forward_pre_hook(lambda _m, _a, name=name: order.append(name))
               for name, module in model.named_modules() if name]
    model.encode(["hello world"])
    for handle in handles:
        handle.remove()
    return list(dict.fromkeys(order))


def test_drift_is_measured_at_every_block_in_order(drift_report, plain_model):
    import re

    modules = [row.module for row in drift_report.drift]
    layers = [int(m.rsplit(".", 1)[1]) for m in modules if re.fullmatch(r"0\.\w+\.encoder\.layer\.\d+", m)]
    assert layers == list(range(6))  # every block of all-MiniLM-L6-v2's six, once each
    entered = forward_entry_order(plain_model)
    assert set(modules) <= set(entered)
    assert modules == [m for m in entered if m in set(modules)]  # the rows follow the forward pass
    # bfloat16 rounds every block's output; a block adds at most the error at its output.
    assert all(0 < row.relative_error < 0.1 and row.added <= row.relative_error for row in drift_report.drift)
    assert all(row.dtype == "bfloat16" and row.strategy == "load" for row in drift_report.drift)


# apply: precheck fix and precheck.load

@pytest.fixture(scope="module")
def fixed_folder(two_layer_overflow_model, probe_file, tmp_path_factory):
    """`precheck fix` of the two-layer MiniLM whose last layer overflows in float16."""
    out = tmp_path_factory.mktemp("fixed") / "overflow-fp16"
    run = invoke("fix", two_layer_overflow_model, "--dtype", "fp16", "--out", out, "--texts", probe_file, "-q")
    return run, out


def test_fix_writes_the_model_and_a_plan(fixed_folder):
    run, out = fixed_folder
    assert run.exit_code == 0
    plan = json.loads((out / "precheck.json").read_text())
    assert plan["schema"] == "precheck.plan/1"
    assert plan["strategy"] == "keep-fp32" and plan["dtype"] == "float16"
    assert (out / "modules.json").is_file()
    assert "reloaded it with precheck.load" in run.stdout


def test_fixed_folder_loads_with_precheck_and_encodes_close_to_float32(fixed_folder):
    import precheck
    from conftest import PROBE_TEXTS
    from sentence_transformers import SentenceTransformer

    _, out = fixed_folder
    reference = torch.as_tensor(SentenceTransformer(str(out), device="cpu").encode(PROBE_TEXTS))
    model = precheck.load(str(out), dtype="fp16", device="cpu")
    embeddings = torch.as_tensor(model.encode(PROBE_TEXTS)).float()
    assert torch.isfinite(embeddings).all()
    assert torch.nn.functional.cosine_similarity(reference, embeddings).min() >= 0.999


def test_fix_refuses_a_non_empty_out_without_force(fixed_folder, two_layer_overflow_model):
    _, out = fixed_folder
    before = (out / "precheck.json").read_text()
    run = invoke("fix", two_layer_overflow_model, "--out", out, "-q")
    assert run.exit_code == 2
    assert "--force" in run.stderr and "Traceback" not in run.stderr
    assert (out / "precheck.json").read_text() == before


def test_load_without_a_plan_finds_one_on_the_spot(two_layer_model, probe_file):
    import precheck

    model = precheck.load(str(two_layer_model), dtype="bf16", device="cpu", texts_file=probe_file)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_unsupported_kernel_messages_are_recognised():
    from precheck.diagnosis.localise import is_unsupported_message

    assert is_unsupported_message('"addmm_impl_cpu_" not implemented for \'Half\'')
    assert not is_unsupported_message("mat1 and mat2 must have the same dtype, but got Half and Float")


def test_a_plan_naming_a_module_the_model_lacks_is_refused_in_one_line(tiny_model, tmp_path):
    # A precheck.json copied beside another model: its keep_fp32 path is not there.
    import shutil

    import precheck

    folder = tmp_path / "other-model"
    shutil.copytree(tiny_model, folder)
    (folder / "precheck.json").write_text(json.dumps(
        {"schema": "precheck.plan/1", "dtype": "float16", "strategy": "keep-fp32", "keep_fp32": ["0.auto_model.nowhere"]}))
    with pytest.raises(precheck.PrecheckError, match="keep_fp32 names '0.auto_model.nowhere', which this model does not have"):
        precheck.load(str(folder), device="cpu")


def test_each_pipeline_modules_headroom_is_its_own_output(plain_scan):
    _, report = plain_scan
    modules = {h["module"]: h for h in report["headroom"] if h["kind"] == "module"}
    # Normalize outputs unit vectors; Pooling averages token embeddings, so stays under their maximum.
    assert modules["2"]["max_abs"] <= 1.0 + 1e-6
    assert modules["1"]["max_abs"] < modules["0"]["max_abs"]
