"""The terminal rendering of a Report: module tables, results, verdicts.

Reads the report and draws it; every figure shown was computed by the core.
"""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..dtypes import is_quantized
from ..kinds import kind_for
from ..report import ModuleRow, ProbeResult, Report
from .fit import print_code, print_table
from .memory import where_reference_ran

_STATUS_STYLE = {"ok": "green", "drift": "yellow", "error": "red", "nonfinite": "red", "unsupported": "magenta"}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n:,}" for name, n in counts.items()) or "-"


def module_table(dtype: str, rows: list[ModuleRow]) -> Table:
    title = "float32 reference" if dtype == "float32" else f"loaded as {dtype} (quantization_config)" \
        if is_quantized(dtype) else f"loaded with torch_dtype={dtype}"
    table = Table(title=f"Modules, {title}", title_justify="left")
    kept = [k for row in rows for k in row.kept_in_fp32 if "." not in row.path]
    table.caption = f"float32 in {len(kept)} module(s) transformers keeps in float32 on purpose: {', '.join(kept)}" if kept else None
    # No params column: the dtype counts add up to it, and at 80 columns it pushed the module out.
    # Names fold and dtype lists wrap between entries, so every count and path stays whole.
    table.add_column("module", overflow="fold")
    table.add_column("class", overflow="fold")
    table.add_column("param dtypes")
    table.add_column("buffer dtypes")
    table.add_column("MB", justify="right", no_wrap=True)
    table.add_column("")
    for row in rows:
        depth = row.path.count(".")
        flag = Text(f"not {dtype}", style="bold red") if row.flagged else Text("")
        table.add_row(
            Text("  " * depth + row.path),
            row.cls,
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
    kind = kind_for(report.model.kind)
    # The kind says which figures its runs carry (kinds/protocol.py): cosines, scores, terms.
    cosines, cross, sparse = ("cosine" in kind.figures, "score" in kind.figures, "terms" in kind.figures)
    table = Table(title=f"Test runs against float32 ({report.settings.probe_items} {kind.items_label})",
                  title_justify="left")
    figures = ("min cos", "mean cos") if cosines else ()
    figures += ("Spearman", "max |diff|") if cross else ()
    figures += ("top-k kept", "active dims change") if sparse else ()
    for column in ("dtype", "strategy", "status", "NaN/inf", *figures, "top-1", "s", "MB"):
        table.add_column(column, justify="left" if column in ("dtype", "strategy", "status") else "right", no_wrap=True)
    for r in report.results:
        table.add_row(
            r.dtype,
            r.strategy,
            Text(r.status, style=_STATUS_STYLE.get(r.status, "")),
            str(r.nonfinite) if r.nonfinite else "",
            *((_figure(r.min_cosine, ".6f"), _figure(r.mean_cosine, ".6f")) if cosines else ()),
            *((_figure(r.spearman, ".4f"), _figure(r.max_abs_diff, ".2e")) if cross else ()),
            *((_figure(r.topk_overlap, ".0%"), _figure(r.active_dims_change, ".1%")) if sparse else ()),
            _figure(r.top1_agreement, ".0%"),
            f"= {r.same_as}" if r.same_as else _figure(r.seconds, ".2f"),
            _figure(r.param_bytes / 1e6 if r.param_bytes else None, ".1f"),
        )
    return table


def render_terminal(report: Report, console: Console) -> None:
    m, env = report.model, report.environment
    console.print(
        f"[bold]{escape(m.name)}[/bold] ({m.kind}, {m.source}: {escape(m.path)})\n"
        f"torch {env.torch}, transformers {env.transformers}, sentence-transformers "
        f"{env.sentence_transformers}, device {env.device}, default dtype {m.default_dtype}"
        + (f", attention {m.attention}" if m.attention else "")
    )
    for dtype, rows in report.modules.items():
        print_table(console, module_table(dtype, rows))
    print_table(console, results_table(report), key=2)
    if report.memory is not None and where_reference_ran(report.memory):
        console.print(escape(where_reference_ran(report.memory)), highlight=False)
    for r in report.results:
        if r.error is not None:
            console.print(f"  [red]{r.dtype} {r.strategy}:[/red] {escape(_error_text(r))}", highlight=False)
    for r in report.results:
        if r.same_as:
            console.print(f"  {r.dtype} {r.strategy}: same weights as {r.same_as}; its figures, not encoded again",
                          highlight=False)
        if r.topk_terms is not None and r.strategy == "load":
            t = r.topk_terms
            console.print(f"  {r.dtype} {r.strategy}: top terms of text {t.item} {t.text[:40]!r}: float32 "
                          f"{' '.join(t.float32)} | {r.dtype} {' '.join(t.candidate)}", highlight=False, markup=False)
    if report.storage is not None:
        from .storage import print_storage

        print_storage(report.storage, console)
    if report.headroom:
        print_table(console, headroom_chart(report, console.width))
    if report.diagnoses:
        console.print(diagnosis_panel(report))
    for dtype in dict.fromkeys(f.dtype for f in report.fixes):
        print_fix(report, dtype, console)
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if report.serving:
        print_serving(report, console)
    for v in report.verdict.dtypes:
        mark = "[green]PASS[/green]" if v.passed else "[red]FAIL[/red]"
        best = report.recommended_fix(v.dtype)
        fix = f" -> fix: {best.strategy}" if best is not None else ""
        console.print(f"{mark} {v.dtype}: {escape(v.summary)}{fix}", highlight=False)
    if report.storage is not None:
        from .storage import print_storage_verdict

        print_storage_verdict(report.storage, console)


def print_serving(report: Report, console: Console) -> None:
    console.print("[bold]Serving[/bold]: the dtype flag that matches what was verified (docs/serving.md)")
    for advice in report.serving:
        flag = advice.flag or "(no flag)"
        console.print(f"  {advice.server} [bold]{flag}[/bold]: {escape(advice.note)}", highlight=False)


def _bar(fraction: float, width: int) -> str:
    """log10 scale from 1 to 65504: float16's whole positive range in one bar."""
    import math

    if fraction <= 0:
        return ""
    filled = max(0.0, min(1.0, math.log10(max(fraction * 65504.0, 1.0)) / math.log10(65504.0)))
    return "█" * round(filled * width)


def headroom_chart(report: Report, width: int = 120) -> Table:
    table = Table(title="Headroom: largest |activation| in float32 vs float16's 65504 (log scale)",
                  title_justify="left")
    # Path and class share one cell that wraps between them: the path stays on one line.
    table.add_column("block (class)", overflow="fold")
    table.add_column("max |x|", justify="right", no_wrap=True)
    table.add_column("of fp16", justify="right", no_wrap=True)
    # Layer parts only when they come near the edge: a 24-layer model would fill the screen.
    shown = [h for h in report.headroom if h.kind != "part" or h.fp16_fraction >= 0.01]
    cells = [(f"{h.max_abs:,.1f}", f"{100 * h.fp16_fraction:.2g}%") for h in shown]
    # The bar is a picture of the figure beside it: it gets the room that the figures, paths
    # and classes leave, or goes.
    widest = [max((len(c) for c in column), default=0) for column in
              ([h.module for h in shown], [f"{h.module} {h.cls}" for h in shown], [a for a, _ in cells],
               [b for _, b in cells])]
    figures = 5 + 4 * 2 + max(widest[2], 7) + max(widest[3], 7)
    bar_width = min(30, width - figures - max(widest[1], 13))
    if bar_width < 6:  # let the longest class names wrap under their paths rather than lose the bar
        bar_width = min(30, width - figures - max(widest[0], 13))
    if bar_width >= 6:
        table.add_column("", no_wrap=True, width=bar_width)
    for h, (max_abs, fraction) in zip(shown, cells):
        style = "red" if h.fp16_fraction >= 1 else "yellow" if h.fp16_fraction >= 0.1 else "green"
        bar = [Text(_bar(h.fp16_fraction, bar_width), style=style)] if bar_width >= 6 else []
        table.add_row(Text(h.module) + Text(f" {h.cls}", style="dim"), max_abs, fraction, *bar)
    return table


def diagnosis_panel(report: Report) -> Panel:
    lines = []
    for d in report.diagnoses:
        lines.append(f"[bold]{d.dtype} {d.strategy}[/bold]: [red]{escape(d.cause)}[/red] at [cyan]{escape(d.module or '-')}[/cyan]")
        lines.append(f"  {escape(d.detail)}")
        if d.producer and d.producer != d.module:
            lines.append(f"  float32 appears at: [cyan]{escape(d.producer)}[/cyan]")
    return Panel("\n".join(lines), title="Diagnosis", title_align="left")


def fix_panel(report: Report, dtype: str) -> Panel:
    lines = []
    for f in (f for f in report.fixes if f.dtype == dtype):
        mark = "[green]passes[/green]" if f.verified else "[dim]not tried[/dim]" if f.status == "not-tried" \
            else "[red]no plan found[/red]" if f.status == "no-plan" else "[red]fails[/red]"
        star = " [bold](recommended)[/bold]" if f.recommended else ""
        detail = f.detail.removeprefix("not tried: ") if f.status == "not-tried" else f.detail
        lines.append(f"{f.strategy:<10} {mark}{star}: {escape(detail)}")
    if report.recommended_fix(dtype) is None:
        lines.append("\n[bold red]No verified fix: keep float32 for this model.[/bold red]")
    return Panel(Text.from_markup("\n".join(lines)), title=f"Fix for {dtype}", title_align="left")


def print_fix(report: Report, dtype: str, console: Console) -> None:
    """The fix panel, then its code outside any frame: snippets are copied, so no line is cut or wrapped."""
    console.print(fix_panel(report, dtype))
    best = report.recommended_fix(dtype)
    if best is None:
        return
    print_code(console, "With sentence-transformers alone:", best.snippet)
    print_code(console, "With precheck:", best.precheck_snippet)


def render_fix_outcome(outcome, console: Console) -> None:
    render_terminal(outcome.report, console)
    if outcome.plan is None:
        console.print("[red]No verified fix[/red]: nothing was written.")
    elif outcome.check is not None and outcome.check.status == "ok":
        kept = outcome.plan.keep_fp32 + outcome.plan.keep_unquantized
        console.print(
            f"[green]Wrote {escape(str(outcome.out))}[/green] (plan: {outcome.plan.strategy}"
            f"{' ' + ', '.join(kept) if kept else ''}); reloaded it with "
            f"precheck.load: {kind_for(outcome.report.model.kind).headline(outcome.check)} against float32.",
            highlight=False,
        )
    else:
        status = outcome.check.status if outcome.check else "not checked"
        console.print(f"[red]Reloading the fixed model gave {status}: nothing was written[/red]", highlight=False)
