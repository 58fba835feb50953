"""precheck's command line: one module per command, wired here; _errors.py is the single error
boundary (exit 0 pass, 1 fail, 2 cannot run), _common.py the shared aliases and the report path."""
from __future__ import annotations

import sys


def _one_line_interrupt(kind, value, tb, _previous=sys.excepthook):
    # Ctrl-C while Python imports precheck (before main() runs): one line, not a traceback.
    if issubclass(kind, KeyboardInterrupt):
        print("precheck: interrupted: nothing was written", file=sys.stderr)
    else:
        _previous(kind, value, tb)


if sys.argv and sys.argv[0].endswith("precheck"):  # the console script, not an import by a program or test
    sys.excepthook = _one_line_interrupt

from ._checkpoint import checkpoint  # noqa: E402 - the standard library only

checkpoint("import")

import typer  # noqa: E402 - after the hook, so that an interrupt during this import is one line

from ._errors import (  # noqa: E402
    EXIT_CANNOT_RUN, EXIT_INTERRUPTED, Interrupted, OneLineErrors, exit_without_teardown, flush_streams)
from .ci import ci  # noqa: E402
from .fix import fix  # noqa: E402
from .merge import merge  # noqa: E402
from .scan import scan  # noqa: E402
from .train_check import train_check  # noqa: E402

app = typer.Typer(
    cls=OneLineErrors,
    help="Will this sentence-transformers model survive float16 / bfloat16? Scan, diagnose, fix.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root() -> None:
    """Will this sentence-transformers model survive float16 / bfloat16? Scan, diagnose, fix."""


app.command()(scan)
app.command()(fix)
app.command("train-check")(train_check)
app.command()(ci)
app.command()(merge)


def main() -> None:
    if sys.stdout is None:  # started with stdout closed (`>&-`): the view and "-" have nowhere to go
        if sys.stderr is not None:
            print("precheck: error: stdout is closed (send it to a file or /dev/null instead)", file=sys.stderr)
        sys.exit(EXIT_CANNOT_RUN)
    import signal

    from ..loading.load import FREEZE_AFTER_FIRST_COLLECT

    FREEZE_AFTER_FIRST_COLLECT["wanted"] = True  # this process is precheck's own, and ends with the command
    code = EXIT_CANNOT_RUN
    try:
        try:
            checkpoint("main")
            app()
        except SystemExit as done:
            code = done.code
        if not flush_streams():  # stdout closed under us (`| head`): never a traceback, never the "fails" code
            code = EXIT_CANNOT_RUN
        from ..io.signals import signal_seen

        if signal_seen() is not None and code in (0, 1):
            # A signal whose exception something swallowed on its way up: the run did not finish as asked.
            raise Interrupted(signal_seen())
    except (KeyboardInterrupt, Interrupted):  # outside the error boundary: nothing is being written
        print("precheck: interrupted: nothing was left half-written", file=sys.stderr)
        code = EXIT_INTERRUPTED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # on the way out: a late Ctrl-C cannot add a traceback
    exit_without_teardown(code)
