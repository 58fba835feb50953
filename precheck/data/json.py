"""The JSON codec: a result's document (its to_dict(), or its fields) with the `schema` key first, and a
report dataclass rebuilt from its document (`merge` reads shard reports back with it).

JSON has no NaN or Infinity: a figure that is not finite is written as null, for every document.
"""
from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import MISSING, asdict, fields, is_dataclass

from ..errors import PrecheckError

def finite_or_null(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_null(v) for v in value]
    return value


def dataclass_document(obj) -> dict:
    """A dataclass's fields as a document: `schema` first, so a reader knows what it holds at once."""
    data = asdict(obj)
    if "schema" in data:
        data = {"schema": data.pop("schema"), **data}
    return finite_or_null(data)


def document(result) -> dict:
    if hasattr(result, "to_dict"):
        return result.to_dict()
    return dataclass_document(result) if is_dataclass(result) else result


class JsonFormat:
    """The JSON Format (formats/interface.py's contract: a name and format(), never printing)."""

    name = "json"

    def format(self, result) -> str:
        return json.dumps(finite_or_null(document(result)), indent=2, ensure_ascii=False, allow_nan=False)


JSON = JsonFormat()


def from_document(kind, value, where: str = "document", hint: str = ""):
    """A dataclass (or a field of one) from its JSON, led by the dataclasses' own type hints, so that
    fields added later are rebuilt without a change here. A field without a default that the document
    lacks is refused in one line (`where` names it, `hint` says what to do); the values' types are the
    schema check's (data/schema/check.py), which runs first."""
    if value is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        classes = [a for a in args if is_dataclass(a)]
        return from_document(classes[0], value, where, hint) if classes and isinstance(value, dict) else value
    if origin is list:
        return [from_document(args[0], v, f"{where}[{i}]", hint) for i, v in enumerate(value)] if args else value
    if origin is dict:
        return {k: from_document(args[1], v, f"{where}.{k}", hint) for k, v in value.items()} if args else value
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        for f in fields(kind):
            # Every field is written (asdict); the schema requires fewer, the dataclass all without a default.
            if f.name not in value and f.default is MISSING and f.default_factory is MISSING:
                raise PrecheckError(f"{where}.{f.name} is missing", hint)
        return kind(**{f.name: from_document(hints[f.name], value[f.name], f"{where}.{f.name}", hint)
                       for f in fields(kind) if f.name in value})
    return value
