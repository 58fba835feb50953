"""The terminal rendering of a TrainReport: one row per mode, the verdict, the recommendation."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..data.training import TrainReport
from .fit import print_code, print_table


def _loss(values) -> str:
    shown = [v for v in values if v is not None]
    if not shown:
        return "-"
    return f"{shown[0]:.4f} -> {shown[-1]:.4f}" if len(shown) > 1 else f"{shown[0]:.4f}"


def render_train_report(report: TrainReport, console: Console) -> None:
    m, env, s = report.model, report.environment, report.settings
    console.print(
        f"[bold]{escape(m.name)}[/bold] ({m.kind}), {s['steps']} steps, batch {s['batch_size']}, lr {s['lr']}, "
        f"{s['pairs']} pairs; torch {env.torch}, sentence-transformers {env.sentence_transformers}, "
        f"device {env.device}",
        highlight=False,
    )
    table = Table(title="Short fine-tune per precision mode", title_justify="left")
    for column in ("mode", "weights", "compute", "loss first -> last", "first non-finite", "predictions",
                   "|diff| vs fp32", "s/step", "MB", "status", "loss/fp32", "rho/fp32"):
        table.add_column(column, no_wrap=column not in ("first non-finite", "loss first -> last"))
    for r in report.modes:
        if r.error is not None:
            bad = Text(f"{r.error.type}: {r.error.message.splitlines()[0] if r.error.message else ''}", style="magenta")
        elif r.first_nonfinite is not None:
            where = f" {r.first_nonfinite.parameter}" if r.first_nonfinite.parameter else ""
            bad = Text(f"step {r.first_nonfinite.step}: {r.first_nonfinite.what}{where}", style="red")
        else:
            bad = Text("-", style="green")
        predictions = "-" if r.predictions_finite is None else ("finite" if r.predictions_finite else "NaN/inf")
        table.add_row(
            r.mode, r.weights_dtype, r.compute_dtype, _loss(r.losses), bad, predictions,
            "-" if r.max_abs_diff_vs_float32 is None else f"{r.max_abs_diff_vs_float32:.2e}",
            "-" if r.seconds_per_step is None else f"{r.seconds_per_step:.3f}",
            "-" if r.memory_bytes is None else f"{r.memory_bytes / 1e6:.0f}",
            Text(r.status, style={"ok": "green", "diverges": "yellow"}.get(r.status, "red" if r.status != "reference" else "")),
            "-" if r.loss_ratio_vs_float32 is None else f"{r.loss_ratio_vs_float32:.2f}",
            "-" if r.spearman_vs_float32 is None else f"{r.spearman_vs_float32:.3f}",
        )
    print_table(console, table)
    rec = report.recommendation
    if rec.mode is not None:
        console.print(Panel(Text(rec.reason), title=f"Recommendation: {rec.mode}", title_align="left"))
        # The code outside the frame: a panel cut its long lines at the console's width.
        print_code(console, "With the sentence-transformers trainer:", rec.trainer_snippet)
        print_code(console, "In plain PyTorch:", rec.torch_snippet)
    else:
        console.print(f"[red]{escape(rec.reason)}[/red]")
    mark = "[green]PASS[/green]" if report.verdict.passed else "[red]FAIL[/red]"
    console.print(f"{mark} {escape(report.verdict.summary)}", highlight=False)
