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
from ..engine.verdict import CPU_SLOWER
from ..kinds import kind_for
from ..data.report import ProbeResult, Report
from .fit import print_code, print_table, print_wrapped
from .memory import render_memory, where_reference_ran

_STATUS_STYLE = {"ok": "green", "drift": "yellow", "error": "red", "nonfinite": "red", "unsupported": "magenta"}


MIB = 1024 * 1024


def _mib(size_bytes: float) -> str:
    return f"{size_bytes / MIB:,.1f}"


def _loads(report: Report) -> list[str]:
    """The dtypes whose loads were tabled: float32 (the reference) first."""
    return list(report.modules)


def module_table(report: Report) -> Table:
    """One row per module, one column per load: its size in MiB, and under it, in red, only the
    parameter dtypes that are not the load's (the uncast module); a clean load shows its size alone."""
    loads = _loads(report)
    rows_by_load = {dtype: {row.path: row for row in rows} for dtype, rows in report.modules.items()}
    paths = list(dict.fromkeys(row.path for rows in report.modules.values() for row in rows))
    quantized = [dtype for dtype in loads if is_quantized(dtype)]
    how = "torch_dtype" + (f"; {', '.join(quantized)} by quantization_config" if quantized else "")
    table = Table(title=f"Modules: MiB per load ({how})", title_justify="left")
    kept = list(dict.fromkeys(k for rows in report.modules.values() for row in rows for k in row.kept_in_fp32
                              if "." not in row.path))
    table.caption = f"float32 in {len(kept)} module(s) transformers keeps in float32 on purpose: {', '.join(kept)}" \
        if kept else None
    table.add_column("module", overflow="fold")
    table.add_column("class", overflow="fold")
    table.add_column("params", justify="right", no_wrap=True)
    for dtype in loads:
        table.add_column(dtype, justify="right")
    for path in paths:
        any_row = next(rows[path] for rows in rows_by_load.values() if path in rows)
        cells = []
        for dtype in loads:
            row = rows_by_load[dtype].get(path)
            if row is None:
                cells.append(Text("-"))
                continue
            cell = Text(_mib(row.size_mb * 1e6))
            if row.flagged:
                others = ", ".join(f"{name}: {n:,}" for name, n in row.param_dtypes.items() if name != dtype)
                cell.append(f"\nnot {dtype}: {others}", style="bold red")
            cells.append(cell)
        flagged = any(rows[path].flagged for rows in rows_by_load.values() if path in rows)
        table.add_row(Text("  " * path.count(".") + path), any_row.cls, f"{any_row.params:,}", *cells,
                      style="on grey23" if flagged else None)
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
    for column in ("dtype", "strategy", "status", "NaN/inf", *figures, "top-1", "s", "MiB"):
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
            _mib(r.param_bytes) if r.param_bytes else "-",
        )
    return table


def print_verdict(report: Report, console: Console) -> None:
    """Each dtype's verdict and what to do about it: nothing, the recommended fix, or keep float32."""
    for v in report.verdict.dtypes:
        mark = Text("PASS", style="green") if v.passed else Text("FAIL", style="red")
        best = report.recommended_fix(v.dtype)
        # --eval: the dtype's line is the probe figures'; a dtype that passes them but loses the metric says so.
        loses_metric = report.evaluation is not None and any(
            r.dtype == v.dtype and not r.passed for r in report.evaluation.results)
        if v.passed and loses_metric:
            todo = "but it loses your metric (eval below); " + (
                f"fix: {best.strategy} (verified on it too; code below)" if best is not None
                else "no verified fix: keep float32" if any(f.dtype == v.dtype for f in report.fixes)
                else "no verified fix in this report")
        elif v.passed and (v.cpu_time_ratio or 0) >= CPU_SLOWER:
            todo = "nothing to fix, but slower than float32 here: use it to save memory, not time"
        elif v.passed:
            todo = "nothing to do"
        elif best is not None:
            todo = f"fix: {best.strategy} (verified; code below)"
        elif any(f.dtype == v.dtype for f in report.fixes):
            todo = "no verified fix: keep float32"
        else:
            todo = "no verified fix in this report"
        print_wrapped(console, f"{v.dtype}: {v.summary}; {todo}", mark + Text(" "))
    if report.storage is not None:
        from .storage import print_storage_verdict

        print_storage_verdict(report.storage, console)
    if report.evaluation is not None:
        from .evaluation import print_evaluation_verdict

        print_evaluation_verdict(report.evaluation, report.verdict.failures, console)


def _item_text(text: str, document: str | None, room: int) -> str:
    """A text as JSON spells it (an empty one is "", a line break is \\n), clipped to `room`."""
    import json

    shown = json.dumps(text, ensure_ascii=False)
    if document is not None:
        shown += " -> " + json.dumps(document, ensure_ascii=False)
    return shown if len(shown) <= room else shown[:max(room - 3, 8)] + "..."


def print_moved(report: Report, console: Console, shown: int = 3) -> None:
    """Per dtype, its `shown` worst items and neighbour changes; the JSON holds them all (moved.py)."""
    kind = kind_for(report.model.kind)
    for dtype in report.settings.dtypes:
        runs = [r for r in report.results if r.dtype == dtype and r.per_item is not None and not r.same_as]
        if not runs:
            continue
        figures = runs[0].per_item
        named = "cosine" if figures.figure == "cosine" else "|score diff|"
        spread = ", ".join(f"{k} {v:.6g}" for k, v in figures.percentiles.items())
        print_wrapped(console, f"{dtype} {runs[0].strategy}, worst {kind.items_label} by {named} "
                               f"({spread}):", indent=4)
        for w in figures.worst[:shown]:
            value = w.cosine if figures.figure == "cosine" else w.score_diff
            tokens = "" if w.tokens is None else f"{w.tokens:,} tokens" + (" (cut)" if w.truncated else "") + ", "
            head = f"  {value:.6f}  #{w.item}, {tokens}"
            console.print(head + _item_text(w.text, w.document, console.width - len(head)),
                          highlight=False, markup=False, overflow="fold")
        if figures.neighbour_changes_total:
            label = "nearest neighbour" if figures.figure == "cosine" else "top"
            print_wrapped(console, f"{label} changed for {figures.neighbour_changes_total} of {figures.compared}:",
                          Text("  "), indent=4)
            for c in figures.neighbour_changes[:shown]:
                head = f"    #{c.item} "
                room = (console.width - len(head) - 12) // 3
                console.print(f"{head}{_item_text(c.text, None, room)} now #{c.now} "
                              f"{_item_text(c.now_text, None, room)}, was #{c.float32}",
                              highlight=False, markup=False, overflow="fold")


def truncation_line(report: Report) -> str | None:
    t = report.truncation
    if t is None or not t.items:
        return None
    label = kind_for(report.model.kind).items_label
    lengths = f"{t.longest:,}" if t.shortest_cut == t.longest else f"{t.shortest_cut:,} to {t.longest:,}"
    return (f"{t.items} of {report.settings.probe_items} probe {label} ({lengths} tokens) are longer than "
            f"the model's window: each was cut to {t.window} tokens, as the model cuts it in use; "
            f"every figure covers the cut text")


def render_terminal(report: Report, console: Console) -> None:
    m, env = report.model, report.environment
    print_wrapped(console, f"{m.name} ({m.kind}, {m.source}: {m.path})", indent=2)
    print_wrapped(console, f"torch {env.torch}, transformers {env.transformers}, sentence-transformers "
                           f"{env.sentence_transformers}, device {env.device}, default dtype {m.default_dtype}"
                           + (f", attention {m.attention}" if m.attention else ""), indent=2)
    # The verdict and what to do first: the tables below are its evidence.
    print_verdict(report, console)
    if truncation_line(report):
        print_wrapped(console, truncation_line(report), Text("note:", style="yellow") + Text(" "))
    print_table(console, results_table(report), key=2)
    if report.memory is not None and where_reference_ran(report.memory):
        print_wrapped(console, where_reference_ran(report.memory))
    for r in report.results:
        if r.error is not None:
            print_wrapped(console, _error_text(r), Text(f"  {r.dtype} {r.strategy}:", style="red") + Text(" "), indent=4)
    for r in report.results:
        if r.same_as:
            print_wrapped(console, f"{r.dtype} {r.strategy}: same weights as {r.same_as}; its figures, not encoded again",
                          Text("  "), indent=4)
        if r.topk_terms is not None and r.strategy == "load":
            t = r.topk_terms
            console.print(f"  {r.dtype} {r.strategy}: top terms of text {t.item} {t.text[:40]!r}: float32 "
                          f"{' '.join(t.float32)} | {r.dtype} {' '.join(t.candidate)}", highlight=False, markup=False)
    print_moved(report, console)
    if report.modules:
        print_table(console, module_table(report), key=2)
    if report.memory is not None:
        render_memory(report.memory, console, report.model.name)
    if report.storage is not None:
        from .storage import print_storage

        print_storage(report.storage, console)
    if report.evaluation is not None:
        from .evaluation import print_evaluation

        print_evaluation(report.evaluation, console)
    if report.headroom:
        print_table(console, headroom_chart(report, console.width))
    if report.diagnoses:
        console.print(diagnosis_panel(report))
    for dtype in dict.fromkeys(f.dtype for f in report.fixes):
        print_fix(report, dtype, console)
    if report.evaluation is not None:
        from .evaluation import print_scoring_remedy

        print_scoring_remedy(report.evaluation, console)
    for note in report.notes:
        print_wrapped(console, note, Text("note:", style="yellow") + Text(" "))
    if report.serving:
        print_serving(report, console)
    verdicts = ", ".join(f"{'PASS' if v.passed else 'FAIL'} {v.dtype}" for v in report.verdict.dtypes)
    console.print(f"Verdict (at the top): {verdicts}", highlight=False, markup=False)


def print_serving(report: Report, console: Console) -> None:
    console.print("[bold]Serving[/bold]: the dtype flag that matches what was verified (docs/serving.md)")
    for advice in report.serving:
        flag = advice.flag or "(no flag)"
        print_wrapped(console, advice.note, Text(f"  {advice.server} ") + Text(f"{flag}:", style="bold") + Text(" "),
                      indent=4)


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
