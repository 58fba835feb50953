"""Quantized precisions as users load them: the quantization_config each one passes in model_kwargs,
and the packages it needs, checked before anything loads (docs/quantization.md).

No torch import at the top: the check of --dtype runs before torch loads.
"""
from __future__ import annotations

import importlib.util
from importlib import metadata

from ..dtypes import QUANTIZED, is_quantized
from ..errors import PrecheckError, install_hint

# The library that quantizes each precision, and the packages a load needs (precheck[quant]).
LIBRARY = {name: "bitsandbytes" for name in ("int8", "nf4", "nf4-fp16", "fp4", "fp4-fp16")} | \
    {name: "torchao" for name in ("int8wo", "int8dq")}
# The precision with the same 4-bit weights computing in bfloat16 (a fix for float16 compute's range).
BF16_COMPUTE = {"nf4-fp16": "nf4", "fp4-fp16": "fp4"}
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
                            install_hint("quant"))
    try:
        major = int(metadata.version("transformers").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return
    if major < FIRST_TRANSFORMERS:
        raise PrecheckError(f"{where} {wanted[0]}: quantized precisions need transformers "
                            f"{FIRST_TRANSFORMERS} or later (installed: {metadata.version('transformers')})",
                            "upgrade sentence-transformers and transformers, or scan fp16/bf16 only")


def quantization_config(name: str, keep_unquantized=()):
    """The quantization_config a user passes in model_kwargs for this precision; `keep_unquantized`:
    module names in the transformers model (encoder.layer.3, ...) left out of quantization, as
    bitsandbytes' llm_int8_skip_modules (every bitsandbytes mode) or torchao's modules_to_not_convert."""
    import torch

    skip = list(keep_unquantized) or None
    if name not in QUANTIZED:
        raise ValueError(f"not a quantized precision: {name}")
    if LIBRARY[name] == "bitsandbytes":
        from transformers import BitsAndBytesConfig

        if name == "int8":
            return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
        quant_type, _, compute = name.partition("-")
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant_type,
                                  bnb_4bit_compute_dtype=torch.float16 if compute == "fp16" else torch.bfloat16,
                                  llm_int8_skip_modules=skip)
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig
    from transformers import TorchAoConfig

    return TorchAoConfig(Int8WeightOnlyConfig() if name == "int8wo" else Int8DynamicActivationInt8WeightConfig(),
                         modules_to_not_convert=skip)


def default_skip_modules(transformers_model) -> list[str]:
    """The modules the installed transformers leaves out of quantization when no skip list is given (its
    get_keys_to_not_convert: tied weights such as a masked-LM decoder, the output embeddings, the last
    module), as module names of `transformers_model`. A skip list that is given replaces that default, so
    a list precheck passes starts from it: a tied decoder quantized fails in bitsandbytes at the first run."""
    try:
        from transformers.quantizers.base import get_keys_to_not_convert
    except ImportError:
        try:  # transformers 4.x kept it among the integrations
            from transformers.integrations import get_keys_to_not_convert
        except ImportError:
            return []
    try:
        keys = get_keys_to_not_convert(transformers_model)
    except Exception:  # noqa: BLE001 - a model the helper cannot read: no default to keep
        return []
    # Its entries are parameter paths less ".weight"; one that names no module (the last module's
    # "pooler.dense.bias") matches nothing at load either, so only module names are kept.
    modules = {name for name, _ in transformers_model.named_modules() if name}
    return sorted(k for k in keys if k in modules)


def with_default_skips(keep_unquantized, defaults) -> list[str]:
    """The skip list a load passes: the modules chosen, then the library's defaults not already named."""
    chosen = list(keep_unquantized)
    return chosen + [d for d in defaults if d not in chosen]


def skip_argument(name: str) -> str:
    """The config's argument that names modules kept out of quantization."""
    return "llm_int8_skip_modules" if LIBRARY[name] == "bitsandbytes" else "modules_to_not_convert"


def config_code(name: str, keep_unquantized=()) -> str:
    """The same config as a user writes it (docs, snippets)."""
    skip = f", {skip_argument(name)}={list(keep_unquantized)!r}" if keep_unquantized else ""
    if name == "int8":
        return f"BitsAndBytesConfig(load_in_8bit=True{skip})"
    if LIBRARY[name] == "bitsandbytes":
        quant_type, _, compute = name.partition("-")
        return (f'BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="{quant_type}", '
                f'bnb_4bit_compute_dtype=torch.{"float16" if compute == "fp16" else "bfloat16"}{skip})')
    return (f"TorchAoConfig({'Int8WeightOnlyConfig' if name == 'int8wo' else 'Int8DynamicActivationInt8WeightConfig'}()"
            f"{skip})")


def config_imports(name: str) -> str:
    """The import lines config_code needs."""
    if LIBRARY[name] == "bitsandbytes":
        return "from transformers import BitsAndBytesConfig\n"
    kind = "Int8WeightOnlyConfig" if name == "int8wo" else "Int8DynamicActivationInt8WeightConfig"
    return f"from torchao.quantization import {kind}\nfrom transformers import TorchAoConfig\n"
