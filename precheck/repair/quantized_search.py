"""The smallest verified fix for a quantized precision: the same weights computing in bfloat16, or
the fewest modules kept out of quantization, each verified by a load and a run of the probe set.

Tried cheapest in memory first; `recommend` (search.py) keeps the fix with the fewest parameter bytes, and
a precision the scan already passed with fewer bytes than that fix is recommended instead (_smaller_passing).
"""
from __future__ import annotations

from ..dtypes import BF16_COMPUTE
from ..loading.quantization import with_default_skips
from ..data.report import Diagnosis, Fix, ProbeResult
from ..session import ScanRun
from ..data.plan import Plan

# Loads a keep-unquantized search may spend: each is a whole load and probe run.
MAX_KEEP_RUNS = 5


def _structure(session: ScanRun) -> tuple[str, dict[str, int], list[str]]:
    """(the transformers model's path in the scan's model, its parameter counts by name, the modules the
    installed transformers leaves out of quantization by default), from a float32 load."""
    from ..diagnosis.quantized import transformers_path, transformers_prefix
    from ..kinds import torch_module
    from ..loading.load import release_memory
    from ..loading.quantization import default_skip_modules

    model = session.load(None)
    net = torch_module(model)
    prefix = transformers_prefix(net)
    numel = {name: p.numel() for path, p in net.named_parameters()
             if (name := transformers_path(path, prefix)) is not None}
    defaults = default_skip_modules(net.get_submodule(prefix) if prefix else net)
    del model, net
    release_memory()
    return prefix, numel, defaults


def _ladder(culprit: Diagnosis | None, prefix: str, drift: list, dtype: str) -> list[list[str]]:
    """Sets of modules to keep out of quantization, smallest first: the Linears whose weight outliers the
    diagnosis named, the culprit, its layer, then that layer with the next layers by the drift each adds."""
    from ..diagnosis.quantized import transformers_path

    sets: list[list[str]] = []

    def add(modules: list[str]) -> None:
        if modules and modules not in sets:
            sets.append(modules)

    culprit_path = transformers_path(culprit.module, prefix) if culprit is not None and culprit.module else None
    if culprit is not None and culprit.cause == "weight-outliers":
        named = culprit.detail.rsplit("; ", 1)[-1].split("'s largest weight", 1)[0]
        add([named])
    if culprit_path:
        add([culprit_path])
    layers = [transformers_path(r.module, prefix) for r in sorted(
        (r for r in drift if r.dtype == dtype and r.added > 0), key=lambda r: -r.added)]
    layers = [p for p in layers if p and _is_layer(p)]
    own_layer = _layer_of(culprit_path) if culprit_path else None
    kept = [own_layer] if own_layer else []
    if kept:
        add(list(kept))
    for layer in layers:
        if layer not in kept:
            kept.append(layer)
            add(list(kept))
    return sets


def _is_layer(path: str) -> bool:
    parts = path.split(".")
    return len(parts) >= 2 and parts[-1].isdigit()


def _layer_of(path: str) -> str | None:
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        if parts[end - 1].isdigit():
            return ".".join(parts[:end])
    return None


def _share(modules: list[str], numel: dict[str, int]) -> float:
    total = sum(numel.values()) or 1
    return sum(n for name, n in numel.items() if any(name.startswith(m + ".") for m in modules)) / total


def quantized_fixes(session: ScanRun, results: list[ProbeResult], diagnoses: list[Diagnosis], dtype: str,
                    drift: list = ()) -> list[Fix]:
    from ..loading.load import load_model
    from ..diagnosis.reference_check import repaired
    from .search import _culprit, _find, _fix, _why, recommend

    found: list[Fix] = []
    runs = 0

    def verify(plan: Plan, label: str) -> ProbeResult:
        nonlocal runs
        runs += 1
        return session.probe(dtype, label, lambda: repaired(
            load_model(session.model, session.device, plan.weights_dtype, session.options.load,
                       keep_unquantized=plan.keep_unquantized), session.buffer_repair))

    if dtype in BF16_COMPUTE:
        plan = Plan(dtype, "bf16-compute")
        before = runs
        result = _find(results, BF16_COMPUTE[dtype], "load") or verify(plan, "bf16-compute")
        found.append(_fix(session, plan, result, 0.0, f"the same 4-bit weights computing in bfloat16 "
                          f"(`{BF16_COMPUTE[dtype]}`), which has float32's range; {_why(session.kind, result)}",
                          runs - before))
    culprit = _culprit(diagnoses, dtype)
    prefix, numel, defaults = _structure(session)
    before = runs
    last: tuple[list[str], Plan, ProbeResult] | None = None
    for modules in _ladder(culprit, prefix, list(drift), dtype)[:MAX_KEEP_RUNS]:
        # A skip list given replaces transformers' default one: the plan names both (a tied decoder, ...).
        plan = Plan(dtype, "keep-unquantized", keep_unquantized=with_default_skips(modules, defaults))
        result = verify(plan, "keep-unquantized " + ",".join(modules))
        last = (modules, plan, result)
        if result.status == "ok":
            break
    if last is None:
        found.append(_fix(session, Plan(dtype, "keep-unquantized"), None, 0.0,
                          "no module was found to start from", 0))
    else:
        modules, plan, result = last
        share = _share(modules, numel)
        also = [d for d in plan.keep_unquantized if d not in modules]
        beside = f" (beside transformers' default {', '.join(also)})" if also else ""
        found.append(_fix(session, plan, result, share,
                          f"{', '.join(modules)} kept out of quantization{beside}: {share:.1%} of "
                          f"parameters, {runs - before} probe runs; {_why(session.kind, result)}", runs - before))
    recommend(found, "", False)
    return found + _smaller_passing(session, results, dtype, found)


def _smaller_passing(session: ScanRun, results: list[ProbeResult], dtype: str, found: list[Fix]) -> list[Fix]:
    """Every other precision the scan passed as loaded whose parameters take fewer bytes than the
    recommended quantized fix, as a fix of its own (the scan's run, verified); the smallest is recommended
    instead, as a verified switch to the other half precision is over a float32-heavy one (search.py)."""
    from ..data.plan import QUANTIZED_SWITCHES, SWITCHES
    from .search import _fix, _why

    best = next((f for f in found if f.recommended), None)
    if best is None or best.param_bytes is None:
        return []
    by_dtype = {low: strategy for strategy, low in {**SWITCHES, **QUANTIZED_SWITCHES}.items()}
    switches = [
        _fix(session, Plan(dtype, by_dtype[r.dtype]), r, 0.0,
             f"{r.dtype} already passes with {r.param_bytes / 1e6:.1f} MB of parameters, against "
             f"{best.param_bytes / 1e6:.1f} MB for {dtype}'s {best.strategy} fix: the smaller memory with the "
             f"gate met; {_why(session.kind, r)}")
        for r in results if r.strategy == "load" and r.status == "ok" and r.dtype != dtype
        and r.dtype in by_dtype and r.param_bytes is not None and r.param_bytes < best.param_bytes]
    verified = [f for f in switches if f.verified]  # with --eval: on the metric too
    if verified:
        best.recommended = False
        min(verified, key=lambda f: (f.param_bytes, -(f.min_cosine if f.min_cosine is not None else -1.0))) \
            .recommended = True
    return switches


def search_quantized_fixes(session: ScanRun, results: list[ProbeResult], diagnoses: list[Diagnosis],
                           drift: list = ()) -> list[Fix]:
    """Each quantized precision whose load failed: its fixes, the one that keeps the most memory recommended."""
    from ..dtypes import is_quantized
    from .metric_check import metric_fails
    from .search import _find

    fixes: list[Fix] = []
    for dtype in session.options.dtypes:
        load = _find(results, dtype, "load")
        if not is_quantized(dtype) or load is None or load.status == "unsupported" \
                or (load.status == "ok" and not metric_fails(session, dtype)):
            continue
        session.progress(f"{dtype}: searching for the smallest fix")
        fixes.extend(quantized_fixes(session, results, diagnoses, dtype, drift))
    return fixes
