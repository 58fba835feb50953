"""The scan: a float32 reference, then each dtype loaded two ways, measured against it;
then, for what failed, where and why (diagnose.py) and the smallest verified fix (repair.py).

Pure core: takes frozen options, reports progress through a callback, returns a Report.
One model is resident at a time; each run loads, encodes and lets go before the next.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from .compare import compare, nonfinite_rows
from .dtypes import DEFAULT_DTYPES
from .errors import PrecheckError
from .inventory import module_rows
from .loading import (
    ResolvedModel,
    check_remote_code,
    device_supports,
    load_model,
    quiet_libraries,
    release_memory,
    resolve_device,
    resolve_model,
)
from .localise import is_unsupported_message, recording_headroom
from .probe import builtin_texts, encode, param_bytes, read_texts
from .report import (
    DtypeVerdict,
    Environment,
    ErrorInfo,
    ModelInfo,
    ProbeResult,
    Reference,
    Report,
    Settings,
    Verdict,
)

STRATEGIES = ("load", "cast")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScanOptions:
    model: str
    dtypes: tuple[str, ...] = DEFAULT_DTYPES
    device: str = "auto"
    trust_remote_code: bool = False
    texts_file: Path | None = None
    min_cosine: float = 0.999
    batch_size: int = 32
    depth: int = 1
    fix: bool = True  # search for fixes (--no-fix skips it for a fast gate)


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


def classify(comparison, min_cosine: float) -> str:
    if comparison.nonfinite:
        return "nonfinite"
    if comparison.min_cosine is not None and comparison.min_cosine < min_cosine:
        return "drift"
    return "ok"


class ScanSession:
    """What the runs of one scan share: the model, device, texts and the float32 reference.
    Diagnosis and fix search reuse it, so every figure is against the same reference."""

    def __init__(self, options: ScanOptions, model: ResolvedModel, device: str, progress: Progress) -> None:
        self.options, self.model, self.device, self.progress = options, model, device, progress
        self.texts: list[str] = []
        self.reference = None
        self.modules: dict = {}
        self.headroom: list = []

    def load(self, dtype: str | None):
        return load_model(self.model, self.device, dtype, self.options.trust_remote_code)

    def builder(self, dtype: str, strategy: str) -> Callable[[], object]:
        """How each scan strategy makes its model: `load` as users do, `cast` = float32 + .to()."""
        if strategy == "load":
            def build():
                model = self.load(dtype)
                self.modules[dtype] = module_rows(model, dtype, self.options.depth)
                return model
            return build

        def build_cast():
            import torch

            return self.load(None).to(getattr(torch, dtype))
        return build_cast

    def run_reference(self) -> Reference:
        self.progress("loading float32 reference")
        model = self.load(None)
        self.modules["float32"] = module_rows(model, "float32", self.options.depth)
        if self.options.texts_file is not None:
            self.texts = read_texts(self.options.texts_file)
        else:
            self.texts = builtin_texts(getattr(model, "max_seq_length", None))
        self.progress(f"encoding {len(self.texts)} probe texts in float32")
        try:
            with recording_headroom(model) as headroom:
                self.reference, seconds = encode(model, self.texts, self.options.batch_size)
            self.headroom = headroom()
        except Exception as exc:  # noqa: BLE001
            raise PrecheckError(
                f"{self.model.name} fails to encode even in float32: {type(exc).__name__}: {exc}",
                "precheck needs a working float32 model to compare against",
            ) from exc
        reference = Reference(seconds, param_bytes(model), int(nonfinite_rows(self.reference).sum()))
        del model
        release_memory()
        return reference

    def _build_and_encode(self, build, sizes: dict, label: str):
        """Returns (embeddings, seconds); the model dies with this frame, before the next load."""
        model = build()
        sizes["param_bytes"] = param_bytes(model)
        self.progress(f"{label}: encoding {len(self.texts)} texts")
        return encode(model, self.texts, self.options.batch_size)

    def probe(self, dtype: str, strategy: str, build) -> ProbeResult:
        """Build a model, encode the probe set, measure it against float32."""
        label = f"{dtype} ({strategy})"
        self.progress(f"{label}: loading")
        sizes: dict = {}
        try:
            embeddings, seconds = self._build_and_encode(build, sizes, label)
        except PrecheckError:
            raise
        except Exception as exc:  # noqa: BLE001 - the model's failure is the result
            status = "unsupported" if is_unsupported_message(str(exc)) else "error"
            error = ErrorInfo(type=type(exc).__name__, message=str(exc).strip()[:1000])
            # The traceback holds the model's frame: drop it before freeing memory.
            del exc
            release_memory()
            return ProbeResult(dtype, strategy, status, error=error, param_bytes=sizes.get("param_bytes"))
        release_memory()
        figures = compare(self.reference, embeddings)
        return ProbeResult(
            dtype,
            strategy,
            classify(figures, self.options.min_cosine),
            nonfinite=figures.nonfinite,
            min_cosine=figures.min_cosine,
            mean_cosine=figures.mean_cosine,
            top1_agreement=figures.top1_agreement,
            seconds=round(seconds, 4),
            param_bytes=sizes["param_bytes"],
        )

    def run(self, dtype: str, strategy: str) -> ProbeResult:
        return self.probe(dtype, strategy, self.builder(dtype, strategy))


def _summary(load: ProbeResult, cast: ProbeResult | None, min_cosine: float, texts: int) -> str:
    if load.status == "ok":
        return f"min cosine {load.min_cosine:.6f}, top-1 agreement {load.top1_agreement:.0%}"
    if load.status == "unsupported":
        return f"this device cannot run it ({load.error.message if load.error else 'unsupported'})"
    if load.status == "error":
        first_line = load.error.message.splitlines()[0] if load.error and load.error.message else ""
        reason = f"encode fails: {load.error.type}: {first_line}" if load.error else "encode fails"
    elif load.status == "nonfinite":
        reason = f"NaN/inf embeddings for {load.nonfinite} of {texts} texts"
    else:
        reason = f"drift: min cosine {load.min_cosine:.6f} < {min_cosine}"
    if cast is not None and cast.status == "ok":
        reason += "; casting after a float32 load (.to(dtype)) passes"
    return reason


def verdict(results: list[ProbeResult], dtypes, min_cosine: float, texts: int) -> Verdict:
    per_dtype = []
    for dtype in dtypes:
        load = next(r for r in results if r.dtype == dtype and r.strategy == "load")
        cast = next((r for r in results if r.dtype == dtype and r.strategy == "cast"), None)
        passed = load.status == "ok"
        per_dtype.append(DtypeVerdict(dtype, passed, load.status, _summary(load, cast, min_cosine, texts)))
    return Verdict(passed=all(v.passed for v in per_dtype), dtypes=per_dtype)


def start_session(options: ScanOptions, progress: Progress = _silent) -> tuple[ScanSession, Reference]:
    """Check the arguments and the model, then run the float32 reference."""
    if not 0.0 < options.min_cosine <= 1.0:
        raise PrecheckError(f"--min-cosine must be in (0, 1], got {options.min_cosine}")
    if options.batch_size < 1 or options.depth < 1:
        raise PrecheckError("--batch-size and --depth must be at least 1")
    if options.texts_file is not None:
        read_texts(options.texts_file)  # bad input fails before any model loads
    model = resolve_model(options.model)
    check_remote_code(model, options.trust_remote_code)
    device = resolve_device(options.device)
    quiet_libraries()
    session = ScanSession(options, model, device, progress)
    return session, session.run_reference()


def run_scan(options: ScanOptions, progress: Progress = _silent) -> Report:
    return scan_with_session(options, progress)[0]


def scan_with_session(options: ScanOptions, progress: Progress = _silent) -> tuple[Report, ScanSession]:
    """The scan, and the session it ran in (its texts and float32 reference), for `fix`."""
    from .diagnose import diagnose_failures
    from .repair import search_fixes

    session, reference = start_session(options, progress)
    results: list[ProbeResult] = []
    for dtype in options.dtypes:
        supported, why = device_supports(session.device, dtype)
        for strategy in STRATEGIES:
            if supported:
                results.append(session.run(dtype, strategy))
            else:
                results.append(ProbeResult(dtype, strategy, "unsupported", error=ErrorInfo("Unsupported", why)))
    diagnoses, drift = diagnose_failures(session, results)
    fixes = search_fixes(session, results, diagnoses) if options.fix else []
    notes = []
    if reference.nonfinite:
        notes.append(
            f"{reference.nonfinite} probe text(s) are already NaN/inf in float32; "
            "they are left out of every comparison (not half precision's fault)"
        )
    model = session.model
    report = Report(
        model=ModelInfo(model.name, model.path, model.kind, model.source),
        environment=environment(session.device),
        settings=Settings(
            dtypes=list(options.dtypes),
            min_cosine=options.min_cosine,
            probe_texts=len(session.texts),
            probe_source=str(options.texts_file) if options.texts_file else "builtin",
            batch_size=options.batch_size,
            depth=options.depth,
        ),
        reference=reference,
        modules=session.modules,
        results=results,
        verdict=verdict(results, options.dtypes, options.min_cosine, len(session.texts)),
        notes=notes,
        diagnoses=diagnoses,
        fixes=fixes,
        headroom=session.headroom,
        drift=drift,
    )
    return report, session
