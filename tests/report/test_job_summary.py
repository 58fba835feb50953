"""The job summary: GitHub Actions' $GITHUB_STEP_SUMMARY and --summary PATH (issue 13)."""
from __future__ import annotations

import json
import os

import pytest

from cli_checks import FAST
from conftest import invoke


@pytest.fixture(scope="module")
def overflow_summary(overflow_run):
    """The session's overflow scan, run with GITHUB_STEP_SUMMARY set and --summary summary.md."""
    folder = overflow_run.folder
    step = (folder / "step_summary.md").read_text(encoding="utf-8")
    return overflow_run, step, (folder / "summary.md").read_text(encoding="utf-8"), overflow_run.report


def test_scan_appends_the_summary_to_github_step_summary(overflow_summary):
    run, step, _, _ = overflow_summary
    assert run.exit_code == 1
    assert step.startswith("earlier step\n")
    assert "### precheck scan: " in step and ": FAIL" in step


def test_scan_summary_option_writes_the_same_markdown(overflow_summary):
    _, step, summary, _ = overflow_summary
    assert summary.strip() in step


def test_scan_summary_rows_are_model_dtype_status_figure_and_fix(overflow_summary):
    _, _, summary, report = overflow_summary
    best = next(f for f in report["fixes"] if f["recommended"])
    assert "| dtype | status | figure | recommended fix |" in summary
    assert f"| float16 | nonfinite | - | keep-fp32 (verified, min cosine {best['min_cosine']:.6f}) |" in summary


def test_scan_summary_names_the_serving_flags(overflow_summary):
    _, _, summary, _ = overflow_summary
    assert "vllm `--dtype float32`" in summary or "vllm `--dtype bfloat16`" in summary


def test_scan_summary_appends_to_an_existing_file_without_force(tiny_model, tiny_texts, tmp_path):
    (tmp_path / "s.md").write_text("keep me\n")
    run = invoke("scan", tiny_model, "--texts", tiny_texts, *FAST, "--summary", tmp_path / "s.md")
    text = (tmp_path / "s.md").read_text()
    assert run.exit_code == 0, run.stderr
    assert text.startswith("keep me\n") and text.count("### precheck scan") == 1


@pytest.mark.parametrize("name", ["same path", "link"])
def test_scan_summary_at_github_step_summary_is_appended_once(tiny_model, tiny_texts, tmp_path, monkeypatch, name):
    # The docs' gate step: --summary "$GITHUB_STEP_SUMMARY", a file GitHub made and an earlier step wrote to.
    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n")
    summary = step
    if name == "link":
        summary = tmp_path / "summary.md"
        summary.symlink_to(step)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    run = invoke("scan", tiny_model, "--texts", tiny_texts, *FAST, "--summary", summary)
    text = step.read_text()
    assert run.exit_code == 0, run.stderr
    assert text.startswith("earlier step\n") and text.count("### precheck scan") == 1
    assert summary.is_symlink() == (name == "link")


def test_scan_without_github_actions_writes_no_step_summary(plain_fp16_run):
    # conftest unsets GITHUB_STEP_SUMMARY for the session; the run wrote its JSON and nothing beside it.
    assert "GITHUB_STEP_SUMMARY" not in os.environ
    assert plain_fp16_run.exit_code == 0
    assert sorted(p.name for p in plain_fp16_run.folder.iterdir()) == ["report.json"]


def test_ci_appends_one_row_per_model_and_dtype_to_github_step_summary(ci_pair_run, plain_model, overflow_model):
    run = ci_pair_run
    text = (run.folder / "step_summary.md").read_text(encoding="utf-8")
    assert run.exit_code == 1
    assert text.startswith("earlier step\n")
    assert "### precheck ci (`precheck.toml`): FAIL, 1 of 2 models pass" in text
    assert f"| `{plain_model}` | float16 | PASS | ok | min cosine " in text
    assert f"| `{overflow_model}` | float16 | FAIL | nonfinite | - | keep-fp32 (verified" in text
    assert (run.folder / "summary.md").read_text(encoding="utf-8").strip() in text


def test_summary_cells_escape_pipes_and_newlines():
    from precheck.formats.markdown import _cell

    assert _cell("a | b\nc") == "a \\| b c"


def test_summary_append_that_fails_part_way_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    import errno

    from precheck.errors import PrecheckError
    from precheck.io.outputs import append_file

    target = tmp_path / "step_summary.md"
    target.write_text("earlier step\n")
    real_write = os.write

    def full_after_a_few_bytes(handle, data):
        real_write(handle, data[:5])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_after_a_few_bytes)
    with pytest.raises(PrecheckError, match="--summary .* No space left on device"):
        append_file(target, "### precheck ci: PASS\n", "--summary")
    monkeypatch.undo()
    assert target.read_text() == "earlier step\n"
