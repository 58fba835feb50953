"""The one exception type for "precheck cannot do its job".

The CLI turns it into a single stderr line (message, then hint) and exit code 2.
Failures of the model under test are never raised: they are results in the report.
"""
from __future__ import annotations

# The name precheck is installed by (`precheck` on the package index is another project); the
# command and the import name stay `precheck`. README.md, "Install".
DISTRIBUTION = "precheck-st"


def install_hint(extra: str) -> str:
    """The pip line that installs one of precheck's extras: pip install 'precheck-st[html]'."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


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


class ConfigNotFound(PrecheckError):
    """No project config (precheck.toml, or [tool.precheck] in pyproject.toml) where one was looked for:
    `ci` cannot run, while `merge` goes on with the checks each shard made."""
