"""The labelled sets --eval reads, in the layouts users already have, checked whole before any load.

A folder is a BEIR retrieval set (corpus.jsonl, queries.jsonl, qrels/test.tsv: the layout of BEIR and
of MTEB's retrieval tasks); a file is scored pairs (TSV with a header, or JSON Lines: sentence1,
sentence2, score). Anything malformed is refused in one line that names the file and the line.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PrecheckError

OPTION = "--eval"
BEIR_FILES = ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")
QRELS_HEADER = ("query-id", "corpus-id", "score")
PAIR_FIELDS = ("sentence1", "sentence2", "score")
_BEIR_HINT = ("give a BEIR folder: corpus.jsonl ({\"_id\", \"title\", \"text\"} per line), queries.jsonl "
              "({\"_id\", \"text\"}), qrels/test.tsv (header query-id<TAB>corpus-id<TAB>score); docs/evaluation.md")
_PAIRS_HINT = ("give scored pairs: TSV with the header sentence1<TAB>sentence2<TAB>score, or JSON Lines "
               "{\"sentence1\", \"sentence2\", \"score\"}; docs/evaluation.md")


@dataclass(frozen=True)
class RetrievalSet:
    """A BEIR folder: the corpus, the queries with a relevant document, and their judgements."""

    path: str
    corpus_ids: list[str]
    corpus_texts: list[str]  # "title text" (the title and a space first when there is one), as MTEB joins them
    query_ids: list[str]  # queries with at least one relevant (score > 0) document, in queries.jsonl's order
    query_texts: list[str]
    # per query: corpus row -> graded relevance (every judged document; score <= 0 is judged not relevant)
    judgements: list[dict[int, float]]
    skipped_queries: int = 0  # queries of queries.jsonl with no relevant document: left out, as BEIR does
    layout: str = "beir"


@dataclass(frozen=True)
class PairsSet:
    """Scored pairs: Spearman of the model's cosine against the gold scores."""

    path: str
    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]
    layout: str = "pairs"
    skipped_queries: int = field(default=0)


def read_eval_set(path: Path) -> RetrievalSet | PairsSet:
    """The set at `path`, read once and checked whole (a folder: BEIR; a file: scored pairs)."""
    path = Path(path)
    if path.is_dir():
        return read_beir(path)
    if not path.exists():
        raise PrecheckError(f"{OPTION} not found: {path}", "give a BEIR folder or a scored-pairs file")
    return read_pairs_set(path)


def _text(path: Path, hint: str) -> str:
    from ..data.reading import read_text_input

    return read_text_input(path, OPTION, hint)


def _jsonl_objects(path: Path, hint: str) -> list[tuple[int, dict]]:
    """(line number, object) of each non-blank line of a JSON Lines file."""
    rows = []
    for number, line in enumerate(_text(path, hint).split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            raise PrecheckError(f"{OPTION} {path} line {number} is not a JSON object", hint)
        rows.append((number, item))
    return rows


def _jsonl(path: Path, fields: tuple[str, ...], hint: str) -> list[tuple[int, dict]]:
    """The objects of a BEIR file, each with string `fields` (an `_id` may be a number, as some
    exports write it; a missing title is empty)."""
    rows = _jsonl_objects(path, hint)
    for number, item in rows:
        for name in fields:
            value = item.get(name, "" if name == "title" else None)
            if name == "_id" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise PrecheckError(f"{OPTION} {path} line {number} has no string \"{name}\"", hint)
            item[name] = value
    if not rows:
        raise PrecheckError(f"{OPTION} {path} is empty", hint)
    return rows


def _unique_ids(path: Path, rows: list[tuple[int, dict]], hint: str) -> dict[str, int]:
    """_id -> position; a repeated _id is refused, naming both lines."""
    seen: dict[str, int] = {}
    lines: dict[str, int] = {}
    for position, (number, item) in enumerate(rows):
        key = item["_id"]
        if key in seen:
            raise PrecheckError(f"{OPTION} {path} line {number}: _id {key!r} repeats line {lines[key]}", hint)
        seen[key], lines[key] = position, number
    return seen


def _score(path: Path, number: int, text, hint: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(text, bool) or not math.isfinite(value):
        raise PrecheckError(f"{OPTION} {path} line {number}: score {text!r} is not a number", hint)
    return value


def read_beir(folder: Path) -> RetrievalSet:
    missing = [name for name in BEIR_FILES if not (folder / name).is_file()]
    if missing:
        raise PrecheckError(f"{OPTION} {folder} has no {missing[0]}", _BEIR_HINT)
    corpus = _jsonl(folder / "corpus.jsonl", ("_id", "title", "text"), _BEIR_HINT)
    queries = _jsonl(folder / "queries.jsonl", ("_id", "text"), _BEIR_HINT)
    documents = _unique_ids(folder / "corpus.jsonl", corpus, _BEIR_HINT)
    asked = _unique_ids(folder / "queries.jsonl", queries, _BEIR_HINT)
    judged = _read_qrels(folder / "qrels" / "test.tsv", documents, asked)
    kept = [position for position in range(len(queries)) if any(v > 0 for v in judged.get(position, {}).values())]
    if not kept:
        raise PrecheckError(f"{OPTION} {folder}: no query has a relevant document (score > 0) in qrels/test.tsv",
                            _BEIR_HINT)
    return RetrievalSet(
        path=str(folder),
        corpus_ids=[item["_id"] for _, item in corpus],
        corpus_texts=[(item["title"] + " " + item["text"]).strip() if item["title"] else item["text"]
                      for _, item in corpus],
        query_ids=[queries[p][1]["_id"] for p in kept],
        query_texts=[queries[p][1]["text"] for p in kept],
        judgements=[judged[p] for p in kept],
        skipped_queries=len(queries) - len(kept),
    )


def _read_qrels(path: Path, documents: dict[str, int], asked: dict[str, int]) -> dict[int, dict[int, float]]:
    """query position -> {corpus position: score}; every qrel names a query and a document that exist."""
    lines = _text(path, _BEIR_HINT).split("\n")
    rows = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not rows or tuple(part.strip() for part in rows[0][1].split("\t")) != QRELS_HEADER:
        raise PrecheckError(f"{OPTION} {path} should start with the header query-id<TAB>corpus-id<TAB>score",
                            _BEIR_HINT)
    judged: dict[int, dict[int, float]] = {}
    for number, line in rows[1:]:
        parts = [part.strip() for part in line.split("\t")]
        if len(parts) != 3:
            raise PrecheckError(f"{OPTION} {path} line {number} has {len(parts)} tab-separated fields, not 3",
                                _BEIR_HINT)
        query, document, score = parts
        if query not in asked:
            raise PrecheckError(f"{OPTION} {path} line {number}: query-id {query!r} is not in queries.jsonl",
                                _BEIR_HINT)
        if document not in documents:
            raise PrecheckError(f"{OPTION} {path} line {number}: corpus-id {document!r} is not in corpus.jsonl",
                                _BEIR_HINT)
        row = judged.setdefault(asked[query], {})
        if documents[document] in row:
            raise PrecheckError(f"{OPTION} {path} line {number}: the pair {query!r}, {document!r} is judged twice",
                                _BEIR_HINT)
        row[documents[document]] = _score(path, number, score, _BEIR_HINT)
    return judged


def read_pairs_set(path: Path) -> PairsSet:
    raw = _text(path, _PAIRS_HINT)
    first = next((line for line in raw.split("\n") if line.strip()), "")
    if path.suffix.lower() in (".jsonl", ".json") or first.lstrip().startswith("{"):
        rows = _jsonl_pairs(path)
    else:
        rows = _tsv_pairs(path, raw)
    if len(rows) < 2:
        raise PrecheckError(f"{OPTION} {path} has {len(rows)} scored pair(s)", "give at least 2: " + _PAIRS_HINT)
    scores = [score for _, _, score in rows]
    if len(set(scores)) < 2:
        raise PrecheckError(f"{OPTION} {path}: every gold score is {scores[0]:g}, so no ranking can be compared",
                            "give pairs with different scores")
    return PairsSet(str(path), [a for a, _, _ in rows], [b for _, b, _ in rows], scores)


def _jsonl_pairs(path: Path) -> list[tuple[str, str, float]]:
    rows = []
    for number, item in _jsonl_objects(path, _PAIRS_HINT):
        for name in PAIR_FIELDS[:2]:
            if not isinstance(item.get(name), str):
                raise PrecheckError(f"{OPTION} {path} line {number} has no string \"{name}\"", _PAIRS_HINT)
        if "score" not in item:
            raise PrecheckError(f"{OPTION} {path} line {number} has no \"score\"", _PAIRS_HINT)
        rows.append((item["sentence1"], item["sentence2"], _score(path, number, item["score"], _PAIRS_HINT)))
    return rows


def _tsv_pairs(path: Path, raw: str) -> list[tuple[str, str, float]]:
    lines = [(number, line) for number, line in enumerate(raw.split("\n"), 1) if line.strip()]
    header = [part.strip() for part in lines[0][1].split("\t")] if lines else []
    if not all(name in header for name in PAIR_FIELDS):
        raise PrecheckError(f"{OPTION} {path} should start with a header naming sentence1, sentence2 and score",
                            _PAIRS_HINT)
    columns = [header.index(name) for name in PAIR_FIELDS]
    rows = []
    for number, line in lines[1:]:
        parts = line.split("\t")
        if len(parts) != len(header):
            raise PrecheckError(f"{OPTION} {path} line {number} has {len(parts)} tab-separated fields, "
                                f"the header {len(header)}", _PAIRS_HINT)
        first, second, score = (parts[c] for c in columns)
        rows.append((first, second, _score(path, number, score.strip(), _PAIRS_HINT)))
    return rows
