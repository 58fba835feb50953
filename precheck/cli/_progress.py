"""The core's progress on the terminal: a bar with items done and time left, plain lines when
stderr is not a terminal (with items done and time left for a long encode), nothing with --quiet."""
from __future__ import annotations

import time
from contextlib import contextmanager

from ._checkpoint import checkpoint

# Off a terminal (a CI log), an encode's counts are written only once it has run this long, and
# then no more often: a log of short scans stays as it was, a 100k-text encode shows it is moving.
LINE_EVERY_S = 30.0


class _ProgressBar:
    """The core's progress on a terminal: its messages as the description, and while a run
    encodes the probe set (items_done, see precheck/progress.py) a bar with items done / total
    and rich's estimate of the time left, started afresh for each run."""

    def __init__(self, bar) -> None:
        self.bar, self.label = bar, None
        self.task = bar.add_task("starting", total=None)

    def _restart(self, description: str, total: int | None, done: int = 0) -> None:
        # A new task, not reset(): reset keeps the old total, and the time left must be
        # estimated from this run's speed alone.
        self.bar.remove_task(self.task)
        self.task = self.bar.add_task(description, total=total, completed=done)

    def __call__(self, message: str) -> None:
        self.label = None
        self._restart(message, None)

    def items_done(self, label: str, done: int, total: int) -> None:
        if label != self.label:
            self.label = label
            self._restart(f"{label}: probe items", total, done)
        else:
            self.bar.update(self.task, completed=done)


class _ProgressLines:
    """The core's progress as plain lines: each message, and for a long encode a line every
    LINE_EVERY_S seconds with items done / total and the time left at this run's speed so far."""

    def __init__(self, write, clock=time.monotonic) -> None:
        self.write, self.clock = write, clock
        self.label, self.started, self.last = None, 0.0, 0.0

    def __call__(self, message: str) -> None:
        self.label = None
        self.write(message)

    def items_done(self, label: str, done: int, total: int) -> None:
        now = self.clock()
        if label != self.label:
            self.label, self.started, self.last = label, now, now
            return
        if now - self.last < LINE_EVERY_S or done <= 0:
            return
        self.last = now
        left = (now - self.started) * (total - done) / done
        self.write(f"{label}: {done:,}/{total:,} probe items, about {_duration(left)} left")


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _stop_if_signalled() -> None:
    from ..io.signals import signal_seen

    if signal_seen() is not None:
        # A signal whose exception was swallowed on its way up (Python ignores one raised inside an
        # import's callback): the run stops at its next step instead of going on to the end.
        raise KeyboardInterrupt


class _StopsOnSignal:
    """The display, checked at every step for a signal seen and swallowed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        if hasattr(inner, "items_done"):  # the core counts items only for a display that draws them
            self.items_done = self._items_done

    def __getattr__(self, name: str):
        return getattr(self.inner, name)  # the display's own parts (a bar's task), as they were

    def __call__(self, message: str) -> None:
        _stop_if_signalled()
        self.inner(message)
        checkpoint(message)  # test-only: PRECHECK_TEST_CHECKPOINT stops here for a signal

    def _items_done(self, label: str, done: int, total: int) -> None:
        _stop_if_signalled()
        self.inner.items_done(label, done, total)


@contextmanager
def progress_display(console, quiet: bool):
    """A progress bar on a terminal, plain lines otherwise, nothing with --quiet; each stops the run
    at its next step after a signal that something swallowed."""
    with _display(console, quiet) as display:
        yield _StopsOnSignal(display)


@contextmanager
def libraries_silenced():
    """--quiet: nothing on stderr but errors. The libraries precheck drives (bitsandbytes, torchao,
    transformers' quantizers) warn through Python's warnings and logging; both are held off for the run
    and put back after it (the CLI may run inside another program, as the tests run it)."""
    import logging
    import warnings

    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(before)


@contextmanager
def _display(console, quiet: bool):
    if quiet:
        with libraries_silenced():
            yield lambda message: None
    elif console.is_terminal:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeRemainingColumn)

        # Messages carry model names and paths: never read as rich markup.
        columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                   MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            yield _ProgressBar(bar)
    else:
        # Messages carry model names and paths: never read as rich markup. One line per message, never
        # wrapped at the console's width: a continuation line would lose its `precheck:` prefix (the
        # log's viewer wraps a long line, and grep still finds it whole).
        yield _ProgressLines(lambda message: console.print(f"precheck: {message}", highlight=False, markup=False,
                                                           soft_wrap=True))
