"""precheck ci: every model of the project config; summary, JSON, JUnit, baselines."""
from __future__ import annotations

import os

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._memory import PlanOnlyOption, show_ci_memory_plans
from ..errors import PrecheckError
from ._common import (
    check_outputs,
    DebugOption,
    ForceOption,
    goes_to_stdout,
    HtmlOption,
    JsonOption,
    Output,
    QuietOption,
    run_and_report,
)
from ._errors import (
    debug_wanted,
    error_boundary,
    EXIT_PASS,
)
from ._options import with_scan_options
from ._summary import SummaryOption, deliver_summary, summary_output


def gate_view(json_path: str | None, *others):
    """The view of a CiRun: per-model errors on stderr, the summary table, and on GitHub Actions
    the annotations (off stdout when the JSON or one of `others`, e.g. --junit, carries a file);
    `ci` and `merge` print the same."""
    from ..formats.github import GITHUB
    from ..render.ci import render_ci

    def render(run, view) -> None:
        for model_run in run.runs:
            if model_run.error:
                typer.echo(f"precheck: error: {model_run.config.name}: {model_run.error}", err=True)
        render_ci(run, view)
        annotations = GITHUB.format(run) if os.environ.get("GITHUB_ACTIONS") == "true" else ""
        if annotations:
            typer.echo(annotations, err=any(goes_to_stdout(path) for path in (json_path, *others)))
    return render


def gate_files(junit: Path | None, page: Output):
    """The files a CiRun is written to besides --json, written before the view."""
    from ..formats.html import HTML
    from ..formats.junit import JUNIT

    return [(Output("--junit", junit), JUNIT), (page, HTML)]


def html_page(html: str | None, settings) -> Output:
    """The page: --html, else the config's `html` (written every run, as the baseline is); its extra
    is checked here, before any work."""
    page = Output("--html", html)
    if not html and settings is not None and settings.html is not None:
        page = Output("html", settings.html, replaced=True)
    if page.path:
        from ..formats.html_plots import check_plotting_available

        check_plotting_available(page.option)
    return page


@with_scan_options(overrides=True)
def ci(
    config: Annotated[Optional[Path], typer.Option(help="precheck.toml or pyproject.toml (default: look in .).")] = None,
    json_path: JsonOption = None,
    junit: Annotated[Optional[Path], typer.Option(help="Write JUnit XML: one test case per model and dtype.")] = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Record this run's figures as the baseline.")] = False,
    summary: SummaryOption = None,
    html: HtmlOption = None,
    shard: Annotated[Optional[str], typer.Option(help="K/N: scan only the K-th of N stable slices of the models (a CI matrix job); combine with `precheck merge`.")] = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
    plan_only: PlanOnlyOption = False,
    options: dict = None,
) -> None:
    """Scan every model in the project config; summary, JSON, JUnit, baselines; exit 0/1/2."""
    with error_boundary(debug_wanted(debug)):
        from ..resolve import COMMAND_LINE, resolve
        from ..workflow.ci import run_ci, start_ci

        # Every option is checked before anything else, whatever the mode (an empty shard, --plan-only).
        overrides = resolve(options, COMMAND_LINE)
        if plan_only and update_baseline:
            raise PrecheckError("--update-baseline with --plan-only would record nothing: --plan-only loads no model",
                                "drop one of them")
        settings = start_ci(config, update_baseline, shard)
        page = html_page(html, settings)
        check_gate_paths(settings, update_baseline, [Output("--json", json_path), Output("--junit", junit),
                                                     summary_output(summary), page], force)
        if plan_only:
            show_ci_memory_plans(settings, shard, overrides, json_path, quiet, force)
            raise typer.Exit(EXIT_PASS)

        def work(progress):
            return run_ci(settings, update_baseline, shard, overrides, progress)

        run = run_and_report(json_path, quiet, work, gate_view(json_path, junit, summary, page.path), force,
                             gate_files(junit, page), also=(summary,))
        from ..formats.markdown import MARKDOWN

        deliver_summary(MARKDOWN.format(run), summary)
    raise typer.Exit(run.exit_code)


def check_gate_paths(settings, update_baseline: bool, outputs: list, force: bool, inputs: tuple = ()) -> None:
    """ci's and merge's outputs against everything the project config makes them read; with
    --update-baseline the baseline is one of the outputs (replaced by design), not an input."""
    from ..io.inputs import config_inputs

    read = [*inputs, *(config_inputs(settings) if settings is not None else ())]
    if update_baseline:
        read = [i for i in read if i.label != "baseline"]
        outputs = [*outputs, Output("baseline", settings.baseline, replaced=True)]
    check_outputs(outputs, force, read)
