"""The dtype table: which parameters and buffers each module holds, in which dtype.

A row whose floating parameters are not in the requested dtype is flagged: that is
the uncast module that makes encode() fail with "mat1 and mat2 must have the same dtype".
"""
from __future__ import annotations

from collections import Counter

from .dtypes import dtype_name
from .report import ModuleRow


def _dtype_counts(tensors) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for tensor in tensors:
        counts[dtype_name(tensor.dtype)] += tensor.numel()
    return dict(sorted(counts.items()))


def _row(path: str, module, requested: str) -> ModuleRow:
    params = list(module.parameters())
    buffers = list(module.buffers())
    param_dtypes = _dtype_counts(params)
    floating = {name for name in param_dtypes if name.startswith(("float", "bfloat"))}
    size = sum(t.numel() * t.element_size() for t in params + buffers)
    return ModuleRow(
        path=path,
        index=int(path.split(".")[0]) if path.split(".")[0].isdigit() else None,
        cls=type(module).__name__,
        params=sum(p.numel() for p in params),
        param_dtypes=param_dtypes,
        buffer_dtypes=_dtype_counts(buffers),
        size_mb=round(size / 1e6, 3),
        flagged=bool(floating - {requested}),
    )


def module_rows(model, requested: str, depth: int = 1) -> list[ModuleRow]:
    """One row per module down to `depth` levels (1: the top-level modules), by dotted path."""
    from .kinds import torch_module

    rows: list[ModuleRow] = []
    model = torch_module(model)

    def walk(prefix: str, module, level: int) -> None:
        for name, child in module.named_children():
            path = f"{prefix}.{name}" if prefix else name
            rows.append(_row(path, child, requested))
            if level < depth:
                walk(path, child, level + 1)

    walk("", model, 1)
    return rows
