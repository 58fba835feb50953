"""The one read of a text input (--texts, --pairs, --data): once, whole, bounded, as UTF-8 (a BOM dropped).

Once, because a pipe or /dev/stdin gives its text only once; bounded, because /dev/zero or a
mistaken multi-gigabyte file would otherwise fill memory before precheck could say anything.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PrecheckError

MAX_INPUT_BYTES = 64 * 1024 * 1024  # a probe set needs hundreds of lines; 64 MiB is far past any


def check_readable(path: Path, option: str, hint: str) -> None:
    """What read_text_input would refuse without reading anything (a pipe is left unread): the
    same words, before any plan is printed or model loaded."""
    if not path.exists():
        raise PrecheckError(f"{option} file not found: {path}", hint)
    if path.is_dir():
        raise PrecheckError(f"{option} {path} is a folder, not a file", hint)


def read_text_input(path: Path, option: str, hint: str) -> str:
    """The whole file, read once (a pipe or /dev/stdin gives its text only once), as UTF-8,
    refused past MAX_INPUT_BYTES (/dev/zero would otherwise fill memory)."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError as exc:
        raise PrecheckError(f"{option} file not found: {path}", hint) from exc
    except IsADirectoryError as exc:
        raise PrecheckError(f"{option} {path} is a folder, not a file", hint) from exc
    except OSError as exc:
        raise PrecheckError(f"cannot read {option} file {path}: {exc.strerror or exc}", hint) from exc
    if len(data) > MAX_INPUT_BYTES:
        raise PrecheckError(f"{option} file {path} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB",
                            "give a smaller file: precheck reads at most that much of any input")
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the first line; left in,
        # it would make a first JSON Lines object unreadable and a file of them a plain-text probe set.
        # Newlines as open() in text mode reads them, which the readers were written for.
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise PrecheckError(f"cannot read {option} file {path}: not UTF-8 ({exc.reason} at byte {exc.start})",
                            hint) from exc
