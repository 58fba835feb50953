"""The JSON schemas are derived from the report dataclasses; the derivation says what the hand-written copy said."""
from __future__ import annotations


def _normal(schema):
    """Order-free form: lists of keys and enums sorted; a nullable object spelled one way (oneOf)."""
    if isinstance(schema, dict):
        schema = {k: _normal(v) for k, v in schema.items()}
        for key in ("required", "enum"):
            if isinstance(schema.get(key), list):
                schema[key] = sorted(schema[key], key=str)
        kind = schema.get("type")
        if isinstance(kind, list) and "object" in kind and "null" in kind and "properties" in schema:
            schema = {"oneOf": [{"type": "null"}, {**schema, "type": "object"}]}
        return schema
    if isinstance(schema, list):
        return [_normal(v) for v in schema]
    return schema


def _refines(derived, written, where="$"):
    """Every keyword of `written` is in `derived` with the same value (objects: recursively)."""
    if isinstance(written, dict) and isinstance(derived, dict):
        for key, value in written.items():
            assert key in derived, f"{where}: {key} missing"
            _refines(derived[key], value, f"{where}.{key}")
    else:
        assert derived == written, f"{where}: {derived!r} != {written!r}"


def test_derived_report_schema_equals_the_hand_written_one():
    from precheck.schema import DERIVED_REPORT_SCHEMA, REPORT_SCHEMA

    assert _normal(DERIVED_REPORT_SCHEMA) == _normal(REPORT_SCHEMA)


def test_derived_train_schema_keeps_every_keyword_of_the_hand_written_one():
    from precheck.schema import DERIVED_TRAIN_REPORT_SCHEMA, TRAIN_REPORT_SCHEMA

    _refines(_normal(DERIVED_TRAIN_REPORT_SCHEMA), _normal(TRAIN_REPORT_SCHEMA))
