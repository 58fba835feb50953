"""The uncast Dense row of the original bug, read in a CI log: at 80 columns the flagged row,
its dtypes and every figure print whole (issue 13, sentence-transformers 3.0.1 stack)."""
from __future__ import annotations

import pytest

from output_checks import cut_lines, figures_that_must_be_whole, missing


@pytest.fixture(scope="module")
def dense_view(dense_fp16):
    return dense_fp16


def test_st3_scan_view_at_80_columns_shows_the_flagged_dense_row_whole(dense_view):
    exit_code, view, report = dense_view
    assert exit_code == 1
    row = next(r for r in report["modules"]["float16"] if r["cls"] == "Dense")
    assert row["flagged"]
    # The module table's row names the module and its class; the line under it, in the float16
    # column, says what is not float16 (render/scan.py module_table).
    lines = view.splitlines()
    at = next(i for i, line in enumerate(lines) if "Dense" in line and f" {row['path']} " in line)
    assert any(f"not float16: float32: {row['params']:,}" in line for line in lines[at:at + 3])


def test_st3_scan_view_at_80_columns_prints_every_report_figure_whole(dense_view):
    _, view, report = dense_view
    assert report["fixes"] and report["diagnoses"]
    assert cut_lines(view) == []
    assert missing(view, figures_that_must_be_whole(report)) == []
