"""Diagnoses and mixed-precision plans on model shapes beyond the MiniLM fixtures (issue 16)."""
from __future__ import annotations

import math

import jsonschema
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import shape_models
from conftest import scan_json
from output_checks import scan_view_and_report


def fixes(report: dict, dtype: str = "float16") -> dict[str, dict]:
    return {f["strategy"]: f for f in report["fixes"] if f["dtype"] == dtype}


def diagnosis(report: dict, dtype: str = "float16", strategy: str = "load") -> dict:
    return next(d for d in report["diagnoses"] if d["dtype"] == dtype and d["strategy"] == strategy)


# float32 made inside a module's own forward, consumed by different ops


class MakesFloat32(nn.Module):
    """Adds a float32 tensor made in its forward, then hands the result to `op` with its own weights."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op
        self.weight = nn.Parameter(torch.ones(8) if op == "layer_norm" else torch.randn(8, 8) / 8)
        self.conv = nn.Parameter(torch.randn(4, 4, 3) / 4)

    def forward(self, x):
        x32 = x + torch.arange(x.shape[-1], device=x.device).float()  # promoted to float32 here
        if self.op == "linear":
            return F.linear(x32, self.weight)
        if self.op == "matmul":
            return x32 @ self.weight
        if self.op == "bmm":
            return torch.bmm(x32, self.weight.expand(x.shape[0], 8, 8))
        if self.op == "layer_norm":
            return F.layer_norm(x32, (8,), self.weight)
        return F.conv1d(x32, self.conv, self.conv.new_zeros(4))


class Outer(nn.Module):
    def __init__(self, op: str) -> None:
        super().__init__()
        self.block = MakesFloat32(op)

    def forward(self, x):
        return self.block(x)


@pytest.mark.parametrize("op", ["linear", "matmul", "bmm", "layer_norm", "conv"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_dtype_mismatch_inside_a_clean_module_is_float32_in_forward_there(op, dtype):
    from precheck.diagnosis.localise import find_error_module

    net = Outer(op).to(getattr(torch, dtype))
    x = torch.randn(2, 4, 8, dtype=getattr(torch, dtype))
    found = find_error_module(net, lambda: net(x), dtype, "load")
    assert found is not None, f"{op} did not raise in {dtype}"
    assert found.cause == "float32-in-forward"
    assert found.module == "block" and found.producer == "block"
    assert "float32 was made inside the forward of block" in found.detail


def test_dtype_mismatch_messages_are_recognised_and_kernel_gaps_are_not():
    from precheck.diagnosis.localise import is_dtype_mismatch_message

    for message in (
        "mat1 and mat2 must have the same dtype, but got Half and Float",
        "expected m1 and m2 to have the same dtype, but got: float != c10::Half",
        "expected scalar type BFloat16 but found Float",
        "Input type (float) and bias type (c10::Half) should be the same",
        "mixed dtype (CPU): expect parameter to have scalar type of Float",
        "Input type (torch.FloatTensor) and weight type (torch.cuda.HalfTensor) should be the same",
    ):
        assert is_dtype_mismatch_message(message), message
    assert not is_dtype_mismatch_message('"addmm_impl_cpu_" not implemented for \'Half\'')
    assert not is_dtype_mismatch_message("CUDA out of memory")


# float32 made and consumed inside one module, in every layer


@pytest.fixture(scope="module")
def every_layer_scan(models_dir, two_layer_model, probe_file):
    """The stack after MiniLM's first two layers (the MiniLM part is not what is diagnosed)."""
    folder = shape_models.build_float32_every_layer_model(models_dir / "float32-every-layer", two_layer_model)
    return scan_json(folder, probe_file, "--trust-remote-code", "-d", "fp16")


def test_scan_float32_made_in_every_layer_is_float32_in_forward_at_that_module(every_layer_scan):
    run, report = every_layer_scan
    assert run.exit_code == 1
    found = diagnosis(report)
    assert found["cause"] == "float32-in-forward"
    assert found["module"] == "1.layers.0.attn" and found["producer"] == "1.layers.0.attn"
    assert found["module_class"] == shape_models.EVERY_LAYER_CLASS


def test_scan_float32_made_in_every_layer_recommends_autocast(every_layer_scan):
    _, report = every_layer_scan
    assert [f["strategy"] for f in report["fixes"] if f["recommended"]] == ["autocast"]
    assert fixes(report)["cast"]["verified"] is False


def test_scan_float32_made_in_every_layer_keeps_each_layers_module_in_a_verified_plan(every_layer_scan):
    _, report = every_layer_scan
    plan = fixes(report)["keep-fp32"]
    assert plan["verified"] is True
    wanted = {f"1.layers.{i}.attn" for i in range(shape_models.EVERY_LAYER_COUNT)}
    assert set(plan["keep_fp32"]) == wanted
    assert plan["probe_runs"] >= 1 and plan["fp32_param_share"] < 0.1


# two separately overflowing layers


@pytest.fixture(scope="module")
def two_overflow_model(models_dir):
    return shape_models.build_two_overflow_model(models_dir / "minilm-two-overflow")


@pytest.fixture(scope="module")
def two_overflow_scan(two_overflow_model, probe_file):
    return scan_json(two_overflow_model, probe_file, "-d", "fp16")


def test_scan_two_overflowing_layers_keeps_blocks_in_both_within_their_feed_forward_share(two_overflow_scan,
                                                                                         two_overflow_model):
    _, report = two_overflow_scan
    plan = fixes(report)["keep-fp32"]
    assert plan["verified"] is True and plan["min_cosine"] >= 0.999
    for layer in shape_models.OVERFLOW_LAYERS:
        assert any(f"encoder.layer.{layer}" in path for path in plan["keep_fp32"])
    assert plan["fp32_param_share"] <= 1.5 * shape_models.feed_forward_share(two_overflow_model)


def test_scan_two_overflowing_layers_recommends_the_small_plan_over_bf16(two_overflow_scan):
    _, report = two_overflow_scan
    found = fixes(report)
    assert found["bf16"]["verified"] is True
    assert found["keep-fp32"]["recommended"] is True and found["bf16"]["recommended"] is False


def test_scan_fixes_report_probe_runs_and_parameter_bytes(two_overflow_scan):
    _, report = two_overflow_scan
    found = fixes(report)
    low, full = found["cast"]["param_bytes"], found["autocast"]["param_bytes"]
    assert found["cast"]["probe_runs"] == 0 and found["autocast"]["probe_runs"] == 1
    assert found["keep-fp32"]["probe_runs"] >= 2
    assert low < found["keep-fp32"]["param_bytes"] < full
    assert found["keep-fp32"]["param_bytes"] == pytest.approx(low * (1 + found["keep-fp32"]["fp32_param_share"]),
                                                              rel=0.01)


def test_keep_fp32_snippet_with_children_left_low_runs_with_plain_sentence_transformers(two_overflow_scan):
    _, report = two_overflow_scan
    plan = fixes(report)["keep-fp32"]
    assert plan["run_low"], "the plan should let some children of the kept layers run in float16"
    scope: dict = {}
    exec(compile(plan["snippet"], "<snippet>", "exec"), scope)  # noqa: S102 - the user's copy-paste
    assert torch.isfinite(torch.as_tensor(scope["embeddings"]).float()).all()


def test_plan_children_left_low_round_trip_through_the_plan_file():
    from precheck.data.plan import Plan

    plan = Plan("float16", "keep-fp32", ["0.a.layer.1"], ["0.a.layer.1.attention"])
    assert Plan.from_dict(plan.to_dict()) == plan


# the recommendation rule


def _fix(strategy: str, share: float, cosine: float, verified: bool = True):
    from precheck.data.report import Fix

    return Fix("float16", strategy, [], share, verified, cosine, False, "", "", "ok" if verified else "error",
               param_bytes=int(1000 * (2 + 2 * share)))


def test_recommend_takes_the_fewest_parameter_bytes_then_the_best_cosine():
    from precheck.repair.search import recommend

    fixes_ = [_fix("autocast", 1.0, 0.99999), _fix("keep-fp32", 0.1, 0.9995), _fix("cast", 0.0, 0.9991)]
    assert recommend(fixes_, "overflow", True).strategy == "cast"
    tied = [_fix("keep-fp32", 0.1, 0.9995), _fix("keep-fp32", 0.1, 0.9999)]
    assert recommend(tied, "overflow", True).min_cosine == 0.9999


def test_recommend_prefers_bf16_over_a_plan_keeping_more_than_a_quarter_in_float32():
    from precheck.repair.search import recommend

    assert recommend([_fix("keep-fp32", 0.3, 0.99999), _fix("bf16", 0.0, 0.9994)], "overflow", True).strategy == "bf16"
    assert recommend([_fix("keep-fp32", 0.2, 0.99999), _fix("bf16", 0.0, 0.9994)], "overflow", True).strategy \
        == "keep-fp32"
    assert recommend([_fix("keep-fp32", 0.3, 0.99999), _fix("bf16", 0.0, 0.9994)], "overflow", False).strategy \
        == "keep-fp32"


def test_recommend_autocast_when_float32_is_made_in_the_forward():
    from precheck.repair.search import recommend

    fixes_ = [_fix("autocast", 1.0, 0.9999), _fix("keep-fp32", 0.05, 0.99999)]
    assert recommend(fixes_, "float32-in-forward", True).strategy == "autocast"


# mixed by design: modules transformers keeps in float32


@pytest.fixture(scope="module")
def sentence_t5_model(models_dir):
    return shape_models.build_sentence_t5_model(models_dir / "sentence-t5-tiny")


@pytest.fixture(scope="module")
def sentence_t5_scan(sentence_t5_model, probe_file, tmp_path_factory):
    """(exit code, terminal view, JSON report) of one `scan T5 -d fp16`."""
    return scan_view_and_report(sentence_t5_model, probe_file, tmp_path_factory.mktemp("sentence-t5"), "-d", "fp16")


def test_scan_sentence_t5_passes_float16_with_no_flagged_row(sentence_t5_scan):
    from precheck.data.schema import REPORT_SCHEMA

    exit_code, _, report = sentence_t5_scan
    assert exit_code == 0
    assert not any(row["flagged"] for row in report["modules"]["float16"])
    jsonschema.validate(report, REPORT_SCHEMA)


def test_scan_sentence_t5_names_the_wo_modules_transformers_keeps_in_float32(sentence_t5_scan):
    _, _, report = sentence_t5_scan
    transformer = report["modules"]["float16"][0]
    assert transformer["kept_in_fp32"] and all(path.endswith(".wo") for path in transformer["kept_in_fp32"])
    assert len(transformer["kept_in_fp32"]) == 2  # one per encoder block
    assert any("transformers keeps 2 module(s) in float32 on purpose" in note for note in report["notes"])


def test_scan_sentence_t5_terminal_says_transformers_keeps_them_on_purpose(sentence_t5_scan):
    exit_code, view, _ = sentence_t5_scan
    assert exit_code == 0
    assert "transformers keeps in float32 on purpose" in " ".join(view.split())  # a caption wraps
    assert "not float16" not in view


def test_cast_that_overrides_kept_modules_and_differs_from_load_is_said():
    from precheck.loading.defaults import notes
    from precheck.data.report import ModelInfo, ModuleRow, ProbeResult

    class Shape:  # the fields notes() reads, as a scan fills them
        model = ModelInfo("m", "/m", "sentence-transformer", "local")
        modules = {"float16": [ModuleRow("0", 0, "Transformer", 10, {}, {}, 0.1, False, ["0.auto_model.wo"],
                                         ["0.auto_model.rotary.inv_freq"])]}
        results = [ProbeResult("float16", "load", "ok", min_cosine=0.99999),
                   ProbeResult("float16", "cast", "nonfinite", nonfinite=3)]

    said = " ".join(notes(Shape()))
    assert "cast (.to(float16)) overrides the modules transformers keeps in float32" in said
    assert "0.auto_model.rotary.inv_freq" in said


# a decoder-only last-token embedder


@pytest.fixture(scope="module")
def decoder_model(models_dir):
    return shape_models.build_last_token_decoder_model(models_dir / "qwen2-last-token")


def test_scan_last_token_decoder_scans_clean(decoder_model, probe_file):
    run, report = scan_json(decoder_model, probe_file, "-d", "fp16", "--no-fix")
    assert run.exit_code == 0
    assert report["diagnoses"] == [] and not any(row["flagged"] for row in report["modules"]["float16"])
    layers = [h for h in report["headroom"] if h["kind"] in ("layer", "part")]
    assert {h["module"] for h in layers} >= {"0.model.layers.0", "0.model.layers.1", "0.model.layers.1.mlp"}
    assert all(h["max_abs"] is not None and h["max_abs"] > 0 for h in layers)


def test_scan_last_token_decoder_drift_is_measured_on_its_blocks(decoder_model, probe_file):
    from precheck import scan

    report = scan(str(decoder_model), dtypes=["bf16"], texts_file=probe_file, min_cosine=0.99999999, fix=False)
    modules = [row.module for row in report.drift]
    assert "0.model.layers.0" in modules and "0.model.layers.1.self_attn" in modules
    found = next(d for d in report.diagnoses if d.cause == "drift")
    assert found.module in modules
    assert all(math.isfinite(row.relative_error) for row in report.drift)


# what a plain load gives


@pytest.fixture(scope="module")
def declared_float16_model(models_dir, two_layer_model):
    return shape_models.build_declared_float16_model(models_dir / "minilm-declares-float16", two_layer_model)


def test_default_dtype_of_a_config_declaring_float16_is_what_a_plain_load_gives(declared_float16_model):
    from sentence_transformers import SentenceTransformer

    from precheck.loading.defaults import default_dtype

    plain = SentenceTransformer(str(declared_float16_model), device="cpu")
    assert default_dtype(str(declared_float16_model)) == str(plain.dtype).removeprefix("torch.") == "float16"


def test_default_dtype_of_a_plain_model_is_float32(plain_model):
    from sentence_transformers import SentenceTransformer

    from precheck.loading.defaults import default_dtype

    plain = SentenceTransformer(str(plain_model), device="cpu")
    assert default_dtype(str(plain_model)) == str(plain.dtype).removeprefix("torch.") == "float32"


def test_scan_reports_default_dtype_in_json_and_header(declared_float16_model, probe_file, tmp_path):
    _, view, report = scan_view_and_report(declared_float16_model, probe_file, tmp_path, "-d", "bf16", "--no-fix")
    assert report["model"]["default_dtype"] == "float16"
    assert any("users who pass no dtype already run it" in note for note in report["notes"])
    assert "default dtype float16" in view
