"""--eval for every kind (issue 34 items 1-2) and `evaluator=` objects: sparse and multi-vector encoders rank
the corpus, cross-encoders rerank each query's candidates, each scored in float32 and held against
sentence-transformers' own evaluator on the same data; a sentence-transformers evaluator object runs on
float32 and each precision, gated on its primary metric. Sets are written at test time (evaluation_sets.py); the
scans probe with the short texts and pairs (these tests read the --eval figures, not the probe set's)."""
from __future__ import annotations

import pytest

from evaluation_sets import PAIRS, beir_rows, write_beir, write_pairs_tsv


@pytest.fixture(scope="module")
def beir_folder(tmp_path_factory):
    return write_beir(tmp_path_factory.mktemp("eval-kinds") / "beir")


@pytest.fixture(scope="module")
def beir_set(beir_folder):
    from precheck.evaluation.sets import read_eval_set

    return read_eval_set(beir_folder)


def _row(report, dtype):
    return next(r for r in report.evaluation.results if r.dtype == dtype)


def _ir_inputs():
    """queries, corpus and relevant_docs as sentence-transformers' retrieval evaluators take them."""
    corpus, queries, qrels = beir_rows()
    return dict(queries={q["_id"]: q["text"] for q in queries},
                corpus={d["_id"]: (d["title"] + " " + d["text"]).strip() for d in corpus},
                relevant_docs={q: {d for qq, d, s in qrels if qq == q and s > 0} for q, _, _ in qrels},
                ndcg_at_k=[10], mrr_at_k=[10], precision_recall_at_k=[100], accuracy_at_k=[1], map_at_k=[10])


# Cross-encoders: rerank each query's judged documents and 20 others.

@pytest.fixture(scope="module")
def rerank_folder(tmp_path_factory):
    """The BEIR folder with one query a topic (8): the whole corpus, so each still has 20 others to rerank."""
    corpus, queries, qrels = beir_rows()
    asked = {q["_id"] for q in queries if q["_id"].endswith("-q0")}
    return write_beir(tmp_path_factory.mktemp("eval-kinds-rerank") / "beir", corpus,
                      [q for q in queries if q["_id"] in asked], [row for row in qrels if row[0] in asked])


@pytest.fixture(scope="module")
def cross_encoder_report(cross_encoder_model, rerank_folder, pairs_file):
    from precheck import scan

    return scan(str(cross_encoder_model), dtypes=["bf16"], fix=False, eval=rerank_folder, max_metric_drop=1.0,
                pairs_file=pairs_file)


def test_a_cross_encoder_reranks_its_judged_documents_and_twenty_others_on_a_beir_folder(cross_encoder_report):
    check = cross_encoder_report.evaluation
    assert (check.layout, check.metric, check.items) == ("beir", "ndcg@10", 8)
    assert all(row.metric is not None for row in check.results)
    assert _row(cross_encoder_report, "bfloat16").interval is not None


def test_cross_encoder_float32_ndcg_equals_sentence_transformers_reranking_evaluator(cross_encoder_report,
                                                                                    cross_encoder_model, rerank_folder):
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    from precheck.evaluation.rerank import candidates
    from precheck.evaluation.sets import read_eval_set

    beir_set = read_eval_set(rerank_folder)
    samples = []
    for query, judged, rows in zip(beir_set.query_texts, beir_set.judgements, candidates(beir_set)):
        samples.append({"query": query,
                        "positive": [beir_set.corpus_texts[r] for r in rows if judged.get(r, 0) > 0],
                        "negative": [beir_set.corpus_texts[r] for r in rows if judged.get(r, 0) <= 0]})
    expected = CrossEncoderRerankingEvaluator(samples, at_k=10)(CrossEncoder(str(cross_encoder_model), device="cpu"))
    row = _row(cross_encoder_report, "float32")
    assert row.metric == pytest.approx(expected["ndcg@10"], abs=1e-6)
    assert row.secondary["mrr@10"] == pytest.approx(expected["mrr@10"], abs=1e-6)


def test_a_cross_encoder_report_says_its_figures_are_over_the_candidates(cross_encoder_report):
    assert any(note.startswith("--eval: a CrossEncoder reranks each query's judged documents and 20 other")
               for note in cross_encoder_report.notes)


def test_a_cross_encoders_own_predict_scoring_is_measured_and_is_float32_on_this_stack(cross_encoder_report):
    scoring = _row(cross_encoder_report, "bfloat16").scoring
    assert scoring.scorer.startswith("CrossEncoder.predict") and scoring.embeddings_dtype == "bfloat16"
    assert scoring.scores_dtype == "float32" and scoring.ties == 0 and scoring.remedy is None
    assert not [d for d in cross_encoder_report.diagnoses if d.cause == "scoring-precision"]


def test_rerank_candidates_are_the_judged_documents_then_twenty_others_the_same_every_time(beir_set):
    from precheck.evaluation.rerank import OTHERS, candidates

    first = candidates(beir_set)
    assert first == candidates(beir_set)
    for judged, rows in zip(beir_set.judgements, first):
        assert rows[:len(judged)] == list(judged) and len(rows) == len(judged) + OTHERS == len(set(rows))


def test_cross_encoder_spearman_on_scored_pairs_equals_sentence_transformers_correlation_evaluator(
        cross_encoder_model, tmp_path):
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator

    from precheck.evaluation.kind_runs import measure_set
    from precheck.evaluation.sets import read_eval_set
    from precheck.kinds import CrossEncoderKind

    model = CrossEncoder(str(cross_encoder_model), device="cpu")
    scored = measure_set(CrossEncoderKind(), model, read_eval_set(write_pairs_tsv(tmp_path / "pairs.tsv")), 32, {})
    expected = CrossEncoderCorrelationEvaluator([(a, b) for a, b, _ in PAIRS], [s for _, _, s in PAIRS])(model)
    assert scored.spearman == pytest.approx(expected["spearman"], abs=1e-9)


# Sparse encoders: dot products of the sparse vectors in float32 over the whole corpus.

@pytest.fixture(scope="module")
def splade_model(models_dir):
    import sparse_models

    return sparse_models.build_splade_model(models_dir / "splade-eval")


@pytest.fixture(scope="module")
def sparse_report(splade_model, beir_folder, probe_file):
    from precheck import scan

    return scan(str(splade_model), dtypes=["bf16"], fix=False, eval=beir_folder, max_metric_drop=1.0,
                texts_file=probe_file)


def test_sparse_encoder_float32_ndcg_equals_sentence_transformers_sparse_information_retrieval_evaluator(
        sparse_report, splade_model):
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    expected = SparseInformationRetrievalEvaluator(**_ir_inputs())(SparseEncoder(str(splade_model), device="cpu"))
    row = _row(sparse_report, "float32")
    assert row.metric == pytest.approx(expected["dot_ndcg@10"], abs=1e-6)
    assert row.secondary["recall@100"] == pytest.approx(expected["dot_recall@100"], abs=1e-6)


def test_a_sparse_encoder_is_measured_in_each_precision_with_its_interval(sparse_report):
    row = _row(sparse_report, "bfloat16")
    assert row.metric is not None and row.interval[0] <= row.difference <= row.interval[1]


# Multi-vector encoders: MaxSim summed in float32 over the whole corpus.

def test_multi_vector_float32_ndcg_equals_sentence_transformers_multi_vector_evaluator(beir_set, tmp_path):
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.multi_vector_encoder.evaluation import MultiVectorInformationRetrievalEvaluator

    from multi_vector_models import build_multi_vector_model
    from precheck.evaluation.kind_runs import measure_set
    from precheck.kinds import MultiVectorEncoderKind

    model = MultiVectorEncoder(str(build_multi_vector_model(tmp_path / "mve")), device="cpu")
    ranked = measure_set(MultiVectorEncoderKind(), model, beir_set, 32, {})
    expected = MultiVectorInformationRetrievalEvaluator(**_ir_inputs())(model)
    assert ranked.ndcg.mean() == pytest.approx(expected["maxsim_ndcg@10"], abs=1e-6)
    assert ranked.mrr.mean() == pytest.approx(expected["maxsim_mrr@10"], abs=1e-6)


def test_a_multi_vector_encoder_scan_measures_spearman_of_maxsim_on_scored_pairs(tmp_path):
    from multi_vector_models import build_multi_vector_model
    from precheck import scan

    model = build_multi_vector_model(tmp_path / "mve")
    report = scan(str(model), dtypes=["bf16"], fix=False, eval=write_pairs_tsv(tmp_path / "pairs.tsv"),
                  max_metric_drop=1.0)
    check = report.evaluation
    assert (check.layout, check.metric, check.items) == ("pairs", "spearman", len(PAIRS))
    assert all(row.metric is not None and row.error is None for row in check.results)


def test_maxsim_in_blocks_equals_sentence_transformers_maxsim(monkeypatch):
    import torch
    from sentence_transformers.util import maxsim

    from precheck.kinds import eval_scoring as encoders

    generator = torch.Generator().manual_seed(0)
    queries = [torch.randn(n, 8, generator=generator) for n in (3, 5, 4)]
    documents = [torch.randn(n, 8, generator=generator) for n in (2, 7, 1, 6, 3)]

    def padded(items):
        width = max(len(item) for item in items)
        vectors = torch.zeros(len(items), width, 8)
        mask = torch.zeros(len(items), width, dtype=torch.bool)
        for row, item in enumerate(items):
            vectors[row, :len(item)], mask[row, :len(item)] = item, True
        return encoders.TokenVectors(vectors, mask)

    monkeypatch.setattr(encoders, "BLOCK_ELEMENTS", 40)  # a few documents per block
    found = encoders.maxsim_scores(padded(queries), padded(documents))
    assert torch.allclose(found, maxsim(queries, documents), atol=1e-5)


# evaluator= objects.

def _sts_evaluator():
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    return EmbeddingSimilarityEvaluator([a for a, _, _ in PAIRS], [b for _, b, _ in PAIRS], [s for _, _, s in PAIRS],
                                        main_similarity="cosine", name="sts")


@pytest.fixture(scope="module")
def evaluator_report(tiny_model):
    from precheck import scan

    return scan(str(tiny_model), dtypes=["bf16"], fix=False, min_cosine=0.9, evaluator=_sts_evaluator(),
                max_metric_drop=1.0)


def test_an_evaluator_objects_primary_metric_is_measured_in_float32_and_each_precision(evaluator_report,
                                                                                     tiny_model):
    from sentence_transformers import SentenceTransformer

    check = evaluator_report.evaluation
    evaluator = _sts_evaluator()
    expected = evaluator(SentenceTransformer(str(tiny_model), device="cpu"))
    assert (check.layout, check.metric) == ("evaluator", evaluator.primary_metric)
    assert check.metric == "sts_spearman_cosine"
    assert _row(evaluator_report, "float32").metric == pytest.approx(expected["sts_spearman_cosine"], abs=1e-9)
    row = _row(evaluator_report, "bfloat16")
    assert row.difference == pytest.approx(row.metric - _row(evaluator_report, "float32").metric)


def test_an_evaluator_object_gives_no_interval_and_the_report_says_why(evaluator_report):
    assert all(row.interval is None for row in evaluator_report.evaluation.results)
    assert any(note.startswith("evaluator: EmbeddingSimilarityEvaluator 'sts'") and "no paired bootstrap" in note
               for note in evaluator_report.notes)


def test_an_evaluator_object_whose_drop_passes_the_gate_passes(evaluator_report):
    assert evaluator_report.evaluation.passed
    assert not [line for line in evaluator_report.verdict.failures if line.startswith("eval ")]


def test_an_evaluator_report_matches_the_schema(evaluator_report):
    import json

    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    jsonschema.validate(json.loads(evaluator_report.to_json()), REPORT_SCHEMA)


def test_an_evaluator_leaves_the_scanned_model_object_as_it_was(tiny_model):
    from sentence_transformers import SentenceTransformer

    from precheck import scan

    model = SentenceTransformer(str(tiny_model), device="cpu")
    report = scan(model, dtypes=["bf16"], fix=False, min_cosine=0.9, evaluator=_sts_evaluator(), max_metric_drop=1.0)
    assert report.evaluation.results[0].metric is not None
    assert (model.model_card_data.eval_results_dict, model.model_card_data.training_logs) == ({}, [])


@pytest.mark.parametrize("evaluator, needle", [
    (42, "evaluator is a int, which cannot be called with a model"),
    (type("Loss", (), {"greater_is_better": False, "__call__": lambda self, model: 1.0})(), "says lower is better"),
])
def test_an_evaluator_that_is_not_one_is_refused_before_any_load(tiny_model, evaluator, needle):
    from precheck import PrecheckError, scan

    with pytest.raises(PrecheckError, match=needle):
        scan(str(tiny_model), dtypes=["bf16"], fix=False, evaluator=evaluator)


def test_eval_and_evaluator_together_are_refused_in_one_line(tiny_model, beir_folder):
    from precheck import PrecheckError, scan

    with pytest.raises(PrecheckError, match="eval and evaluator both given") as error:
        scan(str(tiny_model), eval=beir_folder, evaluator=_sts_evaluator())
    assert "\n" not in str(error.value)
