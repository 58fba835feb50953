"""Judge each mode's short fine-tune against float32's on the same batches: finite is not enough.

A mode that stays finite but learns less (a higher final loss, a smaller fall from its own start,
predictions ranked unlike float32's) `diverges`: bfloat16 weights lose small updates this way.
"""
from __future__ import annotations

from ..data.training import ModeResult
from .modes import TrainOptions


def loss_ends(losses: list) -> tuple[float, float]:
    """(start, final): mean loss over the first and the last fifth of the steps (at least one
    step each), so that one batch's luck does not decide."""
    values = [float(v) for v in losses if v is not None]
    window = max(1, len(values) // 5)
    return sum(values[:window]) / window, sum(values[-window:]) / window


def _status_without_learning(result: ModeResult) -> str | None:
    if result.error is not None:
        return "unsupported" if result.error.type == "Unsupported" else "error"
    if not result.trains_finite:
        return "nonfinite"
    return None


def judge(result: ModeResult, reference: ModeResult, options: TrainOptions) -> None:
    """Fill result's status and learning figures (in place)."""
    failed = _status_without_learning(result)
    if failed is not None:
        result.status = failed
        return
    result.start_loss, result.final_loss = loss_ends(result.losses)
    ref_start, ref_final = loss_ends(reference.losses)
    if ref_final > 0:
        result.loss_ratio_vs_float32 = result.final_loss / ref_final
    if ref_start - ref_final > 0:
        result.loss_drop_share = (result.start_loss - result.final_loss) / (ref_start - ref_final)
    short = []
    if result.loss_ratio_vs_float32 is not None and result.loss_ratio_vs_float32 > options.max_loss_ratio:
        short.append(f"final loss {result.final_loss:.4f} is {result.loss_ratio_vs_float32:.2f}x float32's "
                     f"{ref_final:.4f} (limit {options.max_loss_ratio}x)")
    if result.loss_drop_share is not None and result.loss_drop_share < options.min_loss_drop:
        short.append(f"loss {result.start_loss:.4f} -> {result.final_loss:.4f}, {result.loss_drop_share:.0%} of "
                     f"float32's fall {ref_start:.4f} -> {ref_final:.4f} (limit {options.min_loss_drop:.0%})")
    if result.spearman_vs_float32 is not None and result.spearman_vs_float32 < options.min_spearman:
        short.append(f"predictions' Spearman with float32's {result.spearman_vs_float32:.2f} "
                     f"(limit {options.min_spearman}; max |diff| {result.max_abs_diff_vs_float32:.2f})")
    result.shortfall = "; ".join(short)
    result.status = "diverges" if short else "ok"


def judge_reference(reference: ModeResult) -> None:
    reference.status = "reference"
    reference.start_loss, reference.final_loss = loss_ends(reference.losses)
