"""The scan: a float32 reference, then each dtype loaded two ways, measured against it;
then, for what failed, where and why (diagnose.py) and the smallest verified fix (repair.py).

Pure core: takes frozen options, reports progress through a callback, returns a Report.
One model is resident at a time; each run loads, encodes and lets go before the next.
"""
from __future__ import annotations

import sys
from importlib import metadata

from ..dtypes import is_quantized
from .moved import truncation
from .scan_session import QUANTIZED_STRATEGIES, STRATEGIES, Progress, ScanSession
from .reference import probe_file
from ..errors import PrecheckError
from ..options import ScanOptions
from ..loading.load import check_remote_code, quiet_libraries, resolve_model, resolve_object
from ..devices import device_supports, resolve_device
from .storage_scan import add_storage, check_storage_options
from .verdict import gates_used, judge
from ..loading.memory_plan import plan_memory
from ..kinds import kind_for, torch_module
from ..data.report import Environment, ErrorInfo, ModelInfo, ProbeResult, Reference, Report, Settings, Verdict

def _silent(_: str) -> None:
    pass


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(device: str) -> Environment:
    return Environment(
        python=sys.version.split()[0],
        torch=_version("torch"),
        transformers=_version("transformers"),
        sentence_transformers=_version("sentence-transformers"),
        device=device,
    )


def start_session(options: ScanOptions, progress: Progress = _silent) -> tuple[ScanSession, Reference]:
    """Check the model (the options checked themselves: precheck/options.py), then run the float32 reference."""
    session = new_session(options, progress)
    return session, session.run_reference()


def new_session(options: ScanOptions, progress: Progress = _silent, items: list | None = None) -> ScanSession:
    """The session, its inputs read and checked, before any model is loaded or copied. `items`: probe items
    given in code (the training callback's), in place of the built-in set."""
    in_memory = not isinstance(options.model, str)
    model = resolve_object(options.model, options.kind) if in_memory else \
        resolve_model(options.model, options.kind, options.revision)
    takes_texts = kind_for(model.kind).probe_option == "texts"
    wrong = options.pairs_file if takes_texts else options.texts_file
    if wrong is not None:
        right, given = ("--texts", "--pairs") if takes_texts else ("--pairs", "--texts")
        raise PrecheckError(f"{options.model_name} is a {model.kind}, which takes {right}, not {given}",
                            f"pass {right} FILE, or --kind to override the detected kind")
    # Read once (a pipe gives its text only once), before any load: bad input fails first.
    if items is None:
        items = kind_for(model.kind).read_items(probe_file(options, model.kind)) \
            if probe_file(options, model.kind) is not None else []
    check_remote_code(model, options.trust_remote_code)
    from ..loading.defaults import check_before_load

    if not in_memory:
        check_before_load(model, options.load)
    quiet_libraries()
    calibration_texts = check_storage_options(options, model.kind)
    from ..evaluation.measure import check_eval_options

    evaluation = check_eval_options(options, model.kind)
    session = ScanSession(options, model, scan_device(options, session_source_device(options, in_memory)), progress)
    session.given_items = items
    if items and probe_file(options, model.kind) is None:
        session.probe_source = "given"
    session.calibration_texts = calibration_texts
    session.evaluation = evaluation
    if not in_memory:  # an object is already in memory: no checkpoint to plan from, no placement to choose
        session.memory = plan_memory(model, session.device, options.dtypes, options.max_memory,
                                     options.reference_device)
    return session


def session_source_device(options: ScanOptions, in_memory: bool) -> str | None:
    """`--device auto` for an object: where the object already is (so the object can be the reference)."""
    if not in_memory or options.device != "auto":
        return None
    from ..kinds import torch_module

    types = {p.device.type for p in torch_module(options.model).parameters()}
    return types.pop() if len(types) == 1 else None


def scan_device(options: ScanOptions, object_device: str | None) -> str:
    return object_device if object_device in ("cpu", "cuda", "mps") else resolve_device(options.device)


def in_memory_info(session: ScanSession):
    from ..data.report import InMemoryModel

    described = getattr(session.source, "described", None)
    return InMemoryModel(**described()) if described is not None else None


def run_scan(options: ScanOptions, progress: Progress = _silent, items: list | None = None) -> Report:
    return scan_with_session(options, progress, items)[0]


def scan_with_session(options: ScanOptions, progress: Progress = _silent,
                      items: list | None = None) -> tuple[Report, ScanSession]:
    """The scan, and the session it ran in (its probe items and float32 reference), for `fix`."""
    session = new_session(options, progress, items)
    with session.source.kept_as_given():
        return _scan(session, options)


def _scan(session: ScanSession, options: ScanOptions) -> tuple[Report, ScanSession]:
    from ..loading.defaults import annotate as annotate_defaults
    from ..diagnosis.diagnose import diagnose_failures
    from ..repair.quantized_search import search_quantized_fixes
    from ..repair.search import search_fixes

    reference = session.run_reference()
    results: list[ProbeResult] = []
    for dtype in options.dtypes:
        supported, why = device_supports(session.device, dtype)
        for strategy in QUANTIZED_STRATEGIES if is_quantized(dtype) else STRATEGIES:
            if supported:
                results.append(session.run(dtype, strategy))
            else:
                results.append(ProbeResult(dtype, strategy, "unsupported", error=ErrorInfo("Unsupported", why)))
    diagnoses, drift = diagnose_failures(session, results)
    fixes = search_fixes(session, results, diagnoses, drift) + search_quantized_fixes(session, results, diagnoses, drift) \
        if options.fix else []
    buffers = reference.buffers
    notes = [buffers.detail] if buffers is not None and buffers.status in ("repaired", "unchecked") else []
    notes += list(session.source.notes) + session.notes
    if reference.nonfinite:
        notes.append(
            f"{reference.nonfinite} probe text(s) are already NaN/inf in float32; "
            "they are left out of every comparison (not half precision's fault)"
        )
    model = session.model
    report = Report(
        model=ModelInfo(model.name, model.path, model.kind, model.source, attention=session.float32.attention,
                        in_memory=in_memory_info(session)),
        environment=environment(session.device),
        settings=Settings(
            dtypes=list(options.dtypes),
            min_cosine=options.min_cosine,
            min_spearman=options.min_spearman,
            min_top1_agreement=options.min_top1_agreement,
            gates=gates_used(options),
            probe_items=len(session.items),
            probe_source=str(probe_file(options, model.kind) or session.probe_source),
            batch_size=options.batch_size,
            depth=options.depth,
            load=options.load.to_dict(),
        ),
        reference=reference,
        modules=session.modules,
        results=results,
        verdict=Verdict(passed=False, dtypes=[]),  # judged below, from the whole report
        notes=notes,
        diagnoses=diagnoses,
        fixes=fixes,
        headroom=session.headroom,
        drift=drift,
        memory=session.memory,
        truncation=truncation(session.float32.token_lengths, session.float32.window),
    )
    report.verdict = judge(report)
    annotate_defaults(report, session)
    from .serving import serving_advice

    report.serving = serving_advice(report)
    if options.storage:
        add_storage(report, session)
        report.verdict = judge(report)  # the storage gates join the dtypes' (one verdict, engine/verdict.py)
    if session.evaluation is not None:
        from ..evaluation.measure import add_evaluation

        add_evaluation(report, session)
        report.verdict = judge(report)  # the --max-metric-drop gate joins the rest
    return report, session
