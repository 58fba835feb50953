"""One scan in progress: its model source, device and probe items, its float32 reference (reference.py),
and each dtype's runs built, encoded and measured against it; diagnosis and fix search reuse it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ..dtypes import is_quantized
from .moved import item_figures
from .reference import Float32Reference, compute_reference
from ..errors import PrecheckError
from ..options import ScanOptions
from ..loading.inventory import check_dtype_reached, module_rows
from ..loading.load import ResolvedModel, release_memory
from ..loading.source import model_source
from ..loading.fingerprint import model_fingerprint
from ..diagnosis.reference_check import repaired
from ..diagnosis.localise import is_unsupported_message
from ..progress import counting_items
from .verdict import classify, compared_nothing, thresholds
from ..kinds import kind_for, torch_module
from ..tensors import param_bytes
from ..data.report import ErrorInfo, ProbeResult, Reference, error_info

STRATEGIES = ("load", "cast")
# A quantized precision is only loaded: quantizing is a load-time conversion, and a float32 model
# `.to()` a quantized type is nothing a user can do (docs/quantization.md).
QUANTIZED_STRATEGIES = ("load",)
Progress = Callable[[str], None]


class ScanSession:
    """What the runs of one scan share: the model and its kind, the device, the probe items
    (texts or pairs) and the float32 reference. Diagnosis and fix search reuse it, so every
    figure is against the same reference. Its models come from one source (loading/source.py):
    a name loaded as users load it, or an object copied."""

    def __init__(self, options: ScanOptions, model: ResolvedModel, device: str, progress: Progress) -> None:
        self.options, self.model, self.device, self.progress = options, model, device, progress
        self.source = model_source(options, model)
        self.kind = kind_for(model.kind)
        self.given_items: list = []  # the probe file's items (or the callback's), read before any load
        self.float32: Float32Reference | None = None  # reference.py: computed, or from the cache
        self.modules: dict = {}
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
        self.cache_key: dict | None = None  # reference_cache: the entry's key (None: not cached)
        self.evaluation = None  # --eval: evaluation/measure.py's EvalRuns, each precision's pass over the set

    @property
    def items(self) -> list:
        """The probe items every run encodes: the reference's, once it is there."""
        return self.float32.items if self.float32 is not None else self.given_items

    @property
    def reference(self):
        """The float32 outputs every run is measured against."""
        return self.float32.outputs if self.float32 is not None else None

    @property
    def headroom(self) -> list:
        return self.float32.headroom if self.float32 is not None else []

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

        keep(self.cache_key, self.float32, self.progress)

    def run_reference(self) -> Reference:
        """The float32 reference, from the cache when an entry agrees with the model in hand, else computed."""
        from ..diagnosis.reference_check import verify_reference
        from .cache_key import cache_key, switched_off
        from .reference_cache import reuse

        if not switched_off(self.options):
            self.cache_key = cache_key(self)
        found, model, fingerprint = reuse(self) if self.cache_key is not None else (None, None, None)
        if found is not None:
            self._adopt(found)
            return found.result
        computed, buffers = compute_reference(self, model, fingerprint)
        self._adopt(computed)
        verify_reference(self, buffers)  # a repaired reference must be reproducible before it is used
        return computed.result

    def _adopt(self, reference: Float32Reference) -> None:
        self.float32 = reference
        self.modules["float32"] = reference.modules

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
            per_item=item_figures(figures, self.items, self.float32.token_lengths, self.float32.window,
                                  self.options.min_cosine),
        ))

    def run(self, dtype: str, strategy: str) -> ProbeResult:
        # A quantized precision has one run, and its weights are tensor subclasses a fingerprint cannot read.
        return self.probe(dtype, strategy, self.builder(dtype, strategy), reuse=not is_quantized(dtype),
                          evaluate=strategy == "load")
