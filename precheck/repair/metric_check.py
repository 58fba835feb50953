"""--eval in the fix search: a plan is verified on the user's metric as well as on the probe figures.

A plan that passes the probe figures is loaded once more, applied, and makes one pass over the labelled
set (evaluation/measure.py); its row (the metric, its difference from float32, the paired bootstrap
interval) is held to --max-metric-drop as a scanned precision's row is. A plan whose model is a load the
scan already made and measured (a switch to a scanned precision, bf16-compute) takes that load's figures
instead. Each plan is measured at most once per session. Without --eval nothing here runs.
"""
from __future__ import annotations

from ..dtypes import is_quantized
from ..data.plan import Plan
from .plans import apply_plan

# Strategies whose model is the scan's own load of plan.weights_dtype: nothing applied after the load.
_AS_LOADED = ("load", "bf16-compute", "bf16", "fp16")


def _key(plan: Plan) -> tuple:
    return (plan.dtype, plan.strategy, tuple(sorted(plan.keep_fp32)), tuple(sorted(plan.run_low)),
            tuple(sorted(plan.keep_unquantized)))


def set_runs(session):
    """The scan's passes over a labelled set (--eval), or None: without one, or for an evaluator object
    (whose opaque call has no per-query figures to hold a plan's against), plans are verified on the
    probe figures alone (docs/evaluation.md)."""
    runs = session.evaluation
    return runs if runs is not None and runs.per_item else None


def _float32(session):
    from ..evaluation.measure import ensure_float32

    runs = set_runs(session)
    ensure_float32(runs, session)
    return runs.figures.get("float32")


def _row(session, dtype: str, figures, seconds: float, error: str | None):
    """The plan's (or a scanned precision's) row, judged against --max-metric-drop."""
    import math

    from ..evaluation.gate import TOLERANCE
    from ..evaluation.result import precision_result, unmeasured

    reference = _float32(session)
    if figures is None or reference is None:
        return unmeasured(dtype, error or set_runs(session).errors.get("float32", "float32 was not measured"))
    row = precision_result(dtype, set_runs(session).data, reference, figures, seconds)
    row.passed = row.metric is not None and math.isfinite(row.metric) and math.isfinite(row.difference) \
        and -row.difference <= session.options.max_metric_drop + TOLERANCE
    return row


def scan_row(session, dtype: str):
    """The scan's own `load` of `dtype` on the set (None: no --eval, or the load made no pass over it)."""
    runs = set_runs(session)
    if runs is None or (dtype not in runs.figures and dtype not in runs.errors):
        return None
    return _row(session, dtype, runs.figures.get(dtype), runs.seconds.get(dtype, 0.0), runs.errors.get(dtype))


def metric_fails(session, dtype: str) -> bool:
    """The scan's load of `dtype` misses --max-metric-drop on the set: a dtype that passes the probe
    figures still gets a fix search."""
    row = scan_row(session, dtype)
    return row is not None and not row.passed


def _plan_model(session, plan: Plan):
    """The plan's model, loaded as the probe run that verified it loaded it."""
    if is_quantized(plan.weights_dtype):
        from ..diagnosis.reference_check import repaired
        from ..loading.load import load_model

        return repaired(load_model(session.model, session.device, plan.weights_dtype, session.options.load,
                                   keep_unquantized=plan.keep_unquantized), session.buffer_repair)
    return apply_plan(session.load(plan.weights_dtype), plan, session.device)


def plan_row(session, plan: Plan):
    """The plan's row on the --eval set (EvalResult, `passed` set), or None without a labelled set."""
    runs = set_runs(session)
    if runs is None:
        return None
    measured = runs.plans
    key = _key(plan)
    if key in measured:
        return measured[key]
    weights = plan.weights_dtype
    as_loaded = plan.strategy in _AS_LOADED or (plan.quantized and plan.strategy == weights)
    if as_loaded and (weights in runs.figures or weights in runs.errors):
        row = _row(session, plan.dtype, runs.figures.get(weights), runs.seconds.get(weights, 0.0),
                   runs.errors.get(weights))
    else:
        from ..loading.load import release_memory

        _float32(session)  # before this plan's model is loaded: never two models at once
        try:
            model = _plan_model(session, plan)
        except Exception as exc:  # noqa: BLE001 - the plan's failure is its result
            figures, seconds, error = None, 0.0, f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        else:
            figures, seconds, error = runs.measure(f"{plan.dtype} ({plan.strategy} plan)", model, session)
            del model
        release_memory()
        row = _row(session, plan.dtype, figures, seconds, error)
    measured[key] = row
    return row


def metric_text(session, row) -> str:
    """The plan's metric as the fix's detail says it: value, difference and interval, and the gate's word."""
    from ..evaluation.gate import interval_text
    from ..data.evaluation import LABELS

    runs = session.evaluation
    label = LABELS.get(_metric(runs), _metric(runs))
    if row.metric is None:
        return f"{label} not measured ({row.error})"
    check = _Check(session)
    verdict = "within" if row.passed else "more than"
    return (f"{label} {row.metric:.4f}, {row.difference:+.4f} from float32{interval_text(check, row)}: "
            f"a drop {verdict} --max-metric-drop {session.options.max_metric_drop:g}")


def _metric(runs) -> str:
    from ..data.evaluation import METRICS

    return METRICS[runs.data.layout]


class _Check:
    """What gate.interval_text reads of an EvaluationCheck."""

    def __init__(self, session) -> None:
        from ..evaluation.bootstrap import CONFIDENCE

        self.confidence = CONFIDENCE
        self.max_metric_drop = session.options.max_metric_drop
