"""precheck merge: the shard reports of a `precheck ci --shard K/N` matrix as one gate."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import (
    DebugOption,
    ForceOption,
    HtmlOption,
    Input,
    JsonOption,
    Output,
    QuietOption,
    run_and_report,
)
from ._errors import (
    debug_wanted,
    error_boundary,
)
from ._summary import SummaryOption, deliver_summary, summary_output
from .ci import check_gate_paths, gate_files, gate_view, html_page


def merge(
    reports: Annotated[list[Path], typer.Argument(metavar="REPORT.json", help="The JSON each `precheck ci --shard K/N --json` job wrote.")],
    config: Annotated[Optional[Path], typer.Option(help="precheck.toml or pyproject.toml: the settings the shards must have run with, and the baseline (default: look in .; none: the shards' own settings and baseline checks).")] = None,
    json_path: JsonOption = None,
    junit: Annotated[Optional[Path], typer.Option(help="Write JUnit XML: one test case per model and dtype.")] = None,
    summary: SummaryOption = None,
    html: HtmlOption = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Record every shard's figures as the baseline.")] = False,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Combine shard reports into one gate: the ci summary, JSON, JUnit and baselines; exit 0/1/2 as ci."""
    with error_boundary(debug_wanted(debug)):
        from ..gate.merge import merge_reports
        from ..workflow.ci import start_merge

        settings = start_merge(config, update_baseline)
        # Two outputs at one path or stream, or an output over a shard report, the config or the
        # baseline: refused before any work, whatever --force says.
        page = html_page(html, settings)
        check_gate_paths(settings, update_baseline, [Output("--json", json_path), Output("--junit", junit),
                                                     summary_output(summary), page], force,
                         tuple(Input(f"report {index + 1}", report) for index, report in enumerate(reports)))
        run = run_and_report(json_path, quiet, lambda progress: merge_reports(reports, settings, update_baseline),
                             gate_view(json_path, junit, summary, page.path), force, gate_files(junit, page),
                             also=(summary,))
        from ..formats.markdown import MARKDOWN

        deliver_summary(MARKDOWN.format(run), summary)
    raise typer.Exit(run.exit_code)
