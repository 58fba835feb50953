"""The report: plain dataclasses that every later step reads and both renderings draw.

`Report.to_dict()` is the JSON document (schema precheck.report/1, data/json.py writes it); the
terminal view in render/scan.py reads the same objects and computes nothing of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .evaluation import EvalResult, EvaluationCheck

SCHEMA = "precheck.report/1"
STATUSES = ("ok", "error", "nonfinite", "drift", "unsupported")


@dataclass
class InMemoryModel:
    """A model scanned as an object (precheck.scan(model)): what it was when the scan began."""

    class_name: str
    modules: list[str]  # the pipeline's children, "name: Class"
    dtype: str  # its floating parameters' dtype ("mixed" when more than one)
    device: str
    weights_from: str = ""  # the folder or hub id its transformers weights were read from, when it says


@dataclass
class ModelInfo:
    name: str
    path: str
    kind: str
    source: str
    default_dtype: str = "float32"  # what a plain SentenceTransformer(model) / CrossEncoder(model) runs in
    model_type: str = ""  # the transformers config's model_type (servers decide by it: serving.py)
    # The attention kernel(s) the float32 reference ran (config._attn_implementation: sdpa, eager, ...):
    # padded half-precision batches have given NaN under one kernel and not another.
    attention: str = ""
    in_memory: InMemoryModel | None = None  # set when the model was an object, not a name (source "object")


@dataclass
class Environment:
    python: str
    torch: str
    transformers: str
    sentence_transformers: str
    device: str


@dataclass
class Settings:
    dtypes: list[str]
    min_cosine: float
    min_spearman: float
    min_top1_agreement: float
    probe_items: int  # texts for embedders, (query, passage) pairs for cross-encoders
    probe_source: str  # "builtin" or the --texts / --pairs file
    batch_size: int
    depth: int
    # each quantized precision's thresholds, as used (engine/verdict.py thresholds): what merge rejudges with
    gates: dict[str, dict[str, float]] = field(default_factory=dict)
    # how the model was loaded and encoded, as given (precheck/options.py LoadOptions.to_dict):
    # revision, model/config/tokenizer kwargs, attn_implementation, max_seq_length, prompt, truncate_dim
    load: dict = field(default_factory=dict)


@dataclass
class ModuleRow:
    path: str
    index: int | None
    cls: str
    params: int
    param_dtypes: dict[str, int]
    buffer_dtypes: dict[str, int]
    size_mb: float
    flagged: bool
    kept_in_fp32: list[str] = field(default_factory=list)  # modules transformers keeps in float32 on purpose
    fp32_buffers: list[str] = field(default_factory=list)  # floating buffers not in the row's dtype


@dataclass
class ErrorInfo:
    type: str
    message: str


def error_info(exc: BaseException, limit: int = 1000) -> ErrorInfo:
    """An exception as a result's error: its type and message; a message-less one (a bare `assert` in a
    library) says where it was raised instead, the raising frame's file:line and function, so the error
    still names something to look up. Only strings are kept: no frame outlives the call."""
    message = str(exc).strip()
    if not message:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            code = tb.tb_frame.f_code
            path = code.co_filename.replace("\\", "/")
            path = path.split("site-packages/", 1)[-1] if "site-packages/" in path else path
            message = f"raised with no message at {path}:{tb.tb_lineno} ({code.co_name})"
        else:
            message = "raised with no message"
        del tb
    return ErrorInfo(type(exc).__name__, message[:limit])


@dataclass
class TopTerms:
    """A sparse encoder's highest-weighted terms for one probe text, as tokens."""

    item: int
    text: str
    float32: list[str]
    candidate: list[str]


@dataclass
class ItemRecord:
    """One probe item among a run's worst: what it is, how long, and how far it moved."""

    item: int  # index in the probe set (the --texts / --pairs line or JSON object, from 0)
    text: str  # the text, or a pair's query; clipped to engine/moved.py's TEXT_CHARS
    tokens: int | None  # tokens before truncation (a pair: query and passage together; None: not counted)
    truncated: bool  # longer than the model's window: encoded, and measured, cut to it
    document: str | None = None  # a pair's passage, clipped likewise
    cosine: float | None = None  # cosine to its float32 output (embedders; multi-vector: worst token)
    score_diff: float | None = None  # |score - float32 score| (scores; sparse: over the text as a query)


@dataclass
class NeighbourChange:
    """A probe item whose nearest neighbour (a query's top passage) is not float32's."""

    item: int  # the text (for pairs: the query's first pair)
    text: str
    float32: int  # item float32 puts nearest (the top passage's pair)
    float32_text: str
    now: int  # item this run puts nearest, outside float32's ties
    now_text: str


@dataclass
class ItemFigures:
    """Per-item figures of one run: their percentiles over every compared item, the worst items
    and the neighbour changes, bounded (engine/moved.py, docs/report-schema.md)."""

    figure: str  # "cosine" (low is worse) or "score_diff" (high is worse): what `percentiles` and `worst` rank by
    compared: int  # items finite in both runs, which the percentiles cover
    percentiles: dict[str, float]  # p1, p5, p50, p95, p99 of `figure`
    worst: list[ItemRecord]  # worst first
    below_threshold: int = 0  # cosine: items under --min-cosine (all of them are in `worst`, up to its bound)
    neighbour_changes: list[NeighbourChange] = field(default_factory=list)
    neighbour_changes_total: int = 0  # all of them; `neighbour_changes` holds up to the bound
    # Every compared item counted by its distance from float32 (1 - cosine, or |score difference|) in
    # half-decade bins: counts[i] holds distances in [edges[i], edges[i+1]), the last bin those >= edges[-1].
    histogram: dict = field(default_factory=dict)  # {"edges": [...], "counts": [...]}


@dataclass
class Truncation:
    """How the probe items fit the model's window: longer ones are cut, as encode() cuts them, and
    every figure covers the cut text."""

    window: int  # tokens the model takes (max_seq_length; a cross-encoder's max_length)
    items: int  # probe items longer than it
    longest: int  # tokens of the longest item
    shortest_cut: int | None = None  # tokens of the shortest item that was cut


@dataclass
class ProbeResult:
    dtype: str
    strategy: str  # "load": model_kwargs torch_dtype; "cast": float32 load, then .to(dtype)
    status: str
    error: ErrorInfo | None = None
    nonfinite: int = 0
    min_cosine: float | None = None
    mean_cosine: float | None = None
    top1_agreement: float | None = None
    seconds: float | None = None
    param_bytes: int | None = None
    max_abs_diff: float | None = None  # cross-encoders: largest |score - float32 score|
    spearman: float | None = None  # cross-encoders: rank correlation of scores with float32
    same_as: str | None = None  # "load" when this model's weights were identical to that run's: its figures reused
    # sparse encoders: mean active dimensions per text, the largest relative change in a text's
    # active dimensions, the lowest share of a text's top-k terms kept, and that text's terms.
    active_dims: float | None = None
    active_dims_change: float | None = None
    topk_overlap: float | None = None
    topk_terms: "TopTerms | None" = None
    per_item: "ItemFigures | None" = None  # the worst items, neighbour changes, percentiles (issue 27)


@dataclass
class BufferCheck:
    """The float32 reference's non-persistent buffers against a fresh instance built from the config
    (reference_check.py): none to check, ok, repaired (copied from the fresh instance), or unchecked."""

    status: str
    checked: int  # non-persistent buffers compared
    repaired_buffers: list[str] = field(default_factory=list)
    by_owner: dict[str, list[str]] = field(default_factory=dict)  # transformers model path -> buffer names in it
    cause: str = ""  # "uninitialised-buffers" when some were repaired
    detail: str = ""
    snippet: str = ""  # the lines a user adds after loading to make the same repair


@dataclass
class Reference:
    """The float32 run every low-precision result is measured against."""

    seconds: float
    param_bytes: int
    nonfinite: int  # texts that are already NaN/inf in float32: not half precision's fault
    dimension: int | None = None  # size of one output: embedding dimensions, scores per pair, vocabulary
    buffers: BufferCheck | None = None
    cached: bool = False  # reused from precheck's cache (engine/reference_cache.py), not computed in this run


@dataclass
class Diagnosis:
    dtype: str
    strategy: str
    cause: str  # uncast-module, float32-in-forward, device-unsupported, overflow, constant-out-of-range, drift,
    # compute-dtype-range, weight-outliers, outlier-features, quantized-head (quantized precisions),
    # scoring-precision (--eval: the installed stack's scoring of the embeddings, not the model), other
    module: str  # dotted path from the model root ("" when outside every module)
    detail: str
    module_class: str = ""
    param_dtypes: list[str] = field(default_factory=list)
    input_dtypes: list[str] = field(default_factory=list)
    producer: str | None = None  # float32-in-forward: the module where float32 appeared
    probe_items: list[int] = field(default_factory=list)  # overflow: indices of the probe items that trigger it


@dataclass
class Headroom:
    module: str
    cls: str
    kind: str  # module (pipeline step), embeddings, layer, part (of a layer)
    max_abs: float
    fp16_fraction: float  # max_abs / 65504: at 1.0 float16 overflows
    max_at: str = ""  # the module inside the block (or the block itself) whose output holds max_abs


@dataclass
class BlockDrift:
    module: str
    relative_error: float  # ||low - float32|| / ||float32|| over the texts, at this block's output
    added: float  # how much this block raised it over the block before
    dtype: str = ""
    strategy: str = ""


@dataclass
class Fix:
    """A way out for one failing dtype, verified by re-running the probe set."""

    dtype: str
    strategy: str  # cast, autocast, keep-fp32, bf16
    keep_fp32: list[str]
    fp32_param_share: float
    verified: bool
    min_cosine: float | None
    recommended: bool
    snippet: str  # plain sentence-transformers
    precheck_snippet: str  # the same with precheck.load
    status: str  # the probe status the plan got
    detail: str = ""
    probe_runs: int = 0  # probe runs this fix's search spent (0: the scan's own run was reused)
    param_bytes: int | None = None  # parameter bytes of the model under this fix
    run_low: list[str] = field(default_factory=list)  # keep-fp32: children of kept blocks left in dtype
    # keep-unquantized (a quantized precision): modules of the transformers model left out of quantization
    keep_unquantized: list[str] = field(default_factory=list)
    # --eval: the plan's pass over the labelled set (its metric, difference from float32 and interval), held to
    # --max-metric-drop; None without --eval or when the plan failed the probe figures first (repair/metric_check.py)
    evaluation: EvalResult | None = None


@dataclass
class DtypeVerdict:
    dtype: str
    passed: bool
    status: str  # the `load` strategy's status: what users who load this way get
    summary: str
    # A dtype that passed on the CPU: its load run's encode time over float32's, both from this scan's own
    # timings (float16 encodes about 5x slower than float32 on most CPUs); None off the CPU or untimed.
    cpu_time_ratio: float | None = None


@dataclass
class Verdict:
    passed: bool
    dtypes: list[DtypeVerdict]
    # One line per failing gate, every gate (each dtype's, storage's): engine/verdict.py judge().
    failures: list[str] = field(default_factory=list)


@dataclass
class ServingAdvice:
    """The dtype flag for one embedding server that matches what the scan verified (precheck/engine/serving.py)."""

    server: str  # text-embeddings-inference, vllm, infinity
    flag: str  # e.g. "--dtype bfloat16"; "" when no flag serves a verified dtype on this server
    dtype: str | None  # float16, bfloat16 or float32; None with flag ""
    note: str


@dataclass
class RunPlacement:
    """Where one run of the scan holds its weights (memory.py plans it before anything loads)."""

    run: str  # "reference", "load" or "cast"
    dtype: str
    bytes: int | None  # estimated parameter bytes at the run's peak (cast: the float32 load)
    placement: str  # the device ("cpu", "cuda", "mps") or "offload" (accelerate's device_map="auto")
    detail: str = ""  # offload: the budget, then where the layers went once loaded


@dataclass
class MemoryPlan:
    weights: str  # safetensors, safetensors-index, pytorch-bin (the estimate needs a load), none
    parameters: int | None  # floating-point parameter elements in the checkpoint
    estimated_param_bytes: dict[str, int]  # float32 / float16 / bfloat16; empty when the headers say nothing
    device: str
    free_bytes: int | None  # torch.cuda.mem_get_info on CUDA, available RAM on the CPU
    budget: dict[str, int]  # bytes per device the float32 reference is placed under (--max-memory or free)
    runs: list[RunPlacement]
    notes: list[str] = field(default_factory=list)


@dataclass
class StorageResult:
    """One model dtype's embeddings stored at one precision, searched against float32 exact search."""

    model_dtype: str  # float32 or a dtype that passed the scan
    precision: str  # float32, float16, int8, uint8, binary, ubinary
    bytes_per_vector: int
    recall_at_1: float
    recall_at_10: float
    recall_at_1_rescored: float | None  # None for float32/float16: nothing to rescore
    recall_at_10_rescored: float | None
    spearman: float  # mean over queries of the rank correlation of their scores with float32's
    passed: bool  # recall@10 rescored (plain for float precisions) >= min_recall
    seconds: float  # quantize + search + figures for this row


@dataclass
class StorageCheck:
    """--storage: will the vectors survive the index (precheck/engine/storage.py, docs/storage.md)."""

    precisions: list[str]
    min_recall: float
    k: int
    rescore_multiplier: int
    corpus: int  # vectors searched, each also a query (leave-one-out)
    calibration: str  # "held-apart" or the --calibration file
    calibration_items: int
    dimensions: int
    results: list[StorageResult]
    passed: bool
    seconds: float  # all the storage step added: quantize, search, figures
    # what the candidates are rescored against: "quantized" (the stored vectors) or "original" (float)
    rescore_with: str = "quantized"


@dataclass
class Report:
    model: ModelInfo
    environment: Environment
    settings: Settings
    reference: Reference
    modules: dict[str, list[ModuleRow]]
    results: list[ProbeResult]
    verdict: Verdict
    schema: str = SCHEMA
    notes: list[str] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    headroom: list[Headroom] = field(default_factory=list)
    drift: list[BlockDrift] = field(default_factory=list)
    serving: list[ServingAdvice] = field(default_factory=list)
    memory: MemoryPlan | None = None  # the memory plan and where each run went (issue 15)
    storage: StorageCheck | None = None  # --storage (issue 22)
    truncation: Truncation | None = None  # the probe items against the model's window (issue 27)
    evaluation: EvaluationCheck | None = None  # --eval: the user's own metric per precision (issue 34)

    def recommended_fix(self, dtype: str) -> "Fix | None":
        return next((f for f in self.fixes if f.dtype == dtype and f.recommended), None)

    def result(self, dtype: str, strategy: str) -> ProbeResult:
        return next(r for r in self.results if r.dtype == dtype and r.strategy == strategy)

    def to_dict(self) -> dict:
        from .json import dataclass_document

        return dataclass_document(self)

    def to_json(self) -> str:
        from .json import JSON

        return JSON.format(self)
