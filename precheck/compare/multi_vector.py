"""Figures of a multi-vector (late-interaction) run against float32: each real token's vector
(cosine, min and mean over every scored token of every pair) and the MaxSim scores (largest
difference, Spearman, each query's top passage), as compare_scores measures a reranker."""
from __future__ import annotations

from .dense import Comparison, compare_scores, nonfinite_rows


def compare_token_vectors(reference, candidate, queries: list[str]) -> Comparison:
    """Both from MultiVectorEncoderKind.run: [pairs, 1 + 2L, dim]. Pairs non-finite in float32 are left out."""
    import torch

    length = (reference.shape[1] - 1) // 2

    def scores(outputs):
        # A pair with any non-finite token vector is non-finite as a whole, score included.
        values = outputs[:, 0, :1].clone()
        values[nonfinite_rows(outputs)] = float("nan")
        return values

    figures = compare_scores(scores(reference), scores(candidate), queries)
    usable = ~nonfinite_rows(reference) & ~nonfinite_rows(candidate)
    cosines, worst = [], [None] * reference.shape[0]
    for row in torch.nonzero(usable).flatten().tolist():
        n_query, n_passage = int(reference[row, 0, 1]), int(reference[row, 0, 2])
        rows = [*range(1, 1 + n_query), *range(1 + length, 1 + length + n_passage)]
        ref, cand = reference[row, rows].double(), candidate[row, rows].double()
        cosine = torch.nn.functional.cosine_similarity(ref, cand, dim=1)
        # A zero vector has no direction; both zero counts as agreement.
        both_zero = (ref.norm(dim=1) == 0) & (cand.norm(dim=1) == 0)
        cosines.append(torch.where(both_zero, torch.ones_like(cosine), cosine))
        worst[row] = float(cosines[-1].min()) if len(cosines[-1]) else None
    if not cosines or not sum(len(c) for c in cosines):
        return figures
    every = torch.cat(cosines)
    from dataclasses import replace

    return replace(figures, min_cosine=float(every.min()), mean_cosine=float(every.mean()), item_cosines=tuple(worst))
