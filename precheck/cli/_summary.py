"""Where the job summary goes: --summary PATH (written whole or not at all) and $GITHUB_STEP_SUMMARY.

GitHub Actions renders the Markdown appended to the file named by GITHUB_STEP_SUMMARY on the run's page.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import PrecheckError


def _write_atomically(path: Path, text: str) -> None:
    # A temp file beside the target, then one rename: a reader never sees half a summary.
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def deliver_summary(markdown: str, path: str | None) -> None:
    if path:
        try:
            _write_atomically(Path(path), markdown)
        except OSError as exc:
            raise PrecheckError(f"--summary {path}: {exc.strerror or exc}", "check the folder is writable") from None
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
