"""Which probe items moved: each run's worst items, the items whose nearest neighbour changed, and
percentiles of the per-item figure over every compared item; bounded so a large probe set's JSON stays small.

The comparison (compare.py) gives one figure per item; this ranks them and joins each to its text,
its token count and whether the model's window cut it.
"""
from __future__ import annotations

import math

from ..data.report import ItemFigures, ItemRecord, NeighbourChange, Truncation

# The JSON carries the WORST_ITEMS worst items of each run, and beyond them every item under
# --min-cosine, up to MAX_RECORDS; every neighbour change up to MAX_RECORDS (with their total);
# the percentiles cover every item. A text in a record is clipped to TEXT_CHARS characters: its
# `item` index finds it whole in the probe set (docs/report-schema.md).
WORST_ITEMS = 20
MAX_RECORDS = 1000
TEXT_CHARS = 300
PERCENTILES = (1, 5, 50, 95, 99)


def _clip(text: str) -> str:
    return text[:TEXT_CHARS]


def _sides(item) -> tuple[str, str | None]:
    """(the text or a pair's query, a pair's passage or None)."""
    if isinstance(item, (tuple, list)):
        return str(item[0]), str(item[1])
    return str(item), None


def _percentile(ordered: list[float], share: float) -> float:
    """Linear between the closest ranks, as numpy.percentile's default."""
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def truncation(lengths: list[int] | None, window: int | None) -> Truncation | None:
    """How many items the window cut; None when the window or the lengths are unknown."""
    if window is None or not lengths:
        return None
    cut = [n for n in lengths if n > window]
    return Truncation(int(window), len(cut), max(lengths), min(cut) if cut else None)


# Half-decade bins of the distance from float32, from "identical" to "unrelated": fixed, so that
# histograms of two runs, or of two scans, line up.
HISTOGRAM_EDGES = [0.0] + [round(10 ** (k / 2), 12) for k in range(-18, 1)]


def histogram(distances: list[float]) -> dict:
    """Counts of distances in HISTOGRAM_EDGES' bins: bounded whatever the number of items."""
    import bisect

    counts = [0] * len(HISTOGRAM_EDGES)
    for distance in distances:
        counts[max(bisect.bisect_right(HISTOGRAM_EDGES, max(distance, 0.0)) - 1, 0)] += 1
    return {"edges": HISTOGRAM_EDGES, "counts": counts}


def item_figures(figures, items: list, lengths: list[int] | None, window: int | None,
                 min_cosine: float) -> ItemFigures | None:
    """The run's per-item figures from its Comparison; None when it carries none."""
    cosines, diffs = figures.item_cosines, figures.item_score_diffs
    # Scores, where a kind has them, are what it is gated by (Spearman); otherwise cosines.
    name, values = ("score_diff", diffs) if diffs is not None else ("cosine", cosines)
    if values is None:
        return None
    compared = [i for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not compared:
        return None
    worse_high = name == "score_diff"
    ranked = sorted(compared, key=lambda i: (-values[i] if worse_high else values[i], i))
    ordered = sorted(values[i] for i in compared)
    below = 0 if worse_high else sum(1 for i in compared if values[i] < min_cosine)

    def record(i: int) -> ItemRecord:
        text, document = _sides(items[i])
        tokens = lengths[i] if lengths else None
        return ItemRecord(
            item=i, text=_clip(text), tokens=tokens,
            truncated=bool(window is not None and tokens is not None and tokens > window),
            document=None if document is None else _clip(document),
            cosine=None if cosines is None else cosines[i],
            score_diff=None if diffs is None else diffs[i],
        )

    def change(item: int, before: int, now: int) -> NeighbourChange:
        # Pairs: the query, then the passages float32 and this run rank first; texts: the texts.
        text, _ = _sides(items[item])
        pick = 1 if isinstance(items[item], (tuple, list)) else 0

        def side(index: int) -> str:
            return _clip(str(items[index][pick] if pick else items[index]))

        return NeighbourChange(item, _clip(text), before, side(before), now, side(now))

    return ItemFigures(
        figure=name,
        compared=len(compared),
        percentiles={f"p{p}": _percentile(ordered, p / 100) for p in PERCENTILES},
        worst=[record(i) for i in ranked[:min(MAX_RECORDS, max(WORST_ITEMS, below))]],
        below_threshold=below,
        neighbour_changes=[change(*c) for c in figures.neighbour_changes[:MAX_RECORDS]],
        neighbour_changes_total=len(figures.neighbour_changes),
        histogram=histogram([abs(values[i]) if worse_high else 1.0 - values[i] for i in compared]),
    )
