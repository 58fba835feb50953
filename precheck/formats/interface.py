"""What an output format is: a name and `format(result) -> str`, never printing.

The commands choose where the text goes (a file written whole, stdout, $GITHUB_STEP_SUMMARY);
a new format is one module implementing Format, wired to its option in the command. A Protocol, so
that the JSON codec (data/json.py), which sits below every format, is one without importing this.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Format(Protocol):
    name: str  # as users meet it: "json", "junit", "markdown", "github"

    def format(self, result) -> str:
        """The whole text for `result` (a Report, CiRun, TrainReport, FixOutcome or plain dict)."""
