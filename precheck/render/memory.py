"""The memory plan as a small table: in the scan view after the verdict, and alone with --plan-only."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..loading.memory_plan import gib
from ..data.report import MemoryPlan

_RUN_LABEL = {"reference": "float32 reference", "load": "{dtype} (load)", "cast": "{dtype} (cast)"}


def render_memory(plan: MemoryPlan, console: Console, model_name: str) -> None:
    count = f"{plan.parameters:,} parameters" if plan.parameters is not None else "parameters unknown until loaded"
    table = Table(title=f"Memory plan: {escape(model_name)} ({plan.weights}, {count})", title_justify="left")
    for column in ("run", "parameter bytes", "goes to"):
        table.add_column(column, justify="right" if column == "parameter bytes" else "left")
    for run in plan.runs:
        peak = " (peak)" if run.run == "cast" else ""
        where = run.placement + (f": {run.detail}" if run.detail else "")
        table.add_row(_RUN_LABEL[run.run].format(dtype=run.dtype), gib(run.bytes) + peak, escape(where))
    console.print(table)
    budget = ", ".join(f"{name} {gib(size)}" for name, size in plan.budget.items())
    console.print(f"Free on {plan.device}: {gib(plan.free_bytes)}; float32 reference budget: {budget}", highlight=False)
    for note in plan.notes:
        console.print(f"Note: {escape(note)}", highlight=False)


def where_reference_ran(plan: MemoryPlan) -> str | None:
    """One line for the scan's view when the float32 reference did not run on the scan's device."""
    reference = plan.runs[0]
    if reference.placement == plan.device:
        return None
    detail = f" ({reference.detail})" if reference.detail else ""
    return f"float32 reference ran on: {reference.placement}{detail}; the {plan.device} runs stayed on {plan.device}"
