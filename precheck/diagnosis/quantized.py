"""Why a quantized load fails, where it differs from float16: a compute dtype whose range the
activations exceed, weights with outliers that quantization flattens, outlier features, a head.

Refines the diagnoses diagnose.py makes for a quantized precision (docs/quantization.md); names
modules as the transformers model names them, which is what llm_int8_skip_modules takes.
"""
from __future__ import annotations

from dataclasses import replace

from ..dtypes import BF16_COMPUTE
from ..data.report import BlockDrift, Diagnosis
from .blocks import overflow_evidence

# LLM.int8's default llm_int8_threshold: input features past it are computed in float16 beside the int8 matmul.
LLM_INT8_THRESHOLD = 6.0
# A Linear whose largest weight stands this many times further from its row's median than the model's
# typical Linear does: absmax scaling (per row for 8-bit, per block of 64 for 4-bit) rounds the rest of
# its row to a few levels. On all-MiniLM-L6-v2 the typical Linear's ratio is 11 and the largest 571 (52x),
# and int8 passes; one column scaled 1000x (tests/builders/fixture_models.py) reaches 6567 (600x) and int8 fails.
WEIGHT_OUTLIER_FACTOR = 100.0
QUANTIZED_CLASSES = ("Linear4bit", "Linear8bitLt")


def transformers_prefix(net) -> str:
    """The path of the transformers model inside a sentence-transformers model ("0.model"; "" when
    `net` is that model): quantization names modules from there."""
    from transformers import PreTrainedModel

    return next((path for path, module in net.named_modules() if isinstance(module, PreTrainedModel)), "")


def transformers_path(path: str, prefix: str) -> str | None:
    """A scan path as the transformers model names it; None outside it (a pipeline module, never quantized)."""
    if not prefix:
        return path
    if path.startswith(prefix + "."):
        return path[len(prefix) + 1:]
    return None


def weight_outlier_ratios(net) -> dict[str, float]:
    """Each Linear of the transformers model: its largest row's max |w| over that row's median |w|."""
    import torch

    prefix = transformers_prefix(net)
    ratios: dict[str, float] = {}
    with torch.no_grad():
        for path, module in net.named_modules():
            name = transformers_path(path, prefix)
            if name and isinstance(module, torch.nn.Linear) and module.weight.dim() == 2:
                weight = module.weight.detach().float().abs()
                median = weight.median(dim=1).values.clamp_min(torch.finfo(torch.float32).tiny)
                ratios[name] = float((weight.amax(dim=1) / median).max())
    return ratios


def outlier_linears(ratios: dict[str, float]) -> list[str]:
    """The Linears whose weight outliers stand out from the model's own, worst first."""
    if not ratios:
        return []
    typical = sorted(ratios.values())[len(ratios) // 2]
    found = [name for name, ratio in ratios.items() if ratio >= WEIGHT_OUTLIER_FACTOR * typical]
    return sorted(found, key=lambda name: -ratios[name])


def refine_nonfinite(diagnosis: Diagnosis, headroom: list) -> Diagnosis:
    """A quantized layer that turns NaN/inf from finite input: its compute dtype's range, when that is float16."""
    dtype, where = diagnosis.dtype, diagnosis.module
    if diagnosis.module_class not in QUANTIZED_CLASSES or not where:
        return diagnosis
    # The value that passes 65504, where it does (a Linear's output before the norm after it), never
    # a block's normalised output; none quoted when float32 passes it nowhere around this module.
    evidence = overflow_evidence(headroom, where)
    reach = f"; {evidence}" if evidence else ""
    if diagnosis.module_class == "Linear4bit" and dtype in BF16_COMPUTE:
        detail = (f"{diagnosis.module_class} at {where} computes in float16 (bnb_4bit_compute_dtype=torch.float16), "
                  f"whose range ends at 65504{reach}: the same 4-bit weights computing in bfloat16 "
                  f"(`{BF16_COMPUTE[dtype]}`), which has float32's range, do not overflow")
    elif diagnosis.module_class == "Linear8bitLt":
        detail = (f"Linear8bitLt at {where}: LLM.int8 casts its matmul's inputs to float16, whose range ends at "
                  f"65504{reach}; keeping this module out of quantization (llm_int8_skip_modules) runs it "
                  "in the checkpoint's dtype")
    else:
        return diagnosis
    return replace(diagnosis, cause="compute-dtype-range", detail=f"{detail} ({diagnosis.detail})")


def _ranking(ranked: list[BlockDrift]) -> str:
    return ", ".join(f"{r.module} (+{r.added:.2e})" for r in ranked[:3])


def refine_drift(diagnosis: Diagnosis, ranked: list[BlockDrift], prefix: str, ratios: dict[str, float],
                 input_features_over: int | None) -> Diagnosis:
    """A quantized run's drift: the diagnosed block and those beside it ranked by the error each adds
    (blocks.ranked_with: one ranking, the diagnosed block first), and what quantization does to the worst:
    weights with outliers, activations past LLM.int8's threshold (int8dq quantizes them too), or a head
    outside the layer stack."""
    ranking = _ranking(ranked) if len(ranked) > 1 else ""
    detail = diagnosis.detail + (f"; it and the blocks beside it by the error each adds: {ranking}"
                                 if ranking else "")
    worst = transformers_path(diagnosis.module, prefix) if diagnosis.module else None
    cause = diagnosis.cause
    inside = [name for name in outlier_linears(ratios) if worst and (name == worst or name.startswith(worst + "."))]
    if inside:
        cause = "weight-outliers"
        detail += (f"; {inside[0]}'s largest weight is {ratios[inside[0]]:.0f}x its row's median (the model's "
                   f"typical Linear: {sorted(ratios.values())[len(ratios) // 2]:.0f}x): absmax scaling rounds the "
                   "rest of its rows to a few levels, so keep it out of quantization")
    elif input_features_over and diagnosis.dtype == "int8dq":
        cause = "outlier-features"
        detail += (f"; {input_features_over} of its input features pass {LLM_INT8_THRESHOLD:g}: int8dq quantizes "
                   "activations per token, and an outlier feature takes the token's whole int8 range "
                   "(`int8`, LLM.int8, computes them in float16 apart)")
    elif worst is not None and ".layer." not in f".{worst}." and any(
            name == worst or name.startswith(worst + ".") for name in ratios):
        cause = "quantized-head"
        detail += f"; {worst} is outside the layer stack (a head or projection): keep it out of quantization"
    elif input_features_over and diagnosis.dtype == "int8":
        detail += (f"; {input_features_over} of its input features pass LLM.int8's threshold "
                   f"{LLM_INT8_THRESHOLD:g} and are computed in float16 apart")
    return replace(diagnosis, cause=cause, detail=detail)


def features_over(pairs: list, threshold: float = LLM_INT8_THRESHOLD) -> int | None:
    """How many features (last dimension) of a block's float32 inputs pass `threshold` in any token."""
    import torch

    inputs = [inp for inp, _ in pairs if inp is not None and inp.dim() >= 1]
    if not inputs or len({t.shape[-1] for t in inputs}) != 1:
        return None
    largest = torch.stack([t.reshape(-1, t.shape[-1]).abs().amax(dim=0) for t in inputs]).amax(dim=0)
    return int((largest > threshold).sum())
