"""A later strategy whose model has the weights of one already run is not encoded again."""
from __future__ import annotations

import pytest

from conftest import scan_json
from same_weights_models import build_rotary_buffer_model


def _runs(report: dict) -> dict:
    return {(r["dtype"], r["strategy"]): r for r in report["results"]}


@pytest.fixture(scope="module")
def plain_fp16_scan(plain_fp16_run):
    return plain_fp16_run, plain_fp16_run.report


@pytest.fixture(scope="module")
def rotary_buffer_model(models_dir):
    return build_rotary_buffer_model(models_dir / "modernbert-rotary-buffer")


def test_scan_float16_cast_with_the_weights_of_load_is_same_as_load(plain_fp16_scan):
    _, report = plain_fp16_scan
    runs = _runs(report)
    assert runs["float16", "load"]["same_as"] is None
    assert runs["float16", "cast"]["same_as"] == "load"


def test_scan_same_as_load_reports_the_figures_of_load(plain_fp16_scan):
    _, report = plain_fp16_scan
    runs = _runs(report)
    load, cast = runs["float16", "load"], runs["float16", "cast"]
    for key in ("status", "nonfinite", "min_cosine", "mean_cosine", "top1_agreement", "param_bytes"):
        assert cast[key] == load[key], key
    assert load["seconds"] is not None and cast["seconds"] is None


def test_scan_table_says_same_weights_as_load(plain_fp16_run):
    run = plain_fp16_run
    assert run.exit_code == 0
    assert "same weights as load" in run.stdout


def test_scan_cast_that_changes_a_float_buffer_runs_both(rotary_buffer_model, probe_file):
    _, report = scan_json(rotary_buffer_model, probe_file, "--dtype", "fp16", "--no-fix")
    runs = _runs(report)
    assert runs["float16", "load"]["same_as"] is None
    assert runs["float16", "cast"]["same_as"] is None
    assert runs["float16", "cast"]["seconds"] is not None
