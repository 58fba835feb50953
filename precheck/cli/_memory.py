"""The memory options scan and ci share, and the plan printed before the first load (issue 15)."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

PlanOnlyOption = Annotated[bool, typer.Option("--plan-only", help="Print the memory plan and stop: nothing is loaded.")]
MaxMemoryOption = Annotated[Optional[str], typer.Option(
    help="Budget for the float32 reference, e.g. cuda=20GiB,cpu=60GiB; past it layers offload (accelerate) to CPU, then disk.")]
ReferenceDeviceOption = Annotated[Optional[str], typer.Option(
    help="cpu: run the float32 reference on the CPU; the float16/bfloat16 runs stay on --device.")]


def show_memory_plan(options, json_path: str | None, quiet: bool, plan_only: bool) -> bool:
    """Print the plan (stderr when stdout carries the JSON); with plan_only, write it as the JSON too.
    True when the command should stop here."""
    import json
    import sys
    from dataclasses import asdict

    from rich.console import Console

    from ..memory import plan_scan
    from ..render.memory import render_memory

    model, plan = plan_scan(options)
    # As the scan's own view: on stdout unless stdout carries the JSON; --quiet with --json silences it.
    if not (quiet and json_path is not None):
        render_memory(plan, Console(stderr=json_path == "-"), model.name)
    if plan_only and json_path:
        text = json.dumps({"model": model.name, "memory": asdict(plan)}, indent=2)
        if json_path == "-":
            sys.stdout.write(text + "\n")
        else:
            from pathlib import Path

            Path(json_path).write_text(text + "\n", encoding="utf-8")
    return plan_only
