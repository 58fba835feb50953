"""Readable where it runs: at 80 columns (a pipe, a CI log) every figure and name prints whole (issue 13)."""
from __future__ import annotations

import pytest

from output_checks import cut_lines, figures_that_must_be_whole, missing, scan_view_and_report


@pytest.fixture(scope="module")
def overflow_view(overflow_run):
    """(exit code, terminal view at 80 columns, JSON report) of the session's full overflow scan."""
    return overflow_run.exit_code, overflow_run.stdout, overflow_run.report


def test_scan_view_at_80_columns_has_no_cut_cell(overflow_view):
    exit_code, view, _ = overflow_view
    assert exit_code == 1
    assert cut_lines(view) == []


def test_scan_view_at_80_columns_prints_every_report_figure_whole(overflow_view):
    _, view, report = overflow_view
    assert report["fixes"] and any(r["status"] == "nonfinite" for r in report["results"])
    assert missing(view, figures_that_must_be_whole(report)) == []


def test_scan_view_at_80_columns_keeps_tables_within_80(overflow_view):
    _, view, _ = overflow_view
    # Code snippets are printed unwrapped to be copied; every table line fits the width.
    framed = [line for line in view.splitlines() if line[:1] in "┃│┏┡└╭╰"]
    assert framed and max(len(line) for line in framed) <= 80


def test_scan_view_moves_columns_that_do_not_fit_to_a_continued_table(overflow_view):
    _, view, _ = overflow_view
    assert "Test runs against float32 (8 texts) (continued)" in view


def test_scan_view_honours_columns(overflow_model, probe_file, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    _, view, report = scan_view_and_report(overflow_model, probe_file, tmp_path, "-d", "fp16", "--no-fix")
    assert "(continued)" not in view
    assert max(len(line) for line in view.splitlines()) > 80
    assert missing(view, figures_that_must_be_whole(report)) == []


def test_scan_view_prints_fix_code_lines_uncut(overflow_view):
    _, view, report = overflow_view
    best = next(f for f in report["fixes"] if f["recommended"])
    for line in best["snippet"].splitlines() + best["precheck_snippet"].splitlines():
        assert line.rstrip() in view


def test_ci_view_at_80_columns_prints_long_model_names_and_figures_whole(ci_pair_run, plain_model, overflow_model):
    run = ci_pair_run
    runs = run.json()["models"]
    assert run.exit_code == 1 and cut_lines(run.stdout) == []
    wanted = ["nonfinite", "keep-fp32"]
    wanted += [format(r["min_cosine"], ".6f") for m in runs for r in m["report"]["results"]
               if r["strategy"] == "load" and r["min_cosine"] is not None]
    assert missing(run.stdout, wanted) == []
    # A path longer than the line folds onto the next one; read back unfolded, it is whole.
    unfolded = "".join(run.stdout.splitlines())
    assert str(plain_model) in unfolded and str(overflow_model) in unfolded


def test_train_check_view_at_80_columns_has_no_cut_cell(cross_encoder_training_run):
    run = cross_encoder_training_run
    assert cut_lines(run.stdout) == []
    assert "CrossEncoderTrainingArguments(output_dir=" in run.stdout


def test_scan_view_at_60_columns_still_cuts_nothing(overflow_model, probe_file, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    _, view, report = scan_view_and_report(overflow_model, probe_file, tmp_path, "-d", "fp16", "--no-fix")
    assert cut_lines(view) == []
    assert "(continued)" in view
    assert all(r["status"] in view for r in report["results"])
