"""The figures against float32, a block of rows at a time: equal to the whole-matrix figures on
sets with ties, zero vectors and NaN rows, with blocks forced small so that there are many."""
from __future__ import annotations

import pytest
import torch

from precheck.compare import dense as compare, neighbours


def _whole_matrix_top1(reference, candidate) -> float:
    """top1_agreement as computed before blocks: every similarity at once."""
    def similarities(embeddings):
        unit = torch.nn.functional.normalize(embeddings.double(), dim=1)
        similarity = unit @ unit.T
        similarity.fill_diagonal_(-torch.inf)
        return similarity

    ref_sim = similarities(reference)
    chosen = similarities(candidate).argmax(dim=1)
    best = ref_sim.max(dim=1).values
    got = ref_sim.gather(1, chosen[:, None]).squeeze(1)
    return float((got >= best - compare.TIE_TOLERANCE).double().mean())


def _awkward_pair(texts: int, seed: int, nan_rows: bool):
    generator = torch.Generator().manual_seed(seed)
    reference = torch.randn(texts, 24, generator=generator)
    reference[4] = reference[5]  # an exact tie
    reference[6] = reference[7] * (1 + 1e-8)  # a tie float32 cannot separate
    reference[8] = 0.0  # no direction
    candidate = reference + 0.3 * torch.randn(texts, 24, generator=generator)
    candidate[8] = 0.0
    candidate[9] = candidate[10]
    if nan_rows:
        reference[11] = float("nan")
        candidate[12, 3] = float("nan")
    return reference, candidate


@pytest.mark.parametrize("nan_rows", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top1_agreement_in_small_blocks_equals_the_whole_matrix(monkeypatch, seed, nan_rows):
    reference, candidate = _awkward_pair(53, seed, nan_rows)
    expected = _whole_matrix_top1(reference, candidate)
    assert compare.top1_agreement(reference, candidate) == expected  # one block: as before, to the digit
    monkeypatch.setattr(neighbours, "BLOCK_ELEMENTS", 53 * 5)  # five rows a block
    assert compare.top1_agreement(reference, candidate) == expected


def test_compare_embeddings_in_small_blocks_gives_the_same_comparison(monkeypatch):
    reference, candidate = _awkward_pair(40, 3, nan_rows=True)
    whole = compare.compare_embeddings(reference, candidate)
    monkeypatch.setattr(neighbours, "BLOCK_ELEMENTS", 40 * 3)
    assert compare.compare_embeddings(reference, candidate) == whole


def test_row_blocks_cover_every_row_once_and_hold_at_least_one_row(monkeypatch):
    monkeypatch.setattr(neighbours, "BLOCK_ELEMENTS", 10)
    assert list(neighbours.row_blocks(7, 3)) == [(0, 3), (3, 6), (6, 7)]
    assert list(neighbours.row_blocks(3, 50)) == [(0, 1), (1, 2), (2, 3)]
