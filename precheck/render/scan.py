"""The terminal rendering of a Report: module tables, results, verdicts.

Reads the report and draws it; every figure shown was computed by the core.
"""
from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..report import ModuleRow, ProbeResult, Report

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
    what = "pairs" if report.model.kind == "cross-encoder" else "texts"
    # Ranked scores (cross-encoders, sparse encoders) carry Spearman; embeddings carry cosines.
    cross = any(r.spearman is not None for r in report.results)
    sparse = any(r.topk_overlap is not None for r in report.results)
    table = Table(title=f"Test runs against float32 ({report.settings.probe_items} {what})", title_justify="left")
    figures = ("Spearman", "max |diff|") if cross else ("min cos", "mean cos")
    figures += ("top-k kept", "active dims change") if sparse else ()
    for column in ("dtype", "strategy", "status", "non-finite", *figures, "top-1", "s", "MB"):
        table.add_column(column, justify="left" if column in ("dtype", "strategy", "status") else "right", no_wrap=True)
    for r in report.results:
        table.add_row(
            r.dtype,
            r.strategy,
            Text(r.status, style=_STATUS_STYLE.get(r.status, "")),
            str(r.nonfinite) if r.nonfinite else "",
            *((_figure(r.spearman, ".4f"), _figure(r.max_abs_diff, ".2e")) if cross
              else (_figure(r.min_cosine, ".6f"), _figure(r.mean_cosine, ".6f"))),
            *((_figure(r.topk_overlap, ".0%"), _figure(r.active_dims_change, ".1%")) if sparse else ()),
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
        if r.topk_terms is not None and r.strategy == "load":
            t = r.topk_terms
            console.print(f"  {r.dtype} {r.strategy}: top terms of text {t.item} {t.text[:40]!r}: float32 "
                          f"{' '.join(t.float32)} | {r.dtype} {' '.join(t.candidate)}", highlight=False, markup=False)
    if report.headroom:
        console.print(headroom_chart(report))
    if report.diagnoses:
        console.print(diagnosis_panel(report))
    for dtype in dict.fromkeys(f.dtype for f in report.fixes):
        console.print(fix_panel(report, dtype))
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for v in report.verdict.dtypes:
        mark = "[green]PASS[/green]" if v.passed else "[red]FAIL[/red]"
        best = report.recommended_fix(v.dtype)
        fix = f" -> fix: {best.strategy}" if best is not None else ""
        console.print(f"{mark} {v.dtype}: {escape(v.summary)}{fix}", highlight=False)


def _bar(fraction: float, width: int = 30) -> str:
    """log10 scale from 1 to 65504: float16's whole positive range in one bar."""
    import math

    if fraction <= 0:
        return ""
    filled = max(0.0, min(1.0, math.log10(max(fraction * 65504.0, 1.0)) / math.log10(65504.0)))
    return "█" * round(filled * width)


def headroom_chart(report: Report) -> Table:
    table = Table(title="Headroom: largest |activation| in float32 against float16's 65504 (log scale)",
                  title_justify="left")
    for column in ("block", "class", "max |x|", "of fp16 max", ""):
        table.add_column(column, justify="right" if column in ("max |x|", "of fp16 max") else "left", no_wrap=True)
    # Layer parts only when they come near the edge: a 24-layer model would fill the screen.
    shown = [h for h in report.headroom if h.kind != "part" or h.fp16_fraction >= 0.01]
    for h in shown:
        style = "red" if h.fp16_fraction >= 1 else "yellow" if h.fp16_fraction >= 0.1 else "green"
        table.add_row(h.module, h.cls, f"{h.max_abs:,.1f}", f"{100 * h.fp16_fraction:.2g}%", Text(_bar(h.fp16_fraction), style=style))
    return table


def diagnosis_panel(report: Report) -> Panel:
    lines = []
    for d in report.diagnoses:
        lines.append(f"[bold]{d.dtype} {d.strategy}[/bold]: [red]{d.cause}[/red] at [cyan]{d.module or '-'}[/cyan]")
        lines.append(f"  {escape(d.detail)}")
        if d.producer and d.producer != d.module:
            lines.append(f"  float32 appears at: [cyan]{d.producer}[/cyan]")
    return Panel("\n".join(lines), title="Diagnosis", title_align="left")


def fix_panel(report: Report, dtype: str) -> Panel:
    fixes = [f for f in report.fixes if f.dtype == dtype]
    lines = []
    for f in fixes:
        mark = "[green]passes[/green]" if f.verified else "[red]fails[/red]"
        star = " [bold](recommended)[/bold]" if f.recommended else ""
        lines.append(f"{f.strategy:<10} {mark}{star}: {escape(f.detail)}")
    body = Group(Text.from_markup("\n".join(lines)))
    best = report.recommended_fix(dtype)
    if best is not None:
        body = Group(
            Text.from_markup("\n".join(lines)),
            Text("\nWith sentence-transformers alone:", style="bold"),
            Syntax(best.snippet, "python", theme="ansi_dark", background_color="default"),
            Text("With precheck:", style="bold"),
            Syntax(best.precheck_snippet, "python", theme="ansi_dark", background_color="default"),
        )
    else:
        body = Group(Text.from_markup("\n".join(lines)), Text("\nNo verified fix: keep float32 for this model.", style="bold red"))
    return Panel(body, title=f"Fix for {dtype}", title_align="left")


def render_fix_outcome(outcome, console: Console) -> None:
    render_terminal(outcome.report, console)
    if outcome.plan is None:
        console.print("[red]No verified fix[/red]: nothing was written.")
    elif outcome.check is not None and outcome.check.status == "ok":
        console.print(
            f"[green]Wrote {outcome.out}[/green] (plan: {outcome.plan.strategy}"
            f"{' ' + ', '.join(outcome.plan.keep_fp32) if outcome.plan.keep_fp32 else ''}); reloaded it with "
            f"precheck.load: {outcome.check.headline()} against float32.",
            highlight=False,
        )
    else:
        status = outcome.check.status if outcome.check else "not checked"
        console.print(f"[red]Wrote {outcome.out}, but reloading it gave {status}[/red]", highlight=False)
