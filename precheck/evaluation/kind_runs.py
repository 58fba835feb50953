"""One precision's pass over a labelled set, the way its kind is used (kinds/*.py say how; docs/evaluation.md).

A kind that encodes queries and documents apart (embedders, sparse and multi-vector encoders) encodes
the corpus once and the queries once and scores each block of queries against the whole corpus in
float32 (its eval_scores), ranked by ranking.py; a kind that scores pairs itself (cross-encoders)
reranks each query's candidates (rerank.py). Scored pairs: each pair's score from the kind, its
Spearman against the gold scores.
"""
from __future__ import annotations


def measure_set(kind, model, data, batch_size: int, encode_kwargs: dict, encoded=None):
    """ranking.Ranked (a BEIR folder) or ranking.Scored (scored pairs) of `model` on `data`. `encoded`: the
    set's two sides (queries and corpus; pairs: first and second) already encoded as the kind's eval_encode
    encodes them, by the pass that also measures the stack's scoring (scoring_precision.stack_pass)."""
    from ..kinds.eval_scoring import count, nonfinite, rows
    from .ranking import rank_blocks, scored_pairs

    arguments = (batch_size, encode_kwargs)
    if data.layout != "beir":
        if encoded is not None:
            return scored_pairs(kind.eval_scores(*encoded, pairwise=True).numpy(), data.scores)
        pairs = list(zip(data.sentences1, data.sentences2))
        return scored_pairs(kind.eval_pair_scores(model, pairs, *arguments), data.scores)
    if not kind.eval_ranks_corpus:
        from .rerank import rerank

        return rerank(kind, model, data, *arguments)
    if encoded is not None:
        queries, corpus = encoded
    else:
        corpus = kind.eval_encode(model, data.corpus_texts, "document", *arguments)
        queries = kind.eval_encode(model, data.query_texts, "query", *arguments)
    return rank_blocks(lambda start, stop: kind.eval_scores(rows(queries, start, stop), corpus),
                       count(queries), count(corpus), data.judgements, nonfinite(queries) + nonfinite(corpus))
