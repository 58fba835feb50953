"""The smallest verified fix for a quantized precision: the same weights computing in bfloat16, or
the fewest modules kept out of quantization, each verified by a load and a run of the probe set.

Tried cheapest in memory first; `recommend` (search.py) keeps the fix with the fewest parameter bytes.
"""
from __future__ import annotations

from ..loading.quantization import BF16_COMPUTE
from ..report import Diagnosis, Fix, ProbeResult
from ..session import ScanRun
from .plans import Plan

# Loads a keep-unquantized search may spend: each is a whole load and probe run.
MAX_KEEP_RUNS = 5


def _structure(session: ScanRun) -> tuple[str, dict[str, int]]:
    """(the transformers model's path in the scan's model, its parameter counts by name), from a float32 load."""
    from ..diagnosis.quantized import transformers_path, transformers_prefix
    from ..kinds import torch_module
    from ..loading.load import release_memory

    model = session.load(None)
    net = torch_module(model)
    prefix = transformers_prefix(net)
    numel = {name: p.numel() for path, p in net.named_parameters()
             if (name := transformers_path(path, prefix)) is not None}
    del model, net
    release_memory()
    return prefix, numel


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
    prefix, numel = _structure(session)
    before = runs
    last: tuple[Plan, ProbeResult] | None = None
    for modules in _ladder(culprit, prefix, list(drift), dtype)[:MAX_KEEP_RUNS]:
        plan = Plan(dtype, "keep-unquantized", keep_unquantized=modules)
        result = verify(plan, "keep-unquantized " + ",".join(modules))
        last = (plan, result)
        if result.status == "ok":
            break
    if last is None:
        found.append(_fix(session, Plan(dtype, "keep-unquantized"), None, 0.0,
                          "no module was found to start from", 0))
    else:
        plan, result = last
        share = _share(plan.keep_unquantized, numel)
        found.append(_fix(session, plan, result, share,
                          f"{', '.join(plan.keep_unquantized)} kept out of quantization: {share:.1%} of "
                          f"parameters, {runs - before} probe runs; {_why(session.kind, result)}", runs - before))
    recommend(found, "", False)
    return found


def search_quantized_fixes(session: ScanRun, results: list[ProbeResult], diagnoses: list[Diagnosis],
                           drift: list = ()) -> list[Fix]:
    """Each quantized precision whose load failed: its fixes, the one that keeps the most memory recommended."""
    from ..dtypes import is_quantized
    from .search import _find

    fixes: list[Fix] = []
    for dtype in session.options.dtypes:
        load = _find(results, dtype, "load")
        if not is_quantized(dtype) or load is None or load.status in ("ok", "unsupported"):
            continue
        session.progress(f"{dtype}: searching for the smallest fix")
        fixes.extend(quantized_fixes(session, results, diagnoses, dtype, drift))
    return fixes
