"""The `precheck` entry point skips the interpreter's teardown after a scan, and loses nothing:
the exit code, the JSON on stdout and the atexit handlers all come through."""
from __future__ import annotations

import json
import subprocess
import sys

ENTRY = "import sys; from precheck.cli import main; sys.argv[0] = 'precheck'; main()"


def _precheck(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ENTRY, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_entry_point_scan_keeps_exit_code_and_json_on_stdout(plain_model, probe_file):
    run = _precheck("scan", plain_model, "--texts", probe_file, "-d", "bf16", "--no-fix", "--json", "-", "-q")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert [r["strategy"] for r in report["results"]] == ["load", "cast"]


def test_entry_point_bad_input_still_exits_2_with_one_line(tmp_path):
    run = _precheck("scan", tmp_path / "missing")
    assert run.returncode == 2
    assert run.stderr.strip().startswith("precheck: error:")
