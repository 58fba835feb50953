"""Issue 34 item 4: the scoring precision of the user's stack. With --eval, precheck also scores each
precision's embeddings with the installed sentence-transformers' own similarity and counts the ties that
scoring creates among scores float32 tells apart. Today's sentence-transformers (6.0 and later) scores
float16/bfloat16 embeddings in float32: no ties, no diagnosis. (The 3.0.1 stack, which ties them, is
tests/st3/test_st3_scoring_precision.py.) The scans probe with the short texts and run the two-layer MiniLM: the
scoring's dtype, not the model's figures, is what these tests read."""
from __future__ import annotations

import json

import pytest

from fixture_models import build_two_layer_minilm
from scoring_sets import write_crowded_beir


@pytest.fixture(scope="module")
def crowded_report(tmp_path_factory, probe_file):
    from precheck import scan

    folder = tmp_path_factory.mktemp("scoring")
    model = build_two_layer_minilm(folder / "minilm-2")
    return scan(str(model), dtypes=["fp16", "bf16"], fix=False, eval=write_crowded_beir(folder / "beir"),
                texts_file=probe_file)


def _scoring(report, dtype):
    return next(r for r in report.evaluation.results if r.dtype == dtype).scoring


def test_created_ties_count_pairs_that_float32_tells_apart():
    import numpy as np

    from precheck.evaluation.ties import created_ties

    exact = np.array([[0.30001, 0.30002, 0.30002, 0.5, 0.7], [0.1, 0.2, 0.3, 0.4, 0.5]], dtype=np.float32)
    stack = np.array([[0.3, 0.3, 0.3, 0.5, 0.7], [0.1, 0.2, 0.3, 0.4, 0.5]], dtype=np.float32)
    # Row 0: three scores collapse into one; of their 3 pairs, 0.30002 and 0.30002 were equal already.
    assert created_ties(stack, exact).tolist() == [2, 0]


def test_todays_stack_scores_half_precision_embeddings_in_float32_without_ties(crowded_report):
    import sentence_transformers

    for dtype in ("float16", "bfloat16"):
        scoring = _scoring(crowded_report, dtype)
        assert scoring.library == f"sentence-transformers {sentence_transformers.__version__}"
        assert (scoring.embeddings_dtype, scoring.scores_dtype) == (dtype, "float32")
        assert scoring.compared > 0 and scoring.ties == 0 and scoring.tied_items == 0
        assert scoring.difference == 0 and scoring.changed == 0
        assert scoring.remedy is None and scoring.snippet is None


def test_todays_stack_gets_no_scoring_precision_diagnosis(crowded_report):
    assert not [d for d in crowded_report.diagnoses if d.cause == "scoring-precision"]


def test_float32_embeddings_have_no_stack_scoring_to_measure(crowded_report):
    assert _scoring(crowded_report, "float32") is None


def test_stack_scoring_in_float32_gives_precheck_s_own_metric(crowded_report):
    # The model's similarity is cosine: scored in float32 by the stack, the metric is precheck's.
    for dtype in ("float16", "bfloat16"):
        row = next(r for r in crowded_report.evaluation.results if r.dtype == dtype)
        assert row.scoring.float32_metric == pytest.approx(row.metric, abs=1e-9)


def test_stack_scoring_figures_match_the_report_schema(crowded_report):
    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    document = json.loads(crowded_report.to_json())
    jsonschema.validate(document, REPORT_SCHEMA)
    assert document["evaluation"]["results"][1]["scoring"]["scores_dtype"] == "float32"


def test_todays_cross_encoder_activates_half_precision_logits_in_float32(cross_encoder_model):
    import torch
    from sentence_transformers import CrossEncoder

    from precheck.evaluation.ties import cross_encoder_scores, grouped_ties
    from scoring_sets import crowd

    model = CrossEncoder(str(cross_encoder_model), device="cpu", model_kwargs={"torch_dtype": torch.float16})
    documents = crowd()[:40]
    pairs = [(query, document) for query in ("Who painted the fence?", "a red bicycle") for document in documents]
    stack, exact, dtype = cross_encoder_scores(model, pairs)
    assert dtype == "float32" and grouped_ties(stack, exact, [range(0, 40), range(40, 80)]) == (0, 0)



def _counting_model(path):
    """(a real SentenceTransformer loaded from `path`, the list of the texts of each encode call it gets)."""
    from sentence_transformers import SentenceTransformer

    encoded: list = []

    class CountingModel(SentenceTransformer):
        def encode(self, *args, **kwargs):  # encode_query / encode_document pass the texts by keyword
            encoded.append(tuple(args[0] if args else next(iter(kwargs.values()))))
            return super().encode(*args, **kwargs)

    return CountingModel(str(path), device="cpu"), encoded


def test_a_half_precision_model_encodes_the_eval_set_once_for_the_metric_and_the_stack_s_scoring(
        two_layer_model, probe_file, tmp_path):
    """One pass over the set gives precheck's own metric and the installed stack's scoring of the same
    embeddings: each side of the set is encoded once per precision (float32's pass, then float16's)."""
    from evaluation_sets import write_beir
    from precheck import scan
    from precheck.evaluation.sets import read_eval_set

    beir = write_beir(tmp_path / "beir")
    model, encoded = _counting_model(two_layer_model)
    report = scan(model, dtypes=["fp16"], fix=False, eval=beir, texts_file=probe_file, cache=False)
    corpus = tuple(read_eval_set(beir).corpus_texts)  # as precheck reads a BEIR corpus: title, then text
    assert _scoring(report, "float16") is not None and report.evaluation.results[1].metric is not None
    assert sum(texts == corpus for texts in encoded) == 2


def test_a_last_token_decoder_encodes_each_side_of_scored_pairs_once_per_precision(tmp_path, tiny_texts):
    """The same on the other layout and another architecture: a tiny Qwen2 decoder with last-token pooling
    (random weights), scored pairs, bfloat16."""
    from evaluation_sets import write_pairs_tsv
    from precheck import scan
    from precheck.evaluation.sets import read_eval_set
    from shape_models import build_last_token_decoder_model

    pairs = write_pairs_tsv(tmp_path / "pairs.tsv")
    model, encoded = _counting_model(build_last_token_decoder_model(tmp_path / "qwen2"))
    report = scan(model, dtypes=["bf16"], fix=False, eval=pairs, texts_file=tiny_texts, cache=False)
    data = read_eval_set(pairs)
    assert _scoring(report, "bfloat16").embeddings_dtype == "bfloat16"
    for side in (data.sentences1, data.sentences2):
        assert sum(texts == tuple(side) for texts in encoded) == 2
