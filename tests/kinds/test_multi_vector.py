"""The multi-vector-encoder kind (issue 22): a MultiVectorEncoder (ColBERT-style) detected from its
saved config, probed with (query, passage) pairs, compared by token vectors and MaxSim scores."""
from __future__ import annotations

import json

import pytest

from conftest import PROBE_PAIRS, invoke


@pytest.fixture(scope="module")
def multi_vector_scan(tmp_path_factory):
    from multi_vector_models import build_multi_vector_model

    model = build_multi_vector_model(tmp_path_factory.mktemp("mve") / "mve")
    run = invoke("scan", model, "--json", "-", "-q")
    return model, run, run.json()


@pytest.fixture(scope="module")
def overflow_multi_vector_scan(tmp_path_factory, pairs_file):
    """The overflowing one on the short pairs (the clean scan above probes the built-in ones)."""
    from multi_vector_models import build_multi_vector_model

    model = build_multi_vector_model(tmp_path_factory.mktemp("mve") / "mve-overflow", overflow=True)
    run = invoke("scan", model, "--pairs", pairs_file, "--json", "-", "-q")
    return model, run, run.json()


def test_scan_detects_a_saved_multi_vector_encoder(multi_vector_scan):
    _, _, report = multi_vector_scan
    assert report["model"]["kind"] == "multi-vector-encoder"


def test_scan_multi_vector_report_matches_the_schema(multi_vector_scan, overflow_multi_vector_scan):
    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    jsonschema.validate(multi_vector_scan[2], REPORT_SCHEMA)
    jsonschema.validate(overflow_multi_vector_scan[2], REPORT_SCHEMA)


def test_scan_multi_vector_healthy_passes_with_token_and_maxsim_figures(multi_vector_scan):
    _, run, report = multi_vector_scan
    assert run.exit_code == 0
    for result in report["results"]:
        assert result["status"] == "ok"
        assert 0.99 < result["min_cosine"] <= result["mean_cosine"] <= 1.0 + 1e-9
        assert result["spearman"] > 0.99 and result["max_abs_diff"] is not None
        assert result["top1_agreement"] == 1.0
    assert "min token cosine" in report["verdict"]["dtypes"][0]["summary"]


def test_scan_multi_vector_probes_the_builtin_pairs(multi_vector_scan):
    _, _, report = multi_vector_scan
    assert report["settings"]["probe_source"] == "builtin" and report["settings"]["probe_items"] >= 20


def test_scan_multi_vector_float16_overflow_is_nonfinite_and_found_at_the_projection(overflow_multi_vector_scan):
    _, run, report = overflow_multi_vector_scan
    by_run = {(r["dtype"], r["strategy"]): r["status"] for r in report["results"]}
    assert run.exit_code == 1
    assert by_run[("float16", "load")] == "nonfinite" and by_run[("bfloat16", "load")] == "ok"
    diagnosis = next(d for d in report["diagnoses"] if d["strategy"] == "load")
    assert (diagnosis["cause"], diagnosis["module"]) == ("overflow", "1.linear")


def test_scan_multi_vector_overflow_recommends_bfloat16_with_a_multi_vector_snippet(overflow_multi_vector_scan):
    _, _, report = overflow_multi_vector_scan
    best = next(f for f in report["fixes"] if f["recommended"])
    assert best["strategy"] == "bf16" and "MultiVectorEncoder" in best["snippet"]


def test_scan_multi_vector_has_no_server_flags(multi_vector_scan):
    assert multi_vector_scan[2]["serving"] == []


def test_scan_multi_vector_reads_pairs(multi_vector_scan, pairs_file):
    model, _, _ = multi_vector_scan
    run = invoke("scan", model, "--pairs", pairs_file, "-d", "bf16", "--no-fix", "--json", "-", "-q")
    assert run.exit_code == 0 and run.json()["settings"]["probe_items"] == len(PROBE_PAIRS)


def test_scan_multi_vector_refuses_texts_in_one_line(multi_vector_scan, probe_file):
    model, _, _ = multi_vector_scan
    run = invoke("scan", model, "--texts", probe_file)
    assert run.exit_code == 2 and run.stderr.count("\n") == 1
    assert "is a multi-vector-encoder, which takes --pairs, not --texts" in run.stderr


def test_scan_multi_vector_refuses_storage_in_one_line(multi_vector_scan):
    model, _, _ = multi_vector_scan
    run = invoke("scan", model, "--storage", "int8")
    assert run.exit_code == 2 and "--storage measures dense embeddings" in run.stderr


@pytest.mark.parametrize("files", [
    {"config_sentence_transformers.json": {"model_type": "ColBERT"}, "config.json": {"model_type": "bert"}},
    {"config.json": {"architectures": ["HF_ColBERT"], "model_type": "bert"}},
], ids=["pylate", "stanford"])
def test_colbert_checkpoints_are_detected_as_multi_vector_encoders(tmp_path, files):
    from precheck.loading.resolve import inspect_folder

    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
    assert inspect_folder(tmp_path)[0] == "multi-vector-encoder"


def test_ci_gates_a_multi_vector_encoder_and_merge_reads_it_back(multi_vector_scan, tmp_path, monkeypatch):
    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    model, _, _ = multi_vector_scan
    monkeypatch.chdir(tmp_path)
    (tmp_path / "precheck.toml").write_text(f'[[models]]\nname = "{model}"\ndtypes = ["bf16"]\nfix = false\n'
                                            'kind = "multi-vector-encoder"\n', encoding="utf-8")
    run = invoke("ci", "--json", tmp_path / "ci.json", "-q")
    merged = invoke("merge", tmp_path / "ci.json", "--json", "-", "-q")
    report = json.loads((tmp_path / "ci.json").read_text())["models"][0]["report"]
    assert run.exit_code == 0 and merged.exit_code == 0
    jsonschema.validate(report, REPORT_SCHEMA)
    assert merged.json()["models"][0]["report"]["model"]["kind"] == "multi-vector-encoder"


def test_fix_writes_a_multi_vector_encoder_that_reloads_and_passes(overflow_multi_vector_scan, pairs_file, tmp_path):
    model, _, _ = overflow_multi_vector_scan
    run = invoke("fix", model, "--out", tmp_path / "fixed", "-d", "fp16", "--pairs", pairs_file, "--json", "-", "-q")
    outcome = run.json()
    assert run.exit_code == 0 and outcome["done"]
    assert outcome["plan"]["strategy"] == "bf16" and outcome["check"]["status"] == "ok"
    saved = json.loads((tmp_path / "fixed" / "config_sentence_transformers.json").read_text())
    assert saved["model_type"] == "MultiVectorEncoder"
