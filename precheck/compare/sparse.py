"""Figures of a SparseEncoder's low-precision run against float32: what retrieval with it sees.

Outputs are [texts, 2, vocabulary]: each text encoded as a query and as a document. Compared by
the rank agreement of query-document dot products, active dimensions per text, and the overlap
of each text's top-k weighted terms (the terms themselves come back as tokens a user can read).
"""
from __future__ import annotations

from typing import Callable

from .dense import Comparison, _usable, spearman
from ..data.report import TopTerms

TOP_K = 10  # the "terms" figure: the overlap of each text's K heaviest terms in float32 and in the low dtype


def _scores(outputs):
    """Dot products of every text as a query against every other text as a document."""
    queries, documents = outputs[:, 0].double(), outputs[:, 1].double()
    return queries @ documents.T


def _top1_kept(reference, candidate) -> tuple[float | None, list[tuple[int, int, int]]]:
    """(share of queries whose best document (itself left out) is one float32 ranks best too,
    (query, float32's best, this run's best) for each of the others)."""
    import torch

    if reference.shape[0] < 2:
        return None, []
    ref, cand = reference.clone(), candidate.clone()
    ref.fill_diagonal_(-torch.inf)
    cand.fill_diagonal_(-torch.inf)
    best, best_at = ref.max(dim=1)
    chosen = cand.argmax(dim=1)
    got = ref.gather(1, chosen[:, None]).squeeze(1)
    moved = torch.nonzero(~(got >= best - 1e-9)).flatten().tolist()
    return float((got >= best - 1e-9).double().mean()), [(row, int(best_at[row]), int(chosen[row])) for row in moved]


def _term_overlap(ref_row, cand_row, k: int) -> float:
    """Share of float32's top-k terms that stay in the candidate's top-k; a term that ties
    float32's k-th weight counts as kept."""
    import torch

    active = int((ref_row > 0).sum())
    wanted = min(k, active)
    if wanted == 0:
        return 1.0 if int((cand_row > 0).sum()) == 0 else 0.0
    kth = float(torch.topk(ref_row, wanted).values[-1])
    chosen = torch.topk(cand_row, wanted).indices
    chosen = chosen[cand_row[chosen] > 0]  # a term the candidate gave no weight is not in its top-k
    return float(((ref_row[chosen] >= kth) & (ref_row[chosen] > 0)).sum()) / wanted


def _top_tokens(row, k: int, tokens: Callable[[list[int]], list[str]]) -> list[str]:
    import torch

    wanted = min(k, int((row > 0).sum()))
    return tokens(torch.topk(row, wanted).indices.tolist()) if wanted else []


def compare_sparse(reference, candidate, items: list, tokens: Callable[[list[int]], list[str]],
                   k: int = TOP_K) -> Comparison:
    """Texts non-finite in float32 are left out; `tokens` turns vocabulary ids into tokens."""
    import torch

    usable, nonfinite = _usable(reference, candidate)
    keep = [i for i in range(len(items)) if bool(usable[i])]
    if not keep:
        return Comparison(nonfinite)
    ref, cand = reference[usable].double(), candidate[usable].double()
    ref_scores, cand_scores = _scores(ref), _scores(cand)
    off_diagonal = ~torch.eye(len(keep), dtype=torch.bool)
    rho = spearman(ref_scores[off_diagonal].tolist(), cand_scores[off_diagonal].tolist())
    max_diff = float((ref_scores - cand_scores).abs().max())
    ref_docs, cand_docs = ref[:, 1], cand[:, 1]
    ref_active = (ref_docs > 0).sum(dim=1).double()
    cand_active = (cand_docs > 0).sum(dim=1).double()
    change = ((cand_active - ref_active).abs() / ref_active.clamp(min=1)).max()
    overlaps = [_term_overlap(ref_docs[row], cand_docs[row], k) for row in range(len(keep))]
    worst = min(range(len(keep)), key=lambda row: overlaps[row])
    terms = TopTerms(keep[worst], str(items[keep[worst]])[:80], _top_tokens(ref_docs[worst], k, tokens),
                     _top_tokens(cand_docs[worst], k, tokens))
    top1, changes = _top1_kept(ref_scores, cand_scores)
    spread = [None] * len(items)
    for row, diff in enumerate((ref_scores - cand_scores).abs().max(dim=1).values.tolist()):
        spread[keep[row]] = diff
    return Comparison(
        nonfinite,
        top1_agreement=top1,
        item_score_diffs=tuple(spread),
        neighbour_changes=tuple((keep[a], keep[b], keep[c]) for a, b, c in changes),
        max_abs_diff=max_diff,
        spearman=rho,
        active_dims=float(cand_active.mean()),
        active_dims_change=float(change),
        topk_overlap=min(overlaps),
        topk_terms=terms,
    )
