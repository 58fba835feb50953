"""The --max-metric-drop gate, judged from a report's own figures (engine/verdict.py's judge calls it,
so `scan`, `ci`, `merge` and the API all read it the same way).

A precision fails when float32's metric less its own is more than max_metric_drop (the point estimate);
the bootstrap interval is reported beside it, not gated on (docs/evaluation.md says why).
"""
from __future__ import annotations

import math

from ..data.evaluation import LABELS

# Differences this small are float arithmetic, not a drop (a metric equal to float32's passes a 0 drop).
TOLERANCE = 1e-9


def drop(check, row) -> float | None:
    """float32's metric less the row's (positive: a loss); None when either was not measured."""
    reference = next((r for r in check.results if r.dtype == "float32"), None)
    if reference is None or reference.metric is None or row.metric is None:
        return None
    return reference.metric - row.metric


def row_passes(check, row) -> bool:
    if row.metric is None or not math.isfinite(row.metric):
        return False
    lost = drop(check, row)
    return lost is not None and math.isfinite(lost) and lost <= check.max_metric_drop + TOLERANCE


def interval_text(check, row) -> str:
    if row.interval is None:
        return ""
    low, high = row.interval
    return f" ({check.confidence:.0%} interval of the difference {low:+.4f} to {high:+.4f})"


def evaluation_failures(check, dtypes: list[str]) -> list[str]:
    """Each row rejudged from its figures, and one verdict line per failing precision; a precision
    of the scan with no row is a gate that tested nothing, never a pass."""
    failures = []
    for row in check.results:
        row.passed = row_passes(check, row)
    for dtype in ["float32", *dtypes]:
        if not any(r.dtype == dtype for r in check.results):
            failures.append(f"eval {dtype}: not measured")
    failures += [f"eval {row.dtype}: {row_message(check, row)}" for row in check.results if not row.passed]
    check.passed = not failures
    return failures


def row_message(check, row) -> str:
    """Why a precision fails the gate, in one line (the verdict, JUnit and the annotations say it alike)."""
    lost = drop(check, row)
    if row.metric is None or lost is None:
        return f"not measured ({row.error or 'float32 was not measured'})"
    label = LABELS.get(check.metric, check.metric)
    return (f"{label} {row.metric:.4f}, {lost:.4f} below float32's {row.metric + lost:.4f}"
            f"{interval_text(check, row)} > --max-metric-drop {check.max_metric_drop:g}")


def interval_notes(check) -> list[str]:
    """A precision that passes on its point estimate while its interval reaches past the threshold:
    the set is too small to be sure either way, said as a note, not a failure."""
    notes = []
    for row in check.results:
        if row.passed and row.interval is not None and -row.interval[0] > check.max_metric_drop + TOLERANCE:
            notes.append(f"eval {row.dtype}: the drop passes --max-metric-drop {check.max_metric_drop:g}, but its "
                         f"{check.confidence:.0%} interval reaches {row.interval[0]:+.4f}: more queries would "
                         f"settle it (docs/evaluation.md)")
    return notes
