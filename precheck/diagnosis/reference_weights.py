"""Are the float32 reference's weights read from the checkpoint, or made afresh at each load?

A parameter the checkpoint does not hold (a CrossEncoder head on a base model, a weight saved under a
name this transformers no longer maps) is initialised at random by every load: the reference then
differs from the float16 load by more than precision, and a verdict would blame float16 for it. The
scan loads float32 a second time anyway (the `cast` strategy), so that load is held against the
reference's weights, at the cost of one float64 sum per parameter. Only when a parameter differs are
a few probe items encoded again: a parameter the outputs never use (a pooler the pipeline skips) is
harmless and only named.
"""
from __future__ import annotations

from ..errors import PrecheckError
from ..session import ScanRun
from .reference_check import VERIFY_ITEMS, reproducible

# Sums of the same bytes on two devices (reference on the CPU, cast on the GPU) may differ in their
# last bits; a parameter drawn afresh differs in its leading ones.
_RELATIVE = 1e-9
# Two float32 runs of the same weights differ by batching alone (~1e-6 of the largest value); a
# parameter the outputs read moves them by far more, even a small fresh head on a tiny model.
_SAME_OUTPUTS = 1e-5


def weight_sums(net) -> dict[str, float]:
    """name -> float64 sum of each parameter that has data here (an offloaded one on the meta device
    is skipped). Summed in float64 without a float64 copy of the tensor."""
    import torch

    return {name: float(torch.sum(tensor.detach(), dtype=torch.float64))
            for name, tensor in net.named_parameters() if tensor.device.type != "meta"}


def changed_between_loads(first: dict[str, float], net) -> list[str]:
    """The parameters of `net` (a second float32 load) whose sum differs from the first load's."""
    second = weight_sums(net)
    return [name for name, total in first.items() if name in second
            and abs(second[name] - total) > _RELATIVE * max(abs(total), abs(second[name]), 1e-30)]


def check_weights_reproduce(session: ScanRun, model, reference_sums: dict[str, float]) -> str | None:
    """Hold a second float32 load (before any cast) against the reference's weight sums. Raises when
    parameters differ and change the outputs; returns a note when they differ but the outputs do not."""
    from ..kinds import torch_module

    changed = changed_between_loads(reference_sums, torch_module(model))
    if not changed or not session.items:
        return None
    count = min(VERIFY_ITEMS, len(session.items))
    outputs, _ = session.run_model(model, session.items[:count])
    same, diff = reproducible(session.reference[:count], outputs, _SAME_OUTPUTS)
    named = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    if same:
        return (f"{len(changed)} parameter(s) are initialised afresh at each load ({named}), but the outputs "
                f"do not use them: two float32 loads give the same outputs")
    raise PrecheckError(
        f"{session.model.name}: the float32 reference changes from one load to the next: {len(changed)} "
        f"parameter(s) are initialised afresh at each load, not read from the checkpoint ({named}); two loads "
        f"differ by up to {diff:.3g} on the same probe items, so no dtype can be judged against it",
        "the checkpoint lacks these weights or holds them under other names: save the model with them, "
        "or load it as the class it was trained as (--kind)")
