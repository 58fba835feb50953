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


def tensor_bytes(tensor) -> int:
    """The bytes a tensor holds: a quantized tensor subclass (torchao) reports its original dtype and
    shape, so its inner tensors (int8 data, scales) are counted instead."""
    flatten = getattr(type(tensor), "__tensor_flatten__", None)
    if flatten is not None:
        names, _ = tensor.__tensor_flatten__()
        return sum(tensor_bytes(getattr(tensor, name)) for name in names)
    size = tensor.numel() * tensor.element_size()
    state = getattr(tensor, "quant_state", None)  # bitsandbytes 4-bit: the per-block scales beside the data
    absmax = getattr(state, "absmax", None)
    return size + (absmax.numel() * absmax.element_size() if absmax is not None else 0)


def quantized_form(tensor) -> tuple[str, int] | None:
    """(what a quantized parameter is, how many weights it holds), or None for an ordinary tensor:
    bitsandbytes 8-bit is int8 already; its 4-bit packs two weights in a uint8 with a scale per block;
    a torchao subclass reports its original dtype, so its inner data's dtype is named."""
    state = getattr(tensor, "quant_state", None)
    if state is not None and getattr(state, "shape", None) is not None:
        count = 1
        for size in state.shape:
            count *= int(size)
        return f"{getattr(state, 'quant_type', '4-bit')} (4-bit in uint8, block {state.blocksize})", count
    if getattr(type(tensor), "__tensor_flatten__", None) is not None:
        names, _ = tensor.__tensor_flatten__()
        data = getattr(tensor, names[0]) if names else None
        if data is not None:
            return f"{str(data.dtype).removeprefix('torch.')} ({type(tensor).__name__})", tensor.numel()
    return None


def param_bytes(model) -> int:
    return sum(tensor_bytes(p) for p in torch_module(model).parameters())
