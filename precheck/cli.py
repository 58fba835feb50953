"""precheck's command line: parse options, call the core, render, map to an exit code.

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

from .errors import PrecheckError

EXIT_PASS, EXIT_FAIL, EXIT_CANNOT_RUN = 0, 1, 2


class _OneLineErrors(TyperGroup):
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


app = typer.Typer(
    cls=_OneLineErrors,
    help="Will this sentence-transformers model survive float16 / bfloat16? Scan, diagnose, fix.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def root() -> None:
    """Will this sentence-transformers model survive float16 / bfloat16? Scan, diagnose, fix."""


DtypeOption = Annotated[
    Optional[list[str]],
    typer.Option("--dtype", "-d", help="fp16/float16/half or bf16/bfloat16; repeat or comma-separate. Default: both."),
]
DeviceOption = Annotated[str, typer.Option(help="auto (cuda when available), cpu, cuda or mps.")]
TrustOption = Annotated[bool, typer.Option("--trust-remote-code", help="Run code the model ships with (off by default).")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")]
TextsOption = Annotated[Optional[Path], typer.Option(help="Embedders: probe texts, one per line (replaces the built-in set).")]
PairsOption = Annotated[Optional[Path], typer.Option(help="Cross-encoders: probe pairs, TSV (query<TAB>passage) or JSONL.")]
KindOption = Annotated[str, typer.Option(help="auto (from the model's config), sentence-transformer or cross-encoder.")]
MinCosineOption = Annotated[float, typer.Option(help="Embedders: lowest cosine to float32 that still passes.")]
MinSpearmanOption = Annotated[float, typer.Option(help="Cross-encoders: lowest rank correlation of scores with float32.")]
MinTop1Option = Annotated[float, typer.Option(help="Lowest share of probe items whose nearest neighbour (top passage) is kept.")]
ModelArgument = Annotated[str, typer.Argument(help="Local folder, or hub id (cached, or downloaded when online).")]
JsonOption = Annotated[Optional[str], typer.Option("--json", help="Write the result as JSON to PATH (- for stdout).")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite files (and for fix, a non-empty --out) precheck would otherwise refuse to.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress (and no tables when --json is given).")]
BatchOption = Annotated[int, typer.Option(help="encode() / predict() batch size.")]


def _debug_wanted(flag: bool) -> bool:
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


def _check_output_path(path: str | None, force: bool, option: str = "--json") -> None:
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


@app.command()
def scan(
    model: ModelArgument,
    dtype: DtypeOption = None,
    device: DeviceOption = "auto",
    trust_remote_code: TrustOption = False,
    texts: TextsOption = None,
    pairs: PairsOption = None,
    kind: KindOption = "auto",
    min_cosine: MinCosineOption = 0.999,
    min_spearman: MinSpearmanOption = 0.99,
    min_top1_agreement: MinTop1Option = 0.0,
    batch_size: BatchOption = 32,
    depth: Annotated[int, typer.Option(help="Module table depth: 1 = top-level modules.")] = 1,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    no_fix: Annotated[bool, typer.Option("--no-fix", help="Skip the fix search (a faster gate).")] = False,
    debug: DebugOption = False,
) -> None:
    """Load MODEL as users do, table its dtypes, test-encode fp16/bf16 against float32;
    for failures, name the module and the cause and find the smallest verified fix."""
    with error_boundary(_debug_wanted(debug)):
        from .dtypes import parse_low_dtypes

        options_dtypes = parse_low_dtypes(dtype)
        _check_output_path(json_path, force)
        from .render import render_terminal
        from .scanner import ScanOptions, run_scan

        options = ScanOptions(
            model=model,
            dtypes=options_dtypes,
            device=device,
            trust_remote_code=trust_remote_code,
            texts_file=texts,
            pairs_file=pairs,
            kind=kind,
            min_cosine=min_cosine,
            min_spearman=min_spearman,
            min_top1_agreement=min_top1_agreement,
            batch_size=batch_size,
            depth=depth,
            fix=not no_fix,
        )
        report = run_and_report(json_path, quiet, lambda progress: run_scan(options, progress), render_terminal,
                                lambda r: r.to_json())
    raise typer.Exit(EXIT_PASS if report.verdict.passed else EXIT_FAIL)


@app.command()
def fix(
    model: ModelArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the fixed model and precheck.json to.")],
    dtype: Annotated[str, typer.Option("--dtype", "-d", help="fp16 or bf16.")] = "fp16",
    device: DeviceOption = "auto",
    trust_remote_code: TrustOption = False,
    texts: TextsOption = None,
    pairs: PairsOption = None,
    kind: KindOption = "auto",
    min_cosine: MinCosineOption = 0.999,
    min_spearman: MinSpearmanOption = 0.99,
    min_top1_agreement: MinTop1Option = 0.0,
    batch_size: BatchOption = 32,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Apply the recommended fix: write MODEL + a precheck.json plan to --out, reload it and verify it."""
    with error_boundary(_debug_wanted(debug)):
        from .dtypes import parse_low_dtype

        wanted = parse_low_dtype(dtype)
        _check_output_path(json_path, force)
        from .apply import check_out_dir, write_fixed_model
        from .render import render_fix_outcome
        from .scanner import ScanOptions

        check_out_dir(out, force)
        options = ScanOptions(model=model, dtypes=(wanted,), device=device, trust_remote_code=trust_remote_code,
                              texts_file=texts, pairs_file=pairs, kind=kind, min_cosine=min_cosine,
                              min_spearman=min_spearman, min_top1_agreement=min_top1_agreement,
                              batch_size=batch_size)
        outcome = run_and_report(json_path, quiet, lambda progress: write_fixed_model(options, out, force, progress),
                                 render_fix_outcome, lambda o: o.to_json())
    raise typer.Exit(EXIT_PASS if outcome.done else EXIT_FAIL)


@app.command("train-check")
def train_check(
    model: ModelArgument,
    mode: Annotated[str, typer.Option(help="The mode the exit code is about: half, amp or bf16.")] = "half",
    dtype: Annotated[str, typer.Option("--dtype", "-d", help="The dtype of half mode: fp16 or bf16.")] = "fp16",
    steps: Annotated[int, typer.Option(help="Optimizer steps per mode.")] = 20,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 2e-5,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 8,
    data: Annotated[Optional[Path], typer.Option(help="Labelled pairs: CSV query,passage,label or JSONL.")] = None,
    device: DeviceOption = "auto",
    kind: KindOption = "auto",
    trust_remote_code: TrustOption = False,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Fine-tune a copy of MODEL briefly in each precision mode and say which stays finite."""
    with error_boundary(_debug_wanted(debug)):
        from .dtypes import parse_low_dtype

        wanted = parse_low_dtype(dtype)
        _check_output_path(json_path, force)
        from .render_training import render_train_report
        from .train_check import run_train_check
        from .training import TrainOptions

        options = TrainOptions(model=model, mode=mode, dtype=wanted, steps=steps, lr=lr, batch_size=batch_size,
                               data_file=data, device=device, trust_remote_code=trust_remote_code, kind=kind)
        report = run_and_report(json_path, quiet, lambda progress: run_train_check(options, progress),
                                render_train_report, lambda r: r.to_json())
    raise typer.Exit(EXIT_PASS if report.verdict.passed else EXIT_FAIL)


@app.command()
def ci(
    config: Annotated[Optional[Path], typer.Option(help="precheck.toml or pyproject.toml (default: look in .).")] = None,
    json_path: JsonOption = None,
    junit: Annotated[Optional[Path], typer.Option(help="Write JUnit XML: one test case per model and dtype.")] = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Record this run's figures as the baseline.")] = False,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Scan every model in the project config; summary, JSON, JUnit, baselines; exit 0/1/2."""
    with error_boundary(_debug_wanted(debug)):
        _check_output_path(json_path, force)
        _check_output_path(str(junit) if junit else None, force, "--junit")
        from .ci import run_ci
        from .config import load_config
        from .junit import github_annotations, to_junit
        from .render_ci import render_ci

        settings = load_config(config, Path.cwd())

        def render_and_annotate(run, view) -> None:
            render_ci(run, view)
            if os.environ.get("GITHUB_ACTIONS") == "true":
                for line in github_annotations(run):
                    typer.echo(line, err=json_path == "-")
            if junit:
                junit.write_text(to_junit(run), encoding="utf-8")

        run = run_and_report(json_path, quiet, lambda progress: run_ci(settings, update_baseline, progress),
                             render_and_annotate, lambda r: r.to_json())
    raise typer.Exit(run.exit_code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
