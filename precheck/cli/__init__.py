"""precheck's command line: one module per command, wired here; _common.py holds the shared
option aliases and the single error boundary (exit 0 pass, 1 fail, 2 cannot run)."""
from __future__ import annotations

import typer

from ._common import OneLineErrors, exit_without_teardown
from .ci import ci
from .fix import fix
from .merge import merge
from .scan import scan
from .train_check import train_check

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
    try:
        app()
    except SystemExit as done:
        exit_without_teardown(done.code)
