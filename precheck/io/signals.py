"""The signals a command holds off while an output is put in place, and every one it saw: a signal,
even one a library swallowed on its way up, stops every output from being put in place.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# Every signal the command's handler saw (cli/_errors.py): if a library catches the exception it
# raised, the signal still stops every output from being put in place and the exit from being 0.
_SIGNALS_SEEN: list[int] = []


def note_signal(signum: int) -> None:
    _SIGNALS_SEEN.append(signum)


def signal_seen() -> int | None:
    return _SIGNALS_SEEN[0] if _SIGNALS_SEEN else None


def refuse_if_signalled() -> None:
    """Before an output is put in place: a signal seen earlier, even one swallowed on its way up, wins."""
    if _SIGNALS_SEEN:
        raise KeyboardInterrupt


@contextmanager
def signals_held():
    """SIGINT/SIGTERM/SIGHUP wait until the renames that put an output in place, or the removal of
    what was staged, are done: an interrupt (or a second one) never leaves either half done."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
