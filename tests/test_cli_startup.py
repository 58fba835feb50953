"""precheck --help and argument errors answer before torch is imported."""
from __future__ import annotations

import subprocess
import sys


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, precheck.cli; print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_help_lists_every_command():
    from conftest import invoke

    run = invoke("--help")
    assert run.exit_code == 0
    assert "scan" in run.stdout and "fix" in run.stdout
