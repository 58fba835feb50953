"""Where a run's figures meet the thresholds: each run's status, each dtype's verdict line, and
`merge`'s rejudging of a report from its own figures. The wording of the figures is the kind's."""
from __future__ import annotations

import math

from ..kinds import Kind, kind_for
from ..options import ScanOptions
from ..report import DtypeVerdict, ProbeResult, Report, Verdict

# Each figure a threshold gates, the option that holds its threshold, and how a miss reads, in the
# order a drift's verdict names them. A figure a run did not measure (None) gates nothing.
GATES = (("top1_agreement", "min_top1_agreement", "top-1 agreement {:.0%} < {:.0%}"),
         ("spearman", "min_spearman", "Spearman {:.4f} < {}"),
         ("min_cosine", "min_cosine", "min cosine {:.6f} < {}"))


def _missed(figures, options: ScanOptions) -> list[tuple[str, str, str]]:
    return [gate for gate in GATES
            if getattr(figures, gate[0]) is not None and getattr(figures, gate[0]) < getattr(options, gate[1])]


def classify(comparison, options: ScanOptions) -> str:
    """The one place a run's figures meet the thresholds: the scan's results, and `merge`'s rejudge."""
    figures = [getattr(comparison, field) for field, _, _ in GATES]
    # A figure that is itself NaN/inf compares False against every threshold: it must not read as a pass.
    if comparison.nonfinite or any(f is not None and not math.isfinite(f) for f in figures):
        return "nonfinite"
    return "drift" if _missed(comparison, options) else "ok"


def compared_nothing(kind: Kind, figures) -> bool:
    """No headline figure and no NaN/inf: nothing was compared, so nothing may be `ok`."""
    return not figures.nonfinite and kind.headline_value(figures) is None


def _summary(kind: Kind, load: ProbeResult, cast: ProbeResult | None, options: ScanOptions, items: int) -> str:
    if load.status == "ok":
        return kind.verdict_figures(load)
    if load.status == "unsupported":
        return f"this device cannot run it ({load.error.message if load.error else 'unsupported'})"
    if load.status == "error":
        first_line = load.error.message.splitlines()[0] if load.error and load.error.message else ""
        reason = f"fails: {load.error.type}: {first_line}" if load.error else "fails"
    elif load.status == "nonfinite":
        reason = f"NaN/inf outputs for {load.nonfinite} of {items} probe items"
    else:
        field, threshold, text = next(iter(_missed(load, options)), GATES[-1])
        reason = "drift: " + text.format(getattr(load, field), getattr(options, threshold))
    if cast is not None and cast.status == "ok":
        reason += "; casting after a float32 load (.to(dtype)) passes"
    return reason


def verdict(kind: Kind, results: list[ProbeResult], options: ScanOptions, items: int) -> Verdict:
    per_dtype = []
    for dtype in options.dtypes:
        load = next(r for r in results if r.dtype == dtype and r.strategy == "load")
        cast = next((r for r in results if r.dtype == dtype and r.strategy == "cast"), None)
        passed = load.status == "ok"
        per_dtype.append(DtypeVerdict(dtype, passed, load.status, _summary(kind, load, cast, options, items)))
    return Verdict(passed=all(v.passed for v in per_dtype), dtypes=per_dtype)


def rejudge(report: Report) -> None:
    """Statuses and verdict recomputed from a report's own figures against its own thresholds, as the
    scan decides them: `precheck merge` never takes a file's word for whether a model passed."""
    kind = kind_for(report.model.kind)
    for result in report.results:
        if result.status not in ("error", "unsupported"):
            result.status = "error" if compared_nothing(kind, result) else classify(result, report.settings)
    report.verdict = verdict(kind, report.results, report.settings, report.settings.probe_items)
