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
# A SPLADE forward holds batch x tokens x vocabulary float32 logits, and SpladePooling's relu, log1p and
# masking make about three more of that size before the max: 32 texts padded to a 512-token window over
# BERT's 30,522 terms are 2 GB a copy (a 17 MB model peaked at 4.4 GiB). Texts are encoded in groups of
# similar length whose logits stay under this budget (docs/benchmarks.md has the figures).
LOGITS_BUDGET = 256 * 2**20
LOGITS_COPIES = 4


def _routes_by_task(model) -> bool:
    """A Router (inference-free SPLADE) sends queries and documents through different modules."""
    return any(type(module).__name__ == "Router" for module in model.modules())


def _dense(out, count: int):
    return (out.to_dense() if out.is_sparse else out).float().cpu().reshape(count, -1)


def _groups(model, items: list, batch_size: int) -> list[tuple[list[int], int]]:
    """(item indices, batch size) groups, longest texts first, each holding at most `batch_size` texts and
    LOGITS_BUDGET of logits at its longest text's length: a few long texts no longer pad a whole batch."""
    tokenizer = getattr(model, "tokenizer", None)
    window = getattr(model, "max_seq_length", None) or 512
    vocabulary = getattr(tokenizer, "vocab_size", None) or 30522
    try:
        lengths = [len(ids) for ids in tokenizer([str(t) for t in items], truncation=True,
                                                  max_length=window)["input_ids"]]
    except Exception:  # noqa: BLE001 - no tokenizer to count with: every text taken at the full window
        lengths = [window] * len(items)
    per_token = vocabulary * 4 * LOGITS_COPIES
    groups: list[tuple[list[int], int]] = []
    for index in sorted(range(len(items)), key=lambda i: -lengths[i]):
        if groups:
            group, _ = groups[-1]
            longest = lengths[group[0]]
            if len(group) < batch_size and (len(group) + 1) * longest * per_token <= LOGITS_BUDGET:
                group.append(index)
                continue
        groups.append(([index], 0))
    return [(group, len(group)) for group, _ in groups]


class SparseEncoderKind(Embedder):
    """Loads, probes and counts tokens as an embedder does; runs and compares its own way."""

    name = "sparse-encoder"
    class_name = "SparseEncoder"
    eval_stack_scoring = None  # sparse dot products: not measured yet (docs/evaluation.md)
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
        routed = _routes_by_task(model)
        rows: list = [None] * len(items)
        for group, size in _groups(model, items, batch_size):
            options = {"batch_size": size, "show_progress_bar": False, **encode_options}
            texts = [items[i] for i in group]
            documents = _dense(model.encode_document(texts, **options), len(texts))
            queries = _dense(model.encode_query(texts, **options), len(texts)) if routed else documents
            for row, index in enumerate(group):
                rows[index] = torch.stack([queries[row], documents[row]])
        seconds = time.perf_counter() - start
        return torch.stack(rows), seconds

    def compare(self, reference, candidate, items):
        from ..compare.sparse import compare_sparse

        return compare_sparse(reference, candidate, items, self._tokens or (lambda ids: [str(i) for i in ids]))

    def eval_encode(self, model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict):
        """Sparse float32 rows through encode_query / encode_document (encode for a pair's sentence),
        in the groups run() uses, so that the logits stay within LOGITS_BUDGET."""
        from .eval_scoring import sparse

        return sparse(model, texts, role, _groups(model, texts, batch_size), encode_kwargs)

    def eval_scores(self, queries, documents, pairwise: bool = False):
        """The dot product, as SparseEncoder.similarity scores by default, in float32."""
        from .eval_scoring import dot_scores

        return dot_scores(queries, documents, pairwise)
