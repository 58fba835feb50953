"""Texts against texts, block by block: each block of rows is scored against every column and
reduced at once, so memory grows with the number of texts and never with its square.

`top_others` is the stable top-k of a block's rows with each row's own column left out, equal to
a full stable sort of every row (ties to the lower column, as a flat index returns them).
"""
from __future__ import annotations

from collections.abc import Iterator

# Scores held at once per block: 2**24 float64 scores are 128 MiB. A probe set of up to 4,096 texts
# is one block, computed exactly as a whole matrix would be; larger sets take fewer rows per block.
BLOCK_ELEMENTS = 1 << 24


def row_blocks(rows: int, columns: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of each block of rows, as many rows as BLOCK_ELEMENTS scores of `columns` allow."""
    per_block = max(1, BLOCK_ELEMENTS // max(columns, 1))
    for start in range(0, rows, per_block):
        yield start, min(rows, start + per_block)


def top_others(scores, first_row: int, count: int):
    """(rows, min(count, columns - 1)) column indices, highest score first, of a block of rows
    `first_row`.. of a square comparison; each row's own column is never among them, whatever the
    scores (NaN sorts below every number, as numpy's sort puts it last)."""
    import numpy as np

    rows, columns = scores.shape
    count = max(0, min(count, columns - 1))
    found = np.empty((rows, count), dtype=np.int64)
    if count == 0:
        return found
    lower = -np.asarray(scores, dtype=np.float64)
    own = np.arange(rows) + first_row
    # +inf in the lowered scores puts a row's own column after every number; it is also left out
    # explicitly below, for rows whose count-th best is not a number.
    lower[np.arange(rows), own] = np.inf
    if count >= columns - 1:
        slow = np.arange(rows)
    else:
        kth = np.partition(lower, count - 1, axis=1)[:, count - 1:count]
        at_most = (lower <= kth).sum(axis=1)
        # Rows where exactly `count` columns reach the count-th best have one answer, found by
        # partition; rows with ties across that line (or no finite count-th best) are sorted whole.
        clean = (at_most == count) & np.isfinite(kth[:, 0])
        if clean.any():
            chosen = np.sort(np.argpartition(lower[clean], count - 1, axis=1)[:, :count], axis=1)
            order = np.argsort(np.take_along_axis(lower[clean], chosen, axis=1), axis=1, kind="stable")
            found[clean] = np.take_along_axis(chosen, order, axis=1)
        slow = np.flatnonzero(~clean)
    for row in slow:
        others = np.flatnonzero(np.arange(columns) != own[row])
        found[row] = others[np.argsort(lower[row, others], kind="stable")[:count]]
    return found
