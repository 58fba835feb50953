"""What every command shares: option aliases, the one error boundary, output checks, the report path.

Exit codes: 0 every requested dtype passes, 1 at least one does not, 2 precheck could
not do its job (one line on stderr; --debug or PRECHECK_DEBUG=1 shows the traceback).
"""
from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from ..errors import PrecheckError
from ..outputs import Output, check_outputs, write_file  # noqa: F401 - shared by the commands

EXIT_PASS, EXIT_FAIL, EXIT_CANNOT_RUN = 0, 1, 2


class OneLineErrors(TyperGroup):
    """Usage errors as one line and exit 2, instead of click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            typer.echo("precheck: aborted", err=True)
            sys.exit(EXIT_CANNOT_RUN)
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


DtypeOption = Annotated[
    Optional[list[str]],
    typer.Option("--dtype", "-d", help="fp16/float16/half or bf16/bfloat16; repeat or comma-separate. Default: both."),
]
DeviceOption = Annotated[str, typer.Option(help="auto (cuda when available), cpu, cuda or mps.")]
TrustOption = Annotated[bool, typer.Option("--trust-remote-code", help="Run code the model ships with (off by default).")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")]
TextsOption = Annotated[Optional[Path], typer.Option(help="Embedders and sparse encoders: probe texts, one per line (replaces the built-in set).")]
PairsOption = Annotated[Optional[Path], typer.Option(help="Cross-encoders: probe pairs, TSV (query<TAB>passage) or JSONL.")]
KindOption = Annotated[str, typer.Option(help="auto (from the model's config), sentence-transformer, cross-encoder, sparse-encoder or multi-vector-encoder.")]
MinCosineOption = Annotated[float, typer.Option(help="Embedders: lowest cosine to float32 that still passes.")]
MinSpearmanOption = Annotated[float, typer.Option(help="Cross-encoders: lowest rank correlation of scores with float32.")]
MinTop1Option = Annotated[float, typer.Option(help="Lowest share of probe items whose nearest neighbour (top passage) is kept.")]
ModelArgument = Annotated[str, typer.Argument(help="Local folder, or hub id (cached, or downloaded when online).")]
JsonOption = Annotated[Optional[str], typer.Option("--json", help="Write the result as JSON to PATH (- for stdout).")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite files (and for fix, a non-empty --out) precheck would otherwise refuse to.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress (and no tables when --json is given).")]
BatchOption = Annotated[int, typer.Option(help="encode() / predict() batch size.")]


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
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)


def debug_wanted(flag: bool) -> bool:
    return flag or os.environ.get("PRECHECK_DEBUG", "") not in ("", "0")


EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `finally` removes its temporary files."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextmanager
def _sigterm_raises():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def error_boundary(debug: bool):
    """PrecheckError (and anything unexpected) becomes one stderr line and exit 2;
    Ctrl-C / SIGTERM one line and exit 130 / 143, after the writers removed their temporary files."""
    try:
        with _sigterm_raises():
            yield
    except (typer.Exit, SystemExit):
        raise
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        terminated = isinstance(exc, Terminated)
        typer.echo(f"precheck: {'terminated' if terminated else 'interrupted'}: nothing was left half-written",
                   err=True)
        raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED) from None
    except PrecheckError as exc:
        if debug:
            traceback.print_exc()
        typer.echo(f"precheck: error: {exc.one_line()}", err=True)
        raise typer.Exit(EXIT_CANNOT_RUN) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(
            f"precheck: internal error: {type(exc).__name__}: {first} (rerun with --debug and report it)", err=True
        )
        raise typer.Exit(EXIT_CANNOT_RUN) from None


def check_output_path(path: str | None, force: bool, option: str = "--json") -> None:
    check_outputs([Output(option, path)], force)


def local_model_folders(model: str) -> tuple[Path, ...]:
    """The model's folder when MODEL is a local path: outputs may not replace its files."""
    try:
        local = Path(model.strip()).expanduser() if model.strip() else None
        return (local,) if local is not None and local.is_dir() else ()
    except OSError:  # a name too long to be a path: resolving MODEL says so
        return ()


def write_json(path: str, text: str, force: bool = True) -> None:
    if path == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        write_file(Path(path), text + "\n", force, "--json")


def _consoles(json_path: str | None, quiet: bool):
    """The report view goes to stdout, unless stdout carries the JSON; progress goes to stderr."""
    from rich.console import Console

    view = Console(stderr=json_path == "-", quiet=quiet and json_path is not None)
    return view, Console(stderr=True, quiet=quiet)


def run_and_report(json_path: str | None, quiet: bool, work, render, to_json, force: bool = True):
    """Run the core with a progress display, write the JSON, render the result; return the result.
    The JSON comes first: a view that fails cannot lose it. `force` False: the JSON file is
    created exclusively (a concurrent run that wrote it first wins)."""
    view, status_console = _consoles(json_path, quiet)
    with progress_display(status_console, quiet) as progress:
        result = work(progress)
    if json_path:
        write_json(json_path, to_json(result), force)
    render(result, view)
    return result


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


@contextmanager
def progress_display(console, quiet: bool):
    """A progress bar on a terminal, plain lines otherwise, nothing with --quiet."""
    if quiet:
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
        # Messages carry model names and paths: never read as rich markup.
        yield lambda message: console.print(f"precheck: {message}", highlight=False, markup=False)
