"""Walk the tensors inside module inputs and outputs (tuples, dicts, ModelOutput).

Hooks in localise.py and plans.py see whatever a forward takes and returns; these
helpers give them the floating tensors in it, or a copy with those tensors cast.
"""
from __future__ import annotations

from collections.abc import Mapping, MutableMapping


def floating_tensors(value) -> list:
    import torch

    # A loop, not a nested function that calls itself: such a closure is a reference cycle
    # holding `found`, so every activation seen by a hook lived until the cyclic garbage
    # collector ran (on all-MiniLM-L6-v2, +350 MB peak with headroom hooks at batch 32).
    found: list = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, torch.Tensor):
            if item.is_floating_point():
                found.append(item)
        elif isinstance(item, Mapping):  # dict, ModelOutput, and BatchEncoding (a UserDict)
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            pending.extend(reversed(item))
    return found


def cast_floating(value, dtype):
    """A copy of value with every floating tensor in dtype; containers keep their type."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() and value.dtype != dtype else value
    if isinstance(value, MutableMapping):
        # dict, ModelOutput, BatchEncoding: updating in place keeps the type and its attributes.
        for key in list(value.keys()):
            value[key] = cast_floating(value[key], dtype)
        return value
    if isinstance(value, tuple):
        items = [cast_floating(v, dtype) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, list):
        return [cast_floating(v, dtype) for v in value]
    return value


def dtype_names(tensors) -> list[str]:
    from .dtypes import dtype_name

    return sorted({dtype_name(t.dtype) for t in tensors})


def all_finite(tensors) -> bool:
    import torch

    return all(bool(torch.isfinite(t).all()) for t in tensors)


def max_abs(tensors) -> float:
    """Largest |x|, NaN ignored (an inf is kept: it is the overflow itself). aminmax is a
    reduction: no copy of the activation, so recording every block costs no memory."""
    import math

    import torch

    largest = 0.0
    for tensor in tensors:
        if not tensor.numel():
            continue
        low, high = torch.aminmax(tensor.detach())
        value = max(abs(float(low)), abs(float(high)))
        if math.isnan(value):
            value = float(torch.nan_to_num(tensor.detach().float().abs(), nan=0.0).max())
        largest = max(largest, value)
    return largest


def torch_module(model):
    """The nn.Module behind a model: CrossEncoder in sentence-transformers 3.x is a plain
    class holding the transformers model as `.model`."""
    from torch import nn

    return model if isinstance(model, nn.Module) else model.model


def param_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in torch_module(model).parameters())
