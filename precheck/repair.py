"""The smallest fix for each failing dtype, each verified by re-running the probe set.

Tried cheapest first: cast, autocast, keep-fp32 (grow from the culprit to the smallest
enclosing block that passes, then shrink), and bf16 for float16. The first verified fix is
the recommendation; the others that pass are listed too.
"""
from __future__ import annotations

from .kinds import torch_module
from .plans import FIX_STRATEGIES, Plan, apply_plan, fp32_param_share, snippets
from .report import Diagnosis, Fix, ProbeResult

# Past this share of float32 parameters a "mixed-precision plan" is just the float32 model.
MAX_FP32_SHARE = 0.5


def _find(results: list[ProbeResult], dtype: str, strategy: str) -> ProbeResult | None:
    return next((r for r in results if r.dtype == dtype and r.strategy == strategy), None)


def _why(result: ProbeResult) -> str:
    if result.status == "ok":
        return result.headline()
    if result.error is not None:
        first = result.error.message.splitlines()[0] if result.error.message else ""
        return f"{result.status}: {result.error.type}: {first}"
    if result.status == "nonfinite":
        return f"nonfinite: NaN/inf for {result.nonfinite} probe items"
    return f"{result.status}: {result.headline()}"


class _PlanProbe:
    """Verifies plans on freshly loaded float32 weights; remembers structure and shares."""

    def __init__(self, session, dtype: str) -> None:
        self.session, self.dtype = session, dtype
        self.children: dict[str, list[str]] = {}
        self.shares: dict[tuple[str, ...], float] = {}

    def verify(self, plan: Plan) -> ProbeResult:
        session = self.session

        def build():
            model = session.load(plan.weights_dtype)
            net = torch_module(model)
            for path in plan.keep_fp32:
                self.children[path] = [f"{path}.{name}" for name, _ in net.get_submodule(path).named_children()]
            self.shares[tuple(plan.keep_fp32)] = fp32_param_share(model, plan.keep_fp32)
            return apply_plan(model, plan, session.device)

        label = plan.strategy if not plan.keep_fp32 else f"keep-fp32 {','.join(plan.keep_fp32)}"
        return session.probe(self.dtype, label, build)


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def find_keep_fp32_plan(probe: _PlanProbe, culprit: str) -> tuple[Plan, ProbeResult] | None:
    """Start at the culprit, grow to the enclosing block until the probe passes, then drop
    the block's children one at a time while it still passes."""
    path, passing = culprit, None
    while path:
        plan = Plan(probe.dtype, "keep-fp32", [path])
        result = probe.verify(plan)
        if probe.shares.get((path,), 1.0) > MAX_FP32_SHARE:
            return None
        if result.status == "ok":
            passing = (plan, result)
            break
        path = _parent(path)
    if passing is None:
        return None
    kept = list(probe.children.get(path, []))
    if len(kept) < 2:
        return passing
    shrunk = None
    for child in list(kept):
        trial = [c for c in kept if c != child]
        plan = Plan(probe.dtype, "keep-fp32", trial)
        result = probe.verify(plan)
        if result.status == "ok":
            kept, shrunk = trial, (plan, result)
    return shrunk or passing


def _culprit(diagnoses: list[Diagnosis], dtype: str) -> str:
    for strategy in ("load", "cast"):
        for d in diagnoses:
            if d.dtype == dtype and d.strategy == strategy and d.module:
                return d.module
    return ""


def _fix(session, plan: Plan, result: ProbeResult | None, share: float, detail: str) -> Fix:
    plain, with_precheck = snippets(plan, session.model.name, session.device, session.options.trust_remote_code,
                                    session.kind)
    verified = result is not None and result.status == "ok"
    return Fix(
        dtype=plan.dtype,
        strategy=plan.strategy,
        keep_fp32=list(plan.keep_fp32),
        fp32_param_share=round(share, 4),
        verified=verified,
        min_cosine=result.min_cosine if result is not None else None,
        recommended=False,
        snippet=plain,
        precheck_snippet=with_precheck,
        status=result.status if result is not None else "not-tried",
        detail=detail or (_why(result) if result is not None else ""),
    )


def fixes_for_dtype(session, results: list[ProbeResult], diagnoses: list[Diagnosis], dtype: str) -> list[Fix]:
    probe = _PlanProbe(session, dtype)
    found: list[Fix] = []
    for strategy in FIX_STRATEGIES:
        if strategy == "cast":
            cast = _find(results, dtype, "cast")
            found.append(_fix(session, Plan(dtype, "cast"), cast, 0.0, ""))
        elif strategy == "autocast":
            plan = Plan(dtype, "autocast")
            found.append(_fix(session, plan, probe.verify(plan), 1.0, "float32 weights; autocast picks the dtype per op"))
        elif strategy == "keep-fp32":
            culprit = _culprit(diagnoses, dtype)
            outcome = find_keep_fp32_plan(probe, culprit) if culprit else None
            if outcome is None:
                why = f"no block around {culprit} up to {MAX_FP32_SHARE:.0%} of the parameters passes" if culprit \
                    else "no culprit module was found to start from"
                found.append(_fix(session, Plan(dtype, "keep-fp32"), None, 0.0, why))
            else:
                plan, result = outcome
                share = probe.shares[tuple(plan.keep_fp32)]
                detail = f"{', '.join(plan.keep_fp32)} in float32 ({share:.1%} of parameters); {_why(result)}"
                found.append(_fix(session, plan, result, share, detail))
        elif strategy == "bf16" and dtype == "float16":
            scanned = _find(results, "bfloat16", "load")
            plan = Plan(dtype, "bf16")
            result = scanned or probe.verify(Plan("bfloat16", "load"))
            found.append(_fix(session, plan, result, 0.0, "bfloat16 has float32's range; " + _why(result)))
    first = next((f for f in found if f.verified), None)
    if first is not None:
        first.recommended = True
    return found


def search_fixes(session, results: list[ProbeResult], diagnoses: list[Diagnosis]) -> list[Fix]:
    fixes: list[Fix] = []
    for dtype in session.options.dtypes:
        load = _find(results, dtype, "load")
        if load is None or load.status == "ok":
            continue
        session.progress(f"{dtype}: searching for the smallest fix")
        fixes.extend(fixes_for_dtype(session, results, diagnoses, dtype))
    return fixes
