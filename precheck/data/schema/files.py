"""The published JSON schemas, docs/schemas/*.schema.json: what users validate reports against.

`python -m precheck.data.schema.files --write` regenerates them from the derived schemas (__init__.py,
data/schema/ci.py); `python -m precheck.data.schema.files NAME` prints one. tests/report/test_schema.py holds
the files equal to the derivation.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .ci import CI_REPORT_SCHEMA
from . import PUBLISHED

PUBLISHED_DIR = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def published() -> dict[str, dict]:
    """Every published schema by file name: scan's and train-check's reports, and `precheck ci`'s."""
    return {**PUBLISHED, "ci": CI_REPORT_SCHEMA}


def published_text(name: str) -> str:
    return json.dumps(published()[name], indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        PUBLISHED_DIR.mkdir(parents=True, exist_ok=True)
        for name in published():
            (PUBLISHED_DIR / f"{name}.schema.json").write_text(published_text(name), encoding="utf-8")
        return 0
    if len(argv) == 1 and argv[0] in published():
        sys.stdout.write(published_text(argv[0]))
        return 0
    sys.stderr.write(f"usage: python -m precheck.data.schema.files --write | {' | '.join(published())}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
