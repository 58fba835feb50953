"""Cross-encoders on a BEIR folder: each query reranks a fixed candidate list, as a reranker is used.

A cross-encoder scores a (query, document) pair, never a document alone, so ranking the whole corpus
would take queries x corpus forward passes. Each query's candidates are instead its judged documents
(relevant or not, in qrels/test.tsv's order) and OTHERS more corpus documents it has no judgement for,
drawn without replacement by NumPy's generator seeded with SEED, query after query in queries.jsonl's
order: the same set gives the same candidates in every run and for every precision. The candidates
are scored by the model's predict() (kinds/cross_encoder.py's eval_pair_scores), ranked (ties by
candidate order) and measured as ranking.py measures a corpus ranking: nDCG@10, MRR@10, recall@100 of
the candidate list (so recall@100 is 1 unless a relevant document scores NaN or more than 100
documents are candidates).
"""
from __future__ import annotations

OTHERS = 20  # unjudged corpus documents added to each query's judged ones
SEED = 0


def candidates(data) -> list[list[int]]:
    """Each query's candidate corpus rows: its judged documents, then OTHERS drawn from the rest."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    everything = np.arange(len(data.corpus_texts))
    lists = []
    for judged in data.judgements:
        rest = np.setdiff1d(everything, np.fromiter(judged, dtype=np.int64, count=len(judged)),
                            assume_unique=True)
        drawn = rng.choice(rest, size=min(OTHERS, len(rest)), replace=False) if len(rest) else rest
        lists.append([*judged, *(int(row) for row in np.sort(drawn))])
    return lists


def candidate_pairs(data, lists: list[list[int]]) -> list[tuple[str, str]]:
    """(query, document) text pairs of every query's candidates, query after query."""
    return [(data.query_texts[q], data.corpus_texts[row]) for q, rows in enumerate(lists) for row in rows]


def rerank(kind, model, data, batch_size: int, encode_kwargs: dict):
    """ranking.Ranked of the model's reranking of each query's candidates."""
    lists = candidates(data)
    return rank_candidates(kind.eval_pair_scores(model, candidate_pairs(data, lists), batch_size, encode_kwargs),
                           lists, data)


def rank_candidates(scores, lists: list[list[int]], data):
    """ranking.Ranked of each query's candidates ranked by `scores` (one per candidate pair, query after
    query; ties by candidate order, a NaN/inf score never retrieved)."""
    import numpy as np

    from .ranking import SHOWN_TOP, Ranked, query_figures

    scores = np.asarray(scores, dtype=np.float64)
    scores[~np.isfinite(scores)] = -np.inf
    count = len(lists)
    ndcg, mrr, recall = np.zeros(count), np.zeros(count), np.zeros(count)
    top = np.full((count, SHOWN_TOP), -1, dtype=np.int64)
    offset = 0
    for q, rows in enumerate(lists):
        own = scores[offset:offset + len(rows)]
        offset += len(rows)
        order = np.argsort(-own, kind="stable")
        ranked = np.where(np.isfinite(own[order]), np.asarray(rows, dtype=np.int64)[order], -1)
        ndcg[q], mrr[q], recall[q] = query_figures(ranked, data.judgements[q])
        shown = ranked[:SHOWN_TOP]
        top[q, :len(shown)] = shown
    return Ranked(ndcg, mrr, recall, top, int(np.isinf(scores).sum()))
