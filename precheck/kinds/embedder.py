"""The embedder kind: a SentenceTransformer, probed with texts through encode(), compared by cosine."""
from __future__ import annotations

import time
from pathlib import Path

from ..compare.dense import compare_embeddings
from .figures import ReadsFigures
from .tokens import token_ids, uncut_lengths, window_of


class Embedder(ReadsFigures):
    name = "sentence-transformer"
    class_name = "SentenceTransformer"
    run_call = 'embeddings = model.encode(["your text"])'
    run_method = "encode"  # the call of run_call, which takes the encode options (prompt_name, prompt)
    items_label = "texts"
    probe_option = "texts"  # the file option that replaces the built-in items
    figures = ("cosine",)
    outputs_are_scores = False
    dense_embeddings = True
    served = True
    head_suffix, head_words = "", ""  # a bare encoder: the pipeline pools its token embeddings
    tei_pooling = None
    max_length_argument = None  # max_seq_length is set on the loaded model
    trains_by = "embeddings"
    eval_ranks_corpus = True
    eval_stack_scoring = "similarity"

    def api_shape(self) -> tuple[str, str]:
        """(how code reaches the nn.Module, the keyword that carries torch_dtype)."""
        return "model", "model_kwargs"

    def default_items(self, model) -> list:
        from .texts import builtin_texts

        return builtin_texts(self.window(model))

    def read_items(self, path: Path) -> list:
        from .texts import read_texts

        return read_texts(path)

    def run(self, model, items: list, batch_size: int, **encode_options):
        """Outputs as users get them (NumPy), as a float32 tensor, with the seconds it took."""
        import numpy as np
        import torch

        start = time.perf_counter()
        out = model.encode(items, batch_size=batch_size, show_progress_bar=False, **encode_options)
        return torch.from_numpy(np.asarray(out, dtype=np.float32)), time.perf_counter() - start

    def compare(self, reference, candidate, items):
        return compare_embeddings(reference, candidate)

    def token_count(self, model, item) -> int:
        return len(token_ids(model.tokenizer, [item], limit=self.window(model))[0])

    def window(self, model) -> int | None:
        """max_seq_length; None for a model with no window (a static embedding model's is infinite)."""
        return window_of(getattr(model, "max_seq_length", None))

    def token_lengths(self, model, items: list) -> list[int]:
        return uncut_lengths(model.tokenizer, items)

    def eval_encode(self, model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict):
        from .eval_scoring import dense

        return dense(model, texts, role, batch_size, encode_kwargs)

    def eval_scores(self, queries, documents, pairwise: bool = False):
        from .eval_scoring import cosine_scores

        return cosine_scores(queries, documents, pairwise)

    def eval_pair_scores(self, model, pairs: list, batch_size: int, encode_kwargs: dict):
        from .eval_scoring import pair_scores

        return pair_scores(self, model, pairs, batch_size, encode_kwargs)
