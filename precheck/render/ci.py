"""The terminal rendering of a CI run: model x dtype, status, figure, recommended fix."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..gate.ci import CiRun
from .scan import _STATUS_STYLE


def render_ci(run: CiRun, console: Console) -> None:
    table = Table(title=f"precheck ci ({escape(run.config.path.name)}, {len(run.runs)} models)", title_justify="left")
    for column in ("model", "dtype", "status", "min cos / Spearman", "top-1", "recommended fix", "baseline"):
        table.add_column(column, no_wrap=column in ("dtype", "status"))
    for model_run in run.runs:
        name = Text(model_run.config.name)
        if model_run.report is None:
            table.add_row(name, "-", Text("cannot run", style="magenta"), escape(model_run.error or ""), "", "", "")
            continue
        report = model_run.report
        for verdict in report.verdict.dtypes:
            result = report.result(verdict.dtype, "load")
            figure = result.spearman if result.spearman is not None else result.min_cosine
            best = report.recommended_fix(verdict.dtype)
            mine = [g for g in model_run.regressions if g.dtype == verdict.dtype]
            baseline = Text("; ".join(g.message.split(": ", 1)[1] for g in mine), style="red") if mine else \
                Text("ok" if run.baseline_found else "-", style="green" if run.baseline_found else "")
            table.add_row(
                name, verdict.dtype, Text(result.status, style=_STATUS_STYLE.get(result.status, "")),
                "-" if figure is None else f"{figure:.6f}",
                "-" if result.top1_agreement is None else f"{result.top1_agreement:.0%}",
                best.strategy if best else "-" if verdict.passed else
                "none verified" if model_run.config.fix else "not searched",
                baseline,
            )
    console.print(table)
    if run.baseline_updated:
        console.print(f"Baseline written to {escape(str(run.config.baseline))}", highlight=False)
    elif not run.baseline_found:
        console.print(f"No baseline at {escape(str(run.config.baseline))}: run with --update-baseline to record one",
                      highlight=False)
    mark = {0: "[green]PASS[/green]", 1: "[red]FAIL[/red]", 2: "[magenta]ERROR[/magenta]"}[run.exit_code]
    failing = [r.config.name for r in run.runs if not r.passed]
    console.print(f"{mark} {len(run.runs) - len(failing)} of {len(run.runs)} models pass"
                  + (f"; failing: {escape(', '.join(failing))}" if failing else ""), highlight=False)
