"""What every command shares: its own option aliases, the consoles, and the report path
(run the core with progress, write the JSON and files, render the view). The error boundary
is cli/_errors.py; progress cli/_progress.py; the scan options precheck/options.py.
"""
from __future__ import annotations

import errno
import os
from typing import Annotated, Optional

import typer

from ..io.inputs import Input, model_inputs, option_inputs  # noqa: F401 - shared by the commands
from ..io.outputs import Output, check_outputs, goes_to_stdout, write_file  # noqa: F401 - shared by the commands
from ._progress import progress_display

# The scan options (dtype, device, thresholds, loading, memory) come from precheck/options.py
# through cli/_options.py; these are the commands' own.
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")]
ModelArgument = Annotated[str, typer.Argument(help="Local folder, or hub id (cached, or downloaded when online).")]
JsonOption = Annotated[Optional[str], typer.Option("--json", help="Write the result as JSON to PATH (- for stdout).")]
HtmlOption = Annotated[Optional[str], typer.Option(
    "--html", help="Write a self-contained HTML page (verdict, tables, plots; fetches nothing when viewed) to PATH; "
                   "needs the html extra.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite files (and for fix, a non-empty --out) precheck would otherwise refuse to.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress (and no tables when --json is given).")]


def write_json(path: str, text: str, force: bool = True) -> None:
    write_file(path, text + "\n", force, "--json")  # "-" is stdout


MIN_WIDTH = 20  # narrower (COLUMNS=0) and rich draws nothing at all, not even the verdict


def make_console(stderr: bool = False, quiet: bool = False):
    """A rich console for the view or progress, at 80 columns when the width it finds is unusable."""
    from rich.console import Console

    class OneLineOnBrokenPipe(Console):
        def on_broken_pipe(self) -> None:
            # rich's own exits 1, the "model fails" code: the error boundary says it in one line, exit 2.
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    console = OneLineOnBrokenPipe(stderr=stderr, quiet=quiet)
    if console.width < MIN_WIDTH:
        console = OneLineOnBrokenPipe(stderr=stderr, quiet=quiet, width=80)
    return console


def _consoles(json_path: str | None, quiet: bool, also: tuple = ()):
    """The report view goes to stdout, unless an output (the JSON, or one of `also`) goes there;
    progress goes to stderr."""
    view = make_console(any(goes_to_stdout(path) for path in (json_path, *also)), quiet and json_path is not None)
    return view, make_console(True, quiet)


def run_and_report(json_path: str | None, quiet: bool, work, render, force: bool = True, files=(), also: tuple = ()):
    """Run the core with a progress display, write the JSON and the `files` ((Output, Format), e.g.
    --junit), render the result; return the result. The files come first: a view that fails cannot
    lose them. `force` False: each file is created exclusively (a concurrent run that wrote it first
    wins), unless its Output is replaced by design. The JSON, a file or one of `also` (outputs written
    later, such as --summary) on stdout ("-") sends the view to stderr."""
    from ..data.json import JSON

    view, status_console = _consoles(json_path, quiet, (*also, *(output.path for output, _ in files)))
    with progress_display(status_console, quiet) as progress:
        result = work(progress)
    if json_path:
        write_json(json_path, JSON.format(result), force)
    for output, output_format in files:
        if output.path:
            write_file(output.path, output_format.format(result), force or output.replaced, output.option)
    render(result, view)
    return result
