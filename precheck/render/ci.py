"""The terminal rendering of a CI run: model x dtype, status, figure, recommended fix."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..engine.verdict import overview_cases
from ..data.ci import CiRun
from ..kinds import kind_for
from ..words import count, passing
from .fit import fits, print_table
from .scan import _STATUS_STYLE

_FIGURE_NOTE = "figure: min cosine (embedders) or Spearman (cross-encoders) against float32"


def _rows(run: CiRun) -> list[tuple[str, list]]:
    """(model name, cells) per model and dtype; the baseline cell only when a baseline was read."""
    rows = []
    show_baseline = run.baseline_found or any(r.regressions for r in run.runs)
    for model_run in run.runs:
        name = model_run.config.name
        if model_run.report is None:
            cells = ["-", Text("cannot run", style="magenta"), "-", "-", "-"]
            rows.append((name, cells + ([""] if show_baseline else [])))
            continue
        report = model_run.report
        for case in overview_cases(report, model_run.regressions):
            if not case.is_dtype:  # a failing gate beside the dtypes: its line is printed under the grid
                cells = [case.name, Text("FAIL", style="red"), "-", "-", "-"]
                rows.append((name, cells + (["-"] if show_baseline else [])))
                continue
            result = report.result(case.dtype, "load")
            figure = kind_for(report.model.kind).headline_value(result)
            best = report.recommended_fix(case.dtype)
            cells = [
                case.dtype, Text(case.status, style=_STATUS_STYLE.get(case.status, "red")),
                "-" if figure is None else f"{figure:.6f}",
                "-" if result.top1_agreement is None else f"{result.top1_agreement:.0%}",
                best.strategy if best else "-" if case.dtype_passed else
                "none verified" if model_run.config.fix else "not searched",
            ]
            if show_baseline:
                cells.append(Text("; ".join(m.split(": ", 1)[1] for m in case.regressions), style="red")
                             if case.regressions else
                             Text("ok" if run.baseline_found else "-", style="green" if run.baseline_found else ""))
            rows.append((name, cells))
    return rows


def _grid(rows: list[tuple[str, list]], with_model: bool, title: str | None) -> Table:
    table = Table(title=title, title_justify="left")
    headers = ["dtype", "status", "figure", "top-1", "fix", "baseline"][:len(rows[0][1]) if rows else 5]
    # A model name is a path or hub id: printed whole in the grid, or as a heading above its own rows.
    for column in (["model"] if with_model else []) + headers:
        table.add_column(column, no_wrap=column not in ("fix", "baseline"),
                         justify="right" if column in ("figure", "top-1") else "left")
    for name, cells in rows:
        table.add_row(*([escape(name)] if with_model else []), *cells)
    return table


def render_ci(run: CiRun, console: Console) -> None:
    title = f"precheck ci ({run.config.path.name}, {count(len(run.runs), 'model')})"
    rows = _rows(run)
    grid = _grid(rows, True, title)
    if fits(grid, console):
        console.print(grid)
    else:
        # Too narrow for long names beside the figures (a CI log's 80 columns): one block per model.
        console.print(title, highlight=False, markup=False)
        for name in dict.fromkeys(name for name, _ in rows):
            console.print(Text(name, style="bold"))
            print_table(console, _grid([r for r in rows if r[0] == name], False, None))
    console.print(_FIGURE_NOTE, style="dim", highlight=False)
    for model_run in run.runs:
        if model_run.report is None:
            # Under the figures: a long message in the grid would push them out of the line.
            console.print(f"  [magenta]{escape(model_run.config.name)}:[/magenta] {escape(model_run.error or '')}",
                          highlight=False)
    for model_run in run.runs:
        if model_run.report is not None and model_run.report.storage is not None:
            from .storage import failing_lines

            for line in failing_lines(model_run.report.storage):  # --storage: docs/storage.md
                console.print(f"  [red]{escape(model_run.config.name)}: storage[/red] {escape(line)}", highlight=False)
    if run.baseline_updated:
        console.print(f"Baseline written to {escape(str(run.config.baseline))}", highlight=False)
    elif run.update_requested:
        unscanned = sum(r.report is None for r in run.runs)
        console.print(f"Baseline not written: {unscanned} model(s) could not be scanned, and a baseline records "
                      "every model (fix them, then rerun with --update-baseline)", highlight=False)
    elif not run.baseline_found:
        console.print(f"No baseline at {escape(str(run.config.baseline))}: run with --update-baseline to record one",
                      highlight=False)
    mark = {0: "[green]PASS[/green]", 1: "[red]FAIL[/red]", 2: "[magenta]ERROR[/magenta]"}[run.exit_code]
    failing = [r.config.name for r in run.runs if not r.passed]
    console.print(f"{mark} {passing(len(run.runs) - len(failing), len(run.runs))}"
                  + (f"; failing: {escape(', '.join(failing))}" if failing else ""), highlight=False)
