"""precheck ci: every model of the project config; summary, JSON, JUnit, baselines."""
from __future__ import annotations

import os

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._memory import PlanOnlyOption, show_ci_memory_plans
from ..errors import PrecheckError
from ._common import (
    DebugOption,
    EXIT_PASS,
    ForceOption,
    JsonOption,
    Output,
    QuietOption,
    check_outputs,
    debug_wanted,
    error_boundary,
    run_and_report,
    write_file,
)
from ._options import with_scan_options
from ._summary import SummaryOption, deliver_summary


def gate_outputs(json_path: str | None, junit: Path | None, force: bool):
    """Files first, then the view: JUnit, per-model errors on stderr, the summary table and GitHub
    annotations of a CiRun; `ci` and `merge` print the same."""
    from ..gate.junit import github_annotations, to_junit
    from ..render.ci import render_ci

    def write_junit_then_render(run, view) -> None:
        # Files first: a view that fails cannot lose them.
        if junit:
            write_file(junit, to_junit(run), force, "--junit")
        for model_run in run.runs:
            if model_run.error:
                typer.echo(f"precheck: error: {model_run.config.name}: {model_run.error}", err=True)
        render_ci(run, view)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for line in github_annotations(run):
                typer.echo(line, err=json_path == "-")
    return write_junit_then_render


@with_scan_options(overrides=True)
def ci(
    config: Annotated[Optional[Path], typer.Option(help="precheck.toml or pyproject.toml (default: look in .).")] = None,
    json_path: JsonOption = None,
    junit: Annotated[Optional[Path], typer.Option(help="Write JUnit XML: one test case per model and dtype.")] = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Record this run's figures as the baseline.")] = False,
    summary: SummaryOption = None,
    shard: Annotated[Optional[str], typer.Option(help="K/N: scan only the K-th of N stable slices of the models (a CI matrix job); combine with `precheck merge`.")] = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
    plan_only: PlanOnlyOption = False,
    options: dict = None,
) -> None:
    """Scan every model in the project config; summary, JSON, JUnit, baselines; exit 0/1/2."""
    with error_boundary(debug_wanted(debug)):
        from ..gate.shard import parse_shard
        from ..options import checked_cli_values

        # Every option is checked before anything else, whatever the mode (an empty shard, --plan-only).
        overrides = checked_cli_values(options)
        if plan_only and update_baseline:
            raise PrecheckError("--update-baseline with --plan-only would record nothing: --plan-only loads no model",
                                "drop one of them")
        if shard is not None:
            parse_shard(shard)
        from ..gate.baseline import read_baseline
        from ..gate.ci import run_ci
        from ..gate.config import config_inputs, load_config
        from ..gate.shard import run_ci_shard

        settings = load_config(config, Path.cwd())
        outputs = [Output("--json", json_path), Output("--junit", junit), Output("--summary", summary)]
        inputs = config_inputs(settings)
        if update_baseline:
            # The baseline is replaced by design (that is what the flag asks); only its folder is checked.
            inputs.pop("baseline", None)
            outputs.append(Output("baseline", settings.baseline))
        check_outputs(outputs[:3], force, inputs, settings_model_folders(settings))
        if update_baseline:
            check_outputs(outputs, True, inputs)
        else:
            read_baseline(settings.baseline)  # a malformed baseline stops precheck before any scan
        if plan_only:
            show_ci_memory_plans(settings, shard, overrides, json_path, quiet, force)
            raise typer.Exit(EXIT_PASS)
        if shard is not None:
            def work(progress):
                return run_ci_shard(settings, shard, update_baseline, progress, overrides)
        else:
            def work(progress):
                return run_ci(settings, update_baseline, progress, overrides)
        run = run_and_report(json_path, quiet, work, gate_outputs(json_path, junit, force), lambda r: r.to_json(),
                             force)
        from ..render.markdown import ci_summary

        deliver_summary(ci_summary(run), summary, force)
    raise typer.Exit(run.exit_code)


def settings_model_folders(settings) -> tuple[Path, ...]:
    return tuple(Path(m.source) for m in settings.models if m.source and Path(m.source).is_dir())
