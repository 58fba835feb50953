"""The paired bootstrap: the uncertainty of a precision's difference from float32 over the queries
(or pairs) of the set.

Each resample draws as many queries as the set has, with replacement, and computes the metric for
float32 and the precision on the same draw; the interval is the 2.5th and 97.5th percentiles of the
differences (the percentile interval). The seed is fixed and the same for every precision, so a run
is reproducible and every precision is judged on the same draws (docs/evaluation.md).
"""
from __future__ import annotations

from typing import Callable

RESAMPLES = 1000
SEED = 0
CONFIDENCE = 0.95
# Indices held at once per chunk of resamples: 2**22 int64 indices are 32 MiB.
CHUNK_ELEMENTS = 1 << 22


def paired_interval(items: int, difference: Callable, resamples: int = RESAMPLES,
                    seed: int = SEED) -> list[float] | None:
    """[low, high] of the CONFIDENCE percentile interval of `difference(indices)`, which maps a
    (resamples, items) array of drawn positions to one difference per resample; None when no
    resample gave a number (a set of one item)."""
    import numpy as np

    if items < 2:
        return None
    rng = np.random.default_rng(seed)
    per_chunk = max(1, CHUNK_ELEMENTS // items)
    values = []
    for start in range(0, resamples, per_chunk):
        drawn = rng.integers(0, items, size=(min(per_chunk, resamples - start), items))
        values.append(np.asarray(difference(drawn), dtype=np.float64))
    found = np.concatenate(values)
    found = found[np.isfinite(found)]
    if not found.size:
        return None
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(found, [tail, 1 - tail])
    return [float(low), float(high)]


def mean_difference(per_item_difference) -> Callable:
    """`difference` for a metric that is a mean over queries (nDCG@10): the mean of the drawn
    queries' differences."""
    import numpy as np

    values = np.asarray(per_item_difference, dtype=np.float64)
    return lambda drawn: values[drawn].mean(axis=1)


def spearman_difference(gold, reference, candidate) -> Callable:
    """`difference` for Spearman over pairs: each draw's Spearman of the candidate's cosines against
    the gold scores, less float32's on the same draw."""
    import numpy as np

    from .ranking import spearman_rows

    gold, reference, candidate = (np.asarray(v, dtype=np.float64) for v in (gold, reference, candidate))
    return lambda drawn: spearman_rows(gold[drawn], candidate[drawn]) - spearman_rows(gold[drawn], reference[drawn])
