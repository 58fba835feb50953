"""The dtype table: which parameters and buffers each module holds, in which dtype.

A row whose floating parameters are not in the requested dtype is flagged: that is the uncast
module that makes encode() fail with "mat1 and mat2 must have the same dtype". Modules that
transformers keeps in float32 on purpose (`_keep_in_fp32_modules`) are named, not flagged.
"""
from __future__ import annotations

from collections import Counter

from ..dtypes import dtype_name, is_quantized
from ..data.report import ModuleRow
from ..tensors import quantized_form, tensor_bytes


def _dtype_counts(tensors) -> dict[str, int]:
    """dtype -> parameter count; a quantized parameter under what it is (int8, nf4 packed 4-bit)."""
    counts: Counter[str] = Counter()
    for tensor in tensors:
        name, count = quantized_form(tensor) or (dtype_name(tensor.dtype), tensor.numel())
        counts[name] += count
    return dict(sorted(counts.items()))


def _under(path: str, block: str) -> bool:
    return path == block or path.startswith(block + ".")


def _names_match(path: str, names: set[str]) -> bool:
    return any(f".{path}".endswith(f".{name}") for name in names)


def kept_by_transformers(net, requested: str) -> list[str]:
    """Module paths that transformers' loader kept in float32 on purpose in a `requested` load:
    named in a PreTrainedModel's `_keep_in_fp32_modules` (float16 loads) or
    `_keep_in_fp32_modules_strict` (float16 and bfloat16), and actually holding float32 parameters."""
    if requested == "float32":
        return []
    kept: list[str] = []
    for root, module in net.named_modules():
        names = set(getattr(module, "_keep_in_fp32_modules_strict", None) or ())
        names |= set(getattr(module, "_keep_in_fp32_modules", None) or ())
        if not names:
            continue
        for sub, child in module.named_modules():
            floating = [p for p in child.parameters() if p.is_floating_point()]
            path = f"{root}.{sub}" if root and sub else root or sub
            if sub and _names_match(sub, names) and floating and all(dtype_name(p.dtype) == "float32" for p in floating):
                kept.append(path)
    unique = list(dict.fromkeys(kept))
    return [p for p in unique if not any(q != p and _under(p, q) for q in unique)]


def _row(path: str, module, requested: str, kept: list[str]) -> ModuleRow:
    params = list(module.parameters())
    buffers = list(module.buffers())
    param_dtypes = _dtype_counts(params)
    own_kept = [k for k in kept if _under(k, path)]
    # Parameters under a module transformers keeps in float32 do not count against the row.
    checked = {dtype_name(p.dtype) for name, p in module.named_parameters()
               if p.is_floating_point() and not any(_under(f"{path}.{name}", k) for k in own_kept)}
    size = sum(tensor_bytes(t) for t in params + buffers)
    return ModuleRow(
        path=path,
        index=int(path.split(".")[0]) if path.split(".")[0].isdigit() else None,
        cls=type(module).__name__,
        params=sum(p.numel() for p in params),
        param_dtypes=param_dtypes,
        buffer_dtypes=_dtype_counts(buffers),
        size_mb=round(size / 1e6, 3),
        # A quantized load keeps norms and embeddings in float: nothing there is a module left uncast.
        flagged=bool(checked - {requested}) and not is_quantized(requested),
        kept_in_fp32=own_kept,
        fp32_buffers=[f"{path}.{name}" for name, b in module.named_buffers()
                      if b.is_floating_point() and dtype_name(b.dtype) != requested],
    )


def module_rows(model, requested: str, depth: int = 1) -> list[ModuleRow]:
    """One row per module down to `depth` levels (1: the top-level modules), by dotted path."""
    from ..kinds import torch_module

    rows: list[ModuleRow] = []
    model = torch_module(model)
    kept = kept_by_transformers(model, requested)

    def walk(prefix: str, module, level: int) -> None:
        for name, child in module.named_children():
            path = f"{prefix}.{name}" if prefix else name
            rows.append(_row(path, child, requested, kept))
            if level < depth:
                walk(path, child, level + 1)

    walk("", model, 1)
    return rows


class DtypeNotReached(Exception):
    """A load asked for a half precision left every floating parameter as it was (a module that does not
    take torch_dtype, such as sentence-transformers' StaticEmbedding): its run is not a run of that precision."""


def check_dtype_reached(model, requested: str) -> None:
    """DtypeNotReached when a `requested` load holds floating parameters and none of them in `requested`."""
    from ..kinds import torch_module

    if requested == "float32" or is_quantized(requested):
        return
    floating = [p for p in torch_module(model).parameters() if p.is_floating_point()]
    if floating and not any(dtype_name(p.dtype) == requested for p in floating):
        held = "/".join(sorted({dtype_name(p.dtype) for p in floating}))
        raise DtypeNotReached(f"torch_dtype={requested} reached none of the model's "
                              f"{sum(p.numel() for p in floating):,} floating parameters: the load leaves "
                              f"them {held}, so it is not a {requested} model")
