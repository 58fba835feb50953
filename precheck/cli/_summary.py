"""Where the job summary goes: --summary PATH (written whole or not at all) and $GITHUB_STEP_SUMMARY.

GitHub Actions renders the Markdown appended to the file named by GITHUB_STEP_SUMMARY on the run's page.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..outputs import write_file


def deliver_summary(markdown: str, path: str | None, force: bool = True) -> None:
    if path:
        # Whole or not at all (a temp file renamed into place), and exclusive without --force.
        write_file(Path(path), markdown, force, "--summary")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            with open(step_summary, "a", encoding="utf-8") as out:
                out.write(markdown + "\n")
        except OSError as exc:
            # The gate's verdict stands: a summary that cannot be written is worth a warning, not exit 2.
            typer.echo(f"precheck: warning: GITHUB_STEP_SUMMARY {step_summary}: {exc.strerror or exc}", err=True)


SummaryOption = Annotated[Optional[str], typer.Option(
    "--summary", help="Write a Markdown summary to PATH (also appended to $GITHUB_STEP_SUMMARY when set).")]
