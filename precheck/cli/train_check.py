"""precheck train-check: a short fine-tune in each precision mode."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import (
    check_outputs,
    DebugOption,
    ForceOption,
    Input,
    JsonOption,
    model_inputs,
    ModelArgument,
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

# What train-check shares with scan: where it runs and how the model is loaded (its batch size counts pairs).
TRAIN_CHECK_OPTIONS = ("device", "kind", "trust_remote_code", "revision", "model_kwargs", "config_kwargs",
                       "tokenizer_kwargs", "attn_implementation", "max_seq_length")


@with_scan_options(only=TRAIN_CHECK_OPTIONS, one_dtype="The dtype of half mode: fp16 or bf16.")
def train_check(
    model: ModelArgument,
    mode: Annotated[str, typer.Option(help="The mode the exit code is about: any (the default: some low-precision "
                                      "mode trains as float32 does), half, amp, bf16 or bf16-amp.")] = "any",
    steps: Annotated[int, typer.Option(help="Optimizer steps per mode.")] = 20,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 2e-5,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 8,
    data: Annotated[Optional[Path], typer.Option(help="Labelled pairs: CSV query,passage,label or JSONL.")] = None,
    max_loss_ratio: Annotated[float, typer.Option(help="Highest final loss, as a multiple of float32's, that still learns.")] = 1.25,
    min_loss_drop: Annotated[float, typer.Option(help="Lowest fall of the loss from its start, as a share of float32's fall.")] = 0.5,
    min_train_spearman: Annotated[float, typer.Option(help="Lowest rank correlation of predictions after training with float32's.")] = 0.9,
    options: dict = None,
    json_path: JsonOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Fine-tune a copy of MODEL briefly in each precision mode and say which stays finite and learns as float32 does."""
    with error_boundary(debug_wanted(debug)):
        from ..resolve import HALF_DTYPE_LINE, scan_options

        checked = scan_options(model, options, HALF_DTYPE_LINE)
        wanted = checked.dtypes[0]
        check_outputs([Output("--json", json_path)], force, [*model_inputs(model), Input("--data file", data)])
        from ..render.training import render_train_report
        from ..training.check import run_train_check
        from ..training.modes import TrainOptions

        train_options = TrainOptions(model=model, mode=mode, dtype=wanted, steps=steps, lr=lr, batch_size=batch_size,
                                     data_file=data, device=checked.device, trust_remote_code=checked.trust_remote_code,
                                     kind=checked.kind, load=checked.load, max_loss_ratio=max_loss_ratio,
                                     min_loss_drop=min_loss_drop, min_spearman=min_train_spearman)
        report = run_and_report(json_path, quiet, lambda progress: run_train_check(train_options, progress),
                                render_train_report, force)
    raise typer.Exit(EXIT_PASS if report.verdict.passed else EXIT_FAIL)
