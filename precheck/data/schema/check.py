"""Checks a JSON document against one of precheck's published schemas (data/schema/) and names the first
field that is wrong, so that a file that is not a precheck report gets one line, not a traceback.

Only the part of JSON Schema those schemas use: type, const, enum, required, properties,
additionalProperties, propertyNames, items, minItems, minimum, maximum, pattern, oneOf.
jsonschema stays a test dependency; the tests validate real reports with both.
"""
from __future__ import annotations

import math
import re

_KINDS = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
_NAMES = {"null": "null", "boolean": "a boolean", "integer": "an integer", "number": "a number",
          "string": "a string", "array": "a list", "object": "an object"}


def describe(value) -> str:
    """'a string', 'null', 'a list' ...: what a JSON value is, in the words the messages use."""
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _KINDS[kind](value):
            return _NAMES[kind]
    return type(value).__name__


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _child(where: str, key) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


def _types(schema: dict) -> list[str]:
    kinds = schema.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _admits(schema: dict, value) -> bool:
    """Whether a oneOf branch is about values of this JSON type (so its own problem is the one to name)."""
    if "const" in schema:
        return value == schema["const"]
    if "enum" in schema:
        return any(type(value) is type(v) for v in schema["enum"])
    kinds = _types(schema)
    return not kinds or any(_KINDS[k](value) for k in kinds)


def first_problem(value, schema: dict, where: str = "") -> str | None:
    """'models[0].report.results[2].min_cosine is a string, expected a number', or None when the
    value matches. The walk follows the schema, so its depth is the schema's, whatever the value's."""
    name = where or "the document"
    if "oneOf" in schema:
        branches = [b for b in schema["oneOf"] if _admits(b, value)]
        if not branches:
            wanted = " or ".join(_NAMES[k] for b in schema["oneOf"] for k in _types(b)) or "another value"
            return f"{name} is {describe(value)}, expected {wanted}"
        problems = [first_problem(value, b, where) for b in branches]
        return None if None in problems else problems[0]
    if "const" in schema and value != schema["const"]:
        return f"{name} is {_short(value)}, expected {schema['const']!r}"
    if "enum" in schema and not any(value == v and type(value) is type(v) for v in schema["enum"]):
        return f"{name} is {_short(value)}, expected one of {', '.join(repr(v) for v in schema['enum'])}"
    kinds = _types(schema)
    if kinds and not any(_KINDS[k](value) for k in kinds):
        return f"{name} is {describe(value)}, expected {' or '.join(_NAMES[k] for k in kinds)}"
    if _KINDS["number"](value):
        if ("minimum" in schema or "maximum" in schema) and isinstance(value, float) and not math.isfinite(value):
            return f"{name} is {value!r}, expected a finite number"
        if "minimum" in schema and value < schema["minimum"]:
            return f"{name} is {value!r}, expected at least {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{name} is {value!r}, expected at most {schema['maximum']}"
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        return f"{name} is {_short(value)}, expected {schema.get('$comment', 'a match of ' + schema['pattern'])}"
    if isinstance(value, list):
        return _array_problem(value, schema, where)
    if isinstance(value, dict):
        return _object_problem(value, schema, where)
    return None


def _array_problem(value: list, schema: dict, where: str) -> str | None:
    if len(value) < schema.get("minItems", 0):
        return f"{where or 'the document'} is empty" if not value else \
            f"{where} has {len(value)} items, expected at least {schema['minItems']}"
    if "items" in schema:
        for index, item in enumerate(value):
            problem = first_problem(item, schema["items"], _child(where, index))
            if problem:
                return problem
    return None


def _object_problem(value: dict, schema: dict, where: str) -> str | None:
    properties = schema.get("properties", {})
    # Fields present are checked first, in the schema's order: a document of another format is named
    # by its `schema` field, not by the first field it lacks.
    for key, item_schema in properties.items():
        if key in value:
            problem = first_problem(value[key], item_schema, _child(where, key))
            if problem:
                return problem
    for key in schema.get("required", []):
        if key not in value:
            return f"{_child(where, key)} is missing"
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, item in value.items():
        if names is not None and first_problem(key, names) is not None:
            return f"{where or 'the document'} has the key {_short(key)}, expected only {', '.join(names.get('enum', []))}"
        if key in properties:
            problem = None
        elif extra is False:
            problem = f"{_child(where, key)} is not a field of {where or 'the document'}"
        elif isinstance(extra, dict):
            problem = first_problem(item, extra, _child(where, key))
        else:
            problem = None
        if problem:
            return problem
    return None
