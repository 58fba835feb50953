"""The terminal rendering of a CI run: model x dtype, status, figure, recommended fix."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..gate.ci import CiRun
from .scan import _STATUS_STYLE


COLUMNS = ("model", "dtype", "status", "min cos / Spearman", "top-1", "recommended fix", "baseline")


def ci_rows(run: CiRun) -> list[tuple[str, ...]]:
    """The summary's cells as plain text, one row per model and dtype; the terminal table and
    the Markdown summary (`--summary`) draw the same rows. A model that could not run: status `cannot run`."""
    rows = []
    for model_run in run.runs:
        name = model_run.config.name
        if model_run.report is None:
            rows.append((name, "-", "cannot run", model_run.error or "", "", "", ""))
            continue
        report = model_run.report
        for verdict in report.verdict.dtypes:
            result = report.result(verdict.dtype, "load")
            figure = result.spearman if result.spearman is not None else result.min_cosine
            best = report.recommended_fix(verdict.dtype)
            mine = [g for g in model_run.regressions if g.dtype == verdict.dtype]
            baseline = "; ".join(g.message.split(": ", 1)[1] for g in mine) if mine else \
                "ok" if run.baseline_found else "-"
            rows.append((
                name, verdict.dtype, result.status,
                "-" if figure is None else f"{figure:.6f}",
                "-" if result.top1_agreement is None else f"{result.top1_agreement:.0%}",
                best.strategy if best else "-" if verdict.passed else
                "none verified" if model_run.config.fix else "not searched",
                baseline,
            ))
    return rows


def render_ci(run: CiRun, console: Console) -> None:
    table = Table(title=f"precheck ci ({run.config.path.name}, {len(run.runs)} models)", title_justify="left")
    for column in COLUMNS:
        table.add_column(column, no_wrap=column in ("dtype", "status"))
    for name, dtype, status, figure, top1, fix, baseline in ci_rows(run):
        if status == "cannot run":
            table.add_row(name, dtype, Text(status, style="magenta"), escape(figure), "", "", "")
            continue
        baseline_style = "green" if baseline == "ok" else "" if baseline == "-" else "red"
        table.add_row(name, dtype, Text(status, style=_STATUS_STYLE.get(status, "")), figure, top1, fix,
                      Text(baseline, style=baseline_style))
    console.print(table)
    if run.baseline_updated:
        console.print(f"Baseline written to {run.config.baseline}", highlight=False)
    elif not run.baseline_found:
        console.print(f"No baseline at {run.config.baseline}: run with --update-baseline to record one",
                      highlight=False)
    mark = {0: "[green]PASS[/green]", 1: "[red]FAIL[/red]", 2: "[magenta]ERROR[/magenta]"}[run.exit_code]
    console.print(f"{mark} {escape(outcome_line(run))}", highlight=False)


def outcome_line(run: CiRun) -> str:
    failing = [r.config.name for r in run.runs if not r.passed]
    return f"{len(run.runs) - len(failing)} of {len(run.runs)} models pass" + \
        (f"; failing: {', '.join(failing)}" if failing else "")
