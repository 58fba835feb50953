"""The kinds of model precheck tests, behind one interface the scan, diagnosis and fixes use.

One module per kind (its class, its built-in probe items, how it runs and compares); `kind_for`
picks one by name. embedder.py: SentenceTransformer; cross_encoder.py: CrossEncoder.
"""
from __future__ import annotations

from ..tensors import torch_module
from .cross_encoder import CrossEncoderKind, cross_encoder_max_length
from .embedder import Embedder

EMBEDDER, CROSS_ENCODER = Embedder.name, CrossEncoderKind.name

__all__ = ["CROSS_ENCODER", "EMBEDDER", "CrossEncoderKind", "Embedder", "cross_encoder_max_length", "kind_for",
           "torch_module"]


def kind_for(name: str):
    return CrossEncoderKind() if name == CROSS_ENCODER else Embedder()
