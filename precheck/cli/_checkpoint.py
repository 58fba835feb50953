"""A test-only hook: stop at a named point of the run until a signal comes, so that a test interrupts
precheck exactly there, never after a sleep that guesses how fast the machine is (docs/usage.md).

With PRECHECK_TEST_CHECKPOINT="POINT=FILE" set, the first time the run reaches POINT precheck creates
FILE and then waits (up to WAIT_SECONDS) for the test's signal; unset, nothing happens. Points:
`import` (precheck.cli is being imported, its one-line Ctrl-C hook set), `main` (main() before the
command line is read), or the start of a progress message (`loading float32 reference`, `reloading`):
that step, its line already printed. Only the standard library is imported here.
"""
from __future__ import annotations

import os
import time

ENV = "PRECHECK_TEST_CHECKPOINT"
WAIT_SECONDS = 300.0  # a bound for a test that sends nothing; the signal ends the wait at once
_reached: set[str] = set()


def checkpoint(point: str) -> None:
    name, separator, marker = os.environ.get(ENV, "").partition("=")
    if not name or not separator or not marker or not point.startswith(name) or name in _reached:
        return
    _reached.add(name)
    with open(marker, "w", encoding="utf-8") as file:
        file.write(point + "\n")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:  # the signal's handler raises out of this sleep
        time.sleep(0.05)
