"""A quantized precision's fix is weighed against every precision that already passes: one that passes
with fewer parameter bytes is recommended instead, with both figures (issue 35, item 5). MiniLM's real
weights with one projection's outliers (fixture_models): int8 fails and passes with that module kept out of
quantization, which holds more bytes than bfloat16, which passes as loaded."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bf16_and_int8(weight_outlier_model, probe_file):
    from precheck import scan

    return scan(str(weight_outlier_model), dtypes="bf16,int8", texts_file=probe_file)


def _fixes(report) -> dict:
    return {f.strategy: f for f in report.fixes if f.dtype == "int8"}


def test_a_smaller_passing_precision_is_recommended_over_a_larger_quantized_fix(bf16_and_int8):
    report = bf16_and_int8
    assert report.result("bfloat16", "load").status == "ok" and report.result("int8", "load").status == "drift"
    fixes = _fixes(report)
    kept, switch = fixes["keep-unquantized"], fixes["bf16"]
    assert kept.verified and not kept.recommended
    assert switch.verified and switch.recommended and report.recommended_fix("int8") is switch
    assert switch.param_bytes == report.result("bfloat16", "load").param_bytes < kept.param_bytes


def test_the_switch_says_why_with_both_figures(bf16_and_int8):
    fixes = _fixes(bf16_and_int8)
    kept, switch = fixes["keep-unquantized"], fixes["bf16"]
    assert f"bfloat16 already passes with {switch.param_bytes / 1e6:.1f} MB" in switch.detail
    assert f"against {kept.param_bytes / 1e6:.1f} MB for int8's keep-unquantized fix" in switch.detail


def test_the_switch_snippet_loads_bfloat16_without_a_quantization_config(bf16_and_int8):
    switch = _fixes(bf16_and_int8)["bf16"]
    assert '"torch_dtype": torch.bfloat16' in switch.snippet and "BitsAndBytesConfig" not in switch.snippet


def test_the_drift_diagnosis_gives_one_ranking_headed_by_the_block_it_names(bf16_and_int8):
    diagnosis = next(d for d in bf16_and_int8.diagnoses if d.dtype == "int8")
    assert diagnosis.detail.count("adds the most") == 1
    assert f"by the error each adds: {diagnosis.module} (+" in diagnosis.detail
