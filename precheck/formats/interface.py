"""What an output format is: a name and `format(result) -> str`, never printing.

The commands choose where the text goes (a file written whole, stdout, $GITHUB_STEP_SUMMARY);
a new format is one module implementing Format, wired to its option in the command.
"""
from __future__ import annotations

from abc import ABC, abstractmethod


class Format(ABC):
    name: str  # as users meet it: "json", "junit", "markdown", "github"

    @abstractmethod
    def format(self, result) -> str:
        """The whole text for `result` (a Report, CiRun, TrainReport, FixOutcome or plain dict)."""
