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
# Quantized weights (docs/quantization.md), loaded as users load them: a quantization_config in
# model_kwargs. 4-bit layers compute in bfloat16 unless the name ends in -fp16 (float16 compute).
# torchao's int4 weight-only is not here: with torchao 0.18 none of its packings runs on a CPU.
QUANTIZED = ("int8", "nf4", "nf4-fp16", "fp4", "fp4-fp16", "int8wo", "int8dq")
UNDER_TEST = LOW_PRECISION + QUANTIZED
# The library that quantizes each precision, and the packages a load needs (precheck[quant]).
LIBRARY = {name: "bitsandbytes" for name in ("int8", "nf4", "nf4-fp16", "fp4", "fp4-fp16")} | \
    {name: "torchao" for name in ("int8wo", "int8dq")}
# The precision with the same 4-bit weights computing in bfloat16 (a fix for float16 compute's range).
BF16_COMPUTE = {"nf4-fp16": "nf4", "fp4-fp16": "fp4"}
NEEDS = {"bitsandbytes": ("bitsandbytes", "accelerate"), "torchao": ("torchao",)}
_QUANTIZED_ALIASES = {"llm.int8": "int8", "bnb-int8": "int8", "nf4-bf16": "nf4", "fp4-bf16": "fp4",
                      "int8-weight-only": "int8wo", "int8-dynamic": "int8dq"}
_KNOWN = "fp16 (float16, half), bf16 (bfloat16), " + ", ".join(QUANTIZED)


def is_quantized(name: str) -> bool:
    return name in QUANTIZED


def parse_low_dtype(text: str, quantized: bool = True) -> str:
    """Map a user's spelling (fp16, half, bf16, nf4, ...) to precheck's name of a precision under test:
    torch's name of a half-precision dtype, or one of QUANTIZED (quantized=False: half precision only)."""
    parts = [part for part in str(text).split(",") if part.strip()]
    if len(parts) > 1:
        raise PrecheckError(f"--dtype {text!r} names {len(parts)} dtypes; this command takes one",
                            "pass one of fp16 or bf16 (run it once per dtype)")
    spelled = text.strip().lower()
    name = _ALIASES.get(spelled) or _QUANTIZED_ALIASES.get(spelled) or (spelled if spelled in QUANTIZED else None)
    if name in QUANTIZED and not quantized:
        raise PrecheckError(f"--dtype {text!r} is a quantized precision: this command takes fp16 or bf16",
                            "scan it with precheck scan --dtype " + name)
    if name not in UNDER_TEST:
        raise PrecheckError(
            f"unknown dtype {text!r}",
            f"use {_KNOWN if quantized else 'fp16 (float16, half) or bf16 (bfloat16)'}",
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
                            f"use {_KNOWN}, or leave --dtype out for fp16 and bf16")
    return tuple(names)


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)


def dtype_name(dtype) -> str:
    """torch.float16 -> 'float16'."""
    return str(dtype).removeprefix("torch.")


# How an index stores the vectors (--storage, docs/storage.md): float16 by a cast, the rest by
# sentence-transformers' quantize_embeddings.
PRECISIONS = ("float32", "float16", "int8", "uint8", "binary", "ubinary")
_STORAGE_ALIASES = {"fp32": "float32", "fp16": "float16", "half": "float16"}


def parse_precisions(values) -> tuple[str, ...]:
    """'float16,int8' or a list of such strings -> ('float16', 'int8'), in the order given."""
    if isinstance(values, str):
        values = [values]
    names: list[str] = []
    for value in values or []:
        for part in str(value).split(","):
            name = _STORAGE_ALIASES.get(part.strip().lower(), part.strip().lower())
            if not name:
                continue
            if name not in PRECISIONS:
                raise PrecheckError(f"--storage: unknown precision {part.strip()!r}",
                                    f"choose from {', '.join(PRECISIONS)}")
            if name not in names:
                names.append(name)
    if values and not names:
        raise PrecheckError("--storage is empty", f"choose from {', '.join(PRECISIONS)}")
    return tuple(names)
