"""Quantized precisions as users load them: the quantization_config each one passes in model_kwargs,
and the packages it needs, checked before anything loads (docs/quantization.md).

No torch import at the top: the check of --dtype runs before torch loads.
"""
from __future__ import annotations

import importlib.util
from importlib import metadata

from ..dtypes import QUANTIZED, is_quantized
from ..errors import PrecheckError

# The library that quantizes each precision, and the packages a load needs (precheck[quant]).
LIBRARY = {name: "bitsandbytes" for name in ("int8", "nf4", "nf4-fp16", "fp4", "fp4-fp16")} | \
    {name: "torchao" for name in ("int8wo", "int8dq")}
NEEDS = {"bitsandbytes": ("bitsandbytes", "accelerate"), "torchao": ("torchao",)}
# transformers 4.x (the sentence-transformers 3.0.1 stack) loads bitsandbytes only on a CUDA GPU and
# takes torchao's modes as strings: the precisions are checked from transformers 5 on.
FIRST_TRANSFORMERS = 5


def _installed(package: str) -> bool:
    # find_spec imports nothing; a name set to None in sys.modules reads as absent, as it does for import.
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def check_quantization_available(dtypes, where: str = "--dtype") -> None:
    """One line and exit 2 (PrecheckError) before any load when a quantized precision cannot run here."""
    wanted = [d for d in dtypes if is_quantized(d)]
    if not wanted:
        return
    missing = sorted({p for d in wanted for p in NEEDS[LIBRARY[d]] if not _installed(p)})
    if missing:
        raise PrecheckError(f"{where} {wanted[0]} needs {', '.join(missing)}, which "
                            f"{'is' if len(missing) == 1 else 'are'} not installed",
                            "pip install 'precheck[quant]'")
    try:
        major = int(metadata.version("transformers").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return
    if major < FIRST_TRANSFORMERS:
        raise PrecheckError(f"{where} {wanted[0]}: quantized precisions need transformers "
                            f"{FIRST_TRANSFORMERS} or later (installed: {metadata.version('transformers')})",
                            "upgrade sentence-transformers and transformers, or scan fp16/bf16 only")


def quantization_config(name: str):
    """The quantization_config a user passes in model_kwargs for this precision."""
    import torch

    if name not in QUANTIZED:
        raise ValueError(f"not a quantized precision: {name}")
    if LIBRARY[name] == "bitsandbytes":
        from transformers import BitsAndBytesConfig

        if name == "int8":
            return BitsAndBytesConfig(load_in_8bit=True)
        quant_type, _, compute = name.partition("-")
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant_type,
                                  bnb_4bit_compute_dtype=torch.float16 if compute == "fp16" else torch.bfloat16)
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig
    from transformers import TorchAoConfig

    return TorchAoConfig(Int8WeightOnlyConfig() if name == "int8wo" else Int8DynamicActivationInt8WeightConfig())


def config_code(name: str) -> str:
    """The same config as a user writes it (docs, snippets)."""
    if name == "int8":
        return "BitsAndBytesConfig(load_in_8bit=True)"
    if LIBRARY[name] == "bitsandbytes":
        quant_type, _, compute = name.partition("-")
        return (f'BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="{quant_type}", '
                f'bnb_4bit_compute_dtype=torch.{"float16" if compute == "fp16" else "bfloat16"})')
    return f"TorchAoConfig({'Int8WeightOnlyConfig' if name == 'int8wo' else 'Int8DynamicActivationInt8WeightConfig'}())"
