"""The one exception type for "precheck cannot do its job".

The CLI turns it into a single stderr line (message, then hint) and exit code 2.
Failures of the model under test are never raised: they are results in the report.
"""
from __future__ import annotations


class PrecheckError(Exception):
    """Bad arguments, a model that cannot be found or loaded, remote code refused."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message.replace("\n", " ").strip()
        if self.hint:
            text = f"{text} ({self.hint.strip()})"
        return text
