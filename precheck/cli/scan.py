"""precheck scan: the dtype table, test encodes against float32, diagnoses and fixes."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._memory import MaxMemoryOption, PlanOnlyOption, ReferenceDeviceOption, show_memory_plan
from ._common import (
    BatchOption,
    DebugOption,
    DeviceOption,
    DtypeOption,
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
    check_outputs,
    local_model_folders,
    Output,
    debug_wanted,
    error_boundary,
    run_and_report,
)
from ._summary import SummaryOption, deliver_summary


def scan(
    model: ModelArgument,
    dtype: DtypeOption = None,
    device: DeviceOption = "auto",
    trust_remote_code: TrustOption = False,
    texts: TextsOption = None,
    pairs: PairsOption = None,
    kind: KindOption = "auto",
    min_cosine: MinCosineOption = 0.999,
    min_spearman: MinSpearmanOption = 0.99,
    min_top1_agreement: MinTop1Option = 0.0,
    batch_size: BatchOption = 32,
    depth: Annotated[int, typer.Option(help="Module table depth: 1 = top-level modules.")] = 1,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    no_fix: Annotated[bool, typer.Option("--no-fix", help="Skip the fix search (a faster gate).")] = False,
    debug: DebugOption = False,
    summary: SummaryOption = None,
    plan_only: PlanOnlyOption = False,
    max_memory: MaxMemoryOption = None,
    reference_device: ReferenceDeviceOption = None,
    storage: Annotated[Optional[list[str]], typer.Option(help="Embedders: measure retrieval with the vectors stored as float32, float16, int8, uint8, binary or ubinary; comma-separate (docs/storage.md).")] = None,
    min_recall: Annotated[float, typer.Option(help="--storage: lowest recall@10 against float32 exact search (rescored where the index rescores).")] = 0.8,
    calibration: Annotated[Optional[Path], typer.Option(help="--storage int8/uint8: calibration texts, one per line, encoded once (default: a held-apart quarter of the probe texts).")] = None,
) -> None:
    """Load MODEL as users do, table its dtypes, test-encode fp16/bf16 against float32;
    for failures, name the module and the cause and find the smallest verified fix."""
    with error_boundary(debug_wanted(debug)):
        from ..dtypes import parse_low_dtypes
        from ..storage import parse_precisions

        options_dtypes = parse_low_dtypes(dtype)
        check_outputs([Output("--json", json_path), Output("--summary", summary)], force,
                      {"--texts file": texts, "--pairs file": pairs, "--calibration file": calibration},
                      local_model_folders(model))
        from ..render.scan import render_terminal
        from ..scanner import ScanOptions, run_scan

        options = ScanOptions(
            model=model,
            dtypes=options_dtypes,
            device=device,
            trust_remote_code=trust_remote_code,
            texts_file=texts,
            pairs_file=pairs,
            kind=kind,
            min_cosine=min_cosine,
            min_spearman=min_spearman,
            min_top1_agreement=min_top1_agreement,
            batch_size=batch_size,
            depth=depth,
            fix=not no_fix,
            max_memory=max_memory,
            reference_device=reference_device,
            storage=parse_precisions(storage), min_recall=min_recall, calibration_file=calibration,
        )
        if show_memory_plan(options, json_path, quiet, plan_only, force):
            raise typer.Exit(EXIT_PASS)
        report = run_and_report(json_path, quiet, lambda progress: run_scan(options, progress), render_terminal,
                                lambda r: r.to_json(), force)
        from ..render.markdown import scan_summary

        deliver_summary(scan_summary(report), summary, force)
    raise typer.Exit(EXIT_PASS if report.verdict.passed else EXIT_FAIL)
