"""SparseEncoder (SPLADE) models: detected from their config, loaded as SparseEncoder, compared with
float32 by retrieval scores, active dimensions and top-k terms; diagnosed and fixed as other kinds."""
from __future__ import annotations

import json

import jsonschema
import pytest

import sparse_models
from cli_checks import assert_one_line_error
from conftest import invoke, scan_json
from precheck.data.schema import REPORT_SCHEMA


# MiniLM's first three layers under the masked-LM head, and three short texts: each probe run of a SPLADE
# model computes the 30522-wide vocabulary logits of every token, which long texts and a deep encoder multiply.
@pytest.fixture(scope="module")
def splade_model(models_dir):
    return sparse_models.build_splade_model(models_dir / "splade", layers=sparse_models.SPARSE_TEST_LAYERS)


@pytest.fixture(scope="module")
def splade_overflow_model(models_dir):
    return sparse_models.build_splade_model(models_dir / "splade-overflow", overflow=True,
                                            layers=sparse_models.SPARSE_TEST_LAYERS)


@pytest.fixture(scope="module")
def splade_scan(splade_model, tiny_texts):
    """Every default precision, as a new user runs it, on short texts."""
    return scan_json(splade_model, tiny_texts)


@pytest.fixture(scope="module")
def splade_overflow_scan(splade_overflow_model, tiny_texts):
    """`scan -d fp16 --no-fix`: the verdict and the diagnosis (the fix search is `fix`'s, below)."""
    return scan_json(splade_overflow_model, tiny_texts, "--dtype", "fp16", "--no-fix")


@pytest.fixture(scope="module")
def splade_fixed(splade_overflow_model, tiny_texts, tmp_path_factory):
    """`fix -d fp16 --json -`: the folder it writes, and the scan report with the fix search it ran."""
    out = tmp_path_factory.mktemp("sparse-fixed") / "splade-fp16"
    run = invoke("fix", splade_overflow_model, "--dtype", "fp16", "--out", out, "--texts", tiny_texts, "-q",
                 "--json", "-")
    return run, out


def test_scan_sparse_encoder_is_detected_from_its_config(splade_scan):
    _, report = splade_scan
    assert report["model"]["kind"] == "sparse-encoder"
    assert {row["cls"] for row in report["modules"]["float32"]} >= {"SpladePooling"}


def test_scan_sparse_encoder_clean_model_passes_with_exit_0(splade_scan):
    run, report = splade_scan
    assert run.exit_code == 0
    assert report["verdict"]["passed"] is True
    jsonschema.validate(report, REPORT_SCHEMA)


def test_scan_sparse_encoder_reports_scores_active_dims_and_term_overlap(splade_scan):
    _, report = splade_scan
    load = report["results"][0]
    assert load["strategy"] == "load" and load["status"] == "ok"
    assert load["spearman"] > 0.99
    assert load["active_dims"] > 0 and 0 <= load["active_dims_change"] < 0.5
    assert 0.5 <= load["topk_overlap"] <= 1
    assert "top-10 terms kept" in report["verdict"]["dtypes"][0]["summary"]


def test_scan_sparse_encoder_top_terms_are_readable_tokens(splade_scan, splade_model):
    from transformers import AutoTokenizer

    _, report = splade_scan
    terms = report["results"][0]["topk_terms"]
    vocabulary = AutoTokenizer.from_pretrained(str(splade_model)).get_vocab()
    assert len(terms["float32"]) == 10 and all(t in vocabulary for t in terms["float32"] + terms["candidate"])
    assert not any(t.isdigit() and int(t) > 1000 for t in terms["float32"])  # tokens, not vocabulary ids


def test_scan_sparse_encoder_terminal_shows_top_terms(splade_model, tiny_texts):
    run = invoke("scan", splade_model, "--texts", tiny_texts, "--dtype", "bf16", "--no-fix")
    assert run.exit_code == 0
    assert "top terms of text" in " ".join(run.stdout.split())


def test_scan_sparse_encoder_overflow_is_nonfinite_and_exits_1(splade_overflow_scan):
    run, report = splade_overflow_scan
    assert run.exit_code == 1
    load = report["results"][0]
    assert load["status"] == "nonfinite" and load["nonfinite"] > 0
    jsonschema.validate(report, REPORT_SCHEMA)


def test_scan_sparse_encoder_overflow_is_diagnosed_at_the_scaled_layer(splade_overflow_scan):
    _, report = splade_overflow_scan
    found = next(d for d in report["diagnoses"] if d["strategy"] == "load")
    assert found["cause"] == "overflow"
    assert f"encoder.layer.{sparse_models.SPARSE_OVERFLOW_LAYER}" in found["module"]


def test_fix_sparse_encoder_overflow_gets_a_verified_fix(splade_fixed):
    report = splade_fixed[0].json()["report"]  # the scan with the fix search that `fix` ran
    best = next(f for f in report["fixes"] if f["recommended"])
    assert best["verified"] and best["strategy"] in ("keep-fp32", "bf16")
    assert "SparseEncoder(" in best["snippet"] and "model_kwargs" not in best["snippet"].split("SparseEncoder(")[0]


def test_fix_sparse_encoder_writes_a_folder_that_passes(splade_fixed):
    run, out = splade_fixed
    assert run.exit_code == 0
    assert json.loads((out / "precheck.json").read_text())["dtype"] == "float16"


def test_fix_sparse_encoder_folder_reloads_as_a_sparse_encoder(splade_fixed):
    import torch
    from sentence_transformers import SparseEncoder

    import precheck

    _, out = splade_fixed
    model = precheck.load(str(out), dtype="fp16", device="cpu")
    assert isinstance(model, SparseEncoder)
    embeddings = model.encode_document(["The quick brown fox jumps over the lazy dog."]).to_dense()
    assert torch.isfinite(embeddings).all() and int((embeddings > 0).sum()) > 0


def test_scan_unknown_kind_names_sparse_encoder_among_the_choices(splade_model):
    run = invoke("scan", splade_model, "--kind", "sparse")
    assert run.exit_code == 2
    assert "sparse-encoder" in run.stderr and "Traceback" not in run.stderr


def test_sparse_term_overlap_counts_a_tie_at_the_kth_weight_as_kept():
    import torch

    from precheck.compare.sparse import _term_overlap

    reference = torch.tensor([3.0, 2.0, 1.0, 1.0, 0.0])
    swapped_tie = torch.tensor([3.0, 2.0, 0.5, 1.0, 0.0])
    assert _term_overlap(reference, swapped_tie, k=3) == 1.0
    assert _term_overlap(reference, torch.tensor([3.0, 0.0, 0.0, 0.0, 2.0]), k=3) == pytest.approx(1 / 3)


def test_ci_sparse_encoder_model_passes_and_reports_its_kind(splade_model, tiny_texts, tmp_path):
    config = tmp_path / "precheck.toml"
    config.write_text(f'[defaults]\ndtypes = ["bf16"]\ntexts = "{tiny_texts}"\n\n[[models]]\nname = "{splade_model}"\n'
                      'kind = "sparse-encoder"\n', encoding="utf-8")
    run = invoke("ci", "--config", config, "--json", "-", "-q")
    assert run.exit_code == 0
    report = run.json()["models"][0]["report"]
    assert report["model"]["kind"] == "sparse-encoder" and report["results"][0]["topk_overlap"] is not None


def test_train_check_sparse_encoder_is_refused_with_one_line(splade_model):
    run = invoke("train-check", splade_model, "--steps", "1")
    assert run.exit_code == 2
    assert "sparse-encoder" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_scan_sparse_encoder_refuses_more_texts_than_its_stated_limit_in_one_line(splade_model, tmp_path):
    from precheck.kinds.sparse_encoder import MAX_TEXTS

    texts = tmp_path / "many.txt"
    texts.write_text("\n".join(f"text number {i}" for i in range(MAX_TEXTS + 1)) + "\n", encoding="utf-8")
    run = invoke("scan", splade_model, "--texts", texts)
    assert_one_line_error(run, f"has {MAX_TEXTS + 1:,} texts", f"at most {MAX_TEXTS:,}")


def test_serving_advice_for_a_sparse_encoder_is_tei_splade_pooling_and_no_unverified_flag(splade_scan):
    _, report = splade_scan
    advice = {a["server"]: a for a in report["serving"]}
    assert advice["text-embeddings-inference"]["flag"].startswith("--pooling splade")
    for server in ("vllm", "infinity"):
        assert advice[server]["flag"] == "" and advice[server]["dtype"] is None
        assert "not verified" in advice[server]["note"]
