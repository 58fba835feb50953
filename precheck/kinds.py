"""The two kinds of model precheck tests, behind one interface the scan, diagnosis and fixes use.

embedder: SentenceTransformer, probe texts, encode(), compared by cosine.
cross-encoder: CrossEncoder, probe (query, passage) pairs, predict(), compared by score and rank.
"""
from __future__ import annotations

import inspect
import time
from pathlib import Path

from .compare import compare_embeddings, compare_scores

EMBEDDER, CROSS_ENCODER = "sentence-transformer", "cross-encoder"


def cross_encoder_max_length(model) -> int:
    """`max_seq_length` in sentence-transformers 6, `max_length` before it."""
    return getattr(model, "max_seq_length", None) or getattr(model, "max_length", None) or 512


def torch_module(model):
    """The nn.Module behind a model: CrossEncoder in sentence-transformers 3.x is a plain
    class holding the transformers model as `.model`."""
    from torch import nn

    return model if isinstance(model, nn.Module) else model.model


class Embedder:
    name = EMBEDDER
    class_name = "SentenceTransformer"
    run_call = 'embeddings = model.encode(["your text"])'
    items_label = "texts"

    def api_shape(self) -> tuple[str, str]:
        """(how code reaches the nn.Module, the keyword that carries torch_dtype)."""
        return "model", "model_kwargs"

    def construct(self, path: str, device: str, trust_remote_code: bool, torch_dtype):
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(path, device=device, trust_remote_code=trust_remote_code,
                                   model_kwargs={"torch_dtype": torch_dtype})

    def default_items(self, model) -> list:
        from .probe import builtin_texts

        return builtin_texts(getattr(model, "max_seq_length", None))

    def read_items(self, path: Path) -> list:
        from .probe import read_texts

        return read_texts(path)

    def run(self, model, items: list, batch_size: int):
        """Outputs as users get them (NumPy), as a float32 tensor, with the seconds it took."""
        import numpy as np
        import torch

        start = time.perf_counter()
        out = model.encode(items, batch_size=batch_size, show_progress_bar=False)
        return torch.from_numpy(np.asarray(out, dtype=np.float32)), time.perf_counter() - start

    def compare(self, reference, candidate, items):
        return compare_embeddings(reference, candidate)

    def token_count(self, model, item) -> int:
        tokens = model.tokenizer(item, truncation=True, max_length=model.max_seq_length)["input_ids"]
        return len(tokens)


class CrossEncoderKind:
    name = CROSS_ENCODER
    class_name = "CrossEncoder"
    run_call = 'scores = model.predict([("your query", "a passage")])'
    items_label = "pairs"

    def api_shape(self) -> tuple[str, str]:
        """sentence-transformers 3.x: CrossEncoder is a plain class holding `.model`, and it
        names the transformers kwargs `automodel_args`."""
        from sentence_transformers import CrossEncoder
        from torch import nn

        net = "model" if issubclass(CrossEncoder, nn.Module) else "model.model"
        key = "model_kwargs" if "model_kwargs" in inspect.signature(CrossEncoder.__init__).parameters \
            else "automodel_args"
        return net, key

    def construct(self, path: str, device: str, trust_remote_code: bool, torch_dtype):
        from sentence_transformers import CrossEncoder

        _, key = self.api_shape()
        return CrossEncoder(path, device=device, trust_remote_code=trust_remote_code, **{key: {"torch_dtype": torch_dtype}})

    def default_items(self, model) -> list:
        from .pairs import builtin_pairs

        return builtin_pairs(cross_encoder_max_length(model))

    def read_items(self, path: Path) -> list:
        from .pairs import read_pairs

        return read_pairs(path)

    def run(self, model, items: list, batch_size: int):
        import numpy as np
        import torch

        start = time.perf_counter()
        out = model.predict(items, batch_size=batch_size, show_progress_bar=False)
        scores = torch.from_numpy(np.asarray(out, dtype=np.float32))
        return scores.reshape(len(items), -1), time.perf_counter() - start

    def compare(self, reference, candidate, items):
        return compare_scores(reference, candidate, [q for q, _ in items])

    def token_count(self, model, item) -> int:
        limit = cross_encoder_max_length(model)
        return len(model.tokenizer(item[0], item[1], truncation=True, max_length=limit)["input_ids"])


def kind_for(name: str):
    return CrossEncoderKind() if name == CROSS_ENCODER else Embedder()
