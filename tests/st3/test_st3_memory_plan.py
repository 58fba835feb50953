"""Memory plans on sentence-transformers 3.0.1: what that release can and cannot do with an offloaded reference."""
from __future__ import annotations

import pytest

from conftest import invoke, scan_json


@pytest.fixture(scope="module")
def tiny_scan(tiny_model, probe_file):
    return scan_json(tiny_model, probe_file, "-d", "fp16", "--no-fix")


def test_scan_offload_on_sentence_transformers_3_says_it_cannot_in_one_line(tiny_model):
    """sentence-transformers 3 moves a loaded model onto one device, which an offloaded one cannot
    survive: on a CPU-only machine with no room for the reference, that is the one line."""
    run = invoke("scan", tiny_model, "--max-memory", "cpu=1MiB")
    assert run.exit_code == 2
    assert "cannot hold an offloaded model" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_scan_memory_estimate_on_sentence_transformers_3_equals_the_references_param_bytes(tiny_scan):
    run, report = tiny_scan
    assert run.exit_code == 0
    assert report["memory"]["estimated_param_bytes"]["float32"] == report["reference"]["param_bytes"]
