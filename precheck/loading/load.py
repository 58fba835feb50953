"""Load a resolved model (resolve.py) exactly as users do, one copy at a time, and let it go.

What can stop precheck at a load (not a model, corrupt weights, an option the installed
sentence-transformers refuses) becomes a PrecheckError here; what stops it before (not found,
offline and not cached, remote code refused) is resolve.py's.
"""
from __future__ import annotations

import gc

from ..dtypes import is_quantized
from ..errors import PrecheckError
from .load_arguments import after_load, as_load_options, constructor_kwargs
from .resolve import ResolvedModel, hub_cache


def quiet_libraries() -> None:
    """transformers' per-load weight bars and advice would interleave with precheck's own output."""
    import logging

    # Set before transformers is imported: it imports torchao when installed (precheck[quant]), whose
    # import logs a warning per CUDA kernel library a CPU machine cannot load, and torch's pytree
    # logs a deprecation for torchao's enums; bitsandbytes logs each int8 matmul's cast to float16 and its
    # CPU kernel fallback. None of it is about the model under test.
    for noisy in ("torchao", "torch.utils._pytree", "bitsandbytes"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    import huggingface_hub
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    huggingface_hub.utils.logging.set_verbosity_error()


def load_model(model: ResolvedModel, device: str | None, dtype: str | None, load=False, offload: dict | None = None,
               keep_unquantized=()):
    """SentenceTransformer(path, device=..., trust_remote_code=..., model_kwargs={"torch_dtype": dtype, ...})
    (or CrossEncoder, SparseEncoder), the call users make, with the load options they pass (`load`, a
    LoadOptions; a bool is trust_remote_code alone); dtype None asks for float32, the reference; a quantized
    precision (dtypes.QUANTIZED) passes its quantization_config instead of a torch_dtype, with the modules
    `keep_unquantized` names left out of quantization."""
    import sentence_transformers
    import torch

    from ..kinds import kind_for

    load = as_load_options(load)
    if model.source != "hub" and load.revision is not None:
        from dataclasses import replace

        load = replace(load, revision=None)  # resolve_model already took that revision's snapshot
    if is_quantized(dtype or ""):
        from .quantization import quantization_config

        # As users load it: the quantization_config alone, the rest of the weights in the checkpoint's dtype.
        kwargs = constructor_kwargs(model.kind, load, None, offload,
                                    quantization_config(dtype, keep_unquantized))
    else:
        kwargs = constructor_kwargs(model.kind, load, getattr(torch, dtype or "float32"), offload)
    try:
        loaded = getattr(sentence_transformers, kind_for(model.kind).class_name)(
            model.path, **({} if device is None else {"device": device}), **kwargs)
    except PrecheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - anything here means precheck cannot test the model
        raise _load_error(model, exc, load) from exc
    return after_load(loaded, model, load)


def _option_error(load, exc: Exception, text: str) -> PrecheckError | None:
    """A load error the user's own option caused (a package a quantization_config needs, a key the
    class rejects): named by that option, not blamed on the model's code."""
    from .model_code import package_to_install

    given = [(flag, key) for flag, kwargs in (("--model-kwarg", load.model_kwargs), ("--config-kwarg", load.config_kwargs),
                                              ("--tokenizer-kwarg", load.tokenizer_kwargs)) for key in kwargs]
    named = [(flag, key) for flag, key in given if key in str(exc)]
    # An attention kernel the machine lacks (flash_attention_2 without its package) is the option's doing.
    if load.attn_implementation and ("attention" in str(exc).lower() or load.attn_implementation in str(exc)):
        return PrecheckError(f"could not load the model with --attn-implementation {load.attn_implementation}: {text}",
                             "use sdpa or eager, or install what that kernel needs")
    package = package_to_install(exc)
    if package and given:
        flag, key = (named or given)[0]
        return PrecheckError(f"{flag} {key} needs the package {package}, which is not installed: {text}",
                             f"pip install {package}, or leave {flag} {key} out")
    if named:
        flag, key = named[0]
        return PrecheckError(f"could not load the model with {flag} {key}: {text}",
                             f"check the value of {flag} {key}, or leave it out")
    return None


def _load_error(model: ResolvedModel, exc: Exception, load=None) -> PrecheckError:
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    blamed = _option_error(load, exc, text) if load is not None else None
    if blamed is not None:
        return blamed
    if "trust_remote_code" in str(exc):
        return PrecheckError(f"{model.name} needs its own code to load", "rerun with --trust-remote-code if you trust it")
    if model.source == "hub":
        return PrecheckError(
            f"could not download {model.path}: {text}",
            f"check the id and the network, or set HF_HUB_OFFLINE=1 to use the cache ({hub_cache()})",
        )
    from .model_code import describe, is_about_weights

    named = describe(exc, model.path)
    if named is not None:
        return PrecheckError(f"could not load {model.name}: {named[0]}", named[1])
    if is_about_weights(exc):
        return PrecheckError(f"could not load {model.name}: {text}", "are the weights complete and uncorrupted?")
    return PrecheckError(f"could not load {model.name}: {text}",
                         "rerun with --debug for the traceback")


# Set by the `precheck` command's own process (cli.main), never by the library in someone else's:
# after the first collection, everything alive (torch's, transformers' and sentence-transformers'
# half a million import-time objects) is frozen out of the cyclic collector, so each later
# collection walks what the scan made since, about 0.3 s less each on MiniLM (docs/benchmarks.md).
FREEZE_AFTER_FIRST_COLLECT = {"wanted": False, "done": False}


def release_memory() -> None:
    """Called once the last reference to a model is gone, so that peak memory stays near one model."""
    import torch

    gc.collect()
    if FREEZE_AFTER_FIRST_COLLECT["wanted"] and not FREEZE_AFTER_FIRST_COLLECT["done"]:
        gc.freeze()
        FREEZE_AFTER_FIRST_COLLECT["done"] = True
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_reference_model(model: ResolvedModel, device: str, load, placement: str, offload: dict):
    """The float32 reference where the memory plan put it: the device, the CPU, or (offload holds
    device_map/max_memory/offload_folder) spread by accelerate through model_kwargs."""
    if not offload:
        return load_model(model, "cpu" if placement == "cpu" else device, None, load)
    import logging
    import shutil
    import weakref

    # accelerate warns that offloaded parameters sit on the meta device: the memory plan already says so.
    logging.getLogger("accelerate.big_modeling").setLevel(logging.ERROR)
    try:
        loaded = load_model(model, None, None, load, offload)
    except BaseException:
        shutil.rmtree(offload["offload_folder"], ignore_errors=True)
        raise
    # Offloaded weights may be read from that folder until the model is gone.
    weakref.finalize(loaded, shutil.rmtree, offload["offload_folder"], ignore_errors=True)
    return loaded


