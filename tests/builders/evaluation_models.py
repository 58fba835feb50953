"""Two-layer cuts of MiniLM's real weights for the --eval tests (tests/evaluation/): build_two_layer_minilm's
model, changed as fixture_models.py changes the whole one; a scan of it takes a fraction of the whole one's time.
(A reranker is not cut: a fresh head on two layers scores a query's candidates within float32's rounding of
each other, so that a batch's make-up reorders them.)"""
from __future__ import annotations

from pathlib import Path

from fixture_models import LONG_FROM_POSITION, build_two_layer_minilm


def build_two_layer_length_overflow_model(folder: Path) -> Path:
    """build_length_overflow_model's position embeddings on the two-layer MiniLM: only inputs longer
    than LONG_FROM_POSITION tokens overflow float16."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(build_two_layer_minilm(folder)), device="cpu")
    with torch.no_grad():
        model[0].auto_model.embeddings.position_embeddings.weight[LONG_FROM_POSITION:] *= 3.0e6
    model.save(str(folder))
    return folder
