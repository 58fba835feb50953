"""The terminal rendering of a Report: module tables, results, verdicts.

Reads the report and draws it; every figure shown was computed by the core.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .report import ModuleRow, ProbeResult, Report

_STATUS_STYLE = {"ok": "green", "drift": "yellow", "error": "red", "nonfinite": "red", "unsupported": "magenta"}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n:,}" for name, n in counts.items()) or "-"


def module_table(dtype: str, rows: list[ModuleRow]) -> Table:
    title = "float32 reference" if dtype == "float32" else f"loaded with torch_dtype={dtype}"
    table = Table(title=f"Modules, {title}", title_justify="left")
    for column in ("module", "class", "params", "param dtypes", "buffer dtypes", "MB", ""):
        table.add_column(column, justify="right" if column in ("params", "MB") else "left", no_wrap=column != "module")
    for row in rows:
        depth = row.path.count(".")
        flag = Text(f"not {dtype}", style="bold red") if row.flagged else Text("")
        table.add_row(
            "  " * depth + row.path,
            row.cls,
            f"{row.params:,}",
            _counts(row.param_dtypes),
            _counts(row.buffer_dtypes),
            f"{row.size_mb:.1f}",
            flag,
            style="on grey23" if row.flagged else None,
        )
    return table


def _figure(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _error_text(result: ProbeResult) -> str:
    first = result.error.message.splitlines()[0] if result.error and result.error.message else ""
    return f"{result.error.type}: {first}" if result.error else ""


def results_table(report: Report) -> Table:
    table = Table(title=f"Test encodes against float32 ({report.settings.probe_texts} texts)", title_justify="left")
    for column in ("dtype", "strategy", "status", "non-finite", "min cos", "mean cos", "top-1", "s", "MB"):
        table.add_column(column, justify="left" if column in ("dtype", "strategy", "status") else "right", no_wrap=True)
    for r in report.results:
        table.add_row(
            r.dtype,
            r.strategy,
            Text(r.status, style=_STATUS_STYLE.get(r.status, "")),
            str(r.nonfinite) if r.nonfinite else "",
            _figure(r.min_cosine, ".6f"),
            _figure(r.mean_cosine, ".6f"),
            _figure(r.top1_agreement, ".0%"),
            _figure(r.seconds, ".2f"),
            _figure(r.param_bytes / 1e6 if r.param_bytes else None, ".1f"),
        )
    return table


def render_terminal(report: Report, console: Console) -> None:
    m, env = report.model, report.environment
    console.print(
        f"[bold]{m.name}[/bold] ({m.kind}, {m.source}: {m.path})\n"
        f"torch {env.torch}, transformers {env.transformers}, sentence-transformers "
        f"{env.sentence_transformers}, device {env.device}"
    )
    for dtype, rows in report.modules.items():
        console.print(module_table(dtype, rows))
    console.print(results_table(report))
    for r in report.results:
        if r.error is not None:
            console.print(f"  [red]{r.dtype} {r.strategy}:[/red] {_error_text(r)}", highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for v in report.verdict.dtypes:
        mark = "[green]PASS[/green]" if v.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {v.dtype}: {v.summary}", highlight=False)
