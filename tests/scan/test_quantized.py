"""Quantized precisions (issue 28): bitsandbytes int8 / nf4 and torchao int8 weight-only loaded as
users load them, judged against their own gates, and refused in one line where they cannot run."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import json

import fixture_models
import jsonschema
import pytest

from conftest import TWO_LAYER_OVERFLOW_LAYER, invoke, scan_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quantized_scan(plain_model, probe_file):
    return scan_json(plain_model, probe_file, "--dtype", "int8,nf4", "--no-fix")


def test_scan_quantized_gives_figures_and_a_verdict_per_precision(quantized_scan):
    run, report = quantized_scan
    assert run.exit_code in (0, 1)
    by_dtype = {r["dtype"]: r for r in report["results"]}
    assert set(by_dtype) == {"int8", "nf4"}
    for result in by_dtype.values():
        assert 0.5 < result["min_cosine"] <= 1.0 and result["top1_agreement"] is not None
    assert [v["dtype"] for v in report["verdict"]["dtypes"]] == ["int8", "nf4"]


def test_scan_quantized_is_only_loaded_never_cast(quantized_scan):
    _, report = quantized_scan
    assert {r["strategy"] for r in report["results"]} == {"load"}
    assert {r["run"] for r in report["memory"]["runs"]} == {"reference", "load"}


def test_scan_quantized_records_the_gates_it_used(quantized_scan):
    from precheck.engine.verdict import QUANTIZED_GATES

    _, report = quantized_scan
    assert report["settings"]["gates"] == {"int8": QUANTIZED_GATES["int8"], "nf4": QUANTIZED_GATES["nf4"]}


def test_scan_quantized_report_validates(quantized_scan):
    from precheck.data.schema import REPORT_SCHEMA

    jsonschema.validate(quantized_scan[1], REPORT_SCHEMA)


def test_scan_quantized_module_table_shows_int8_and_packed_4bit_with_their_bytes(quantized_scan):
    _, report = quantized_scan
    float32 = report["modules"]["float32"][0]
    int8 = report["modules"]["int8"][0]["param_dtypes"]
    nf4 = report["modules"]["nf4"][0]["param_dtypes"]
    assert int8.get("int8", 0) > 0
    assert any(key.startswith("nf4 (4-bit in uint8, block") for key in nf4)
    assert not any(row["flagged"] for rows in report["modules"].values() for row in rows)
    for dtype in ("int8", "nf4"):
        assert report["modules"][dtype][0]["size_mb"] < 0.7 * float32["size_mb"]
    # every weight is counted once, whatever form it is held in
    assert sum(nf4.values()) == sum(report["modules"]["float32"][0]["param_dtypes"].values())


def test_rejudging_a_quantized_report_uses_its_recorded_gates(quantized_scan):
    from precheck.engine.verdict import Thresholds, thresholds

    _, report = quantized_scan
    settings = type("Settings", (), dict(report["settings"]))
    settings.gates = {**report["settings"]["gates"], "nf4": {"min_cosine": 0.5, "min_spearman": 0.5,
                                                            "min_top1_agreement": 0.0}}
    assert thresholds(settings, "nf4") == Thresholds(0.5, 0.5, 0.0)
    assert thresholds(settings, "float16").min_cosine == report["settings"]["min_cosine"]


def test_scan_gate_flag_sets_a_precision_threshold(tiny_model, tiny_texts):
    run, report = scan_json(tiny_model, tiny_texts, "-d", "int8wo", "--gate", "int8wo.min_cosine=1", "--no-fix")
    assert report["settings"]["gates"]["int8wo"]["min_cosine"] == 1.0
    result = report["results"][0]
    assert result["min_cosine"] is not None
    if result["min_cosine"] < 1.0:
        assert run.exit_code == 1 and "min cosine" in report["verdict"]["failures"][0]


def test_scan_quantized_cross_encoder_reports_scores(cross_encoder_model, pairs_file):
    run = invoke("scan", cross_encoder_model, "--pairs", pairs_file, "-d", "int8", "--no-fix", "--json", "-", "-q")
    assert run.exit_code in (0, 1)
    result = run.json()["results"][0]
    assert result["dtype"] == "int8" and result["spearman"] is not None


def test_scan_refuses_a_quantization_config_in_model_kwargs(tiny_model):
    run = invoke("scan", tiny_model, "--model-kwarg", "quantization_config={}")
    assert run.exit_code == 2
    assert "quantization_config" in run.stderr and "--dtype int8, nf4" in run.stderr


def test_gate_flag_refuses_half_precision_and_unknown_figures():
    for gate, words in (("fp16.min_cosine=0.9", "--min-cosine"), ("nf4.recall=0.9", "is no gate")):
        run = invoke("scan", "any-model", "-d", "nf4", "--gate", gate)
        assert run.exit_code == 2 and words in run.stderr


def test_config_accepts_quantized_dtypes_and_gates(tmp_path):
    from precheck.gate.config import find_config, parse_config

    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.precheck]
        models = [{name = "some/model", dtypes = ["nf4", "int8wo"]}]
        [tool.precheck.defaults.gates.nf4]
        min_top1_agreement = 0.9
        """))
    path, section = find_config(None, tmp_path)
    model = parse_config(path, section).models[0]
    assert tuple(model.dtypes) == ("nf4", "int8wo")
    assert model.gates == {"nf4": {"min_top1_agreement": 0.9}}


@pytest.mark.parametrize("dtype, absent", [("nf4", "bitsandbytes"), ("int8wo", "torchao")])
def test_scan_without_the_quant_extra_is_one_line_naming_it(tmp_path, dtype, absent):
    # The library is made absent in a child process, as an uninstalled package is: import finds nothing.
    (tmp_path / "sitecustomize.py").write_text(f"import sys\nsys.modules[{absent!r}] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    run = subprocess.run([sys.executable, "-c", "from precheck.cli import main; main()", "scan", "no-such/model",
                          "--dtype", dtype], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and absent in lines[0] and "precheck-st[quant]" in lines[0]


@pytest.fixture(scope="module")
def compute_dtype_scan(two_layer_overflow_model, probe_file):
    """The two-layer MiniLM whose last layer overflows in float16, at 4-bit with float16 compute and with
    bfloat16 compute, with the fix search."""
    return scan_json(two_layer_overflow_model, probe_file, "--dtype", "nf4-fp16,nf4")


def test_scan_nf4_fp16_turns_nan_where_nf4_stays_finite(compute_dtype_scan):
    _, report = compute_dtype_scan
    by_dtype = {r["dtype"]: r for r in report["results"]}
    assert by_dtype["nf4-fp16"]["status"] == "nonfinite" and by_dtype["nf4-fp16"]["nonfinite"] > 0
    assert by_dtype["nf4"]["nonfinite"] == 0 and by_dtype["nf4"]["min_cosine"] > 0.8


def test_nf4_fp16_diagnosis_names_the_compute_dtype_range(compute_dtype_scan):
    _, report = compute_dtype_scan
    diagnosis = next(d for d in report["diagnoses"] if d["dtype"] == "nf4-fp16")
    assert diagnosis["cause"] == "compute-dtype-range"
    assert diagnosis["module"].endswith(f"encoder.layer.{TWO_LAYER_OVERFLOW_LAYER}.intermediate.dense")
    assert "bnb_4bit_compute_dtype=torch.float16" in diagnosis["detail"] and "`nf4`" in diagnosis["detail"]


def test_nf4_fp16_fix_recommends_bfloat16_compute_over_keeping_a_layer_unquantized(compute_dtype_scan):
    _, report = compute_dtype_scan
    fixes = {f["strategy"]: f for f in report["fixes"] if f["dtype"] == "nf4-fp16"}
    assert fixes["bf16-compute"]["verified"] and fixes["bf16-compute"]["recommended"]
    assert fixes["bf16-compute"]["probe_runs"] == 0  # the scan's own nf4 run is reused
    kept = fixes["keep-unquantized"]
    assert kept["verified"] and not kept["recommended"]
    assert kept["keep_unquantized"] == [f"encoder.layer.{TWO_LAYER_OVERFLOW_LAYER}"]
    assert kept["param_bytes"] > fixes["bf16-compute"]["param_bytes"]
    assert 'bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16' in fixes["bf16-compute"]["snippet"]


@pytest.fixture(scope="module")
def int8_fix(weight_outlier_model, probe_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8-fix") / "fixed"
    run = invoke("fix", weight_outlier_model, "--dtype", "int8", "--texts", probe_file, "--out", out,
                 "--json", "-", "-q")
    return run, out


def test_int8_weight_outliers_are_diagnosed_in_their_module(int8_fix):
    run, _ = int8_fix
    report = run.json()["report"]
    diagnosis = report["diagnoses"][0]
    assert report["results"][0]["status"] == "drift"
    assert diagnosis["cause"] == "weight-outliers" and fixture_models.WEIGHT_OUTLIER_MODULE in diagnosis["detail"]


def test_fix_int8_keeps_one_module_out_of_quantization_and_verifies_the_reload(int8_fix):
    from precheck.data.schema import PLAN_FILE_SCHEMA

    run, out = int8_fix
    assert run.exit_code == 0
    outcome = run.json()
    assert outcome["done"] and outcome["check"]["status"] == "ok"
    assert outcome["plan"]["strategy"] == "keep-unquantized"
    assert outcome["plan"]["keep_unquantized"] == [fixture_models.WEIGHT_OUTLIER_MODULE]
    plan = json.loads((out / "precheck.json").read_text())
    jsonschema.validate(plan, PLAN_FILE_SCHEMA)
    assert plan["dtype"] == "int8" and plan["keep_unquantized"] == [fixture_models.WEIGHT_OUTLIER_MODULE]
    fix = outcome["report"]["fixes"][0]
    assert f"llm_int8_skip_modules={[fixture_models.WEIGHT_OUTLIER_MODULE]!r}" in fix["snippet"]


def test_precheck_load_reproduces_the_keep_unquantized_plan(int8_fix, weight_outlier_model, probe_file):
    import torch
    from sentence_transformers import SentenceTransformer

    import precheck

    _, out = int8_fix
    model = precheck.load(str(out), dtype="int8", device="cpu")
    net = model[0].auto_model
    assert type(net.get_submodule(fixture_models.WEIGHT_OUTLIER_MODULE)) is torch.nn.Linear
    assert type(net.get_submodule("encoder.layer.0.attention.output.dense")).__name__ == "Linear8bitLt"
    texts = probe_file.read_text(encoding="utf-8").splitlines()
    reference = SentenceTransformer(str(weight_outlier_model), device="cpu").encode(texts, convert_to_tensor=True)
    cosine = torch.nn.functional.cosine_similarity(reference, model.encode(texts, convert_to_tensor=True).float())
    assert float(cosine.min()) >= 0.98


def test_scan_storage_table_covers_a_quantized_precision(tiny_model):
    from precheck.data.schema import REPORT_SCHEMA

    run = invoke("scan", tiny_model, "-d", "int8wo", "--storage", "int8", "--gate", "int8wo.min_cosine=0.01",
                 "--gate", "int8wo.min_top1_agreement=0.01", "--min-recall", "0.01", "--no-fix", "--json", "-", "-q")
    assert run.exit_code == 0, run.stderr
    report = run.json()
    jsonschema.validate(report, REPORT_SCHEMA)
    rows = {(r["model_dtype"], r["precision"]) for r in report["storage"]["results"]}
    assert rows == {("float32", "int8"), ("int8wo", "int8")}


def test_serving_advice_for_a_quantized_precision_gives_no_flag_a_server_refuses():
    from precheck.engine.serving import quantized_advice
    from precheck.data.report import DtypeVerdict

    report = type("R", (), {"verdict": type("V", (), {"dtypes": [
        DtypeVerdict("nf4", True, "ok", ""), DtypeVerdict("int8", False, "drift", ""),
        DtypeVerdict("float16", True, "ok", "")]})()})()
    advice = quantized_advice(report)
    assert [a.server for a in advice] == ["text-embeddings-inference", "vllm", "infinity"]
    assert all(a.flag == "" and a.dtype is None and a.note.startswith("nf4 passed") for a in advice)
    assert "not supported" in advice[0].note
    assert "not verified" in advice[1].note and "not verified" in advice[2].note


def test_a_quantized_only_scan_gives_one_serving_line_per_server_and_no_flag_it_did_not_verify(quantized_scan):
    _, report = quantized_scan
    passed = [v["dtype"] for v in report["verdict"]["dtypes"] if v["passed"]]
    assert passed, "the plain model passes a quantized precision"
    servers = [a["server"] for a in report["serving"]]
    assert servers == ["text-embeddings-inference", "vllm", "infinity"]  # one line each, not one per precision
    assert all(a["flag"] == "" and a["dtype"] is None for a in report["serving"])  # no 16-bit dtype was scanned
    assert all(a["note"].startswith(f"{', '.join(passed)} passed") for a in report["serving"])


def test_serving_advice_merges_the_quantized_notes_into_the_16_bit_line(two_layer_model, probe_file):
    run, report = scan_json(two_layer_model, probe_file, "--dtype", "fp16,int8", "--no-fix")
    assert run.exit_code == 0, run.stderr
    assert [a["server"] for a in report["serving"]] == ["text-embeddings-inference", "vllm", "infinity"]
    assert all(a["flag"] == "--dtype float16" and "int8 passed" in a["note"] for a in report["serving"])
