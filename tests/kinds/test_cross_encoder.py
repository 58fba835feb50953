"""CrossEncoder models: scan scores in half precision, and the training pre-check (issue 5)."""
from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import invoke


@pytest.fixture(scope="module")
def cross_encoder_scan(cross_encoder_model, pairs_file):
    run = invoke("scan", cross_encoder_model, "--pairs", pairs_file, "--json", "-", "--quiet")
    return run, run.json()


def test_scan_recognises_a_cross_encoder(cross_encoder_scan):
    _, report = cross_encoder_scan
    assert report["model"]["kind"] == "cross-encoder"


def test_scan_cross_encoder_passes_fp16_and_bf16_before_training(cross_encoder_scan):
    run, report = cross_encoder_scan
    assert run.exit_code == 0
    assert {r["status"] for r in report["results"]} == {"ok"}


def test_scan_cross_encoder_reports_score_figures(cross_encoder_scan):
    _, report = cross_encoder_scan
    for result in report["results"]:
        assert result["min_cosine"] is None
        assert 0.99 <= result["spearman"] <= 1.0
        assert 0 <= result["max_abs_diff"] < 0.01
        assert result["top1_agreement"] == 1.0
    assert report["settings"]["probe_items"] == 8


def test_scan_cross_encoder_report_validates(cross_encoder_scan):
    from precheck.data.schema import REPORT_SCHEMA

    jsonschema.validate(cross_encoder_scan[1], REPORT_SCHEMA)


def test_scan_cross_encoder_module_table_is_shown(cross_encoder_scan):
    _, report = cross_encoder_scan
    rows = report["modules"]["float16"]
    assert rows and rows[0]["params"] > 0 and not any(r["flagged"] for r in rows)


def test_scan_cross_encoder_reads_jsonl_pairs(cross_encoder_model, tmp_path):
    from conftest import PROBE_PAIRS

    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"query": q, "passage": p}) + "\n" for q, p in PROBE_PAIRS[:4]))
    run = invoke("scan", cross_encoder_model, "--pairs", path, "-d", "bf16", "--json", "-", "-q")
    assert run.exit_code == 0
    assert run.json()["settings"]["probe_items"] == 4


def test_scan_cross_encoder_with_texts_exits_2(cross_encoder_model, probe_file):
    run = invoke("scan", cross_encoder_model, "--texts", probe_file)
    assert run.exit_code == 2
    assert "--pairs" in run.stderr and "Traceback" not in run.stderr


def test_scan_bad_pairs_line_exits_2(cross_encoder_model, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("no tab here\nalso none\n")
    run = invoke("scan", cross_encoder_model, "--pairs", path)
    assert run.exit_code == 2
    assert "tab-separated" in run.stderr


def test_kind_option_overrides_detection(plain_model, pairs_file):
    run = invoke("scan", plain_model, "--kind", "cross-encoder", "--texts", pairs_file)
    assert run.exit_code == 2
    assert "is a cross-encoder, which takes --pairs" in run.stderr


def test_spearman_counts_ties_as_lost_order():
    from precheck.compare.dense import spearman

    assert spearman([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(1.0)
    assert spearman([0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]) == 0.0
    assert spearman([0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.6, 0.6]) < 0.95
