"""--rescore-with: candidates rescored against the stored quantized vectors (sentence-transformers'
semantic_search_faiss) or against the original float vectors (Qdrant's and pgvector's re-ranking)."""
from __future__ import annotations

import numpy as np
import pytest

from cli_checks import assert_one_line_error
from conftest import invoke
from precheck.engine.storage import measure_storage
from precheck.engine.verdict import storage_figure_label


def _check(rescore_with: str):
    vectors = np.random.default_rng(0).standard_normal((200, 48)).astype(np.float32)
    return measure_storage(vectors, {"float32": vectors}, list(range(200)), ("int8", "binary"), 0.5,
                           rescore_multiplier=2, rescore_with=rescore_with)


def test_rescoring_against_the_original_vectors_recovers_more_neighbours():
    stored, original = _check("quantized"), _check("original")
    for a, b in zip(stored.results, original.results):
        assert a.recall_at_10 == b.recall_at_10  # the search itself is the index's either way
        assert b.recall_at_10_rescored > a.recall_at_10_rescored


def test_the_gated_figure_says_what_it_was_rescored_against():
    check = _check("original")
    assert "against the original vectors" in storage_figure_label(check, check.results[0])
    assert "original" not in storage_figure_label(_check("quantized"), check.results[0])


@pytest.mark.parametrize("args", [["--rescore-with", "original"], ["--rescore-with", "nearest"]],
                         ids=["without-storage", "unknown"])
def test_rescore_with_is_refused_without_storage_or_with_an_unknown_source(tiny_model, args):
    run = invoke("scan", tiny_model, "--plan-only", *args)
    assert_one_line_error(run, "--rescore-with")
