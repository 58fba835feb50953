"""Issue 34 item 4 on sentence-transformers 3.0.1, whose similarity functions compute in the embeddings'
dtype: MiniLM's float16 and bfloat16 scores tie documents that float32 tells apart, --eval counts them,
diagnoses `scoring-precision` and names the remedy (.float() before scoring, or 6.0), which runs here."""
from __future__ import annotations

import pytest

from conftest import invoke
from scoring_sets import write_crowded_beir


@pytest.fixture(scope="module")
def crowded_run(plain_model, probe_file, tmp_path_factory):
    """(terminal view, JSON report) of `scan MiniLM -d fp16,bf16 --eval CROWDED`, on the short probe texts:
    the scoring is measured on the --eval set, and float16 on this CPU is slow on the built-in long texts."""
    import json

    folder = tmp_path_factory.mktemp("scoring")
    path = folder / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "200")
        run = invoke("scan", plain_model, "-d", "fp16,bf16", "--no-fix", "--texts", probe_file, "--eval", write_crowded_beir(folder / "beir"),
                     "--json", path)
    return run.stdout, json.loads(path.read_text(encoding="utf-8"))


def _scoring(report, dtype):
    return next(r for r in report["evaluation"]["results"] if r["dtype"] == dtype)["scoring"]


def test_st3_half_precision_scoring_ties_documents_that_float32_tells_apart(crowded_run):
    _, report = crowded_run
    for dtype in ("float16", "bfloat16"):
        scoring = _scoring(report, dtype)
        assert scoring["library"] == "sentence-transformers 3.0.1"
        assert (scoring["embeddings_dtype"], scoring["scores_dtype"]) == (dtype, dtype)
        assert scoring["ties"] > 0 and 0 < scoring["tied_items"] <= report["evaluation"]["items"]


def test_st3_scoring_precision_is_diagnosed_per_precision(crowded_run):
    _, report = crowded_run
    diagnosed = {d["dtype"]: d for d in report["diagnoses"] if d["cause"] == "scoring-precision"}
    assert set(diagnosed) == {"float16", "bfloat16"}
    assert f"{_scoring(report, 'float16')['ties']} pairs of documents" in diagnosed["float16"]["detail"]


def test_st3_remedy_names_float_and_the_version_that_scores_in_float32(crowded_run):
    view, report = crowded_run
    scoring = _scoring(report, "float16")
    assert ".float()" in scoring["remedy"] and "sentence-transformers>=6.0" in scoring["remedy"]
    assert "scoring-precision remedy:" in view and "scores = model.similarity(queries, documents)" in view


def test_st3_remedy_snippet_scores_in_float32(crowded_run, plain_model):
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from precheck.evaluation.ranking import _unit
    from precheck.evaluation.ties import created_ties
    from scoring_sets import crowd

    _, report = crowded_run
    model = SentenceTransformer(str(plain_model), device="cpu").half()
    queries, documents = crowd()[:16], crowd()
    scope = {"model": model, "queries": queries, "documents": documents}
    exec(_scoring(report, "float16")["snippet"], scope)  # the remedy as the report prints it
    q, d = (model.encode(texts, convert_to_tensor=True) for texts in (queries, documents))
    half = model.similarity(q, d)
    exact = (_unit(q.float()) @ _unit(d.float()).T).numpy()  # precheck's own float32 cosine
    assert half.dtype == torch.float16 and created_ties(half.float().numpy(), exact).sum() > 0
    assert scope["scores"].dtype == torch.float32 and created_ties(scope["scores"].numpy(), exact).sum() == 0
    assert np.isfinite(exact).all()


def test_st3_report_with_scoring_precision_matches_the_schema(crowded_run):
    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    jsonschema.validate(crowded_run[1], REPORT_SCHEMA)


def test_st3_cross_encoder_activation_in_float16_ties_scores_its_logits_tell_apart(cross_encoder_model):
    import torch
    from sentence_transformers import CrossEncoder

    from precheck.evaluation.ties import cross_encoder_scores, grouped_ties
    from scoring_sets import crowd

    model = CrossEncoder(str(cross_encoder_model), device="cpu")
    model.model.to(torch.float16)
    documents = crowd()[:40]
    pairs = [(query, document) for query in ("Who painted the fence?", "a red bicycle") for document in documents]
    stack, exact, dtype = cross_encoder_scores(model, pairs)
    ties, queries = grouped_ties(stack, exact, [range(0, 40), range(40, 80)])
    assert dtype == "float16" and ties > 0 and queries >= 1


def test_st3_cross_encoder_eval_measures_predicts_own_activation_and_names_the_remedy(cross_encoder_model,
                                                                                      tmp_path):
    import torch
    from sentence_transformers import CrossEncoder

    from evaluation_sets import beir_rows, write_beir
    from precheck.evaluation.predict_scoring import predict_scoring
    from precheck.evaluation.sets import read_eval_set

    model = CrossEncoder(str(cross_encoder_model), device="cpu")
    model.model.to(torch.float16)
    # Three topics' queries and documents: each query's candidates already tie in float16 (the whole set's
    # 368 pairs, predicted twice in float16 on a CPU, took half a minute).
    corpus, queries, qrels = beir_rows()
    topics = {"password", "japan", "float16"}
    in_topics = [row for row in corpus if row["_id"].split("-")[0] in topics], \
        [row for row in queries if row["_id"].split("-")[0] in topics], \
        [row for row in qrels if row[0].split("-")[0] in topics]
    row = predict_scoring(model, read_eval_set(write_beir(tmp_path / "beir", *in_topics)), batch_size=16)
    assert row.scorer.startswith("CrossEncoder.predict") and row.scores_dtype == "float16"
    assert row.ties > 0 and row.tied_items >= 1
    assert "sentence-transformers>=6.0" in row.remedy and "torch.nn.Identity()" in row.snippet
