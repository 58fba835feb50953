"""The JSON schemas are derived from the report dataclasses; the published files are those schemas."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from precheck.data import schema
from precheck.data.schema import files as schema_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(schema_files.published()))
def test_published_schema_file_equals_the_derived_schema(name):
    # Regenerate with: python -m precheck.data.schema.files --write
    published = json.loads((ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert published == schema_files.published()[name]


def test_schema_module_prints_a_published_schema(capsys):
    assert schema_files.main(["report"]) == 0
    assert capsys.readouterr().out == (ROOT / "docs" / "schemas" / "report.schema.json").read_text(encoding="utf-8")


@dataclass
class _Inner:
    name: str


class _Opaque:
    pass


@dataclass
class _Added:
    """Fields another change might add, none with a row in the table."""

    count: int
    share: float | None = None
    names: list[str] = field(default_factory=list)
    inner: _Inner | None = None
    per_dtype: dict[str, float] = field(default_factory=dict)
    opaque: _Opaque | None = None
    mode: Literal["half", "amp"] = "half"
    dtypes: tuple[str, ...] = ()


def test_a_field_without_a_table_row_gets_its_schema_from_its_type_hint():
    derived = schema.object_schema(_Added)
    assert derived["required"] == ["count"] and derived["additionalProperties"] is False
    assert derived["properties"] == {
        "count": {"type": "integer"},
        "share": {"type": ["number", "null"]},
        "names": {"type": "array", "items": {"type": "string"}},
        "inner": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["name"],
                                                "properties": {"name": {"type": "string"}},
                                                "additionalProperties": False}]},
        "per_dtype": {"type": "object", "additionalProperties": {"type": "number"}},
        "opaque": {},
        "mode": {"enum": ["half", "amp"]},
        "dtypes": {"type": "array", "items": {"type": "string"}},
    }


def test_report_schema_holds_the_tables_constraints():
    results = schema.REPORT_SCHEMA["properties"]["results"]["items"]
    assert results["properties"]["status"] == {"enum": ["ok", "error", "nonfinite", "drift", "unsupported"]}
    assert results["properties"]["top1_agreement"] == {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                                                       "x-precheck-gate": "min_top1_agreement"}
    # Keys added to precheck.report/1 after it shipped stay optional: older reports still validate.
    assert "error" in results["required"] and "spearman" not in results["required"]
