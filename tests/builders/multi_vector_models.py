"""Tiny MultiVectorEncoders as sentence-transformers 6 builds a ColBERT (a BERT, a Dense projection
on the token embeddings, the scoring mask, Normalize), random weights, the MiniLM tokenizer; one
healthy, one whose projection passes float16's 65504 (float32 and bfloat16 hold it)."""
from __future__ import annotations

import shutil
from pathlib import Path

from scale_models import build_tiny_model

# BERT's token outputs are O(1) after its last LayerNorm: this lifts the projection to ~1e5.
OVERFLOW_SCALE = 1e5


def build_multi_vector_model(folder: Path, overflow: bool = False) -> Path:
    import torch
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    # The tiny SentenceTransformer's folder holds its BERT and tokenizer at the top: the Transformer reads them.
    tiny = build_tiny_model(folder.parent / f"{folder.name}-tiny")
    transformer = Transformer(str(tiny), max_seq_length=64)
    dense = Dense(32, 16, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings")
    if overflow:
        with torch.no_grad():
            dense.linear.weight.mul_(OVERFLOW_SCALE)
    mask, normalize = MultiVectorMask(), Normalize(module_input_name="token_embeddings")
    MultiVectorEncoder(modules=[transformer, dense, mask, normalize], device="cpu").save(str(folder))
    shutil.rmtree(tiny)
    return folder
