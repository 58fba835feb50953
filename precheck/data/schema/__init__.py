"""JSON Schemas of precheck's documents, derived from the dataclasses that write them.

A field's schema comes from its type hint; CONSTRAINTS adds only what a hint cannot say.
docs/schemas/*.schema.json publish these dicts (files.py regenerates them).
"""
from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields as dataclass_fields, is_dataclass

from ...dtypes import LOW_PRECISION, PRECISIONS, QUANTIZED, UNDER_TEST
from ...vocabulary import ATTN_IMPLEMENTATIONS, GATES, KIND_NAMES, STORAGE_GATES
from ..report import (STATUSES, BlockDrift, BufferCheck, Diagnosis, DtypeVerdict, Fix, Headroom, MemoryPlan, ModelInfo, ModuleRow,
                      ProbeResult, Reference, Report, RunPlacement, ServingAdvice, Settings, StorageCheck,
                      StorageResult, TopTerms, ItemFigures, ItemRecord, NeighbourChange, Truncation)
from ..evaluation import LAYOUTS, METRICS, EvalItem, EvalResult, EvaluationCheck, ScoringPrecision
from ..plan import FIX_STRATEGIES, PLAN_SCHEMA, QUANTIZED_FIX_STRATEGIES, QUANTIZED_SWITCHES, Plan
from ..training import MODES, ModeResult, NonFinite, Recommendation, TrainReport

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_PRIMITIVES = {str: "string", int: "integer", float: "number", bool: "boolean"}

# Table rows: what a field's type hint cannot say. A row's keywords refine the hint's schema
# (type, enum or const replace the hint's own type); `"required": True/False` (a bool, not
# JSON Schema's list) overrides the default that a field without a default value is required.
ALWAYS = {"required": True}  # has a default, but every document of its version has the key
# What a scan tests, a fix and a plan are for: half precision and the quantized precisions (dtypes.py).
_LOW = {"enum": list(UNDER_TEST)}
_ANY_DTYPE = {"enum": ["float32", *UNDER_TEST]}
_TORCH_DTYPE = {"enum": ["float32", *LOW_PRECISION]}  # a checkpoint's dtype; train-check trains in these
_AT_LEAST_0 = {"minimum": 0}
_SHARE = {"minimum": 0, "maximum": 1}
_COUNTS = {"additionalProperties": _AT_LEAST_0}

# The load options a scan was given (precheck/options.py LoadOptions): only those set appear.
_KWARGS = {"type": "object"}
LOAD_SETTINGS = {
    "type": "object",
    "properties": {
        "revision": {"type": "string"},
        "model_kwargs": _KWARGS,
        "config_kwargs": _KWARGS,
        "tokenizer_kwargs": _KWARGS,
        "attn_implementation": {"enum": list(ATTN_IMPLEMENTATIONS)},
        "max_seq_length": {"type": "integer", "minimum": 1},
        "prompt_name": {"type": "string"},
        "prompt": {"type": "string"},
        "truncate_dim": {"type": "integer", "minimum": 1},
    },
    "additionalProperties": False,
}

_PRECISION = {"enum": list(PRECISIONS)}

CONSTRAINTS: dict[type, dict[str, dict]] = {
    ModelInfo: {"kind": {"enum": list(KIND_NAMES)}, "source": {"enum": ["local", "cache", "embedded", "hub", "object"]},
                "default_dtype": _TORCH_DTYPE},
    Settings: {"dtypes": {"items": _LOW, "minItems": 1}, "probe_items": {"minimum": 1},
               "batch_size": {"minimum": 1}, "depth": {"minimum": 1}, "load": LOAD_SETTINGS,
               "gates": {"propertyNames": {"enum": list(QUANTIZED)}}},
    Reference: {"nonfinite": _AT_LEAST_0, "dimension": {"minimum": 1}},
    BufferCheck: {"status": {"enum": ["none", "ok", "repaired", "unchecked"]}, "checked": _AT_LEAST_0,
                  "repaired_buffers": ALWAYS},
    ModuleRow: {"params": _AT_LEAST_0, "param_dtypes": _COUNTS, "buffer_dtypes": _COUNTS, "size_mb": _AT_LEAST_0},
    ProbeResult: {
        "dtype": _LOW, "strategy": {"enum": ["load", "cast"]}, "status": {"enum": list(STATUSES)},
        "error": ALWAYS, "nonfinite": {**ALWAYS, **_AT_LEAST_0}, "min_cosine": ALWAYS, "mean_cosine": ALWAYS,
        "top1_agreement": {**ALWAYS, **_SHARE}, "seconds": ALWAYS, "param_bytes": {**ALWAYS, **_AT_LEAST_0},
        "same_as": {"enum": ["load", None]}, "topk_overlap": _SHARE,
    },
    TopTerms: {"item": _AT_LEAST_0},
    # Issue 27: each run's items that moved most (engine/moved.py bounds the lists).
    ItemFigures: {"figure": {"enum": ["cosine", "score_diff"]}, "compared": {"minimum": 1},
                  "percentiles": {"propertyNames": {"enum": ["p1", "p5", "p50", "p95", "p99"]}},
                  "below_threshold": {**ALWAYS, **_AT_LEAST_0}, "neighbour_changes": ALWAYS,
                  "neighbour_changes_total": {**ALWAYS, **_AT_LEAST_0}},
    ItemRecord: {"item": _AT_LEAST_0, "tokens": _AT_LEAST_0, "document": ALWAYS, "cosine": ALWAYS,
                 "score_diff": {**ALWAYS, **_AT_LEAST_0}},
    NeighbourChange: {"item": _AT_LEAST_0, "float32": _AT_LEAST_0, "now": _AT_LEAST_0},
    Truncation: {"window": {"minimum": 1}, "items": _AT_LEAST_0, "longest": _AT_LEAST_0,
                 "shortest_cut": {**ALWAYS, **_AT_LEAST_0}},
    Diagnosis: {
        "dtype": _LOW, "strategy": {"enum": ["load", "cast"]},
        "cause": {"enum": ["uncast-module", "float32-in-forward", "device-unsupported", "overflow",
                           "constant-out-of-range", "drift", "compute-dtype-range", "weight-outliers",
                           "outlier-features", "quantized-head", "scoring-precision", "other"]},
        "probe_items": {"items": _AT_LEAST_0},
    },
    Fix: {
        "dtype": _LOW, "strategy": {"enum": [*FIX_STRATEGIES, *QUANTIZED_FIX_STRATEGIES, *QUANTIZED_SWITCHES]},
        "fp32_param_share": _SHARE,
        # Added to precheck.report/1 after it shipped: a report written before them still validates.
        "precheck_snippet": {"required": False}, "status": {"required": False},
        "probe_runs": _AT_LEAST_0, "param_bytes": _AT_LEAST_0,
    },
    # max_abs is null when a block's output is already inf in float32.
    Headroom: {"kind": {"enum": ["module", "embeddings", "layer", "part"]},
               "max_abs": {"type": ["number", "null"], **_AT_LEAST_0},
               "fp16_fraction": {"type": ["number", "null"], **_AT_LEAST_0}},
    BlockDrift: {"dtype": {**ALWAYS, **_LOW}, "strategy": ALWAYS},
    ServingAdvice: {"server": {"enum": ["text-embeddings-inference", "vllm", "infinity"]},
                    "dtype": {"enum": ["float32", *LOW_PRECISION, None]}},
    MemoryPlan: {
        "weights": {"enum": ["safetensors", "safetensors-index", "pytorch-bin", "none"]},
        "parameters": _AT_LEAST_0, "free_bytes": _AT_LEAST_0, "budget": _COUNTS, "notes": ALWAYS,
        "estimated_param_bytes": {"propertyNames": _ANY_DTYPE, **_COUNTS},
    },
    RunPlacement: {"run": {"enum": ["reference", "load", "cast"]}, "dtype": _ANY_DTYPE, "bytes": _AT_LEAST_0,
                   "detail": ALWAYS},
    DtypeVerdict: {"dtype": _LOW, "status": {"enum": list(STATUSES)},
                   # Added to precheck.report/1 after it shipped: a report written before it still validates.
                   "cpu_time_ratio": {"required": False}},
    # A report that compared nothing is not a report: no gate may pass on it.
    Report: {"modules": {"propertyNames": _ANY_DTYPE}, "results": {"minItems": 1}, "notes": ALWAYS, "diagnoses": ALWAYS, "fixes": ALWAYS,
             "headroom": ALWAYS, "drift": ALWAYS},
    TrainReport: {
        "settings": {"required": ["mode", "dtype", "steps", "lr", "batch_size", "data", "pairs", "seed"]},
        "modes": {"minItems": 2},
    },
    ModeResult: {
        "mode": {"enum": ["float32", *MODES]}, "weights_dtype": _TORCH_DTYPE, "compute_dtype": _TORCH_DTYPE,
        **{key: ALWAYS for key in ("losses", "first_nonfinite", "predictions_finite", "max_abs_diff_vs_float32",
                                   "spearman_vs_float32", "seconds_per_step", "memory_bytes", "memory_source")},
        "skipped_steps": {**ALWAYS, **_AT_LEAST_0},
        "error": {**ALWAYS, "type": ["object", "null"]},
        "status": {"enum": ["reference", "ok", "diverges", "nonfinite", "error", "unsupported"]},
        "trains_finite": ALWAYS,  # a property, not a field: to_dict() writes it
    },
    NonFinite: {"step": {"minimum": 1}, "what": {"enum": ["loss", "gradient", "parameter"]}, "parameter": ALWAYS},
    Recommendation: {"mode": {"enum": [*MODES, None]}},
    # precheck.json, the plan `precheck fix` writes and `precheck.load` applies.
    Plan: {"dtype": _LOW, "strategy": {"enum": ["load", *FIX_STRATEGIES, *QUANTIZED_FIX_STRATEGIES, *QUANTIZED_SWITCHES]},
           "load": LOAD_SETTINGS},
    StorageResult: {"model_dtype": _ANY_DTYPE, "precision": _PRECISION, "bytes_per_vector": {"minimum": 1},
                    "recall_at_1": _SHARE, "recall_at_10": _SHARE, "recall_at_1_rescored": _SHARE,
                    "recall_at_10_rescored": _SHARE, "spearman": {"minimum": -1, "maximum": 1},
                    "seconds": _AT_LEAST_0},
    StorageCheck: {"precisions": {"items": _PRECISION, "minItems": 1}, "min_recall": _SHARE, "k": {"minimum": 1},
                   "rescore_multiplier": {"minimum": 1}, "corpus": {"minimum": 2},
                   "rescore_with": {"enum": ["quantized", "original"]},
                   "calibration_items": _AT_LEAST_0, "dimensions": {"minimum": 1}, "seconds": _AT_LEAST_0},
    # --eval (issue 34): the user's own metric per precision, float32's row first.
    # An evaluator object's metric is its own primary_metric, named and bounded as it returns it.
    EvaluationCheck: {"layout": {"enum": list(LAYOUTS)}, "metric": {"minLength": 1},
                      "items": {"minimum": 1}, "corpus": {"minimum": 1}, "skipped_queries": _AT_LEAST_0,
                      "max_metric_drop": {"minimum": 0, "maximum": 2}, "resamples": {"minimum": 1},
                      "confidence": {"exclusiveMinimum": 0, "exclusiveMaximum": 1}, "results": {"minItems": 1},
                      "passed": ALWAYS, "seconds": {**ALWAYS, **_AT_LEAST_0}},
    EvalResult: {"dtype": _ANY_DTYPE, "metric": {**ALWAYS, "type": ["number", "null"]},
                 "difference": ALWAYS, "interval": {**ALWAYS, "minItems": 2, "maxItems": 2},
                 "changed": _AT_LEAST_0, "worse": _AT_LEAST_0, "secondary": ALWAYS,
                 "nonfinite": {**ALWAYS, **_AT_LEAST_0}, "passed": ALWAYS, "worst": ALWAYS,
                 "seconds": {**ALWAYS, **_AT_LEAST_0}, "error": ALWAYS},
    EvalItem: {"item": _AT_LEAST_0},
    # The installed stack's own scoring of a precision's embeddings (evaluation/scoring_precision.py).
    ScoringPrecision: {"ties": _AT_LEAST_0,
                       "tied_items": _AT_LEAST_0, "compared": _AT_LEAST_0, "changed": _AT_LEAST_0,
                       "metric": {"type": ["number", "null"], "minimum": -1, "maximum": 1},
                       "float32_metric": {"type": ["number", "null"], "minimum": -1, "maximum": 1},
                       "interval": {"minItems": 2, "maxItems": 2}, "remedy": ALWAYS, "snippet": ALWAYS,
                       "error": ALWAYS},
}


def schema_of(hint) -> dict:
    """The JSON Schema of a value of type `hint`, as asdict() and to_dict() write it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        inner = schema_of(present[0]) if len(present) == 1 else {"anyOf": [schema_of(a) for a in present]}
        return _or_null(inner) if len(present) < len(args) else inner
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, tuple) or hint in (list, tuple):
        # asdict writes a tuple as a list; tuple[X, ...] and list[X] read the same.
        return {"type": "array", **({"items": schema_of(args[0])} if args else {})}
    if origin is dict or hint is dict:
        return {"type": "object", **({"additionalProperties": schema_of(args[1])} if args else {})}
    if is_dataclass(hint):
        return object_schema(hint)
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    return {}  # object, Any, or a type JSON has no word for: any value


def _or_null(schema: dict) -> dict:
    if schema.get("type") == "object" and "properties" in schema:
        return {"oneOf": [{"type": "null"}, schema]}
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return schema


def refine(schema: dict, row: dict) -> dict:
    """`schema` with a table row's keywords; type, enum or const replace the hint's own type."""
    out = dict(schema)
    if {"type", "enum", "const"} & row.keys():
        out.pop("type", None)
        out.pop("oneOf", None)
    for key, value in row.items():
        if key == "required" and isinstance(value, bool):
            continue
        out[key] = refine(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def object_schema(cls) -> dict:
    """A dataclass as a closed JSON object: its fields (`schema` first, as to_dict writes it),
    then any property the table names (to_dict adds those)."""
    hints = typing.get_type_hints(cls)
    rows = CONSTRAINTS.get(cls, {})
    fields = sorted(dataclass_fields(cls), key=lambda f: f.name != "schema")
    defaults = {f.name: f.default is not MISSING or f.default_factory is not MISSING for f in fields}
    kinds = {f.name: hints[f.name] for f in fields}
    for name in rows:
        if name not in kinds:
            kinds[name] = typing.get_type_hints(getattr(cls, name).fget)["return"]
            defaults[name] = False
    properties, required = {}, []
    for name, hint in kinds.items():
        row = rows.get(name, {})
        properties[name] = refine(schema_of(hint), row)
        wanted = row.get("required")
        if wanted if isinstance(wanted, bool) else not defaults[name]:
            required.append(name)
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


def document_schema(cls, title: str) -> dict:
    """The root schema of a document dataclass whose `schema` field's default names its version."""
    version = next(f.default for f in dataclass_fields(cls) if f.name == "schema")
    body = object_schema(cls)
    body["properties"]["schema"] = {"const": version}
    if "schema" not in body["required"]:
        body["required"].insert(0, "schema")
    return {"$schema": DRAFT, "$id": version, "title": title, **body}


def _mark_gated_figures(schema: dict) -> dict:
    """Each figure the verdict gates carries "x-precheck-gate": the threshold it is held against
    (engine/verdict.py's tables), so that a reader, and the suite, can list every gate from the schema."""

    results = schema["properties"]["results"]["items"]["properties"]
    results["nonfinite"]["x-precheck-gate"] = "none"  # any NaN/inf output fails
    for figure, threshold, _ in GATES:
        results[figure]["x-precheck-gate"] = threshold
    storage = schema["properties"]["storage"]["oneOf"][1]["properties"]["results"]["items"]["properties"]
    for figure, threshold in STORAGE_GATES:
        storage[figure]["x-precheck-gate"] = f"storage.{threshold}"
    evaluation = schema["properties"]["evaluation"]["oneOf"][1]["properties"]["results"]["items"]["properties"]
    evaluation["metric"]["x-precheck-gate"] = "evaluation.max_metric_drop"  # float32's metric less it
    return schema


REPORT_SCHEMA = _mark_gated_figures(document_schema(Report, "precheck scan --json (docs/report-schema.md)"))
TRAIN_REPORT_SCHEMA = document_schema(TrainReport, "precheck train-check --json (docs/training.md)")


# What `precheck fix` writes into precheck.json beside the plan, as provenance (workflow/fix.py).
_PLAN_PROVENANCE = {
    "source": {"type": "string"},  # the source folder's absolute path, or the hub id (with its revision)
    "revision": {"type": "string"},
    "weights_dtype": {"type": "string"},  # what the weight files hold: the plan's load dtype, or float32
    "min_cosine": {"type": "number", **_SHARE},  # the threshold the fix was verified against
    "environment": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
}


def _plan_schema() -> dict:
    """precheck.json: Plan's fields, with the `schema` key that Plan.to_dict writes first, and fix's provenance."""
    body = object_schema(Plan)
    body["properties"] = {"schema": {"const": PLAN_SCHEMA}, **body["properties"], **_PLAN_PROVENANCE}
    body["required"].insert(0, "schema")
    return {"$schema": DRAFT, "$id": PLAN_SCHEMA, "title": "precheck fix's precheck.json (docs/diagnosis.md)", **body}


PLAN_FILE_SCHEMA = _plan_schema()
# The published files, by name: docs/schemas/<name>.schema.json.
PUBLISHED = {"report": REPORT_SCHEMA, "train": TRAIN_REPORT_SCHEMA, "plan": PLAN_FILE_SCHEMA}

# The parts by the names the hand-written schema gave them.
_REPORT = REPORT_SCHEMA["properties"]
MODULE_ROW = _REPORT["modules"]["additionalProperties"]["items"]
PROBE_RESULT, DIAGNOSIS, FIX = (_REPORT[k]["items"] for k in ("results", "diagnoses", "fixes"))
HEADROOM, BLOCK_DRIFT, SERVING_ADVICE = (_REPORT[k]["items"] for k in ("headroom", "drift", "serving"))
MEMORY_PLAN = _REPORT["memory"]
