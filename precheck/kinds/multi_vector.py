"""The multi-vector-encoder kind: a MultiVectorEncoder (ColBERT-style late interaction), probed
with (query, passage) pairs, compared by per-token vectors and MaxSim scores.

sentence-transformers 6 loads PyLate and Stanford ColBERT checkpoints as MultiVectorEncoder; its
encode_query / encode_document return one vector per scored token (the mask already applied).
"""
from __future__ import annotations

import time
from pathlib import Path

from .cross_encoder import CrossEncoderKind
from .tokens import token_ids, uncut_lengths


def _max_length(model) -> int:
    return int(getattr(model, "max_seq_length", None) or 512)


class MultiVectorEncoderKind(CrossEncoderKind):
    """Reads pairs as a cross-encoder does; loads, runs and compares its own way."""

    name = "multi-vector-encoder"
    class_name = "MultiVectorEncoder"
    run_call = ('scores = model.similarity(model.encode_query(["your query"]), '
                'model.encode_document(["a passage"]))')
    # The call that takes the encode options (--prompt-name, --prompt); run() passes them to
    # encode_document too, as a user who prompts both sides would.
    run_method = "encode_query"
    items_label = "pairs"
    probe_option = "pairs"
    figures = ("cosine", "score")  # per-token cosines and MaxSim scores
    outputs_are_scores = False  # a MaxSim score and token vectors per pair
    # Which servers take late-interaction models is not verified (docs/multi-vector.md).
    served = False
    head_suffix, head_words = "", ""  # ColBERT checkpoints are told apart by their own configs
    tei_pooling = None
    max_length_argument = None
    trains_by = None
    eval_ranks_corpus = True  # queries and documents are encoded apart, scored by MaxSim
    eval_stack_scoring = None  # MaxSim's sum in the stack's precision: not measured yet
    # The sentence-transformers subpackage that holds the class: versions without it are refused
    # before any load (loading.check_kind_available).
    package_module = "multi_vector_encoder"

    def api_shape(self) -> tuple[str, str]:
        return "model", "model_kwargs"

    def construct(self, path: str, device: str, trust_remote_code: bool, torch_dtype):
        from sentence_transformers import MultiVectorEncoder

        return MultiVectorEncoder(path, device=device, trust_remote_code=trust_remote_code,
                                  model_kwargs={"torch_dtype": torch_dtype})

    def default_items(self, model) -> list:
        from .pairs import builtin_pairs

        return builtin_pairs(_max_length(model))

    def read_items(self, path: Path) -> list:
        return super().read_items(path)

    def run(self, model, items: list, batch_size: int, **encode_options):
        """[pairs, 1 + 2 × max_seq_length, dim] float32: per pair, row 0 holds the MaxSim score and
        the query's and passage's token counts; then the query's token vectors, then the passage's
        from row 1 + max_seq_length, zero-padded, so that every run of the same pairs has one shape."""
        import torch

        start = time.perf_counter()
        options = {"batch_size": batch_size, "show_progress_bar": False, **encode_options}
        queries = list(dict.fromkeys(q for q, _ in items))
        passages = list(dict.fromkeys(p for _, p in items))
        query_vectors = dict(zip(queries, model.encode_query(queries, **options)))
        passage_vectors = dict(zip(passages, model.encode_document(passages, **options)))
        seconds = time.perf_counter() - start
        length = _max_length(model)
        dim = next(iter(query_vectors.values())).shape[-1]
        out = torch.zeros(len(items), 1 + 2 * length, max(dim, 3))
        for row, (query, passage) in enumerate(items):
            q = query_vectors[query].float().cpu()[:length]
            p = passage_vectors[passage].float().cpu()[:length]
            # MaxSim in float32 from the vectors as users get them: the index scores, not the model.
            score = (q @ p.T).max(dim=1).values.sum() if len(q) and len(p) else torch.tensor(0.0)
            out[row, 0, :3] = torch.stack([score, torch.tensor(float(len(q))), torch.tensor(float(len(p)))])
            out[row, 1:1 + len(q), :dim] = q
            out[row, 1 + length:1 + length + len(p), :dim] = p
        return out, seconds

    def compare(self, reference, candidate, items):
        from ..compare.multi_vector import compare_token_vectors

        return compare_token_vectors(reference, candidate, [q for q, _ in items])

    def token_count(self, model, item) -> int:
        limit = _max_length(model)
        return max(len(ids) for ids in token_ids(model.tokenizer, list(item), limit=limit))

    def window(self, model) -> int | None:
        return _max_length(model)

    def token_lengths(self, model, items: list) -> list[int]:
        """Queries and passages are encoded apart: an item is as long as its longer side."""
        queries = uncut_lengths(model.tokenizer, [q for q, _ in items])
        passages = uncut_lengths(model.tokenizer, [p for _, p in items])
        return [max(a, b) for a, b in zip(queries, passages)]

    def eval_encode(self, model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict):
        from .eval_scoring import token_vectors

        return token_vectors(model, texts, role, batch_size, encode_kwargs)

    def eval_scores(self, queries, documents, pairwise: bool = False):
        """MaxSim, summed in float32 from the float32 token vectors."""
        from .eval_scoring import maxsim_scores

        return maxsim_scores(queries, documents, pairwise)

    def eval_pair_scores(self, model, pairs: list, batch_size: int, encode_kwargs: dict):
        """A scored pair's sentences encoded as query and document, as the model is used."""
        import torch

        from .eval_scoring import maxsim_scores

        first = self.eval_encode(model, [a for a, _ in pairs], "query", batch_size, encode_kwargs)
        second = self.eval_encode(model, [b for _, b in pairs], "document", batch_size, encode_kwargs)
        return maxsim_scores(first, second, pairwise=True).to(torch.float64).numpy()
