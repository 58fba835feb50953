"""precheck --help and argument errors answer before torch is imported."""
from __future__ import annotations

import subprocess
import sys

from cli_checks import registered_commands


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, precheck.cli; print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_help_lists_every_command_with_its_summary():
    from conftest import invoke

    run = invoke("--help")
    assert run.exit_code == 0
    rows = [line.strip("│ ").split() for line in run.stdout.splitlines()]
    listed = {row[0] for row in rows if len(row) > 1}
    # Each command on a row of its own followed by its summary, not merely a word somewhere in the text.
    assert set(registered_commands()) <= listed, set(registered_commands()) - listed
