"""For each failing run of a scan: rebuild that model and find where and why it fails.

error -> the innermost running module and its cause; nonfinite -> the first module to
overflow and the probe items that trigger it; drift -> the block that adds the most error.
The cause vocabulary is report.py's Diagnosis.cause; one cause is not the model's and is not found here:
scoring-precision, the installed stack scoring a precision's embeddings below float32 (--eval only,
evaluation/scoring_precision.py's scoring_diagnoses).
"""
from __future__ import annotations

from dataclasses import replace

from ..dtypes import is_quantized
from ..kinds import torch_module
from ..loading.load import release_memory
from .blocks import block_drift, block_paths, capture_block_io, innermost_worst, overflow_evidence, ranked_with
from ..loading.inventory import DtypeNotReached
from .localise import find_error_module, wholly_uncast, find_first_nonfinite, is_unsupported_message
from ..data.report import BlockDrift, Diagnosis, ProbeResult
from ..session import ScanRun

DRIFT_ITEMS = 8  # per-block outputs are kept for each item: a few suffice to rank blocks


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _with_model(build, inspect):
    """Build, inspect, let go. A failure to build is returned, not raised."""
    try:
        model = build()
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {_first_line(str(exc))}"
    try:
        return inspect(model), None
    finally:
        del model
        release_memory()


def _run_one(session: ScanRun, model):
    return lambda item: session.run_model(model, [item])


def _diagnose_error(session: ScanRun, result: ProbeResult) -> Diagnosis:
    if result.error is not None and result.error.type == DtypeNotReached.__name__:
        found, _ = _with_model(lambda: session.load(result.dtype, check=False),
                               lambda model: wholly_uncast(torch_module(model), result.dtype, result.strategy))
        if found is not None:
            return found
    found, load_error = _with_model(
        session.builder(result.dtype, result.strategy),
        lambda model: find_error_module(torch_module(model), lambda: session.run_model(model),
                                        result.dtype, result.strategy),
    )
    if found is not None:
        return found
    message = load_error or (f"{result.error.type}: {_first_line(result.error.message)}" if result.error else "")
    cause = "device-unsupported" if is_unsupported_message(message) else "other"
    where = "while loading" if load_error else "but not again under the hooks"
    return Diagnosis(result.dtype, result.strategy, cause, "", f"failed {where}: {message}")


def _diagnose_nonfinite(session: ScanRun, result: ProbeResult) -> Diagnosis:
    from ..compare.dense import nonfinite_rows

    skip = {i for i, bad in enumerate(nonfinite_rows(session.reference).tolist()) if bad}
    found, load_error = _with_model(
        session.builder(result.dtype, result.strategy),
        lambda model: find_first_nonfinite(
            torch_module(model), session.items, _run_one(session, model),
            lambda item: session.kind.token_count(model, item), result.dtype, result.strategy, skip),
    )
    if found is not None:
        if 0 < len(found.probe_items) < result.nonfinite:
            found.detail += (f"; in batches {result.nonfinite} items come out non-finite: padded to the "
                             "triggering inputs' length, the others reach the overflowing positions too")
        if is_quantized(result.dtype):
            from .quantized import refine_nonfinite

            found = refine_nonfinite(found, session.headroom)
        elif result.dtype == "float16":
            evidence = overflow_evidence(session.headroom, found.module)
            found.detail += f"; {evidence}" if evidence else ""
        return found
    detail = load_error or "NaN/inf appears only in batches, not item by item (padding or batch-size dependent)"
    return Diagnosis(result.dtype, result.strategy, "overflow", "", detail)


def _diagnose_drift(session: ScanRun, result: ProbeResult) -> tuple[Diagnosis, list[BlockDrift]]:
    items = session.items[:DRIFT_ITEMS]
    paths: list[str] = []
    kinds: dict[str, str] = {}
    classes: dict[str, str] = {}
    holds: set[str] = set()  # the blocks that hold parameters: only those are blamed

    quantized = is_quantized(result.dtype)
    weights: dict = {}

    def capture(model):
        net = torch_module(model)
        if not paths:
            kinds.update(block_paths(net))
            paths.extend(kinds)
            classes.update({p: type(net.get_submodule(p)).__name__ for p in paths})
            holds.update(p for p in paths if next(net.get_submodule(p).parameters(), None) is not None)
            if quantized:  # the float32 weights, for what quantization would flatten in them
                from .quantized import transformers_prefix, weight_outlier_ratios

                weights.update(prefix=transformers_prefix(net), ratios=weight_outlier_ratios(net))
        return capture_block_io(net, items, _run_one(session, model), paths)

    distinct: dict[str, int] = {}

    def capture_low(model):
        if session.kind.outputs_are_scores:
            scores, _ = session.run_model(model)
            distinct["low"] = len(set(scores[:, 0].tolist()))
        return capture(model)

    reference, _ = _with_model(lambda: session.load(None), capture)
    low, _ = _with_model(session.builder(result.dtype, result.strategy), capture_low)
    rows = block_drift(reference or {}, low or {})
    for row in rows:
        row.dtype, row.strategy = result.dtype, result.strategy
    ties = ""
    if "low" in distinct:
        before = len(set(session.reference[:, 0].tolist()))
        if distinct["low"] < before:
            # Failure mode 10: the score itself (a low-precision sigmoid) rounds distinct values together.
            ties = (f"; scores collapse into ties: {before} distinct scores in float32, "
                    f"{distinct['low']} in {result.dtype}")
    if not rows:
        return Diagnosis(result.dtype, result.strategy, "drift", "", "per-block outputs could not be compared" + ties), []
    worst = innermost_worst(rows, kinds, holds)
    figure = session.kind.headline(result)
    last = next((r for r in reversed(rows) if "." not in r.module), rows[-1])
    detail = (
        f"{figure}; the innermost block that adds the most relative error against float32 is "
        f"{worst.module} ({classes.get(worst.module, '?')}: +{worst.added:.2e} over its input, reaching "
        f"{worst.relative_error:.2e}); the output ends at {last.relative_error:.2e}{ties}"
    )
    diagnosis = Diagnosis(result.dtype, result.strategy, "drift", worst.module, detail,
                          module_class=classes.get(worst.module, ""))
    if quantized:
        from .quantized import features_over, refine_drift

        diagnosis = refine_drift(diagnosis, ranked_with(worst, rows, holds), weights.get("prefix", ""),
                                 weights.get("ratios", {}),
                                 features_over((reference or {}).get(worst.module, [])))
    return diagnosis, rows


def diagnose_failures(session: ScanRun, results: list[ProbeResult]) -> tuple[list[Diagnosis], list[BlockDrift]]:
    diagnoses: list[Diagnosis] = []
    drift_rows: list[BlockDrift] = []
    for result in results:
        earlier = next((d for d in diagnoses if result.same_as and d.dtype == result.dtype
                        and d.strategy == result.same_as), None)
        if earlier is not None:
            # Same weights as a run already diagnosed: the same model would fail the same way.
            diagnoses.append(replace(earlier, strategy=result.strategy))
        elif result.status == "unsupported":
            message = f"{result.error.type}: {_first_line(result.error.message)}" if result.error else ""
            diagnoses.append(Diagnosis(result.dtype, result.strategy, "device-unsupported", "", message))
        elif result.status == "error":
            session.progress(f"{result.dtype} ({result.strategy}): locating the error")
            diagnoses.append(_diagnose_error(session, result))
        elif result.status == "nonfinite":
            session.progress(f"{result.dtype} ({result.strategy}): locating the first NaN/inf")
            diagnoses.append(_diagnose_nonfinite(session, result))
        elif result.status == "drift" and result.strategy == "load":
            session.progress(f"{result.dtype} ({result.strategy}): measuring drift block by block")
            diagnosis, rows = _diagnose_drift(session, result)
            diagnoses.append(diagnosis)
            drift_rows.extend(rows)
    return diagnoses, drift_rows
