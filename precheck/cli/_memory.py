"""--plan-only, which scan and ci share: the memory plan alone, nothing loaded (issue 15)."""
from __future__ import annotations

from typing import Annotated

import typer

# --max-memory and --reference-device are scan options (precheck/options.py); this one is the command's.
PlanOnlyOption = Annotated[bool, typer.Option("--plan-only", help="Print the memory plan and stop: nothing is loaded.",
                                              rich_help_panel="Memory")]


def _show_plans(options_list: list, json_path: str | None, quiet: bool, also: tuple = ()) -> list[dict]:
    """Render each plan as the command's own view: on stdout unless stdout carries the JSON;
    --quiet with --json silences it. Returns the plans as JSON-ready dicts."""
    from dataclasses import asdict

    from ..io.inputs import check_input_files
    from ..loading.memory_plan import plan_scan
    from ..render.memory import render_memory
    from ._common import goes_to_stdout, make_console

    # Every model's files are checked before any plan is printed: a refusal is the only output.
    for options in options_list:
        check_input_files(options, "" if len(options_list) == 1 else f"{options.model}: ")
    console = make_console(any(goes_to_stdout(path) for path in (json_path, *also)), quiet and json_path is not None)
    plans = []
    for options in options_list:
        model, plan = plan_scan(options)
        render_memory(plan, console, model.name)
        plans.append({"model": model.name, "memory": asdict(plan)})
    return plans


def _write(json_path: str | None, document: dict, force: bool) -> None:
    """The plan as the command's JSON, through the same format and checked, whole-or-nothing write as a report."""
    from ..data.json import JSON
    from ._common import write_json

    if json_path:
        write_json(json_path, JSON.format(document), force)


def show_memory_plan(options, json_path: str | None, quiet: bool, plan_only: bool, force: bool = True,
                     also: tuple = ()) -> bool:
    """With plan_only: print the plan, write it as the JSON too and say stop. A scan that goes on
    shows the plan in its report's view, after the verdict (render/scan.py): the verdict comes first."""
    if not plan_only:
        return False
    (plan,) = _show_plans([options], json_path, quiet, also)
    _write(json_path, plan, force)
    return True


def show_ci_memory_plans(settings, shard: str | None, overrides: dict, json_path: str | None, quiet: bool,
                         force: bool = True) -> None:
    """`precheck ci --plan-only`: every model's plan (of the shard), nothing loaded."""
    from dataclasses import replace

    from ..gate.ci import scan_options
    from ..gate.shard import parse_shard, select_shard

    if shard is not None:
        settings = select_shard(settings, *parse_shard(shard))
    options = [replace(scan_options(model), **overrides) for model in settings.models]
    _write(json_path, {"shard": shard, "models": _show_plans(options, json_path, quiet)}, force)
