"""Storage precisions on sentence-transformers 3.0.1: every precision is measured on the old stack too."""
from __future__ import annotations

from conftest import invoke
from storage_checks import ALL, FAST
from storage_checks import storage_row as _row


def test_scan_storage_on_sentence_transformers_3_reports_every_precision(tiny_model):
    run = invoke("scan", tiny_model, *FAST, "--storage", ALL, "--min-recall", "0", "--json", "-", "-q")
    report = run.json()
    assert run.exit_code == 0 and report["environment"]["sentence_transformers"].startswith("3.")
    assert _row(report, "float32", "float32")["recall_at_10"] == 1.0
    assert len(report["storage"]["results"]) == 12
