"""The --storage figures drawn: one table row per model dtype × stored precision, and the gate's line.

Reads report.storage (precheck/engine/storage.py computed every figure); prints nothing else.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..engine.verdict import distinct, storage_figure_label, storage_gated_figure as gated_figure
from .fit import print_table


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def storage_table(storage) -> Table:
    table = Table(title=f"Storage: recall of float32's {storage.k} nearest neighbours among {storage.corpus} vectors",
                  title_justify="left")
    against = "original float" if storage.rescore_with == "original" else "stored"
    table.caption = (f"rs: the float query rescores {storage.rescore_multiplier}x{storage.k} candidates "
                     f"against their {against} vectors; "
                     f"rho: Spearman of similarities; gate: @10 rs (else @10) >= {storage.min_recall}")
    for column in ("model", "stored", "bytes", "@1", "@10", "@1 rs", "@10 rs", "rho", "gate"):
        table.add_column(column, justify="left" if column in ("model", "stored", "gate") else "right", no_wrap=True)
    for row in storage.results:
        table.add_row(row.model_dtype, row.precision, str(row.bytes_per_vector), _share(row.recall_at_1),
                      _share(row.recall_at_10), _share(row.recall_at_1_rescored), _share(row.recall_at_10_rescored),
                      f"{row.spearman:.4f}", Text("pass", style="green") if row.passed else Text("FAIL", style="red"))
    return table


def failing_lines(storage) -> list[str]:
    """One line per failing precision: its gated figure for each model dtype below the floor."""
    lines = []
    for precision in storage.precisions:
        failing = [r for r in storage.results if r.precision == precision and not r.passed]
        if failing:
            label = storage_figure_label(storage, failing[0])
            figures = ", ".join(f"{distinct(gated_figure(r), storage.min_recall)[0]} ({r.model_dtype} model)"
                                for r in failing)
            lines.append(f"{precision}: {label} {figures} < {storage.min_recall}")
    return lines


def print_storage(storage, console: Console) -> None:
    print_table(console, storage_table(storage), key=2)


def print_storage_verdict(storage, console: Console) -> None:
    if storage.passed:
        console.print(f"[green]PASS[/green] storage: every precision keeps recall@10 >= {storage.min_recall}",
                      highlight=False)
    for line in failing_lines(storage):
        console.print(Text.assemble(("FAIL", "red"), f" storage {line}"), highlight=False)
