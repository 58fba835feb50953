"""The scan: a float32 reference, then each dtype loaded two ways, measured against it;
then, for what failed, where and why (diagnose.py) and the smallest verified fix (repair.py).

Pure core: takes frozen options, reports progress through a callback, returns a Report.
One model is resident at a time; each run loads, encodes and lets go before the next.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Callable

from ..compare.dense import nonfinite_rows
from ..dtypes import is_quantized
from .moved import item_figures, truncation
from ..errors import PrecheckError
from ..options import ScanOptions
from ..loading.inventory import check_dtype_reached, module_rows
from ..loading.load import (
    ResolvedModel,
    check_remote_code,
    quiet_libraries,
    release_memory,
    resolve_model,
    resolve_object,
)
from ..loading.source import model_source
from ..devices import device_supports, resolve_device
from ..loading.fingerprint import attention_implementations, model_fingerprint
from ..diagnosis.reference_check import repaired
from ..diagnosis.blocks import recording_headroom
from ..diagnosis.localise import is_unsupported_message
from ..progress import counting_items
from .storage_scan import add_storage, check_storage_options, with_corpus
from .verdict import classify, compared_nothing, gates_used, judge, thresholds
from ..loading.memory_plan import plan_memory
from ..kinds import kind_for, torch_module
from ..tensors import param_bytes
from ..data.report import (
    Environment, ErrorInfo, ModelInfo, ProbeResult, Reference, Report, Settings, Verdict, error_info,
)

STRATEGIES = ("load", "cast")
# A quantized precision is only loaded: quantizing is a load-time conversion, and a float32 model
# `.to()` a quantized type is nothing a user can do (docs/quantization.md).
QUANTIZED_STRATEGIES = ("load",)
Progress = Callable[[str], None]


def probe_file(options: ScanOptions, kind: str) -> Path | None:
    return options.texts_file if kind_for(kind).probe_option == "texts" else options.pairs_file


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


class ScanSession:
    """What the runs of one scan share: the model and its kind, the device, the probe items
    (texts or pairs) and the float32 reference. Diagnosis and fix search reuse it, so every
    figure is against the same reference. Its models come from one source (loading/source.py):
    a name loaded as users load it, or an object copied."""

    def __init__(self, options: ScanOptions, model: ResolvedModel, device: str, progress: Progress) -> None:
        self.options, self.model, self.device, self.progress = options, model, device, progress
        self.source = model_source(options, model)
        self.kind = kind_for(model.kind)
        self.items: list = []
        self.reference = None
        self.modules: dict = {}
        self.headroom: list = []
        # (dtype, fingerprint) -> the result of the run whose model had those weights
        self.runs_by_weights: dict[tuple[str, str], ProbeResult] = {}
        self.memory = None  # the MemoryPlan (memory.py): where each run goes
        # --storage (storage_scan.py): each load run's embeddings, the rows searched, the calibration's texts and vectors
        self.kept, self.storage_rows, self.calibration_texts, self.calibration = {}, [], None, None
        self.buffer_repair = None  # reference_check.BufferRepair: buffers every load copies from a fresh instance
        # reference_weights: the reference's parameter sums, until a second float32 load is held against them
        self.reference_sums: dict | None = None
        self.notes: list[str] = []  # what the report's notes say of this session's loads
        self.probe_source = "builtin"  # the report's probe_source when no file gave the items
        self.attention = ""  # the attention kernel(s) the reference ran (fingerprint.attention_implementations)
        # Each probe item's tokens before any cut, and the window that cuts them (moved.py).
        self.token_lengths: list[int] | None = None
        self.window: int | None = None
        # reference_cache: the entry's key (None: not cached), the reference model's fingerprint to keep with
        # it, the reference's own notes
        self.cache_key: dict | None = None
        self.cache_fingerprint: str | None = None
        self.reference_notes: list[str] = []
        self.reference_result: Reference | None = None
        self.evaluation = None  # --eval: evaluation/measure.py's EvalRuns, each precision's pass over the set

    def load_reference(self):
        from ..loading.memory_plan import record_placement, reference_kwargs

        placement = self.memory.runs[0].placement if self.memory else self.device
        model = self.source.reference(self.device, placement, reference_kwargs(self.memory))
        record_placement(self.memory, model)
        return repaired(model, self.buffer_repair)

    def load(self, dtype: str | None, check: bool = True):
        model = repaired(self.source.load(self.device, dtype), self.buffer_repair)
        if check and dtype is not None:
            check_dtype_reached(model, dtype)  # a float32 run is no evidence for float16
        return model

    def builder(self, dtype: str, strategy: str) -> Callable[[], object]:
        """How each scan strategy makes its model: `load` as users do, `cast` = float32 + .to()."""
        if strategy == "load":
            def build():
                model = self.load(dtype, check=False)
                self.modules[dtype] = module_rows(model, dtype, self.options.depth)  # shown if the check fails
                check_dtype_reached(model, dtype)
                return model
            return build

        def build_cast():
            import torch

            model = self.load(None)
            if self.reference_sums is not None:  # the first float32 load after the reference's
                from ..diagnosis.reference_weights import check_weights_reproduce

                sums, self.reference_sums = self.reference_sums, None
                note = check_weights_reproduce(self, model, sums)
                if note:
                    self.notes.append(note)
                    self.progress(note)
                self.keep_reference()
            torch_module(model).to(getattr(torch, dtype))
            return model
        return build_cast

    def run_model(self, model, items: list | None = None):
        """(outputs, seconds) of the model on the probe items, as users call it."""
        return self.kind.run(model, self.items if items is None else items, self.options.batch_size,
                             **self.options.load.encode_kwargs())

    def run_counted(self, model, label: str):
        """run_model on the whole probe set, with items done reported to a display that draws a bar."""
        with counting_items(torch_module(model), label, len(self.items), self.progress):
            return self.run_model(model)

    def keep_reference(self) -> None:
        """The reference passed every check (the weights' one last): keep it for later runs."""
        from .reference_cache import keep

        keep(self)

    def run_reference(self) -> Reference:
        from .cache_key import cache_key, switched_off
        from .reference_cache import reuse

        if not switched_off(self.options):
            self.cache_key = cache_key(self)
        reference, model = reuse(self) if self.cache_key is not None else (None, None)
        if reference is None:
            reference = self.compute_reference(model)
        self.reference_result = reference
        return reference

    def compute_reference(self, model=None) -> Reference:
        """The reference computed; `model`: the float32 model already loaded (to check a cache entry)."""
        from ..diagnosis.reference_check import check_reference, verify_reference
        from ..diagnosis.reference_weights import weight_sums

        if model is None:
            self.progress("loading float32 reference")
            model = self.load_reference()
        buffers = check_reference(self, model) if self.source.checks_buffers else None
        self.reference_sums = weight_sums(torch_module(model))
        if self.cache_key is not None and self.cache_fingerprint is None:
            # What a later run's float32 load is held against (reference_cache.reuse, which took it already
            # when it loaded this model to check an entry).
            self.cache_fingerprint = model_fingerprint(torch_module(model))
        self.attention = attention_implementations(torch_module(model))
        self.modules["float32"] = module_rows(model, "float32", self.options.depth)
        from ..loading.raw_checkpoint import raw_checkpoint_notes

        self.reference_notes = raw_checkpoint_notes(self.model.path, model, self.model.kind)
        self.notes.extend(self.reference_notes)
        if not self.items:  # the probe file was read once, before any load (start_session)
            self.items = self.kind.default_items(model)
        if self.options.storage:
            self.items, self.storage_rows = with_corpus(self.items, probe_file(self.options, self.model.kind) is not None)
        from ..loading.tokenizer_check import check_tokenizer

        check_tokenizer(model, self.items, self.model.name, self.model.path)
        self.token_lengths = self.kind.token_lengths(model, self.items)
        self.window = self.kind.window(model)
        self.progress(f"running {len(self.items)} probe {self.kind.items_label} in float32")
        try:
            # Headroom is read during the reference encode itself: each hook reduces a block's
            # output to one number at once, so no activation outlives its block and the peak
            # stays the bare encode's (docs/benchmarks.md).
            with recording_headroom(torch_module(model)) as headroom:
                self.reference, seconds = self.run_counted(model, "float32")
            self.headroom = headroom()
        except Exception as exc:  # noqa: BLE001
            from ..loading.model_code import float32_failure

            raise float32_failure(self.model.name, exc, self.model.path) from exc
        if self.calibration_texts is not None:
            self.progress(f"encoding {len(self.calibration_texts)} --calibration texts in float32")
            self.calibration = self.run_model(model, self.calibration_texts)[0]
        if self.evaluation is not None:
            self.evaluation.encode("float32", model, self)
        reference = Reference(seconds, param_bytes(model), int(nonfinite_rows(self.reference).sum()),
                              int(self.reference.shape[-1]) if self.reference.dim() > 1 else None, buffers)
        if self.items and reference.nonfinite >= len(self.items):
            # Nothing is left to compare: a scan that went on would pass on no evidence.
            raise PrecheckError(f"{self.model.name}: float32 itself is NaN/inf for every probe text",
                                "precheck needs a working float32 model to compare against")
        del model
        release_memory()
        verify_reference(self, buffers)
        return reference

    def _build_and_encode(self, build, sizes: dict, label: str, weights_of: str | None, evaluate: str | None = None):
        """Returns (embeddings, seconds), or (None, None) when a run of this dtype with the same
        weights is already known; the model dies with this frame, before the next load. `evaluate`:
        the dtype whose pass over the --eval set this model makes."""
        model = build()
        sizes["param_bytes"] = param_bytes(model)
        if weights_of is not None:
            # About 0.1 s per 100 MB of weights (docs/benchmarks.md), against an encode of seconds to minutes.
            fingerprint = model_fingerprint(torch_module(model))
            sizes["weights"] = (weights_of, fingerprint) if fingerprint else None
            if sizes["weights"] in self.runs_by_weights:
                return None, None
        self.progress(f"{label}: running {len(self.items)} {self.kind.items_label}")
        outputs = self.run_counted(model, label)
        if evaluate is not None and self.evaluation is not None:
            self.evaluation.encode(evaluate, model, self)
        return outputs

    def _remember(self, sizes: dict, result: ProbeResult) -> ProbeResult:
        if sizes.get("weights"):
            self.runs_by_weights.setdefault(sizes["weights"], result)
        return result

    def probe(self, dtype: str, strategy: str, build, reuse: bool = False, evaluate: bool = False) -> ProbeResult:
        """Build a model, run the probe set, measure it against float32. With `reuse`, a model
        whose weights match an earlier reusing run of this dtype takes that run's figures
        (same_as) instead of being encoded again. With `evaluate`, the model also makes this
        dtype's pass over the --eval set (the scan's own `load` runs only; never a fix's plan)."""
        label = f"{dtype} ({strategy})"
        self.progress(f"{label}: loading")
        sizes: dict = {}
        try:
            outputs, seconds = self._build_and_encode(build, sizes, label, dtype if reuse else None,
                                                      dtype if evaluate else None)
        except PrecheckError:
            raise
        except Exception as exc:  # noqa: BLE001 - the model's failure is the result
            status = "unsupported" if is_unsupported_message(str(exc)) else "error"
            error = error_info(exc)
            # The traceback holds the model's frame: drop it before freeing memory.
            del exc
            release_memory()
            return self._remember(sizes, ProbeResult(dtype, strategy, status, error=error,
                                                     param_bytes=sizes.get("param_bytes")))
        release_memory()
        if outputs is None:
            earlier = self.runs_by_weights[sizes["weights"]]
            self.progress(f"{label}: same weights as {earlier.strategy}, not run again")
            return replace(earlier, strategy=strategy, seconds=None, param_bytes=sizes["param_bytes"],
                           same_as=earlier.strategy)
        if self.options.storage and strategy == "load":
            self.kept.setdefault(dtype, outputs)
        figures = self.kind.compare(self.reference, outputs, self.items)
        if compared_nothing(self.kind, figures):
            # No item was finite in both runs: nothing was compared, so nothing may be `ok`.
            return ProbeResult(dtype, strategy, "error", seconds=round(seconds, 4), param_bytes=sizes["param_bytes"],
                               error=ErrorInfo("NothingCompared", "no probe item was finite in float32"))
        return self._remember(sizes, ProbeResult(
            dtype,
            strategy,
            classify(figures, thresholds(self.options, dtype)),
            nonfinite=figures.nonfinite,
            min_cosine=figures.min_cosine,
            mean_cosine=figures.mean_cosine,
            top1_agreement=figures.top1_agreement,
            seconds=round(seconds, 4),
            param_bytes=sizes["param_bytes"],
            max_abs_diff=figures.max_abs_diff,
            spearman=figures.spearman,
            **figures.sparse_fields(),
            per_item=item_figures(figures, self.items, self.token_lengths, self.window, self.options.min_cosine),
        ))

    def run(self, dtype: str, strategy: str) -> ProbeResult:
        # A quantized precision has one run, and its weights are tensor subclasses a fingerprint cannot read.
        return self.probe(dtype, strategy, self.builder(dtype, strategy), reuse=not is_quantized(dtype),
                          evaluate=strategy == "load")


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
    session.items = items
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
        model=ModelInfo(model.name, model.path, model.kind, model.source, attention=session.attention,
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
        truncation=truncation(session.token_lengths, session.window),
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
