"""The probe texts and the test encode.

The built-in set covers what breaks half precision in practice: long inputs (overflow
that grows with length), many scripts, numbers, code, repeated tokens and edge cases
whose tiny constants vanish in float16 (empty, whitespace, one token).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PrecheckError

_SHORT_TEXTS = (
    "hello",
    "",
    "   ",
    "a",
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password?",
    "Click 'Forgot password' on the sign-in page and follow the link we email you.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "The central bank raised interest rates by 25 basis points on Tuesday.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Le chat dort sur le canapé depuis ce matin.",
    "El tren a Madrid sale a las ocho y media.",
    "Москва — столица России.",
    "東京は日本の首都です。",
    "我喜欢在周末读书和喝茶。",
    "서울의 겨울은 춥고 건조하다.",
    "القاهرة هي عاصمة مصر.",
    "यह एक परीक्षण वाक्य है।",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
    "🙂🚀🔥 emoji only 🎉",
    "3.14159 2.71828 1.41421 1e10 -0.000001 65504 65505",
    "Order #48213 shipped 2024-03-17 at 14:05 UTC, total $1,299.99",
    "def add(a, b):\n    return a + b",
    "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days';",
    "for (int i = 0; i < n; ++i) { sum += x[i] * y[i]; }",
    '{"key": [1, 2, 3], "nested": {"a": null}}',
    "the the the the the the the the the the the the the the the the",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "ALL CAPS SHOUTING ABOUT A PRODUCT RECALL",
    "https://example.com/path?query=1&other=two#fragment",
)

_LONG_PROSE = (
    "Half precision halves the memory of a model and speeds it up on most accelerators, "
    "but its range ends at 65504 and it keeps only about three significant digits. "
    "Long documents push sums over many tokens, attention rows and residual streams "
    "towards that limit, so a model can pass every short sentence and still fail on "
    "the first contract, manual or research paper it is asked to embed. "
)
_LONG_CODE = (
    "def normalise(rows, eps=1e-12):\n    total = sum(r * r for r in rows)\n"
    "    return [r / (total ** 0.5 + eps) for r in rows]\n\n"
)
_LONG_MIXED = "Tokyo 東京 Москва القاهرة 3.14159 {\"id\": 7} Über café naïve — "
MAX_LONG_WORDS = 8192


def _long(seed: str, words: int) -> str:
    """Enough text to fill the model's whole window: every word is at least one token."""
    unit = seed.split(" ")
    out: list[str] = []
    while len(out) < words:
        out.extend(unit)
    return " ".join(out[:words])


def builtin_texts(window: int | None) -> list[str]:
    """The short texts, then long ones that fill `window` tokens (512 words for a model with none)."""
    words = min(max(int(window or 512), 64), MAX_LONG_WORDS)
    long_texts = [
        _long(_LONG_PROSE, words),
        _long(_LONG_CODE, words),
        _long(_LONG_MIXED, words),
        _long(_LONG_PROSE, max(words // 2, 32)),
        " ".join(["token"] * words),
    ]
    return list(_SHORT_TEXTS) + long_texts


def _json_object(line: str) -> dict | None:
    import json

    try:
        item = json.loads(line)
    except ValueError:
        return None
    return item if isinstance(item, dict) else None


def json_lines(path: Path, raw: str, option: str, fields: tuple[str, ...],
               suffixes: tuple[str, ...] = (".jsonl",)) -> list[tuple[int, dict]] | None:
    """(line number, object) of each non-blank line of a JSON Lines input, or None for the plain format.
    A file named with one of `suffixes` is JSON Lines; any other is when every non-blank line is an object
    (a plain line that merely looks like JSON, among plain lines, stays a plain text). Every line an object
    but one without `fields[0]`: refused, since neither format reads it as its writer meant."""
    lines = [(number, line) for number, line in enumerate(raw.split("\n"), 1) if line.strip()]
    objects = [(number, _json_object(line)) for number, line in lines]
    named = path.suffix.lower() in suffixes
    if named:
        bad = next((number for number, item in objects if item is None), None)
        if bad is not None:
            raise PrecheckError(f"{option} {path} line {bad} is not a JSON object",
                                f"give one JSON object per line in a {path.suffix} file")
    elif not objects or any(item is None for _, item in objects):
        return None
    missing = next((number for number, item in objects if fields[0] not in item), None)
    if missing is not None:
        raise PrecheckError(f"{option} {path} line {missing}: a JSON object with no \"{fields[0]}\"",
                            f"give every object a \"{fields[0]}\" (as JSON Lines), or plain lines")
    return objects


def json_text(item: dict, key: str, where: str, hint: str) -> str:
    """item[key] as a probe text: a string that can be encoded (a JSON escape such as \\ud800 makes a lone
    surrogate, which no tokenizer takes and no file can hold)."""
    value = item[key]
    if not isinstance(value, str):
        from ..data.schema.check import describe

        raise PrecheckError(f"{where}: \"{key}\" is {describe(value)}, not a string", hint)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PrecheckError(f"{where}: \"{key}\" holds {value[exc.start]!r}, a lone UTF-16 surrogate that is "
                            "no character", hint) from exc
    return value


def read_texts(path: Path) -> list[str]:
    """One text per line, blank lines skipped; or JSON Lines, one `{"text": ...}` per line, which
    carries any text: one of several lines, or the empty string."""
    from ..data.reading import read_text_input

    hint = 'pass a UTF-8 file with one text per line, or JSON Lines of {"text": ...}'
    raw = read_text_input(path, "--texts", hint)
    objects = json_lines(path, raw, "--texts", ("text",))
    if objects is not None:
        texts = [json_text(item, "text", f"--texts {path} line {number}", hint) for number, item in objects]
    else:
        texts = [line.rstrip("\r") for line in raw.split("\n") if line.strip()]
    if len(texts) < 2:
        raise PrecheckError(
            f"--texts file {path} has {len(texts)} text(s)",
            "give at least 2, one per line, so that nearest neighbours can be compared",
        )
    return texts
