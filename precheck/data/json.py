"""The JSON format: a result's document (its to_dict(), or its fields) with the `schema` key first.

JSON has no NaN or Infinity: a figure that is not finite is written as null, for every document.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, is_dataclass

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
