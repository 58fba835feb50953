"""Every option of a scan in one place: ScanOptions' fields carry their default, help, CLI flags,
`[tool.precheck]` key, check, and whether it affects the results (its key in a ci run's identity)
and is gated (where a report records it); the commands' options, the config keys, the run identity,
merge's one-run checks, the ci schema's required keys and the baseline's figures are derived from them.
resolve.py runs every door's values through these checks, once.

A new option shared by scan, fix and ci is one `option(...)` line here (docs/architecture.md).
No torch import: `precheck --help` and argument errors answer before torch loads.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Optional

from .dtypes import DEFAULT_DTYPES, QUANTIZED
from .vocabulary import ATTN_IMPLEMENTATIONS, KIND_NAMES
from .option_checks import (
    at_least_one,
    choice,
    drop_value,
    flag,
    key_values,
    low_dtypes,
    memory_budget,
    non_empty_text,
    optional,
    quantized_gates,
    path_value,
    share,
    storage_precisions,
)

DEVICES = ("auto", "cpu", "cuda", "mps")
KIND_CHOICES = ("auto", *KIND_NAMES)
RESCORE_WITH = ("quantized", "original")
# precheck sets these per run (the dtype under test; where the float32 reference goes).
RESERVED_MODEL_KWARGS = {"torch_dtype": "--dtype", "dtype": "--dtype",
                         "device_map": "--max-memory / --reference-device",
                         "quantization_config": f"--dtype {', '.join(QUANTIZED)} (docs/quantization.md)"}
# ScanOptions fields the Python API takes that are no option (no flag, no config key): passed through unchecked.
PYTHON_ONLY = ("evaluator",)
PANELS = {"probe": "Model and probe set", "gate": "Gate", "run": "Run", "load": "Loading (as users load)",
          "memory": "Memory", "storage": "Storage precision (docs/storage.md)",
          "eval": "Your own metric (docs/evaluation.md)"}


@dataclass(frozen=True)
class Option:
    """How one ScanOptions field reaches users: CLI flags, config key, check."""

    help: str
    flags: tuple[str, ...]
    check: Callable[[Any, str], Any]  # (value as the CLI or TOML gives it, where) -> the field's value
    cli_type: Any = None  # the typer annotation; None: the field's own type
    cli_default: Any = None  # the CLI's default when it differs from the field's (lists, --no-fix)
    config_key: str | None = None  # None: the field's name
    config_type: type | tuple = object  # what TOML must give
    panel: str = "probe"
    ci_flag: bool = False  # `ci` takes it on its command line, overriding the config for every model
    load: bool = False  # part of how the model is loaded and encoded (LoadOptions)
    fix_takes: bool = True  # `fix` takes it (False: a figure fix does not produce, such as --storage)
    # Only a name or folder has it: how a checkpoint is read, or where its float32 load goes. A model
    # object is already loaded, so these are refused for one (ScanOptions.__post_init__).
    name_only: bool = False
    metavar: str | None = None
    folder: bool = False  # the path may be a folder (--eval's BEIR layout), not only a file
    # It affects the results: recorded under this key of a ci run's per-model settings (gate/run_identity.py;
    # "probe": a file's digest, "load": LoadOptions.to_dict()); None: two runs differing in it are one run.
    run_key: str | None = None
    run_key_required: bool = True  # the ci schema requires the key (False: reports from before it lack it)
    # It is gated: where a report records the value the verdict read ("settings.min_cosine",
    # "storage.min_recall", ...); `merge` checks that every report's equals its run's.
    gated: str | None = None
    # The figure it gates that a baseline records (gate/baseline.py), with that figure's default tolerance.
    baseline: tuple[str, float] | None = None

    @property
    def negated(self) -> bool:
        """A --no-X flag (--no-fix, --no-cache): given on the command line, it turns its option off."""
        return self.cli_default is False


def option(default, help: str, flags: tuple[str, ...], check, **how):
    value = {"default_factory": dict} if isinstance(default, dict) else {"default": default}
    return field(**value, metadata={"option": Option(help, flags, check, **how)})


_KWARG_LIST = Optional[list[str]]


@dataclass(frozen=True)
class ScanOptions:
    """What a scan is asked to do: the single source of scan's, fix's and ci's options and of the
    `[tool.precheck]` keys (each field's `option` metadata)."""

    model: Any  # a name or folder (str), or a loaded model object (precheck.scan(model))
    dtypes: tuple[str, ...] = option(
        DEFAULT_DTYPES, "fp16/float16/half, bf16/bfloat16, or quantized: int8, nf4, fp4 (4-bit, bfloat16 "
        "compute; nf4-fp16/fp4-fp16: float16 compute), int8wo, int8dq (docs/quantization.md); repeat or "
        "comma-separate. Default: fp16 and bf16.",
        ("--dtype", "-d"), low_dtypes, cli_type=Optional[list[str]], config_type=list, panel="gate", run_key="dtypes",
        gated="settings.dtypes")
    device: str = option("auto", "auto (cuda when available), cpu, cuda or mps.", ("--device",),
                         choice(DEVICES, "device"), config_type=str, panel="run", ci_flag=True, run_key="device")
    trust_remote_code: bool = option(False, "Run code the model ships with (off by default).",
                                     ("--trust-remote-code",), flag, config_type=bool, load=True, name_only=True,
                                     run_key="trust_remote_code")
    # embedders and sparse encoders: probe texts replacing the built-in set
    texts_file: Path | None = option(
        None, "Embedders and sparse encoders: probe texts, one per line or JSON Lines {\"text\": ...} (replaces the built-in set).",
        ("--texts",), optional(path_value), cli_type=Optional[Path], config_key="texts", config_type=str, run_key="probe")
    # cross-encoders: probe (query, passage) pairs, TSV or JSONL
    pairs_file: Path | None = option(
        None, "Cross-encoders: probe pairs, TSV (query<TAB>passage) or JSON Lines {\"query\", \"document\"}.", ("--pairs",), optional(path_value),
        cli_type=Optional[Path], config_key="pairs", config_type=str, run_key="probe")
    kind: str = option("auto", f"auto (from the model's config), {', '.join(KIND_NAMES[:-1])} or {KIND_NAMES[-1]}.",
                       ("--kind",), choice(KIND_CHOICES, "kind"), config_type=str, run_key="kind")
    # The thresholds of float16/bfloat16, in the order a baseline lists their figures' regressions.
    min_cosine: float = option(0.999, "Embedders: lowest cosine to float32 that still passes.", ("--min-cosine",),
                               share(open_low=True), config_type=(int, float), panel="gate", run_key="min_cosine",
                               gated="settings.min_cosine", baseline=("min_cosine", 1e-4))
    min_top1_agreement: float = option(
        0.0, "Lowest share of probe items whose nearest neighbour (top passage) is kept.", ("--min-top1-agreement",),
        share(open_low=False), config_type=(int, float), panel="gate", run_key="min_top1_agreement",
        gated="settings.min_top1_agreement", baseline=("top1_agreement", 0.05))
    min_spearman: float = option(0.99, "Cross-encoders: lowest rank correlation of scores with float32.",
                                 ("--min-spearman",), share(open_low=True), config_type=(int, float), panel="gate",
                                 run_key="min_spearman", gated="settings.min_spearman", baseline=("spearman", 0.005))
    gates: dict = option(
        {}, "Quantized precisions: a threshold over the precision's own default gate, PRECISION.FIGURE=VALUE "
        "(e.g. nf4.min_top1_agreement=0.95; figures min_cosine, min_spearman, min_top1_agreement); repeatable. "
        "Defaults: docs/quantization.md.", ("--gate",), quantized_gates, cli_type=_KWARG_LIST, config_type=dict,
        panel="gate", metavar="PRECISION.FIGURE=VALUE", run_key="gates", gated="settings.gates")
    batch_size: int = option(32, "encode() / predict() batch size.", ("--batch-size",), at_least_one,
                             config_type=int, panel="run", ci_flag=True)
    depth: int = option(1, "Module table depth: 1 = top-level modules.", ("--depth",), at_least_one,
                        config_type=int, panel="run", ci_flag=True)
    # --no-fix skips the fix search for a fast gate
    fix: bool = option(True, "Skip the fix search (a faster gate).", ("--no-fix",), flag, cli_type=bool,
                       cli_default=False, config_type=bool, panel="run", ci_flag=True, run_key="fix")
    # the float32 reference kept between runs (engine/reference_cache.py); PRECHECK_NO_CACHE=1 also turns it off
    cache: bool = option(True, "Compute the float32 reference again instead of reusing a checked one from "
                         "precheck's cache ($PRECHECK_CACHE, else $HF_HOME/precheck).", ("--no-cache",), flag,
                         cli_type=bool, cli_default=False, config_type=bool, panel="run", ci_flag=True)
    # "cuda=20GiB,cpu=60GiB": the budget the float32 reference is placed under
    max_memory: str | None = option(
        None, "Budget for the float32 reference, e.g. cuda=20GiB,cpu=60GiB; past it layers offload (accelerate) "
        "to CPU, then disk.", ("--max-memory",), optional(memory_budget), config_type=str, panel="memory",
        ci_flag=True, name_only=True)
    # "cpu": the float32 reference on the CPU, the other runs on the device
    reference_device: str | None = option(
        None, "cpu: run the float32 reference on the CPU; the float16/bfloat16 runs stay on --device.",
        ("--reference-device",), optional(choice(DEVICES, "device")), config_type=str, panel="memory",
        ci_flag=True, name_only=True)
    revision: str | None = option(
        None, "Hub models: the revision (commit, branch or tag) to load, for reproducible runs.", ("--revision",),
        optional(non_empty_text), config_type=str, panel="load", load=True, name_only=True, run_key="load")
    model_kwargs: dict = option(
        {}, "KEY=VALUE passed in model_kwargs (VALUE as JSON, else a string); repeatable. Not torch_dtype.",
        ("--model-kwarg",), key_values(RESERVED_MODEL_KWARGS), cli_type=_KWARG_LIST, config_type=dict, panel="load",
        load=True, metavar="KEY=VALUE", name_only=True, run_key="load")
    config_kwargs: dict = option(
        {}, "KEY=VALUE passed in config_kwargs (the model's config); repeatable.", ("--config-kwarg",), key_values(),
        cli_type=_KWARG_LIST, config_type=dict, panel="load", load=True, metavar="KEY=VALUE", name_only=True,
        run_key="load")
    tokenizer_kwargs: dict = option(
        {}, "KEY=VALUE passed to the tokenizer (tokenizer_kwargs); repeatable.", ("--tokenizer-kwarg",), key_values(),
        cli_type=_KWARG_LIST, config_type=dict, panel="load", load=True, metavar="KEY=VALUE", name_only=True,
        run_key="load")
    attn_implementation: str | None = option(
        None, "eager, sdpa or flash_attention_2 (float16 behaviour differs between them).", ("--attn-implementation",),
        optional(choice(ATTN_IMPLEMENTATIONS, "attention implementation")), config_type=str, panel="load",
        load=True, name_only=True, run_key="load")
    max_seq_length: int | None = option(
        None, "Truncate inputs to this many tokens (the model's max_seq_length).", ("--max-seq-length",),
        optional(at_least_one), config_type=int, panel="load", load=True, name_only=True, run_key="load")
    prompt_name: str | None = option(
        None, "Encode with this prompt of the model's prompts (e.g. query).", ("--prompt-name",),
        optional(non_empty_text), config_type=str, panel="load", load=True, run_key="load")
    prompt: str | None = option(None, "Encode with this text prepended to every input.", ("--prompt",),
                                optional(lambda v, w: v if isinstance(v, str) else non_empty_text(v, w)),
                                config_type=str, panel="load", load=True, run_key="load")
    truncate_dim: int | None = option(
        None, "Embedders: keep the first N dimensions of each embedding (Matryoshka).", ("--truncate-dim",),
        optional(at_least_one), config_type=int, panel="load", load=True, name_only=True, run_key="load")

    # the scan's own embeddings stored as an index stores them, searched as it searches
    storage: tuple[str, ...] = option(
        (), "Embedders: measure retrieval with the vectors stored as float32, float16, int8, uint8, binary or "
        "ubinary; comma-separate (docs/storage.md).", ("--storage",), storage_precisions, cli_type=Optional[list[str]],
        config_type=list, panel="storage", fix_takes=False, run_key="storage", gated="storage.precisions")
    min_recall: float = option(
        0.8, "--storage: lowest recall@10 against float32 exact search (rescored where the index rescores).",
        ("--min-recall",), share(open_low=False), config_type=(int, float), panel="storage", fix_takes=False,
        run_key="min_recall", gated="storage.min_recall")
    # semantic_search_faiss's default: the index returns rescore_multiplier x k candidates for the
    # float query to rescore (Qdrant calls it oversampling).
    rescore_multiplier: int = option(
        2, "--storage: candidates the index returns per result for the float query to rescore (Qdrant's "
        "oversampling).", ("--rescore-multiplier",), at_least_one, config_type=int, panel="storage",
        fix_takes=False, run_key="rescore_multiplier", gated="storage.rescore_multiplier")
    # What the float query rescores the candidates against: the index's own stored vectors (quantized;
    # sentence-transformers' semantic_search_faiss), or the original float vectors kept beside them
    # (Qdrant's and pgvector's re-ranking).
    rescore_with: str = option(
        "quantized", "--storage: rescore candidates against the stored quantized vectors (sentence-transformers) "
        "or the original float vectors (Qdrant, pgvector).", ("--rescore-with",),
        choice(RESCORE_WITH, "rescore source"), config_type=str, panel="storage", fix_takes=False,
        run_key="rescore_with", gated="storage.rescore_with")
    calibration_file: Path | None = option(
        None, "--storage int8/uint8: calibration texts, one per line, encoded once (default: a held-apart quarter "
        "of the probe texts).", ("--calibration",), optional(path_value), cli_type=Optional[Path],
        config_key="calibration", config_type=str, panel="storage", fix_takes=False, run_key="probe")

    # --eval: the user's labelled set (a BEIR folder or scored pairs), and the gate on its metric
    eval: Path | None = option(
        None, "Your labelled set, a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv: nDCG@10) "
        "or scored pairs (TSV or JSON Lines sentence1, sentence2, score: Spearman); each precision's metric "
        "against float32's; `fix` verifies its plan on it too (docs/evaluation.md).", ("--eval",),
        optional(path_value), cli_type=Optional[Path], config_type=str, panel="eval", folder=True, run_key="probe")
    max_metric_drop: float = option(
        0.01, "--eval: largest drop of the metric (nDCG@10 or Spearman) from float32 that still passes, absolute.",
        ("--max-metric-drop",), drop_value, config_type=(int, float), panel="eval",
        run_key="max_metric_drop", run_key_required=False, gated="evaluation.max_metric_drop",
        baseline=("eval_metric", 0.01))
    # Python only (precheck.scan(model, evaluator=obj)): a sentence-transformers evaluator object, run on
    # float32 and each precision as --eval's set is (evaluation/evaluator_object.py); no flag, no config key.
    evaluator: Any = None

    def __post_init__(self) -> None:
        # Values come checked from the one resolver (resolve.py), whatever the door; a Path names a folder.
        if isinstance(self.model, Path):
            object.__setattr__(self, "model", str(self.model))

    @property
    def model_name(self) -> str:
        """The model as messages name it: the name given, or the object's class."""
        return self.model if isinstance(self.model, str) else f"in-memory {type(self.model).__name__}"

    @property
    def load(self) -> "LoadOptions":
        return LoadOptions(**{f.name: getattr(self, f.name) for f in fields(LoadOptions)})


def is_model_object(value) -> bool:
    """A loaded model (an nn.Module with a state dict), told apart without importing torch."""
    return not isinstance(value, (str, Path)) and callable(getattr(value, "state_dict", None)) \
        and callable(getattr(value, "named_modules", None))


@dataclass(frozen=True)
class LoadOptions:
    """How a model is loaded and encoded, as users pass it to sentence-transformers; loading.py
    turns it into constructor arguments, plans.py into snippets, precheck.json keeps it."""

    trust_remote_code: bool = False
    revision: str | None = None
    model_kwargs: dict = field(default_factory=dict)
    config_kwargs: dict = field(default_factory=dict)
    tokenizer_kwargs: dict = field(default_factory=dict)
    attn_implementation: str | None = None
    max_seq_length: int | None = None
    prompt_name: str | None = None
    prompt: str | None = None
    truncate_dim: int | None = None

    def to_dict(self) -> dict:
        """Only what was set (trust_remote_code is recorded where it always was): a report's settings."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "trust_remote_code" and getattr(self, f.name) not in (None, {})}

    @classmethod
    def from_dict(cls, data: dict, trust_remote_code: bool = False) -> "LoadOptions":
        known = {f.name for f in fields(cls)}
        return cls(trust_remote_code=trust_remote_code, **{k: v for k, v in (data or {}).items() if k in known})

    def encode_kwargs(self) -> dict:
        return {k: v for k, v in (("prompt_name", self.prompt_name), ("prompt", self.prompt)) if v is not None}


def scan_fields():
    """(dataclass field, Option) of every option of ScanOptions, in order."""
    return [(f, f.metadata["option"]) for f in fields(ScanOptions) if "option" in f.metadata]


def option_of(name: str) -> Option:
    return next(o for f, o in scan_fields() if f.name == name)


def default_of(name: str):
    """The table's default of one option (what a value equal to it cannot be told apart from)."""
    return next(f.default for f, _ in scan_fields() if f.name == name)


def file_options() -> list[tuple[str, str, str]]:
    """(field, config key, flag) of every option that names a file precheck reads (texts, pairs,
    calibration, ...): inputs.py refuses an output over any of them, so a new one is guarded at once."""
    return [(f.name, how.config_key or f.name, how.flags[0]) for f, how in scan_fields()
            if how.cli_type == Optional[Path]]


def not_for_fix() -> tuple[str, ...]:
    """The fields `fix` leaves out: it writes a fixed model, not these figures."""
    return tuple(f.name for f, how in scan_fields() if not how.fix_takes)
