"""Where the job summary goes: --summary PATH and $GITHUB_STEP_SUMMARY, both appended to.

GitHub Actions renders the Markdown appended to the file named by GITHUB_STEP_SUMMARY on the run's page.
"""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from ..errors import PrecheckError
from ..io.output_checks import Output, same_file
from ..io.outputs import append_file


def summary_output(path: str | None) -> Output:
    """--summary as check_outputs sees it: appended to, so an existing file (GitHub creates
    $GITHUB_STEP_SUMMARY before each step) needs no --force; an input is still refused."""
    return Output("--summary", path, appended=True)


def deliver_summary(markdown: str, path: str | None) -> None:
    """The one rule: the summary is appended to --summary PATH (created if absent) and to
    $GITHUB_STEP_SUMMARY when set, once to a file that is both."""
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if path:
        append_file(path, markdown + "\n", "--summary")
        if step_summary and same_file(path, step_summary):
            return
    if step_summary:
        try:
            append_file(step_summary, markdown + "\n", "$GITHUB_STEP_SUMMARY")
        except PrecheckError as exc:
            # The gate's verdict stands: a job summary that cannot be written is worth a warning, not exit 2.
            typer.echo(f"precheck: warning: {exc.message}", err=True)


SummaryOption = Annotated[Optional[str], typer.Option(
    "--summary", help="Write a Markdown summary to PATH, appended (created if absent); also appended to "
                      "$GITHUB_STEP_SUMMARY when set, once if that is PATH; - is stdout.")]
