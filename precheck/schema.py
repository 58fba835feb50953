"""JSON Schema of the report document (precheck.report/1), kept beside the dataclasses.

docs/report-schema.md describes the same fields; tests validate real reports against it.
"""
from __future__ import annotations

from .report import STATUSES

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_DTYPE = {"enum": ["float16", "bfloat16"]}

MODULE_ROW = {
    "type": "object",
    "required": ["path", "index", "cls", "params", "param_dtypes", "buffer_dtypes", "size_mb", "flagged"],
    "properties": {
        "path": {"type": "string"},
        "index": {"type": ["integer", "null"]},
        "cls": {"type": "string"},
        "params": {"type": "integer", "minimum": 0},
        "param_dtypes": _COUNTS,
        "buffer_dtypes": _COUNTS,
        "size_mb": {"type": "number", "minimum": 0},
        "flagged": {"type": "boolean"},
        "kept_in_fp32": {"type": "array", "items": {"type": "string"}},
        "fp32_buffers": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}

PROBE_RESULT = {
    "type": "object",
    "required": [
        "dtype", "strategy", "status", "error", "nonfinite", "min_cosine", "mean_cosine",
        "top1_agreement", "seconds", "param_bytes",
    ],
    "properties": {
        "dtype": _DTYPE,
        "strategy": {"enum": ["load", "cast"]},
        "status": {"enum": list(STATUSES)},
        "error": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
                    "additionalProperties": False,
                },
            ]
        },
        "nonfinite": {"type": "integer", "minimum": 0},
        "min_cosine": _NUMBER_OR_NULL,
        "mean_cosine": _NUMBER_OR_NULL,
        "top1_agreement": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "seconds": _NUMBER_OR_NULL,
        "param_bytes": {"type": ["integer", "null"], "minimum": 0},
        "max_abs_diff": _NUMBER_OR_NULL,
        "spearman": _NUMBER_OR_NULL,
        # The earlier strategy whose model had identical weights: its figures stand for this run.
        "same_as": {"enum": ["load", None]},
        "active_dims": _NUMBER_OR_NULL,
        "active_dims_change": _NUMBER_OR_NULL,
        "topk_overlap": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "topk_terms": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["item", "text", "float32", "candidate"],
                    "properties": {
                        "item": {"type": "integer", "minimum": 0},
                        "text": {"type": "string"},
                        "float32": {"type": "array", "items": {"type": "string"}},
                        "candidate": {"type": "array", "items": {"type": "string"}},
                    },
                    "additionalProperties": False,
                },
            ]
        },
    },
    "additionalProperties": False,
}

_STRINGS = {"type": "array", "items": {"type": "string"}}

BUFFER_CHECK = {
    "type": "object",
    "required": ["status", "checked", "repaired_buffers"],
    "properties": {
        "status": {"enum": ["none", "ok", "repaired", "unchecked"]},
        "checked": {"type": "integer", "minimum": 0},
        "repaired_buffers": {"type": "array", "items": {"type": "string"}},
        "by_owner": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "cause": {"type": "string"},
        "detail": {"type": "string"},
        "snippet": {"type": "string"},
    },
    "additionalProperties": False,
}

DIAGNOSIS = {
    "type": "object",
    "required": ["dtype", "strategy", "cause", "module", "detail"],
    "properties": {
        "dtype": _DTYPE,
        "strategy": {"enum": ["load", "cast"]},
        "cause": {"enum": ["uncast-module", "float32-in-forward", "device-unsupported", "overflow",
                           "constant-out-of-range", "drift", "other"]},
        "module": {"type": "string"},
        "detail": {"type": "string"},
        "module_class": {"type": "string"},
        "param_dtypes": _STRINGS,
        "input_dtypes": _STRINGS,
        "producer": {"type": ["string", "null"]},
        "probe_items": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    },
    "additionalProperties": False,
}

FIX = {
    "type": "object",
    "required": [
        "dtype", "strategy", "keep_fp32", "fp32_param_share", "verified", "min_cosine", "recommended", "snippet",
    ],
    "properties": {
        "dtype": _DTYPE,
        "strategy": {"enum": ["cast", "autocast", "keep-fp32", "bf16"]},
        "keep_fp32": _STRINGS,
        "fp32_param_share": {"type": "number", "minimum": 0, "maximum": 1},
        "verified": {"type": "boolean"},
        "min_cosine": _NUMBER_OR_NULL,
        "recommended": {"type": "boolean"},
        "snippet": {"type": "string"},
        "precheck_snippet": {"type": "string"},
        "status": {"type": "string"},
        "detail": {"type": "string"},
        "probe_runs": {"type": "integer", "minimum": 0},
        "param_bytes": {"type": ["integer", "null"], "minimum": 0},
        "run_low": _STRINGS,
    },
    "additionalProperties": False,
}

HEADROOM = {
    "type": "object",
    "required": ["module", "cls", "kind", "max_abs", "fp16_fraction"],
    "properties": {
        "module": {"type": "string"},
        "cls": {"type": "string"},
        "kind": {"enum": ["module", "embeddings", "layer", "part"]},
        "max_abs": {"type": ["number", "null"], "minimum": 0},  # null: inf already in float32
        "fp16_fraction": {"type": ["number", "null"], "minimum": 0},
    },
    "additionalProperties": False,
}

BLOCK_DRIFT = {
    "type": "object",
    "required": ["module", "relative_error", "added", "dtype", "strategy"],
    "properties": {
        "module": {"type": "string"},
        "relative_error": {"type": "number"},
        "added": {"type": "number"},
        "dtype": _DTYPE,
        "strategy": {"type": "string"},
    },
    "additionalProperties": False,
}

SERVING_ADVICE = {
    "type": "object",
    "required": ["server", "flag", "dtype", "note"],
    "properties": {
        "server": {"enum": ["text-embeddings-inference", "vllm", "infinity"]},
        "flag": {"type": "string"},
        "dtype": {"enum": ["float16", "bfloat16", "float32"]},
        "note": {"type": "string"},
    },
    "additionalProperties": False,
}

_BYTES = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}

MEMORY_PLAN = {
    "type": ["object", "null"],
    "required": ["weights", "parameters", "estimated_param_bytes", "device", "free_bytes", "budget", "runs", "notes"],
    "properties": {
        "weights": {"enum": ["safetensors", "safetensors-index", "pytorch-bin", "none"]},
        "parameters": {"type": ["integer", "null"], "minimum": 0},
        "estimated_param_bytes": {"type": "object", "propertyNames": {"enum": ["float32", "float16", "bfloat16"]},
                                  "additionalProperties": {"type": "integer", "minimum": 0}},
        "device": {"type": "string"},
        "free_bytes": {"type": ["integer", "null"], "minimum": 0},
        "budget": _BYTES,
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["run", "dtype", "bytes", "placement", "detail"],
                "properties": {
                    "run": {"enum": ["reference", "load", "cast"]},
                    "dtype": {"enum": ["float32", "float16", "bfloat16"]},
                    "bytes": {"type": ["integer", "null"], "minimum": 0},
                    "placement": {"type": "string"},
                    "detail": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        "notes": _STRINGS,
    },
    "additionalProperties": False,
}

REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "precheck.report/1",
    "type": "object",
    "required": [
        "schema", "model", "environment", "settings", "reference", "modules", "results", "verdict", "notes",
        "diagnoses", "fixes", "headroom", "drift",
    ],
    "properties": {
        "schema": {"const": "precheck.report/1"},
        "model": {
            "type": "object",
            "required": ["name", "path", "kind", "source"],
            "properties": {
                "name": {"type": "string"},
                "path": {"type": "string"},
                "kind": {"enum": ["sentence-transformer", "cross-encoder", "sparse-encoder"]},
                "source": {"enum": ["local", "cache", "embedded", "hub"]},
                "default_dtype": {"enum": ["float32", "float16", "bfloat16"]},
                "model_type": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "environment": {
            "type": "object",
            "required": ["python", "torch", "transformers", "sentence_transformers", "device"],
            "properties": {k: {"type": "string"} for k in
                           ("python", "torch", "transformers", "sentence_transformers", "device")},
            "additionalProperties": False,
        },
        "settings": {
            "type": "object",
            "required": [
                "dtypes", "min_cosine", "min_spearman", "min_top1_agreement", "probe_items", "probe_source",
                "batch_size", "depth",
            ],
            "properties": {
                "dtypes": {"type": "array", "items": _DTYPE, "minItems": 1},
                "min_cosine": {"type": "number"},
                "min_spearman": {"type": "number"},
                "min_top1_agreement": {"type": "number"},
                "probe_items": {"type": "integer", "minimum": 1},
                "probe_source": {"type": "string"},
                "batch_size": {"type": "integer", "minimum": 1},
                "depth": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": False,
        },
        "reference": {
            "type": "object",
            "required": ["seconds", "param_bytes", "nonfinite"],
            "properties": {
                "seconds": {"type": "number"},
                "param_bytes": {"type": "integer"},
                "nonfinite": {"type": "integer", "minimum": 0},
                "buffers": {"oneOf": [{"type": "null"}, BUFFER_CHECK]},
            },
            "additionalProperties": False,
        },
        "modules": {
            "type": "object",
            "propertyNames": {"enum": ["float32", "float16", "bfloat16"]},
            "additionalProperties": {"type": "array", "items": MODULE_ROW},
        },
        "results": {"type": "array", "items": PROBE_RESULT},
        "verdict": {
            "type": "object",
            "required": ["passed", "dtypes"],
            "properties": {
                "passed": {"type": "boolean"},
                "dtypes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["dtype", "passed", "status", "summary"],
                        "properties": {
                            "dtype": _DTYPE,
                            "passed": {"type": "boolean"},
                            "status": {"enum": list(STATUSES)},
                            "summary": {"type": "string"},
                        },
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
        "notes": _STRINGS,
        "diagnoses": {"type": "array", "items": DIAGNOSIS},
        "fixes": {"type": "array", "items": FIX},
        "headroom": {"type": "array", "items": HEADROOM},
        "drift": {"type": "array", "items": BLOCK_DRIFT},
        "serving": {"type": "array", "items": SERVING_ADVICE},
        "memory": MEMORY_PLAN,
    },
    "additionalProperties": False,
}


_MODE_RESULT = {
    "type": "object",
    "required": [
        "mode", "weights_dtype", "compute_dtype", "losses", "first_nonfinite", "predictions_finite",
        "max_abs_diff_vs_float32", "spearman_vs_float32", "seconds_per_step", "memory_bytes", "memory_source",
        "skipped_steps", "error", "trains_finite",
    ],
    "properties": {
        "mode": {"enum": ["float32", "half", "amp", "bf16", "bf16-amp"]},
        "weights_dtype": {"enum": ["float32", "float16", "bfloat16"]},
        "compute_dtype": {"enum": ["float32", "float16", "bfloat16"]},
        "losses": {"type": "array", "items": _NUMBER_OR_NULL},
        "first_nonfinite": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["step", "what", "parameter"],
                    "properties": {
                        "step": {"type": "integer", "minimum": 1},
                        "what": {"enum": ["loss", "gradient", "parameter"]},
                        "parameter": {"type": ["string", "null"]},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "predictions_finite": {"type": ["boolean", "null"]},
        "max_abs_diff_vs_float32": _NUMBER_OR_NULL,
        "spearman_vs_float32": _NUMBER_OR_NULL,
        "seconds_per_step": _NUMBER_OR_NULL,
        "memory_bytes": {"type": ["integer", "null"]},
        "memory_source": {"type": "string"},
        "skipped_steps": {"type": "integer", "minimum": 0},
        "error": {"type": ["object", "null"]},
        "trains_finite": {"type": "boolean"},
        "status": {"enum": ["reference", "ok", "diverges", "nonfinite", "error", "unsupported"]},
        "start_loss": _NUMBER_OR_NULL,
        "final_loss": _NUMBER_OR_NULL,
        "loss_ratio_vs_float32": _NUMBER_OR_NULL,
        "loss_drop_share": _NUMBER_OR_NULL,
        "shortfall": {"type": "string"},
    },
    "additionalProperties": False,
}

TRAIN_REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "precheck.train/1",
    "type": "object",
    "required": ["schema", "model", "environment", "settings", "modes", "recommendation", "verdict"],
    "properties": {
        "schema": {"const": "precheck.train/1"},
        "model": REPORT_SCHEMA["properties"]["model"],
        "environment": REPORT_SCHEMA["properties"]["environment"],
        "settings": {
            "type": "object",
            "required": ["mode", "dtype", "steps", "lr", "batch_size", "data", "pairs", "seed"],
        },
        "modes": {"type": "array", "items": _MODE_RESULT, "minItems": 2},
        "recommendation": {
            "type": "object",
            "required": ["mode", "reason", "trainer_snippet", "torch_snippet"],
            "properties": {"mode": {"enum": ["amp", "bf16", "half", "bf16-amp", None]}},
        },
        "verdict": {
            "type": "object",
            "required": ["mode", "passed", "summary"],
            "properties": {"passed": {"type": "boolean"}},
        },
    },
    "additionalProperties": False,
}
