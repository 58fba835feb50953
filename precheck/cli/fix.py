"""precheck fix: write the model with its verified plan, reload and verify it."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    DebugOption,
    ForceOption,
    JsonOption,
    ModelArgument,
    option_inputs,
    QuietOption,
    run_and_report,
)
from ._errors import (
    debug_wanted,
    error_boundary,
    EXIT_FAIL,
    EXIT_PASS,
)
from ..options import not_for_fix
from ._options import with_scan_options


# fix writes one dtype (its own --dtype) and its whole point is the fix search.
@with_scan_options(exclude=("dtypes", "fix", *not_for_fix()))
def fix(
    model: ModelArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the fixed model and precheck.json to.")],
    dtype: Annotated[str, typer.Option("--dtype", "-d", help="fp16, bf16 or a quantized precision (int8, nf4, ...).", rich_help_panel="Gate")] = "fp16",
    options: dict = None,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Apply the recommended fix: write MODEL + a precheck.json plan to --out, reload it and verify it."""
    with error_boundary(debug_wanted(debug)):
        from ..dtypes import parse_low_dtype
        from ..options import scan_options

        wanted = parse_low_dtype(dtype)
        checked = scan_options(model, options, dtypes=(wanted,))
        from ..workflow.fix import check_fix_paths, write_fixed_model
        from ..render.scan import render_fix_outcome

        check_fix_paths(model, checked.kind, out, force, json_path, option_inputs(checked), checked.revision)
        outcome = run_and_report(json_path, quiet, lambda progress: write_fixed_model(checked, out, force, progress),
                                 render_fix_outcome, force)
    raise typer.Exit(EXIT_PASS if outcome.done else EXIT_FAIL)
