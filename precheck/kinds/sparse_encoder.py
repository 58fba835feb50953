"""The sparse-encoder kind: a SparseEncoder (SPLADE and similar), probed with texts encoded as
queries and as documents, compared by retrieval scores, active dimensions and top-k terms."""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import PrecheckError
from .embedder import Embedder

# A sparse encoder's outputs span the vocabulary (2 × 30,522 floats, about 240 KB a text for BERT's)
# and its Spearman ranks the scores of every pair of texts at once: past this many texts a probe
# set costs gigabytes, so a larger --texts file is refused before any load (docs/usage.md).
MAX_TEXTS = 2000


def _routes_by_task(model) -> bool:
    """A Router (inference-free SPLADE) sends queries and documents through different modules."""
    return any(type(module).__name__ == "Router" for module in model.modules())


class SparseEncoderKind(Embedder):
    """Loads, probes and counts tokens as an embedder does; runs and compares its own way."""

    name = "sparse-encoder"
    class_name = "SparseEncoder"
    run_call = 'embeddings = model.encode_document(["your text"])'
    run_method = "encode_document"
    items_label = "texts"
    probe_option = "texts"
    figures = ("score", "terms")
    dense_embeddings = False  # sparse vectors over the vocabulary
    trains_by = None
    head_suffix, head_words = "ForMaskedLM", "a masked-language-model head, as SPLADE models use"
    # text-embeddings-inference serves SPLADE through its /embed_sparse route with --pooling splade.
    tei_pooling = "splade"
    since = "5.0.0"  # the sentence-transformers release that added SparseEncoder (loading.py checks it)

    def __init__(self) -> None:
        self._tokens = None  # the reference model's id -> token lookup, for top-k terms

    def read_items(self, path: Path) -> list:
        texts = super().read_items(path)
        if len(texts) > MAX_TEXTS:
            raise PrecheckError(f"--texts file {path} has {len(texts):,} texts; a sparse encoder is probed with at "
                                f"most {MAX_TEXTS:,}",
                                f"pass a sample of {MAX_TEXTS:,} or fewer: its outputs span the vocabulary and its "
                                "Spearman ranks every pair of texts (docs/usage.md)")
        return texts

    def run(self, model, items: list, batch_size: int, **encode_options):
        """[texts, 2, vocabulary] float32: each text as a query and as a document, densified.
        One encode serves both unless the model routes queries and documents apart."""
        import torch

        if self._tokens is None:
            self._tokens = model.tokenizer.convert_ids_to_tokens
        start = time.perf_counter()
        options = {"batch_size": batch_size, "show_progress_bar": False, **encode_options}
        documents = model.encode_document(items, **options)
        queries = model.encode_query(items, **options) if _routes_by_task(model) else documents
        seconds = time.perf_counter() - start

        def dense(out):
            return (out.to_dense() if out.is_sparse else out).float().cpu().reshape(len(items), -1)

        return torch.stack([dense(queries), dense(documents)], dim=1), seconds

    def compare(self, reference, candidate, items):
        from ..engine.compare_sparse import compare_sparse

        return compare_sparse(reference, candidate, items, self._tokens or (lambda ids: [str(i) for i in ids]))
