"""The CI summary as Markdown (`--summary PATH`), appended so that PATH can be $GITHUB_STEP_SUMMARY:
the same rows as the terminal table (render/ci.py), for the page of a CI run."""
from __future__ import annotations

from ..gate.ci import CiRun
from .ci import COLUMNS, ci_rows, outcome_line


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def ci_markdown(run: CiRun) -> str:
    verdict = {0: "PASS", 1: "FAIL", 2: "ERROR"}[run.exit_code]
    lines = [f"### precheck: {verdict}, {outcome_line(run)}", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in ci_rows(run)]
    return "\n".join(lines) + "\n"
