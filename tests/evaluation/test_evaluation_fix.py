"""--eval in the fix search (issue 34 item 3): each plan is verified on the user's metric as well as on
the probe figures; a plan that passes the probe figures but loses the metric is not offered. Real MiniLM
weights cut to two layers (the weights only need to overflow), short probe texts (these tests read the --eval
figures, not the built-in probe set's), sets written from sentences."""
from __future__ import annotations

import json

import pytest

from conftest import invoke
from evaluation_sets import beir_rows, write_beir
from fixture_models import LONG_FROM_POSITION, build_two_layer_minilm


@pytest.fixture(scope="module")
def beir_folder(tmp_path_factory):
    return write_beir(tmp_path_factory.mktemp("eval-fix") / "beir")


@pytest.fixture(scope="module")
def overflow_fix_run(tmp_path_factory, beir_folder, probe_file):
    """A two-layer MiniLM whose float16 overflows in its last layer, scanned in fp16 with --eval and the
    fix search: its terminal view (stdout) and its JSON report."""
    folder = tmp_path_factory.mktemp("eval-fix-model")
    model = build_two_layer_minilm(folder / "minilm-2-overflow", overflow=True)
    path = folder / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        run = invoke("scan", model, "-d", "fp16", "--texts", probe_file, "--eval", beir_folder, "--json", path)
    run.report = json.loads(path.read_text(encoding="utf-8"))
    return run


def _eval_row(report, dtype):
    return next(r for r in report["evaluation"]["results"] if r["dtype"] == dtype)


def _recommended(report, dtype):
    return next(f for f in report["fixes"] if f["dtype"] == dtype and f["recommended"])


def test_a_float16_overflow_in_one_layer_loses_the_metric_and_fails_the_gate(overflow_fix_run):
    report = overflow_fix_run.report
    assert overflow_fix_run.exit_code == 1
    float32, float16 = _eval_row(report, "float32"), _eval_row(report, "float16")
    assert not float16["passed"] and float16["metric"] < float32["metric"] - report["evaluation"]["max_metric_drop"]


def test_the_recommended_fix_restores_the_metric_within_the_gate(overflow_fix_run):
    report = overflow_fix_run.report
    fix = _recommended(report, "float16")
    row = fix["evaluation"]
    assert fix["verified"] and row["passed"]
    assert -row["difference"] <= report["evaluation"]["max_metric_drop"]
    assert row["metric"] == pytest.approx(_eval_row(report, "float32")["metric"] + row["difference"])


def test_every_verified_fix_states_its_metric_difference_and_interval(overflow_fix_run):
    verified = [f for f in overflow_fix_run.report["fixes"] if f["verified"]]
    assert verified
    for fix in verified:
        row = fix["evaluation"]
        assert row["metric"] is not None and row["interval"] is not None and len(row["interval"]) == 2
        assert "on --eval, nDCG@10" in fix["detail"] and "interval of the difference" in fix["detail"]


def test_the_terminal_shows_the_fix_s_metric(overflow_fix_run):
    text = " ".join(overflow_fix_run.stdout.split())
    assert "on --eval, nDCG@10" in text and "within --max-metric-drop 0.01" in text


# The probe set's texts are short; the set's documents pass LONG_FROM_POSITION tokens, where this model's
# position embeddings are past float16's range: only the user's metric sees the overflow.
LONG_DOCUMENT_SUFFIX = " ".join(["details"] * (LONG_FROM_POSITION + 8))


@pytest.fixture(scope="module")
def long_documents(tmp_path_factory, probe_file):
    """(a BEIR folder whose first document of each topic is long, a probe file of short texts)."""
    folder = tmp_path_factory.mktemp("eval-fix-long")
    corpus, queries, qrels = beir_rows()
    corpus = [{**d, "text": f"{d['text']} {LONG_DOCUMENT_SUFFIX}"} if d["_id"].endswith("-d0") else d
              for d in corpus]
    return write_beir(folder / "beir", corpus, queries, qrels), probe_file


@pytest.fixture(scope="module")
def long_documents_run(length_overflow_model, long_documents, tmp_path_factory):
    beir, texts = long_documents
    path = tmp_path_factory.mktemp("eval-fix-long-run") / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        run = invoke("scan", length_overflow_model, "-d", "fp16", "--texts", texts, "--eval", beir, "--json", path)
    run.report = json.loads(path.read_text(encoding="utf-8"))
    return run


def test_a_precision_that_passes_the_probe_figures_but_loses_the_metric_gets_a_fix_search(long_documents_run):
    report = long_documents_run.report
    load = next(r for r in report["results"] if r["dtype"] == "float16" and r["strategy"] == "load")
    assert load["status"] == "ok" and not _eval_row(report, "float16")["passed"]
    assert any(f["dtype"] == "float16" for f in report["fixes"])


def test_a_plan_that_passes_the_probe_figures_but_loses_the_metric_is_not_offered(long_documents_run):
    cast = next(f for f in long_documents_run.report["fixes"] if f["strategy"] == "cast")
    assert cast["status"] == "ok" and not cast["verified"] and not cast["recommended"]
    assert not cast["evaluation"]["passed"]
    assert "not offered: on --eval, nDCG@10" in cast["detail"]


def test_the_fix_offered_for_a_metric_loss_keeps_the_metric(long_documents_run):
    fix = _recommended(long_documents_run.report, "float16")
    assert fix["verified"] and fix["evaluation"]["passed"]


def test_the_terminal_says_a_precision_that_passes_the_probe_figures_loses_the_metric(long_documents_run):
    text = " ".join(long_documents_run.stdout.split())
    best = _recommended(long_documents_run.report, "float16")["strategy"]
    assert f"but it loses your metric (eval below); fix: {best} (verified on it too; code below)" in text


def test_fix_with_eval_writes_a_plan_that_keeps_the_metric_not_the_load_that_loses_it(length_overflow_model,
                                                                                      long_documents, tmp_path):
    beir, texts = long_documents
    run = invoke("fix", length_overflow_model, "-d", "fp16", "--texts", texts, "--eval", beir,
                 "--out", tmp_path / "fixed", "--json", tmp_path / "fix.json", "--quiet")
    assert run.exit_code == 0
    plan = json.loads((tmp_path / "fixed" / "precheck.json").read_text(encoding="utf-8"))
    outcome = json.loads((tmp_path / "fix.json").read_text(encoding="utf-8"))
    assert plan["strategy"] not in ("load", "cast")
    assert _recommended(outcome["report"], "float16")["strategy"] == plan["strategy"]
    assert _recommended(outcome["report"], "float16")["evaluation"]["passed"]
