"""Figures of a low-precision run against the float32 reference.

Embeddings: cosine per text, and top-1 agreement (is each text's nearest neighbour in the
probe set unchanged?), which catches drift that moves rankings before cosine looks bad.
Cross-encoder scores: largest absolute difference, Spearman rank correlation (ties that
half precision creates lower it), and whether each query's top passage is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    nonfinite: int
    min_cosine: float | None = None
    mean_cosine: float | None = None
    top1_agreement: float | None = None
    max_abs_diff: float | None = None
    spearman: float | None = None
    # SparseEncoders (compare_sparse.py): retrieval-side figures of the low run.
    active_dims: float | None = None
    active_dims_change: float | None = None
    topk_overlap: float | None = None
    topk_terms: object = None  # report.TopTerms
    # Per item, in the probe set's order (None where an item was not compared): moved.py ranks them.
    item_cosines: tuple | None = None
    item_score_diffs: tuple | None = None
    # (item, float32's nearest, this run's nearest) for each item whose nearest neighbour changed.
    neighbour_changes: tuple = ()

    def sparse_fields(self) -> dict:
        """The fields a ProbeResult takes beyond the shared ones (None for dense kinds)."""
        return {"active_dims": self.active_dims, "active_dims_change": self.active_dims_change,
                "topk_overlap": self.topk_overlap, "topk_terms": self.topk_terms}


def nonfinite_rows(outputs):
    import torch

    return ~torch.isfinite(outputs.reshape(outputs.shape[0], -1)).all(dim=1)


def _usable(reference, candidate):
    bad_reference = nonfinite_rows(reference)
    bad_candidate = nonfinite_rows(candidate) & ~bad_reference
    return ~bad_reference & ~bad_candidate, int(bad_candidate.sum())


def _similarities(unit, start: int, stop: int):
    """Rows start..stop of the texts' cosine similarities, each text's own at -inf."""
    import torch

    similarity = unit[start:stop] @ unit.T
    rows = torch.arange(stop - start)
    similarity[rows, rows + start] = -torch.inf
    return similarity


# Similarities that float32 itself cannot separate: a float32 embedding carries a rounding error of
# a few units in its last place (2**-23 = 1.2e-7) per component, and a cosine computed from two of
# them moves by about 1e-7 with the batch it was encoded in. Neighbours closer than this are ties.
TIE_TOLERANCE = 1e-6


def nearest_changes(reference, candidate) -> tuple[float, list[tuple[int, int, int]]]:
    """(share of texts whose nearest neighbour is unchanged, (text, float32's nearest, the
    candidate's nearest) for each of the others). A neighbour whose float32 similarity is within
    TIE_TOLERANCE of the float32 best ("" and "   ") ties it and counts as unchanged."""
    import torch

    from .neighbours import row_blocks

    # A block of rows at a time (neighbours.py): memory linear in the texts, the same figure.
    ref_unit = torch.nn.functional.normalize(reference.double(), dim=1)
    cand_unit = torch.nn.functional.normalize(candidate.double(), dim=1)
    texts = ref_unit.shape[0]
    changes: list[tuple[int, int, int]] = []
    for start, stop in row_blocks(texts, texts):
        ref_sim = _similarities(ref_unit, start, stop)
        chosen = _similarities(cand_unit, start, stop).argmax(dim=1)
        best, best_at = ref_sim.max(dim=1)
        got = ref_sim.gather(1, chosen[:, None]).squeeze(1)
        # Not `<`: a NaN similarity agrees with nothing, as the share has always counted it.
        for row in torch.nonzero(~(got >= best - TIE_TOLERANCE)).flatten().tolist():
            changes.append((start + row, int(best_at[row]), int(chosen[row])))
    return (texts - len(changes)) / texts, changes


def top1_agreement(reference, candidate) -> float:
    """Share of texts whose nearest neighbour is unchanged (nearest_changes)."""
    return nearest_changes(reference, candidate)[0]


def _per_item(values, kept: list[int], items: int) -> tuple:
    """Values of the compared items spread back over the whole probe set, None for the rest."""
    spread: list = [None] * items
    for index, value in zip(kept, values):
        spread[index] = float(value)
    return tuple(spread)


def compare_embeddings(reference, candidate) -> Comparison:
    """Both [texts, dim] float32 tensors. Texts non-finite in the reference are left out."""
    import torch

    usable, nonfinite = _usable(reference, candidate)
    if int(usable.sum()) == 0:
        return Comparison(nonfinite)
    kept = torch.nonzero(usable).flatten().tolist()
    ref, cand = reference[usable].double(), candidate[usable].double()
    cosine = torch.nn.functional.cosine_similarity(ref, cand, dim=1)
    # Zero vectors have no direction; both being zero counts as agreement.
    both_zero = (ref.norm(dim=1) == 0) & (cand.norm(dim=1) == 0)
    cosine = torch.where(both_zero, torch.ones_like(cosine), cosine)
    top1, changes = nearest_changes(ref, cand) if ref.shape[0] >= 2 else (None, [])
    return Comparison(nonfinite, float(cosine.min()), float(cosine.mean()), top1,
                      item_cosines=_per_item(cosine.tolist(), kept, reference.shape[0]),
                      neighbour_changes=tuple((kept[a], kept[b], kept[c]) for a, b, c in changes))


def average_ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank (as Spearman's rho wants)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float | None:
    import torch

    if len(a) < 2:
        return None
    ra = torch.tensor(average_ranks(a), dtype=torch.float64)
    rb = torch.tensor(average_ranks(b), dtype=torch.float64)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    if denominator == 0:
        return 1.0 if float(ra.norm()) == float(rb.norm()) else 0.0
    return float((ra * rb).sum()) / denominator


def compare_scores(reference, candidate, queries: list[str]) -> Comparison:
    """Scores [pairs, labels]; the first label ranks. Pairs non-finite in float32 are left out."""
    usable, nonfinite = _usable(reference, candidate)
    keep = [i for i in range(len(queries)) if bool(usable[i])]
    if not keep:
        return Comparison(nonfinite)
    ref = [float(reference[i, 0]) for i in keep]
    cand = [float(candidate[i, 0]) for i in keep]
    max_diff = float((reference[usable] - candidate[usable]).abs().max())
    by_query: dict[str, list[int]] = {}
    for position, i in enumerate(keep):
        by_query.setdefault(queries[i], []).append(position)
    agree, counted, changes = 0, 0, []
    for positions in by_query.values():
        if len(positions) < 2:
            continue
        counted += 1
        top = max(positions, key=lambda p: ref[p])
        chosen = max(positions, key=lambda p: cand[p])
        if ref[chosen] >= ref[top] - TIE_TOLERANCE * max(1.0, abs(ref[top])):
            agree += 1
        else:  # the query's first pair, float32's top passage, this run's
            changes.append((keep[positions[0]], keep[top], keep[chosen]))
    top1 = agree / counted if counted else None
    diffs = [abs(a - b) for a, b in zip(ref, cand)]
    return Comparison(nonfinite, top1_agreement=top1, max_abs_diff=max_diff, spearman=spearman(ref, cand),
                      item_score_diffs=_per_item(diffs, keep, len(queries)), neighbour_changes=tuple(changes))
