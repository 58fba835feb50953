"""JSON Schema of the `precheck ci --json` report (precheck.ci/1): every model's report (data/schema/__init__.py's
precheck.report/1) and what makes it part of one run, which `precheck merge` checks before it gates.
"""
from __future__ import annotations

from . import _LOW as _DTYPE, _PRECISION, LOAD_SETTINGS, REPORT_SCHEMA
from ..ci import CI_SCHEMA

_NUMBER_OR_NULL = {"type": ["number", "null"]}

_SETTING_NUMBER = {"type": "number", "minimum": 0, "maximum": 1}

# What `precheck ci` ran, written in every report so that `precheck merge` can prove its shards are one run.
CI_RUN = {
    "type": "object",
    "required": ["digest", "config", "reference_device", "models"],
    "properties": {
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$", "$comment": "sha256:<64 hex digits>"},
        "config": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$", "$comment": "sha256:<64 hex digits>"},
        "reference_device": {"type": ["string", "null"]},
        "models": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "kind", "dtypes", "min_cosine", "min_spearman", "min_top1_agreement", "probe",
                             "fix", "device", "trust_remote_code", "load", "storage", "min_recall",
                             "rescore_multiplier", "rescore_with", "gates"],
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "dtypes": {"type": "array", "items": _DTYPE, "minItems": 1},
                    "min_cosine": _SETTING_NUMBER,
                    "min_spearman": _SETTING_NUMBER,
                    "min_top1_agreement": _SETTING_NUMBER,
                    "probe": {"type": "string"},
                    "fix": {"type": "boolean"},
                    "device": {"type": "string"},
                    "trust_remote_code": {"type": "boolean"},
                    "load": LOAD_SETTINGS,
                    "storage": {"type": "array", "items": _PRECISION},
                    "min_recall": _SETTING_NUMBER,
                    "rescore_multiplier": {"type": "integer", "minimum": 1},
                    "rescore_with": {"enum": ["quantized", "original"]},
                    "gates": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": _SETTING_NUMBER}},
                    "max_metric_drop": _SETTING_NUMBER,  # --eval's gate (the set's digest is in `probe`)
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

_FIGURE = {"type": ["number", "string", "null"]}

CI_REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": CI_SCHEMA,
    "type": "object",
    "required": ["schema", "precheck", "shard", "run", "config", "baseline", "passed", "models"],
    "properties": {
        "schema": {"const": CI_SCHEMA},
        "precheck": {"type": "string"},
        "shard": {"type": ["string", "null"], "pattern": "^[1-9][0-9]*/[1-9][0-9]*$", "$comment": "K/N"},
        "run": CI_RUN,
        "config": {"type": "string"},
        "baseline": {
            "type": "object",
            "required": ["path", "found", "updated"],
            "properties": {"path": {"type": "string"}, "found": {"type": "boolean"}, "updated": {"type": "boolean"}},
            "additionalProperties": False,
        },
        "passed": {"type": "boolean"},
        "models": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "fix", "passed", "error", "regressions", "report"],
                "properties": {
                    "name": {"type": "string"},
                    "fix": {"type": "boolean"},
                    "passed": {"type": "boolean"},
                    "error": {"type": ["string", "null"]},
                    "regressions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["model", "dtype", "figure", "baseline", "current", "tolerance"],
                            "properties": {"model": {"type": "string"}, "dtype": {"type": "string"},
                                           "figure": {"type": "string"}, "baseline": _FIGURE, "current": _FIGURE,
                                           "tolerance": _NUMBER_OR_NULL, "message": {"type": "string"}},
                            "additionalProperties": False,
                        },
                    },
                    "report": {"oneOf": [{"type": "null"}, REPORT_SCHEMA]},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}
