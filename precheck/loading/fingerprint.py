"""A fingerprint of a loaded model: what decides its outputs, as one short digest.

Two models with the same fingerprint compute the same function on the same inputs, so a
scan run of one stands for the other (float16 `load` and `cast` are often bit-identical).
"""
from __future__ import annotations

import hashlib


def _tensor_bytes(tensor):
    """The tensor's raw bytes as a NumPy view (no copy for a contiguous CPU tensor)."""
    import torch

    flat = tensor.detach()
    if flat.device.type != "cpu":
        flat = flat.cpu()
    # A uint8 view reads bfloat16 (which NumPy has no type for) as plain bytes.
    return flat.contiguous().reshape(-1).view(torch.uint8).numpy()


def _quantized_subclass(tensor) -> bool:
    import torch

    data = tensor.data if isinstance(tensor, torch.nn.Parameter) else tensor
    return type(data) is not torch.Tensor or type(tensor).__module__.startswith("bitsandbytes")


def attention_implementations(net) -> str:
    """The attention kernel(s) the model's configs chose (sdpa, eager, flash_attention_2; several
    joined by commas): the same weights under another kernel can differ, in half precision most."""
    found = []
    for module in net.modules():
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            found.append(str(config._attn_implementation))
    return ",".join(sorted(set(found)))


def model_fingerprint(net) -> str | None:
    """blake2b over module classes, then every parameter and buffer's name, dtype, shape and
    bytes. None when a tensor has no data here (meta or offloaded): such a model is never
    taken for another."""
    digest = hashlib.blake2b(digest_size=16)
    for path, module in net.named_modules():
        digest.update(f"module {path} {type(module).__module__}.{type(module).__qualname__}\n".encode())
    digest.update(f"attention {attention_implementations(net)}\n".encode())
    tensors = [("param", *item) for item in net.named_parameters()]
    tensors += [("buffer", *item) for item in net.named_buffers()]
    for role, name, tensor in tensors:
        # A quantized weight (torchao's tensor subclasses, bitsandbytes' packed Params4bit) has no plain
        # bytes to read: such a model is never taken for another either.
        if tensor.device.type == "meta" or _quantized_subclass(tensor):
            return None
        digest.update(f"{role} {name} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
        if tensor.numel():
            digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()
