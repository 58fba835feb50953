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
KindOption = Annotated[str, typer.Option(help="auto (from the model's config), sentence-transformer, cross-encoder or sparse-encoder.")]
MinCosineOption = Annotated[float, typer.Option(help="Embedders: lowest cosine to float32 that still passes.")]
MinSpearmanOption = Annotated[float, typer.Option(help="Cross-encoders: lowest rank correlation of scores with float32.")]
MinTop1Option = Annotated[float, typer.Option(help="Lowest share of probe items whose nearest neighbour (top passage) is kept.")]
ModelArgument = Annotated[str, typer.Argument(help="Local folder, or hub id (cached, or downloaded when online).")]
JsonOption = Annotated[Optional[str], typer.Option("--json", help="Write the result as JSON to PATH (- for stdout).")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite files (and for fix, a non-empty --out) precheck would otherwise refuse to.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress (and no tables when --json is given).")]
BatchOption = Annotated[int, typer.Option(help="encode() / predict() batch size.")]


def debug_wanted(flag: bool) -> bool:
    return flag or os.environ.get("PRECHECK_DEBUG", "") not in ("", "0")


@contextmanager
def error_boundary(debug: bool):
    """PrecheckError (and anything unexpected) becomes one stderr line and exit 2."""
    try:
        yield
    except (typer.Exit, SystemExit, KeyboardInterrupt):
        raise
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
    if path in (None, "-"):
        return
    target = Path(path)
    if target.is_dir():
        raise PrecheckError(f"{option} {path} is a folder", "give a file path")
    if target.exists() and not force:
        raise PrecheckError(f"{option} {path} already exists", "pass --force to overwrite it")
    if not target.parent.exists():
        raise PrecheckError(f"{option} {path}: folder {target.parent} does not exist", "create it first")


def _write_json(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        Path(path).write_text(text + "\n", encoding="utf-8")


def _consoles(json_path: str | None, quiet: bool):
    """The report view goes to stdout, unless stdout carries the JSON; progress goes to stderr."""
    from rich.console import Console

    view = Console(stderr=json_path == "-", quiet=quiet and json_path is not None)
    return view, Console(stderr=True, quiet=quiet)


def run_and_report(json_path: str | None, quiet: bool, work, render, to_json):
    """Run the core with a progress display, render its result, write the JSON; return the result."""
    view, status_console = _consoles(json_path, quiet)
    with progress_display(status_console, quiet) as progress:
        result = work(progress)
    render(result, view)
    if json_path:
        _write_json(json_path, to_json(result))
    return result


@contextmanager
def progress_display(console, quiet: bool):
    """A spinner on a terminal, plain lines otherwise, nothing with --quiet."""
    if quiet:
        yield lambda message: None
    elif console.is_terminal:
        with console.status("starting") as status:
            yield lambda message: status.update(message)
    else:
        yield lambda message: console.print(f"precheck: {message}", highlight=False)
