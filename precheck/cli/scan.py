"""precheck scan: the dtype table, test encodes against float32, diagnoses and fixes."""
from __future__ import annotations

import typer

from ._memory import PlanOnlyOption, show_memory_plan
from ._common import (
    check_outputs,
    DebugOption,
    ForceOption,
    HtmlOption,
    JsonOption,
    model_inputs,
    ModelArgument,
    option_inputs,
    Output,
    QuietOption,
    run_and_report,
)
from ._errors import (
    debug_wanted,
    error_boundary,
    EXIT_FAIL,
    EXIT_PASS,
)
from ._options import with_scan_options
from ._summary import SummaryOption, deliver_summary, summary_output


@with_scan_options()
def scan(
    model: ModelArgument,
    options: dict,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
    summary: SummaryOption = None,
    html: HtmlOption = None,
    plan_only: PlanOnlyOption = False,
) -> None:
    """Load MODEL as users do, table its dtypes, test-encode fp16/bf16 against float32;
    for failures, name the module and the cause and find the smallest verified fix."""
    with error_boundary(debug_wanted(debug)):
        from ..resolve import scan_options

        checked = scan_options(model, options)
        if html:
            from ..formats.html_plots import check_plotting_available

            check_plotting_available("--html")
        page = Output("--html", html)
        check_outputs([Output("--json", json_path), summary_output(summary), page], force,
                      [*model_inputs(model), *option_inputs(checked)])
        from ..render.scan import render_terminal
        from ..engine.scanner import run_scan

        from ..formats.html import HTML

        if show_memory_plan(checked, json_path, quiet, plan_only, force, also=(summary, html)):
            raise typer.Exit(EXIT_PASS)
        report = run_and_report(json_path, quiet, lambda progress: run_scan(checked, progress), render_terminal,
                                force, [(page, HTML)], also=(summary,))
        from ..formats.markdown import MARKDOWN

        deliver_summary(MARKDOWN.format(report), summary)
    raise typer.Exit(EXIT_PASS if report.verdict.passed else EXIT_FAIL)
