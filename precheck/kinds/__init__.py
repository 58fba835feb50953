"""The kinds of model precheck tests, behind one interface the scan, diagnosis and fixes use.

One module per kind (its class, its built-in probe items, how it runs and compares); `kind_for`
picks one by name from KINDS. embedder.py: SentenceTransformer; cross_encoder.py: CrossEncoder;
sparse_encoder.py: SparseEncoder; multi_vector.py: MultiVectorEncoder. Each mixes in figures.py's
ReadsFigures: its headline figure and verdict line, from its own `figures`.
"""
from __future__ import annotations

from ..tensors import torch_module
from .cross_encoder import CrossEncoderKind, cross_encoder_max_length
from .embedder import Embedder
from .multi_vector import MultiVectorEncoderKind
from .protocol import Kind
from .sparse_encoder import SparseEncoderKind

EMBEDDER, CROSS_ENCODER, SPARSE_ENCODER = Embedder.name, CrossEncoderKind.name, SparseEncoderKind.name
MULTI_VECTOR_ENCODER = MultiVectorEncoderKind.name
KINDS: dict[str, type[Kind]] = {kind.name: kind for kind in (Embedder, CrossEncoderKind, SparseEncoderKind, MultiVectorEncoderKind)}
KIND_NAMES = tuple(KINDS)  # data/vocabulary.py spells them for the documents; a test holds the two equal

__all__ = ["CROSS_ENCODER", "EMBEDDER", "KINDS", "KIND_NAMES", "MULTI_VECTOR_ENCODER", "SPARSE_ENCODER",
           "Kind", "CrossEncoderKind", "Embedder", "MultiVectorEncoderKind", "SparseEncoderKind", "cross_encoder_max_length", "kind_for", "torch_module"]


def kind_for(name: str) -> Kind:
    """A fresh kind object (it may hold per-scan state, such as the token lookup)."""
    return KINDS.get(name, Embedder)()
