"""precheck fix: write the model with its verified plan, reload and verify it."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import (
    BatchOption,
    DebugOption,
    DeviceOption,
    EXIT_FAIL,
    EXIT_PASS,
    ForceOption,
    JsonOption,
    KindOption,
    MinCosineOption,
    MinSpearmanOption,
    MinTop1Option,
    ModelArgument,
    PairsOption,
    QuietOption,
    TextsOption,
    TrustOption,
    Input,
    debug_wanted,
    error_boundary,
    run_and_report,
)


def fix(
    model: ModelArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the fixed model and precheck.json to.")],
    dtype: Annotated[str, typer.Option("--dtype", "-d", help="fp16 or bf16.")] = "fp16",
    device: DeviceOption = "auto",
    trust_remote_code: TrustOption = False,
    texts: TextsOption = None,
    pairs: PairsOption = None,
    kind: KindOption = "auto",
    min_cosine: MinCosineOption = 0.999,
    min_spearman: MinSpearmanOption = 0.99,
    min_top1_agreement: MinTop1Option = 0.0,
    batch_size: BatchOption = 32,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Apply the recommended fix: write MODEL + a precheck.json plan to --out, reload it and verify it."""
    with error_boundary(debug_wanted(debug)):
        from ..dtypes import parse_low_dtype

        wanted = parse_low_dtype(dtype)
        from ..apply import check_fix_paths, write_fixed_model
        from ..render.scan import render_fix_outcome
        from ..scanner import ScanOptions

        check_fix_paths(model, kind, out, force, json_path, [Input("--texts file", texts), Input("--pairs file", pairs)])
        options = ScanOptions(model=model, dtypes=(wanted,), device=device, trust_remote_code=trust_remote_code,
                              texts_file=texts, pairs_file=pairs, kind=kind, min_cosine=min_cosine,
                              min_spearman=min_spearman, min_top1_agreement=min_top1_agreement,
                              batch_size=batch_size)
        outcome = run_and_report(json_path, quiet, lambda progress: write_fixed_model(options, out, force, progress),
                                 render_fix_outcome, force)
    raise typer.Exit(EXIT_PASS if outcome.done else EXIT_FAIL)
