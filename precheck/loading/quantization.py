"""Quantized precisions as users load them: the quantization_config each one passes in model_kwargs
(docs/quantization.md); the packages each needs are checked with --dtype (option_checks.py).
"""
from __future__ import annotations

from ..dtypes import LIBRARY, QUANTIZED


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
