"""Labelled pairs for the training pre-check: built in, or read from CSV / JSONL.

Labels are 1.0 for a relevant passage and 0.0 otherwise (or any similarity in [0, 1]).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import PrecheckError
from ..kinds.pairs import _QUERIES

LabelledPair = tuple[str, str, float]


def builtin_training_pairs() -> list[LabelledPair]:
    """Each built-in query with its passages: the first is the relevant one."""
    return [(q, p, 1.0 if i == 0 else 0.0) for q, passages in _QUERIES.items() for i, p in enumerate(passages) if p]


def _label(value, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise PrecheckError(f"{where}: label {value!r} is not a number", "labels are numbers such as 0 and 1") from exc


def read_training_pairs(path: Path) -> list[LabelledPair]:
    """CSV rows `query,passage,label` (a header row is allowed) or JSONL objects with
    `query`, `passage` and `label`."""
    hint = "give CSV rows query,passage,label or JSONL objects with query, passage and label"
    from ..data.reading import read_text_input

    text = read_text_input(path, "--data", hint)
    pairs: list[LabelledPair] = []
    if path.suffix.lower() in (".jsonl", ".json"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                pairs.append((str(item["query"]), str(item["passage"]), _label(item["label"], f"{path}:{number}")))
            except (ValueError, KeyError, TypeError) as exc:
                if isinstance(exc, PrecheckError):
                    raise
                raise PrecheckError(f"--data {path} line {number} is not a query/passage/label object", hint) from exc
    else:
        rows = [row for row in csv.reader(text.splitlines()) if row]
        if rows and [c.strip().lower() for c in rows[0]] == ["query", "passage", "label"]:
            rows = rows[1:]
        for number, row in enumerate(rows, 1):
            if len(row) != 3:
                raise PrecheckError(f"--data {path} row {number} has {len(row)} fields, not 3", hint)
            pairs.append((row[0], row[1], _label(row[2], f"{path} row {number}")))
    if len(pairs) < 2:
        raise PrecheckError(f"--data file {path} has {len(pairs)} labelled pair(s)", "give at least 2")
    return pairs
