"""The exceptions for "precheck cannot do its job": PrecheckError and its subclasses, which say
what went wrong by their type (never by their text): OptionRefused carries the refused option's name,
ConfigNotFound says no project config was found.

The CLI's one error boundary (cli/_errors.py) maps them by type to a stderr line and an exit code (2).
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


class OptionRefused(PrecheckError):
    """An option refused at one of its doors (command line, config, Python keyword, plan file): an
    unknown name, a bad value, or a combination the options table forbids. `option` is the ScanOptions
    field (or the door's key, for an unknown one), whatever the door called it in the message."""

    def __init__(self, message: str, hint: str = "", option: str = "") -> None:
        super().__init__(message, hint)
        self.option = option
