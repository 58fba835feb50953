"""Dtype names: short forms accepted at the CLI edge, torch's spelling everywhere else.

Kept free of torch imports so argument errors answer before torch loads.
"""
from __future__ import annotations

from .errors import PrecheckError

_ALIASES = {
    "fp16": "float16",
    "float16": "float16",
    "half": "float16",
    "f16": "float16",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp32": "float32",
    "float32": "float32",
    "float": "float32",
}
LOW_PRECISION = ("float16", "bfloat16")
DEFAULT_DTYPES = ("float16", "bfloat16")


def parse_low_dtype(text: str) -> str:
    """Map a user's spelling (fp16, half, bf16, ...) to torch's name of a half-precision dtype."""
    name = _ALIASES.get(text.strip().lower())
    if name not in LOW_PRECISION:
        raise PrecheckError(
            f"unknown dtype {text!r}",
            "use fp16 (float16, half) or bf16 (bfloat16)",
        )
    return name


def parse_low_dtypes(texts: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not texts:
        return DEFAULT_DTYPES
    names: list[str] = []
    for text in texts:
        for part in text.split(","):
            if part.strip():
                name = parse_low_dtype(part)
                if name not in names:
                    names.append(name)
    if not names:
        # `--dtype "$UNSET"` in a CI script: a gate that tests nothing must not pass.
        raise PrecheckError(f"no dtype given in {', '.join(repr(t) for t in texts)}",
                            "use fp16 (float16, half) and/or bf16 (bfloat16), or leave --dtype out for both")
    return tuple(names)


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)


def dtype_name(dtype) -> str:
    """torch.float16 -> 'float16'."""
    return str(dtype).removeprefix("torch.")
