"""--eval drawn: one table row per precision (the metric, its difference from float32 with its interval,
the queries that changed), the gate's lines, and each losing precision's worst queries.

Reads report.evaluation (precheck/evaluation/ computed every figure); prints nothing else.
"""
from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..data.evaluation import LABELS
from .fit import print_code, print_table, print_wrapped

SHOWN = 3  # worst queries shown per precision; the JSON holds up to evaluation/result.py's WORST


def figure_text(value, signed: bool = False) -> str:
    return "-" if value is None else (f"{value:+.4f}" if signed else f"{value:.4f}")


def evaluation_table(check) -> Table:
    label = LABELS.get(check.metric, check.metric)
    what = f"{check.items} queries x {check.corpus} documents" if check.layout == "beir" else f"{check.items} pairs"
    table = Table(title=f"Your metric: {label} on {what} ({check.source})", title_justify="left",
                  caption_justify="left")
    table.caption = (f"interval: {check.confidence:.0%} paired bootstrap of the difference over the "
                     f"{'queries' if check.layout == 'beir' else 'pairs'}, {check.resamples} resamples, seed "
                     f"{check.seed}; gate: drop <= {check.max_metric_drop:g}")
    columns = ["precision", label, "diff", "interval", "changed (worse)"]
    if check.layout == "beir":
        columns += ["MRR@10", "R@100"]
    for column in [*columns, "gate"]:
        table.add_column(column, justify="left" if column in ("precision", "gate", "interval") else "right",
                         no_wrap=True)
    for row in check.results:
        interval = "-" if row.interval is None else f"{row.interval[0]:+.4f} .. {row.interval[1]:+.4f}"
        cells = [row.dtype, figure_text(row.metric), figure_text(row.difference, signed=True), interval,
                 "-" if row.dtype == "float32" else f"{row.changed} ({row.worse})"]
        if check.layout == "beir":
            cells += [figure_text(row.secondary.get("mrr@10")), figure_text(row.secondary.get("recall@100"))]
        gate = Text("pass", style="green") if row.passed else Text("FAIL", style="red")
        table.add_row(*cells, gate)
    return table


def _quoted(text: str | None, room: int) -> str:
    shown = json.dumps(text or "", ensure_ascii=False)
    return shown if len(shown) <= room else shown[:max(room - 3, 8)] + "..."


def print_worst(check, console: Console) -> None:
    """Each precision's worst queries (pairs), the figure in float32 and now, with their texts."""
    figure = "nDCG@10" if check.layout == "beir" else "rank error"
    for row in check.results:
        if not row.worst:
            continue
        print_wrapped(console, f"{row.dtype}, worst {'queries' if check.layout == 'beir' else 'pairs'} by "
                               f"{figure} (float32 -> {row.dtype}):", indent=4)
        for item in row.worst[:SHOWN]:
            head = f"  {item.float32:.4g} -> {item.value:.4g}  {item.id} "
            room = console.width - len(head)
            if check.layout == "beir":
                now = "nothing" if item.top is None else f"{item.top} {_quoted(item.top_text, room // 2)}"
                body = f"{_quoted(item.text, room // 2)}: first {now}, float32's first {item.float32_top}"
            else:
                body = f"{_quoted(item.text, room // 2)} / {_quoted(item.other, room // 2)}"
            console.print(head + body, highlight=False, markup=False, overflow="fold")


def print_evaluation(check, console: Console) -> None:
    print_table(console, evaluation_table(check), key=2)
    print_worst(check, console)


def print_evaluation_verdict(check, failures: list[str], console: Console) -> None:
    label = LABELS.get(check.metric, check.metric)
    if check.passed:
        reference = next((r.metric for r in check.results if r.dtype == "float32"), None)
        console.print(f"[green]PASS[/green] eval: every precision keeps {label} within {check.max_metric_drop:g} "
                      f"of float32's {figure_text(reference)}", highlight=False)
    for line in failures:
        if line.startswith("eval "):
            print_wrapped(console, line, Text("FAIL", style="red") + Text(" "))


def print_scoring_remedy(check, console: Console) -> None:
    """The remedy of a scoring-precision diagnosis (its figures are in the diagnosis panel), in code, once."""
    rows = [r for r in check.results if r.scoring is not None and r.scoring.snippet]
    if rows:
        print_wrapped(console, f"{', '.join(r.dtype for r in rows)}: {rows[0].scoring.remedy}",
                      Text("scoring-precision remedy:", style="yellow") + Text(" "))
        print_code(console, "Score in float32:", rows[0].scoring.snippet)
