"""precheck as users start it, a fresh interpreter through the entry point: it skips the interpreter's
teardown after a scan and loses nothing (the exit code, the JSON on stdout, the atexit handlers all come
through), and a quiet run leaves stderr empty (the libraries' warnings go to the real stderr, which
pytest's capture would hide). Both read one run of the tiny model, whose weights do not matter."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY = "import sys; from precheck.cli import main; sys.argv[0] = 'precheck'; main()"


def _precheck(*args) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", ENTRY, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def quiet_scan(tiny_model, tiny_texts) -> subprocess.CompletedProcess:
    """`precheck scan -q` in bfloat16 and two quantized precisions, the JSON on stdout."""
    return _precheck("scan", tiny_model, "--texts", tiny_texts, "-d", "bf16,int8,nf4", "--no-fix", "-q",
                     "--json", "-")


def test_entry_point_scan_keeps_exit_code_and_json_on_stdout(quiet_scan):
    assert quiet_scan.returncode in (0, 1), quiet_scan.stderr
    report = json.loads(quiet_scan.stdout)
    assert quiet_scan.returncode == (0 if report["verdict"]["passed"] else 1)
    assert [r["strategy"] for r in report["results"] if r["dtype"] == "bfloat16"] == ["load", "cast"]


def test_quiet_quantized_scan_writes_nothing_on_stderr(quiet_scan):
    assert quiet_scan.returncode in (0, 1), quiet_scan.stderr
    assert quiet_scan.stderr == ""
    assert json.loads(quiet_scan.stdout)["settings"]["dtypes"] == ["bfloat16", "int8", "nf4"]


def test_entry_point_bad_input_still_exits_2_with_one_line(tmp_path):
    run = _precheck("scan", tmp_path / "missing")
    assert run.returncode == 2
    assert run.stderr.strip().startswith("precheck: error:")
