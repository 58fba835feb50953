"""Tiny models of each kind as objects in memory (what a notebook or a trainer holds), and the digest
that says an object came out of precheck as it went in: weights, dtypes, devices, modules, modes."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from scale_models import TOKENIZER_FILES, build_tiny_cross_encoder, build_tiny_model
from fixture_models import plain_model_path

KINDS = ("sentence-transformer", "cross-encoder", "sparse-encoder", "multi-vector-encoder")


def _tiny_sparse(folder: Path):
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import SpladePooling, Transformer
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=128)
    BertForMaskedLM(config).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        if (plain_model_path() / name).is_file():
            shutil.copy(plain_model_path() / name, folder / name)
    transformer = Transformer(str(folder), transformer_task="fill-mask", max_seq_length=64)
    return SparseEncoder(modules=[transformer, SpladePooling(pooling_strategy="max")], device="cpu")


def tiny_object(kind: str, folder: Path):
    """A loaded tiny model of `kind`, on the CPU in float32."""
    if kind == "sentence-transformer":
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(build_tiny_model(folder / "st")), device="cpu")
    if kind == "cross-encoder":
        from sentence_transformers import CrossEncoder

        return CrossEncoder(str(build_tiny_cross_encoder(folder / "ce")), device="cpu")
    if kind == "sparse-encoder":
        return _tiny_sparse(folder / "splade")
    from multi_vector_models import build_multi_vector_model
    from sentence_transformers import MultiVectorEncoder

    return MultiVectorEncoder(str(build_multi_vector_model(folder / "mve")), device="cpu")


def scale_feed_forward(model, factor: float, layer: int = 1) -> str:
    """Multiply one BERT layer's feed-forward input by `factor` and divide its output by it: float32's
    result barely moves, float16's intermediate overflows once factor x activations pass 65504.
    Returns the layer's path in the model."""
    import torch

    for name, module in model.named_modules():
        if name.endswith(f"encoder.layer.{layer}"):
            with torch.no_grad():
                module.intermediate.dense.weight.mul_(factor)
                module.intermediate.dense.bias.mul_(factor)
                module.output.dense.weight.div_(factor)
            return name
    raise ValueError(f"no encoder.layer.{layer} in the model")


def object_digest(model) -> str:
    """One hash of everything precheck must leave alone: each tensor's name, dtype, device and bytes,
    each module's class and train/eval mode, each parameter's requires_grad."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict(keep_vars=True).items():
        value = tensor.detach()
        digest.update(f"{name}:{value.dtype}:{value.device}:{getattr(tensor, 'requires_grad', None)}".encode())
        digest.update(value.cpu().contiguous().view(-1).view(dtype=__import__("torch").uint8).numpy().tobytes())
    for name, module in model.named_modules():
        digest.update(f"{name}:{type(module).__name__}:{module.training}".encode())
        digest.update(repr(sorted(module._forward_hooks)).encode() + repr(sorted(module._forward_pre_hooks)).encode())
    return digest.hexdigest()
