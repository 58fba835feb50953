"""The figures of one precision's embeddings on a labelled set, scored in float32 by precheck itself.

Retrieval: each block of queries is scored against the whole corpus by cosine and ranked at once
(compare/neighbours.py's blocks), so memory grows with the corpus, never with queries x corpus.
Per query: nDCG@10 (graded gains as BEIR's qrels give them, linear as trec_eval and sentence-
transformers count them), MRR@10 and recall@100. Ties rank by corpus order. A NaN/inf score is never
retrieved: a query whose embedding is NaN retrieves nothing, a document whose embedding is NaN is
never found.

Other kinds score in their own way (encoders.py) and rank through rank_blocks; cross-encoders rerank
candidates (rerank.py). Pairs: each pair's score (an embedder's cosine), Spearman (average ranks, as
scipy) against the gold scores; a NaN score ranks below every number.
"""
from __future__ import annotations

from dataclasses import dataclass

NDCG_K, MRR_K, RECALL_K = 10, 10, 100
SHOWN_TOP = 10  # each query's first documents kept, for the worst queries' report


@dataclass
class Ranked:
    """One precision on a retrieval set: per-query figures (float64 arrays) and each query's first
    SHOWN_TOP corpus rows (-1 where nothing was retrieved)."""

    ndcg: object
    mrr: object
    recall: object
    top: object
    nonfinite: int  # queries and documents whose embedding is NaN/inf


@dataclass
class Scored:
    """One precision on scored pairs: each pair's score (NaN/inf as -inf) and the set's Spearman. The
    score is the kind's own (kinds/*.py's eval_scores): a cosine for embedders, a sparse encoder's dot
    product, a multi-vector encoder's MaxSim, a cross-encoder's predict()."""

    cosines: object  # each pair's score (named for the embedders', the first kind measured)
    spearman: float
    nonfinite: int  # pairs whose cosine is not a number


def _unit(embeddings):
    """Rows scaled to unit length in float32, as sentence-transformers' cos_sim does."""
    import torch

    tensor = torch.as_tensor(embeddings, dtype=torch.float32)
    return torch.nn.functional.normalize(tensor, p=2, dim=1)


def _nonfinite_rows(tensor) -> int:
    import torch

    return int((~torch.isfinite(tensor)).any(dim=1).sum()) if tensor.numel() else 0


def rank_corpus(queries, corpus, judgements: list[dict[int, float]]) -> Ranked:
    """The per-query figures of query embeddings against corpus embeddings (both float32 arrays)."""
    q, c = _unit(queries), _unit(corpus)
    return rank_blocks(lambda start, stop: q[start:stop] @ c.T, q.shape[0], c.shape[0], judgements,
                       _nonfinite_rows(q) + _nonfinite_rows(c))


def rank_blocks(score_block, rows: int, documents: int, judgements: list[dict[int, float]],
                nonfinite: int) -> Ranked:
    """The per-query figures from `score_block(start, stop)`: queries start..stop's float32 scores
    against every document, a block of queries at a time (engine/neighbours.py's blocks)."""
    import numpy as np

    from ..compare.neighbours import row_blocks

    depth = min(RECALL_K, documents)
    ndcg, mrr, recall = np.zeros(rows), np.zeros(rows), np.zeros(rows)
    top = np.full((rows, min(SHOWN_TOP, depth)), -1, dtype=np.int64)
    for start, stop in row_blocks(rows, documents):
        ndcg[start:stop], mrr[start:stop], recall[start:stop], top[start:stop] = \
            rank_block(np.asarray(score_block(start, stop), dtype=np.float32), judgements[start:stop])
    return Ranked(ndcg, mrr, recall, top, nonfinite)


def rank_block(scores, judgements: list[dict[int, float]]):
    """(nDCG@10, MRR@10, recall@100, first SHOWN_TOP rows) of each query of a block of scores (queries x
    documents, float32 NumPy, changed in place): ties by corpus order, a NaN/inf score never retrieved."""
    import numpy as np

    depth = min(RECALL_K, scores.shape[1])
    scores[~np.isfinite(scores)] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    found = np.isfinite(np.take_along_axis(scores, order, axis=1))
    ranked = np.where(found, order, -1)
    figures = np.array([query_figures(row, judged) for row, judged in zip(ranked, judgements)]).reshape(-1, 3)
    return figures[:, 0], figures[:, 1], figures[:, 2], ranked[:, :min(SHOWN_TOP, depth)]


def query_figures(ranked, judged: dict[int, float]) -> tuple[float, float, float]:
    """(nDCG@10, MRR@10, recall@100) of one query's ranked corpus rows (-1: nothing retrieved there)."""
    import math

    gains = [max(judged.get(int(d), 0.0), 0.0) if d >= 0 else 0.0 for d in ranked]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:NDCG_K]))
    ideal_gains = sorted((g for g in judged.values() if g > 0), reverse=True)[:NDCG_K]
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
    first = next((i for i, g in enumerate(gains[:MRR_K]) if g > 0), None)
    relevant = sum(1 for g in judged.values() if g > 0)
    return dcg / ideal, 0.0 if first is None else 1.0 / (first + 1), \
        sum(1 for g in gains[:RECALL_K] if g > 0) / relevant


def pair_cosines(first, second):
    """Each pair's cosine in float32 (float64 array), a NaN/inf one as -inf."""
    import numpy as np

    cosines = (_unit(first) * _unit(second)).sum(dim=1).numpy().astype(np.float64)
    cosines[~np.isfinite(cosines)] = -np.inf
    return cosines


def score_pairs(first, second, gold) -> Scored:
    return scored_pairs(pair_cosines(first, second), gold)


def scored_pairs(scores, gold) -> Scored:
    """Each pair's score (float64, NaN/inf as -inf) and its Spearman against the gold scores."""
    import numpy as np

    scores = np.array(scores, dtype=np.float64).reshape(-1)
    scores[~np.isfinite(scores)] = -np.inf
    value = float(spearman_rows(np.asarray(gold, dtype=np.float64)[None, :], scores[None, :])[0])
    return Scored(scores, value, int(np.isinf(scores).sum()))


def average_ranks(values):
    """Ranks from 1, ties sharing their average, along the last axis (scipy's rankdata 'average')."""
    from scipy.stats import rankdata

    return rankdata(values, method="average", axis=-1)


def spearman_rows(gold, predicted):
    """Spearman of each row of `predicted` against the same row of `gold` (2-D arrays): Pearson of
    their average ranks; NaN where either row is constant."""
    import numpy as np

    a, b = average_ranks(gold), average_ranks(predicted)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / np.where(denominator > 0, denominator, 1), np.nan)
