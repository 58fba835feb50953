"""Figures of a low-precision run against the float32 reference.

Cosine per text, and top-1 agreement: whether each text's nearest neighbour in the
probe set is unchanged, which catches drift that moves rankings before cosine looks bad.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    nonfinite: int
    min_cosine: float | None
    mean_cosine: float | None
    top1_agreement: float | None


def nonfinite_rows(embeddings):
    import torch

    return ~torch.isfinite(embeddings).all(dim=1)


def _similarities(embeddings):
    import torch

    unit = torch.nn.functional.normalize(embeddings.double(), dim=1)
    similarity = unit @ unit.T
    similarity.fill_diagonal_(-torch.inf)
    return similarity


def top1_agreement(reference, candidate) -> float:
    """Share of texts whose nearest neighbour is unchanged. A neighbour that ties the
    float32 best (duplicate texts, such as "" and "   ") counts as unchanged."""
    ref_sim = _similarities(reference)
    chosen = _similarities(candidate).argmax(dim=1)
    best = ref_sim.max(dim=1).values
    got = ref_sim.gather(1, chosen[:, None]).squeeze(1)
    return float((got >= best - 1e-9).double().mean())


def compare(reference, candidate) -> Comparison:
    """Both [texts, dim] float32 tensors. Texts non-finite in the reference are left out."""
    import torch

    bad_reference = nonfinite_rows(reference)
    bad_candidate = nonfinite_rows(candidate) & ~bad_reference
    usable = ~bad_reference & ~bad_candidate
    nonfinite = int(bad_candidate.sum())
    if int(usable.sum()) == 0:
        return Comparison(nonfinite, None, None, None)
    ref, cand = reference[usable].double(), candidate[usable].double()
    cosine = torch.nn.functional.cosine_similarity(ref, cand, dim=1)
    # Zero vectors have no direction; both being zero counts as agreement.
    both_zero = (ref.norm(dim=1) == 0) & (cand.norm(dim=1) == 0)
    cosine = torch.where(both_zero, torch.ones_like(cosine), cosine)
    top1 = None
    if ref.shape[0] >= 2:
        top1 = top1_agreement(ref, cand)
    return Comparison(nonfinite, float(cosine.min()), float(cosine.mean()), top1)
