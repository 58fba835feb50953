"""The one error boundary of every command: exit codes, one-line errors, signals, closed streams.

Exit codes: 0 every requested dtype passes, 1 at least one does not, 2 precheck could
not do its job (one line on stderr; --debug or PRECHECK_DEBUG=1 shows the traceback);
129 / 130 / 143 a hang-up, Ctrl-C or SIGTERM, after the writers removed their temporary files.
"""
from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from contextlib import contextmanager

import typer
from typer.core import TyperGroup

from ..errors import PrecheckError
from ..io.signals import HELD_SIGNALS, note_signal
from ..io.outputs import left_behind

EXIT_PASS, EXIT_FAIL, EXIT_CANNOT_RUN = 0, 1, 2
# Each type of error precheck raises (errors.py), and the exit code it ends a command with, mapped here
# and nowhere else (the most specific type first): OptionRefused and ConfigNotFound are PrecheckErrors,
# "precheck could not do its job". The message is the error's own one line, never read for its text.
EXIT_CODES: tuple[tuple[type, int], ...] = ((PrecheckError, EXIT_CANNOT_RUN),)


def exit_code_of(exc: PrecheckError) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))


def error_line(exc: PrecheckError) -> str:
    return f"precheck: error: {exc.one_line()}"


class OneLineErrors(TyperGroup):
    """Usage errors as one line and exit 2, instead of click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            with signals_raise_once():
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except Interrupted as exc:  # a signal while the options were read, outside any command
            line, code = interrupted_line(exc)
            _echo_error(line)
            sys.exit(code)
        except typer.Abort:
            typer.echo("precheck: aborted", err=True)
            sys.exit(EXIT_CANNOT_RUN)
        except SystemExit as exc:
            if exc.code != 1:
                raise
            # click and typer exit 1 (the "model fails" code) when stdout closes under --help; in
            # non-standalone mode nothing else exits 1 from here. `--help | head` is the reader's
            # choice to stop reading help: no error, no message (a report cut short is exit 2).
            _silence(sys.stdout)
            sys.exit(EXIT_PASS)
        except Exception as exc:
            # click's UsageError, or typer's own copy of it in typer >= 0.29 (no click there):
            # matched by shape so that both generations of typer get one-line errors.
            if not hasattr(exc, "format_message"):
                raise
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()
                sys.exit(EXIT_CANNOT_RUN)
            ctx = getattr(exc, "ctx", None)
            command = ctx.command_path if ctx is not None else "precheck"
            typer.echo(f"precheck: error: {exc.format_message()} (see '{command} --help')", err=True)
            sys.exit(EXIT_CANNOT_RUN)
        sys.exit(code if isinstance(code, int) else 0)


def exit_without_teardown(code) -> None:
    """Exit with `code` once output is flushed and atexit handlers have run, skipping the
    interpreter's teardown when torch was loaded: freeing torch and transformers' modules
    took about 1.1 s of every scan on a 2-core CPU (docs/benchmarks.md)."""
    if "torch" not in sys.modules:
        sys.exit(code)
    import atexit

    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    if not flush_streams():
        code = EXIT_CANNOT_RUN
    os._exit(code)


def flush_streams() -> bool:
    """Flush stdout and stderr; False when stdout is a closed pipe (then it points at /dev/null,
    so that the interpreter's own last flush cannot print a traceback)."""
    whole = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            whole = whole and stream is not sys.stdout
            _silence(stream)
    return whole


def _silence(stream) -> None:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's buffer)
        pass


def degrade_streams() -> None:
    """A terminal whose encoding cannot take a character (PYTHONIOENCODING=ascii) gets '?' for
    it rather than a UnicodeEncodeError after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
        if not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def debug_wanted(flag: bool) -> bool:
    return flag or os.environ.get("PRECHECK_DEBUG", "") not in ("", "0")


EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
BROKEN_PIPE_LINE = "precheck: error: stdout was closed before precheck finished writing (did a reader such as head exit?)"


class Interrupted(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP (a closed terminal), raised so that every `finally` removes its
    temporary files. Not a KeyboardInterrupt: typer turns that into a silent exit 130."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_once(signum, frame):
    # Later signals are ignored: the cleanup this one starts (every `finally` on the way out) must
    # finish, or a second Ctrl-C would leave half a staging folder behind.
    for held in HELD_SIGNALS:
        signal.signal(held, signal.SIG_IGN)
    note_signal(signum)
    raise Interrupted(signum)


@contextmanager
def signals_raise_once():
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {held: signal.signal(held, _raise_once) for held in HELD_SIGNALS}
    # Python ignores an exception raised inside some callbacks (an import lock's weakref callback):
    # it would print "Exception ignored in ..." and a traceback. The signal is recorded (note_signal),
    # so the run still stops: no output is put in place and the exit is not 0 (io/outputs.py).
    previous_hook = sys.unraisablehook

    def quiet_interrupts(unraisable):
        if not isinstance(unraisable.exc_value, (Interrupted, KeyboardInterrupt)):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_interrupts
    try:
        yield
    finally:
        # After a signal they stay ignored: the process is on its way out, and a further
        # Ctrl-C must not interrupt the message or the exit.
        if signal.getsignal(signal.SIGINT) is _raise_once:
            for held, handler in previous.items():
                signal.signal(held, handler)


def interrupted_line(exc: BaseException) -> tuple[str, int]:
    """What the interrupt left, said truly, and the shell's exit code for the signal."""
    signum = getattr(exc, "signum", signal.SIGINT)
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    left = left_behind()
    outcome = (f"could not remove {', '.join(map(str, left))}; delete it" if left
               else "nothing was left half-written")
    return f"precheck: {word}: {outcome}", 128 + int(signum)


def _echo_error(line: str) -> None:
    try:
        typer.echo(line, err=True)
    except (OSError, ValueError):  # stderr closed as well: the exit code says it
        pass


@contextmanager
def error_boundary(debug: bool):
    """PrecheckError (and anything unexpected) becomes one stderr line and exit 2;
    Ctrl-C / SIGTERM / SIGHUP one line and exit 130 / 143 / 129, after the writers removed their
    temporary files; a stdout closed or full, one line and exit 2."""
    degrade_streams()
    try:
        yield
    except (typer.Exit, SystemExit):
        raise
    except (Interrupted, KeyboardInterrupt) as exc:
        if debug:
            traceback.print_exc()
        line, code = interrupted_line(exc)
        _echo_error(line)
        raise typer.Exit(code) from None
    except PrecheckError as exc:
        if debug:
            traceback.print_exc()
        _echo_error(error_line(exc))
        raise typer.Exit(exit_code_of(exc)) from None
    except OSError as exc:
        if exc.errno not in (errno.EPIPE, errno.ENOSPC, errno.EDQUOT):
            _internal_error(exc, debug)
        if debug:
            traceback.print_exc()
        if exc.errno == errno.EPIPE:
            _silence(sys.stdout)
            _echo_error(BROKEN_PIPE_LINE)
        else:
            _echo_error(f"precheck: error: cannot write {exc.filename or 'to stdout'}: {exc.strerror or exc} "
                        "(free some space, or send the output elsewhere)")
        raise typer.Exit(EXIT_CANNOT_RUN) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        _internal_error(exc, debug)


def _internal_error(exc: Exception, debug: bool):
    if debug:
        traceback.print_exc()
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    _echo_error(f"precheck: internal error: {type(exc).__name__}: {first} (rerun with --debug and report it)")
    raise typer.Exit(EXIT_CANNOT_RUN) from None
