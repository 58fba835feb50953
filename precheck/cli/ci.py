"""precheck ci: every model of the project config; summary, JSON, JUnit, baselines."""
from __future__ import annotations

import os

from pathlib import Path
from typing import Annotated, Optional

import typer

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
from ._summary import SummaryOption, deliver_summary


def ci(
    config: Annotated[Optional[Path], typer.Option(help="precheck.toml or pyproject.toml (default: look in .).")] = None,
    json_path: JsonOption = None,
    junit: Annotated[Optional[Path], typer.Option(help="Write JUnit XML: one test case per model and dtype.")] = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Record this run's figures as the baseline.")] = False,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
    summary: SummaryOption = None,
) -> None:
    """Scan every model in the project config; summary, JSON, JUnit, baselines; exit 0/1/2."""
    with error_boundary(debug_wanted(debug)):
        check_output_path(json_path, force)
        check_output_path(str(junit) if junit else None, force, "--junit")
        check_output_path(summary, force, "--summary")
        from ..gate.ci import run_ci
        from ..gate.config import load_config
        from ..gate.junit import github_annotations, to_junit
        from ..render.ci import render_ci

        settings = load_config(config, Path.cwd())

        def render_and_annotate(run, view) -> None:
            render_ci(run, view)
            if os.environ.get("GITHUB_ACTIONS") == "true":
                for line in github_annotations(run):
                    typer.echo(line, err=json_path == "-")
            if junit:
                junit.write_text(to_junit(run), encoding="utf-8")

        run = run_and_report(json_path, quiet, lambda progress: run_ci(settings, update_baseline, progress),
                             render_and_annotate, lambda r: r.to_json())
        from ..render.markdown import ci_summary

        deliver_summary(ci_summary(run), summary)
    raise typer.Exit(run.exit_code)
