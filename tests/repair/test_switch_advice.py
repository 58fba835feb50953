"""Advice that weighs every half precision: a failing bfloat16 considers float16 (and the reverse),
by the memory each fix keeps; a fix in float32 weights says it saves nothing (issue 27, item 4)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bf16_drift_that_fp16_passes(tiny_model, probe_file):
    """A tiny random BERT in bfloat16 (min cosine 0.99999) against a floor that float16 (0.9999998)
    reaches and bfloat16 does not: the weights do not matter to the rule, only the two figures."""
    from precheck import scan

    return scan(str(tiny_model), dtypes="bf16", texts_file=probe_file, min_cosine=0.999999)


def test_a_verified_switch_to_float16_is_recommended_over_float32_weights(bf16_drift_that_fp16_passes):
    report = bf16_drift_that_fp16_passes
    assert report.result("bfloat16", "load").status == "drift"
    best = report.recommended_fix("bfloat16")
    assert best is not None and best.strategy == "fp16" and best.verified
    assert best.fp32_param_share == 0.0


def test_autocast_says_it_saves_no_memory(bf16_drift_that_fp16_passes):
    autocast = next(f for f in bf16_drift_that_fp16_passes.fixes if f.strategy == "autocast")
    assert autocast.fp32_param_share == 1.0 and "no memory saved" in autocast.detail


def test_the_switch_snippet_loads_float16_weights(bf16_drift_that_fp16_passes):
    best = bf16_drift_that_fp16_passes.recommended_fix("bfloat16")
    assert "torch.float16" in best.snippet and "torch.bfloat16" not in best.snippet


def test_a_search_that_ran_is_never_reported_as_not_tried(bf16_drift_that_fp16_passes, drift_report):
    fixes = [f for report in (bf16_drift_that_fp16_passes, drift_report) for f in report.fixes]
    assert any(f.status == "no-plan" for f in fixes)
    assert all(f.status != "not-tried" for f in fixes if f.probe_runs > 0)
