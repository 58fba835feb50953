"""(query, passage) probe pairs for cross-encoders: built in, or read from TSV / JSONL.

Several passages per query, relevant and not, short and long, so that rank correlation
and each query's top-ranked passage can be compared with float32.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PrecheckError
from .texts import MAX_LONG_WORDS, _LONG_PROSE, _long

_QUERIES = {
    "How do I reset my password?": [
        "Click 'Forgot password' on the sign-in page and follow the link we email you.",
        "Passwords must be at least twelve characters long.",
        "Our office is closed on public holidays.",
        "The quick brown fox jumps over the lazy dog.",
    ],
    "What is the capital of Japan?": [
        "Tokyo is the capital and largest city of Japan.",
        "東京は日本の首都です。",
        "Kyoto was the imperial capital for over a thousand years.",
        "Bananas are rich in potassium.",
    ],
    "Wie spät ist es in Berlin?": [
        "Berlin liegt in der mitteleuropäischen Zeitzone (MEZ, UTC+1).",
        "Berlin ist die Hauptstadt Deutschlands.",
        "The Eiffel Tower is in Paris.",
        "",
    ],
    "python sort a list of dicts by key": [
        "sorted(rows, key=lambda r: r['age']) returns a new list ordered by age.",
        "list.sort() sorts in place and returns None.",
        "SELECT * FROM users ORDER BY age;",
        "🙂🚀🔥 emoji only 🎉",
    ],
    "Why do half-precision models produce NaN?": [
        "float16 overflows above 65504, and inf minus inf gives NaN.",
        "bfloat16 keeps float32's exponent range with fewer mantissa bits.",
        "3.14159 2.71828 1e10 -0.000001 65504 65505",
        "the the the the the the the the the the the the",
    ],
    "Прогноз погоды на завтра": [
        "Завтра в Москве ожидается снег и до минус десяти градусов.",
        "Москва — столица России.",
        "El tren a Madrid sale a las ocho y media.",
        "a",
    ],
}


def builtin_pairs(max_length: int | None) -> list[tuple[str, str]]:
    words = min(max(int(max_length or 512), 64), MAX_LONG_WORDS)
    pairs = [(q, p) for q, passages in _QUERIES.items() for p in passages]
    long_query = "Why do half-precision models produce NaN?"
    pairs += [
        (long_query, _long(_LONG_PROSE, words)),
        (long_query, _long(_LONG_PROSE, max(words // 2, 32))),
        ("How do I reset my password?", " ".join(["password"] * words)),
        ("What is the capital of Japan?", _long("Tokyo 東京 capital 首都 Japan 日本 ", words)),
    ]
    return pairs


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """TSV (query<TAB>passage per line) or JSON Lines ({"query": ..., "document": ...} per line,
    `passage` also taken for `document`), which carries multi-line and empty texts."""
    hint = "give TSV lines 'query<TAB>passage' or JSON Lines objects with query and document (or passage)"
    from ..data.reading import read_text_input
    from .texts import json_lines, json_text

    raw = read_text_input(path, "--pairs", hint)
    objects = json_lines(path, raw, "--pairs", ("query",), suffixes=(".jsonl", ".json"))
    pairs: list[tuple[str, str]] = []
    if objects is not None:
        for number, item in objects:
            where = f"--pairs {path} line {number}"
            passage = [key for key in ("document", "passage") if key in item]
            if len(passage) != 1:
                raise PrecheckError(f"{where}: " + ("both \"document\" and \"passage\"" if passage
                                                    else "no \"document\" (or \"passage\")"), hint)
            pairs.append((json_text(item, "query", where, hint), json_text(item, passage[0], where, hint)))
    else:
        for number, line in enumerate(raw.split("\n"), 1):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise PrecheckError(f"--pairs {path} line {number} has {len(fields)} tab-separated fields", hint)
            pairs.append((fields[0], fields[1]))
    if len(pairs) < 2:
        raise PrecheckError(f"--pairs file {path} has {len(pairs)} pair(s)", "give at least 2")
    return pairs
