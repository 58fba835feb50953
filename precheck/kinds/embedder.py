"""The embedder kind: a SentenceTransformer, probed with texts through encode(), compared by cosine."""
from __future__ import annotations

import time
from pathlib import Path

from ..engine.compare import compare_embeddings
from .figures import ReadsFigures


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

    def api_shape(self) -> tuple[str, str]:
        """(how code reaches the nn.Module, the keyword that carries torch_dtype)."""
        return "model", "model_kwargs"

    def default_items(self, model) -> list:
        from .texts import builtin_texts

        return builtin_texts(getattr(model, "max_seq_length", None))

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
        tokens = model.tokenizer(item, truncation=True, max_length=model.max_seq_length)["input_ids"]
        return len(tokens)

    def window(self, model) -> int | None:
        return getattr(model, "max_seq_length", None)

    def token_lengths(self, model, items: list) -> list[int]:
        return uncut_lengths(model.tokenizer, items)


def uncut_lengths(tokenizer, items: list, pairs: list | None = None) -> list[int]:
    """Token counts, special tokens included, with nothing cut, a batch at a time."""
    counts: list[int] = []
    for start in range(0, len(items), 1024):
        batch = [str(t) for t in items[start:start + 1024]]
        second = None if pairs is None else [str(t) for t in pairs[start:start + 1024]]
        counts += [len(ids) for ids in tokenizer(batch, second, truncation=False, verbose=False)["input_ids"]]
    return counts
