"""The smallest fix for each failing dtype, each verified by re-running the probe set (and, with --eval,
on the user's metric: metric_check.py).

Tried cheapest first: cast, autocast, keep-fp32 (keep_search.py) and bf16 for float16; runs the
scan already made are reused and fixes that cannot beat a verified cast are not run. The
recommendation keeps the most of the memory saving (`recommend`, the rule in docs/diagnosis.md).
"""
from __future__ import annotations

from dataclasses import replace

from .keep_search import MAX_FP32_SHARE, PlanProbe, search_keep_fp32
from ..dtypes import is_quantized
from ..data.plan import FIX_STRATEGIES, SWITCHES, Plan
from .plans import snippets
from ..data.report import Diagnosis, Fix, ProbeResult
from ..session import ScanRun
from .metric_check import metric_fails, metric_text, plan_row

# Above this share of parameters in float32 a plan keeps under 3/4 of the memory saving: a
# verified bf16, which keeps all of it, is recommended instead.
HEAVY_FP32_SHARE = 0.25


def _find(results: list[ProbeResult], dtype: str, strategy: str) -> ProbeResult | None:
    return next((r for r in results if r.dtype == dtype and r.strategy == strategy), None)


def _why(kind, result: ProbeResult) -> str:
    if result.status == "ok":
        return kind.headline(result)
    if result.error is not None:
        first = result.error.message.splitlines()[0] if result.error.message else ""
        return f"{result.status}: {result.error.type}: {first}"
    if result.status == "nonfinite":
        return f"nonfinite: NaN/inf for {result.nonfinite} probe items"
    return f"{result.status}: {kind.headline(result)}"


def _culprit(diagnoses: list[Diagnosis], dtype: str, load: ProbeResult | None = None) -> Diagnosis | None:
    """The module a keep-fp32 search starts from: the load's, unless that load was not of `dtype` at all
    (torch_dtype reached none of it: a static embedding model), where the cast shows where `dtype` breaks."""
    from ..loading.inventory import DtypeNotReached

    not_reached = load is not None and load.error is not None and load.error.type == DtypeNotReached.__name__
    for strategy in ("cast",) if not_reached else ("load", "cast"):
        for d in diagnoses:
            if d.dtype == dtype and d.strategy == strategy and d.module:
                return d
    return None


def _fix(session: ScanRun, plan: Plan, result: ProbeResult | None, share: float, detail: str, runs: int = 0,
         param_bytes: int | None = None) -> Fix:
    if session.buffer_repair is not None and session.buffer_repair.owners:
        plan = replace(plan, repair_buffers={k: list(v) for k, v in session.buffer_repair.owners.items()})
    plain, with_precheck = snippets(plan, session.model.name, session.device, session.options.trust_remote_code,
                                    session.kind, session.options.load)
    passes_probe = result is not None and result.status == "ok"
    # With --eval, a plan that passes the probe figures is verified on the metric too (metric_check.py).
    metric = plan_row(session, plan) if passes_probe else None
    verified = passes_probe and (metric is None or metric.passed)
    detail = detail or (_why(session.kind, result) if result is not None else "")
    if metric is not None:
        detail += ("; on --eval, " if metric.passed else "; not offered: on --eval, ") + metric_text(session, metric)
    return Fix(
        dtype=plan.dtype,
        strategy=plan.strategy,
        keep_fp32=list(plan.keep_fp32),
        run_low=list(plan.run_low),
        fp32_param_share=round(share, 4),
        verified=verified,
        min_cosine=result.min_cosine if result is not None else None,
        recommended=False,
        snippet=plain,
        precheck_snippet=with_precheck,
        # A search that ran and found no plan was tried; only a fix never run is "not-tried".
        status=result.status if result is not None else ("no-plan" if runs else "not-tried"),
        detail=detail,
        probe_runs=runs,
        param_bytes=param_bytes if param_bytes is not None else (result.param_bytes if result is not None else None),
        keep_unquantized=list(plan.keep_unquantized),
        evaluation=metric,
    )


def recommend(fixes: list[Fix], cause: str, bf16_runs: bool) -> Fix | None:
    """Among verified fixes: float32 made inside the forward -> autocast, which casts at every op
    whatever code path made the float32 (a plan covers only the modules the probe set reached);
    otherwise the fix in the requested dtype with the fewest parameter bytes, ties broken by min
    cosine, unless it keeps more than 25% of the parameters in float32 and a verified switch to the other
    half precision runs here: that keeps the whole memory saving, which a fix in float32 weights does not."""
    verified = [f for f in fixes if f.verified]
    autocast = next((f for f in verified if f.strategy == "autocast"), None)
    if cause == "float32-in-forward" and autocast is not None:
        best = autocast
    else:
        same = [f for f in verified if f.strategy not in SWITCHES]
        best = min(same, key=lambda f: (f.param_bytes if f.param_bytes is not None else float("inf"),
                                        -(f.min_cosine if f.min_cosine is not None else -1.0)), default=None)
        switch = next((f for f in verified if f.strategy in SWITCHES), None)
        if switch is not None and bf16_runs and (best is None or best.fp32_param_share > HEAVY_FP32_SHARE):
            best = switch
    if best is not None:
        best.recommended = True
    return best


def _drift_ranking(drift: list, dtype: str) -> list[str]:
    """Layers and their parts (not whole pipeline modules) by the drift each adds, most first."""
    rows = [r for r in drift if r.dtype == dtype and r.strategy == "load" and "." in r.module and r.added > 0]
    return [r.module for r in sorted(rows, key=lambda r: -r.added)]


def _keep_fp32_fix(session: ScanRun, probe: PlanProbe, culprit: Diagnosis | None, drift: list = ()) -> Fix:
    if culprit is None:
        return _fix(session, Plan(probe.dtype, "keep-fp32"), None, 0.0, "no culprit module was found to start from")
    before = probe.runs
    found = search_keep_fp32(probe, culprit, _drift_ranking(list(drift), probe.dtype))
    runs = probe.runs - before
    if found.plan is None:
        return _fix(session, Plan(probe.dtype, "keep-fp32"), None, found.share,
                    f"{found.why} (after {runs} probe runs)", runs)
    share = found.share
    inside = f" (inside them {', '.join(found.plan.run_low)} stay in {probe.dtype})" if found.plan.run_low else ""
    detail = (f"{probe.ensure_structure().label(found.plan.keep_fp32)} in float32{inside}: {share:.1%} of parameters, "
              f"{runs} probe runs; {_why(session.kind, found.result)}")
    fix = _fix(session, found.plan, found.result, share, detail, runs)
    if not fix.verified and found.plan.run_low:
        # The plan the shrink started from passed the probe figures too (its run is remembered, not repeated):
        # with its blocks whole in float32 it may keep the metric that the shrunk plan loses.
        whole = Plan(probe.dtype, "keep-fp32", list(found.plan.keep_fp32))
        result = probe.verify(whole)
        share = probe.ensure_structure().share(whole.keep_fp32)
        candidate = _fix(session, whole, result, share,
                         f"{probe.ensure_structure().label(whole.keep_fp32)} in float32 (whole, as the smaller plan "
                         f"loses the metric): {share:.1%} of parameters, {probe.runs - before} probe runs; "
                         f"{_why(session.kind, result)}", probe.runs - before)
        if candidate.verified:
            return candidate
    return fix


def fixes_for_dtype(session: ScanRun, results: list[ProbeResult], diagnoses: list[Diagnosis], dtype: str,
                    drift: list = ()) -> list[Fix]:
    from ..devices import device_supports

    probe = PlanProbe(session, dtype)
    cast = _find(results, dtype, "cast")
    skipped = f"not tried: cast passes with every parameter in {dtype}, which no other fix in {dtype} improves on"
    culprit = _culprit(diagnoses, dtype, _find(results, dtype, "load"))
    found: list[Fix] = []
    cast_fix = _fix(session, Plan(dtype, "cast"), cast, 0.0, "")
    cast_passes = cast_fix.verified  # on the probe figures, and with --eval on the metric
    for strategy in FIX_STRATEGIES:
        if strategy == "cast":
            found.append(cast_fix)
        elif strategy == "autocast":
            plan = Plan(dtype, "autocast")
            if cast_passes:
                found.append(_fix(session, plan, None, 1.0, skipped))
                continue
            before = probe.runs
            result = probe.verify(plan)
            found.append(_fix(session, plan, result, 1.0, "float32 weights (no memory saved: every parameter "
                              "stays in float32); autocast picks the dtype per op", probe.runs - before))
        elif strategy == "keep-fp32":
            if cast_passes:
                found.append(_fix(session, Plan(dtype, "keep-fp32"), None, 0.0, skipped))
                continue
            found.append(_keep_fp32_fix(session, probe, culprit, drift))
        elif strategy in SWITCHES and SWITCHES[strategy] != dtype:
            # The other half precision keeps the whole memory saving: scanned already, or worth a run.
            other = SWITCHES[strategy]
            if not device_supports(session.device, other)[0]:
                continue
            before = probe.runs
            result = _find(results, other, "load") or probe.verify(Plan(other, "load"))
            why = "bfloat16 has float32's range; " if other == "bfloat16" else \
                "float16 keeps 3 more bits of precision than bfloat16; "
            found.append(_fix(session, Plan(dtype, strategy), result, 0.0, why + _why(session.kind, result),
                              probe.runs - before))
    other = next(SWITCHES[s] for s in SWITCHES if SWITCHES[s] != dtype)
    recommend(found, culprit.cause if culprit is not None else "", device_supports(session.device, other)[0])
    return found


def search_fixes(session: ScanRun, results: list[ProbeResult], diagnoses: list[Diagnosis], drift: list = ()) -> list[Fix]:
    """drift: the scan's BlockDrift rows, which rank the blocks a keep-fp32 plan for drift tries."""
    fixes: list[Fix] = []
    for dtype in session.options.dtypes:
        load = _find(results, dtype, "load")
        if load is None or is_quantized(dtype) or (load.status == "ok" and not metric_fails(session, dtype)):
            # cast, autocast, keep-fp32 and bf16 are half precision's fixes; a quantized precision's
            # (bfloat16 compute, modules kept out of quantization) are quantized_search.py's. A load that
            # passes the probe figures but loses the --eval metric is searched too.
            continue
        session.progress(f"{dtype}: searching for the smallest fix")
        fixes.extend(fixes_for_dtype(session, results, diagnoses, dtype, drift))
    return fixes


__all__ = ["HEAVY_FP32_SHARE", "MAX_FP32_SHARE", "fixes_for_dtype", "recommend", "search_fixes"]
