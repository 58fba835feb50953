"""Storage's search itself, on vectors made here: a query never finds itself, at any corpus size
against k × rescore multiplier, and the block-by-block search equals a whole-matrix search."""
from __future__ import annotations

import numpy as np
import pytest

from precheck.compare import neighbours
from precheck.engine import storage

K = storage.K


def _embeddings(rows: int, dim: int = 32, seed: int = 0):
    generator = np.random.default_rng(seed)
    # Clusters, so that neighbours are near and an index's rounding can swap them.
    centres = generator.normal(size=(max(2, rows // 6), dim))
    vectors = centres[generator.integers(0, len(centres), rows)] + 0.4 * generator.normal(size=(rows, dim))
    return vectors.astype(np.float32)


def _measure(embeddings, multiplier: int, precisions=("int8", "binary")):
    rows = list(range(len(embeddings)))
    return storage.measure_storage(embeddings, {"float32": embeddings}, rows, precisions, 0.0,
                                   calibration=embeddings, calibration_source="test",
                                   rescore_multiplier=multiplier)


def _rescored_recall(check, precision: str) -> float:
    return next(r.recall_at_1_rescored for r in check.results if r.precision == precision)


@pytest.mark.parametrize("corpus", [2 * K, 3 * K - 1, 3 * K, 3 * K + 1, 4 * K])
@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_storage_search_never_returns_the_query_itself(corpus, precision):
    vectors = storage._unit(_embeddings(corpus))
    stored = storage._store(vectors, precision, vectors)
    found = storage._top(stored, K)
    assert found.shape == (corpus, K)
    assert not (found == np.arange(corpus)[:, None]).any()
    if stored.rescore_vectors is not None:
        for multiplier in (1, 3, 10):
            rescored = storage._rescored(stored, vectors, K, multiplier)
            assert rescored.shape == (corpus, min(K * multiplier, corpus - 1))
            assert not (rescored == np.arange(corpus)[:, None]).any(), multiplier


@pytest.mark.parametrize("corpus", [24, 3 * K - 1, 3 * K, 3 * K + 1])
def test_storage_rescored_recall_does_not_fall_as_the_multiplier_passes_the_corpus_size(corpus):
    embeddings = _embeddings(corpus, seed=corpus)
    below = _measure(embeddings, 2)
    past = [_measure(embeddings, multiplier) for multiplier in (3, 5, 20)]
    for precision in ("int8", "binary"):
        # From the multiplier whose k × multiplier reaches corpus - 1 on, every other text is a
        # candidate: more cannot change the answer, and the query itself is never one of them.
        recalls = [_rescored_recall(c, precision) for c in past]
        assert recalls == [recalls[0]] * 3, precision
        assert recalls[0] >= _rescored_recall(below, precision), precision
    # A query ranked as its own neighbour would bring int8's recall@1 rescored to 0.
    assert _rescored_recall(past[0], "int8") > 0.75


def _whole_matrix_top(scores, count):
    """The search before blocks: every score at once, the diagonal at -inf, a stable sort of each row."""
    scores = scores.astype(np.float64, copy=True)
    np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1, kind="stable")[:, :count]


def _awkward_scores(rows: int, seed: int):
    """Rounded scores (so that ties are many), a few rows and columns NaN, and a constant row."""
    generator = np.random.default_rng(seed)
    scores = generator.integers(-6, 7, size=(rows, rows)).astype(np.float64)
    scores[3] = 0.0
    scores[5, ::4] = np.nan
    scores[:, 7] = np.nan
    return scores


@pytest.mark.parametrize("count", [1, 3, 10, 38, 39, 100])
def test_top_others_equals_a_whole_matrix_stable_sort_with_ties_and_nan(count):
    scores = _awkward_scores(40, seed=count)
    expected = _whole_matrix_top(scores, min(count, 39))
    found = np.concatenate([neighbours.top_others(scores[start:start + 7], start, count)
                            for start in range(0, 40, 7)])
    finite = np.isfinite(np.where(np.eye(40, dtype=bool), 0.0, scores)).all(axis=1)
    # Rows with a NaN score differ only where the old search put the row itself (at -inf, before
    # the NaNs); rows of numbers are the same to the last index.
    assert (found[finite] == expected[finite]).all()
    assert not (found == np.arange(40)[:, None]).any()
    for row in np.flatnonzero(~finite):
        assert list(found[row]) == [c for c in np.argsort(-scores[row], kind="stable") if c != row][:found.shape[1]]


def _whole_matrix_figures(embeddings, multiplier: int):
    """measure_storage's figures as computed before blocks, from whole matrices, for comparison."""
    from scipy.stats import rankdata

    corpus = storage._unit(embeddings)
    truth_scores = corpus @ corpus.T
    truth = _whole_matrix_top(truth_scores, K)
    figures = {}
    for precision in ("float32", "float16", "int8", "uint8", "binary"):
        stored = storage._store(corpus, precision, corpus)
        scores = stored.score(stored.vectors, stored.vectors)
        found = _whole_matrix_top(scores, K)
        off = ~np.eye(len(corpus), dtype=bool)
        a = rankdata(truth_scores.astype(np.float64)[off].reshape(len(corpus), -1), axis=1)
        b = rankdata(scores[off].reshape(len(corpus), -1), axis=1)
        a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
        rho = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        figures[precision] = (storage._recall(found[:, :1], truth[:, :1]), storage._recall(found, truth),
                              round(float(rho.mean()), 6))
    return figures


def test_storage_figures_in_small_blocks_equal_the_whole_matrix_figures(monkeypatch):
    embeddings = _embeddings(90, seed=7)
    embeddings[10] = embeddings[11]  # a duplicate: tied scores everywhere
    expected = _whole_matrix_figures(embeddings, 3)
    monkeypatch.setattr(neighbours, "BLOCK_ELEMENTS", 90 * 4)  # four rows a block
    check = storage.measure_storage(embeddings, {"float32": embeddings}, list(range(90)),
                                    tuple(expected), 0.0, calibration=embeddings, calibration_source="test",
                                    rescore_multiplier=3)
    got = {r.precision: (r.recall_at_1, r.recall_at_10, r.spearman) for r in check.results}
    assert got == {p: (round(a, 6), round(b, 6), rho) for p, (a, b, rho) in expected.items()}


def test_storage_spearman_past_the_query_cap_uses_evenly_spaced_queries(monkeypatch):
    monkeypatch.setattr(storage, "SPEARMAN_QUERIES", 10)
    chosen = storage.spearman_queries(95)
    assert len(chosen) == 10 and chosen[0] == 0 and chosen[-1] == 94
    assert list(storage.spearman_queries(8)) == list(range(8))
