"""precheck ci: every model of the project config; summary, JSON, JUnit, baselines."""
from __future__ import annotations

import os

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._memory import MaxMemoryOption, PlanOnlyOption, ReferenceDeviceOption, show_ci_memory_plans
from ._common import (
    DebugOption,
    EXIT_PASS,
    ForceOption,
    JsonOption,
    QuietOption,
    check_output_path,
    debug_wanted,
    error_boundary,
    run_and_report,
)


SummaryOption = Annotated[Optional[Path], typer.Option(
    help="Append the summary as Markdown to PATH (e.g. \"$GITHUB_STEP_SUMMARY\").")]


def gate_outputs(json_path: str | None, junit: Path | None, summary: Path | None = None):
    """The summary table, GitHub annotations, JUnit and Markdown of a CiRun; `ci` and `merge` print the same."""
    from ..gate.junit import github_annotations, to_junit
    from ..render.ci import render_ci

    if summary is not None and (summary.is_dir() or not summary.parent.is_dir()):
        from ..errors import PrecheckError

        raise PrecheckError(f"--summary {summary}: not a file in an existing folder", "give a file path")

    def render_and_annotate(run, view) -> None:
        render_ci(run, view)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for line in github_annotations(run):
                typer.echo(line, err=json_path == "-")
        if junit:
            junit.write_text(to_junit(run), encoding="utf-8")
        if summary:
            from ..render.summary import ci_markdown

            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(ci_markdown(run))
    return render_and_annotate


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
    max_memory: MaxMemoryOption = None,
    reference_device: ReferenceDeviceOption = None,
) -> None:
    """Scan every model in the project config; summary, JSON, JUnit, baselines; exit 0/1/2."""
    with error_boundary(debug_wanted(debug)):
        check_output_path(json_path, force)
        check_output_path(str(junit) if junit else None, force, "--junit")
        from ..gate.ci import run_ci
        from ..gate.config import load_config
        from ..gate.shard import run_ci_shard

        settings = load_config(config, Path.cwd())
        overrides = {"max_memory": max_memory, "reference_device": reference_device}
        if plan_only:
            show_ci_memory_plans(settings, shard, overrides, json_path, quiet)
            raise typer.Exit(EXIT_PASS)
        if shard is not None:
            def work(progress):
                return run_ci_shard(settings, shard, update_baseline, progress, overrides)
        else:
            def work(progress):
                return run_ci(settings, update_baseline, progress, overrides)
        run = run_and_report(json_path, quiet, work, gate_outputs(json_path, junit, summary), lambda r: r.to_json())
    raise typer.Exit(run.exit_code)
