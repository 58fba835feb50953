"""The cross-encoder kind: a CrossEncoder, probed with (query, passage) pairs through predict(),
compared by score and rank."""
from __future__ import annotations

import inspect
import time
from pathlib import Path

from ..compare.dense import compare_scores
from ..errors import PrecheckError
from .figures import ReadsFigures
from .tokens import token_ids, uncut_lengths


def cross_encoder_max_length(model) -> int:
    """`max_seq_length` in sentence-transformers 6, `max_length` before it."""
    return getattr(model, "max_seq_length", None) or getattr(model, "max_length", None) or 512


class CrossEncoderKind(ReadsFigures):
    name = "cross-encoder"
    class_name = "CrossEncoder"
    run_call = 'scores = model.predict([("your query", "a passage")])'
    run_method = "predict"
    items_label = "pairs"
    probe_option = "pairs"
    figures = ("score",)
    outputs_are_scores = True
    dense_embeddings = False
    served = True
    head_suffix, head_words = "ForSequenceClassification", "a classification head, as rerankers use"
    tei_pooling = None
    max_length_argument = "max_length"
    trains_by = "scores"
    eval_ranks_corpus = False  # it scores pairs: a query reranks its candidates (evaluation/rerank.py)
    eval_stack_scoring = "predict"  # its activation in the stack's precision (evaluation/predict_scoring.py)

    def api_shape(self) -> tuple[str, str]:
        """sentence-transformers 3.x: CrossEncoder is a plain class holding `.model`, and it
        names the transformers kwargs `automodel_args`."""
        from sentence_transformers import CrossEncoder
        from torch import nn

        net = "model" if issubclass(CrossEncoder, nn.Module) else "model.model"
        key = "model_kwargs" if "model_kwargs" in inspect.signature(CrossEncoder.__init__).parameters \
            else "automodel_args"
        return net, key

    def default_items(self, model) -> list:
        from .pairs import builtin_pairs

        return builtin_pairs(cross_encoder_max_length(model))

    def read_items(self, path: Path) -> list:
        from .pairs import read_pairs

        return read_pairs(path)

    def run(self, model, items: list, batch_size: int, **encode_options):
        import numpy as np
        import torch

        start = time.perf_counter()
        out = model.predict(items, batch_size=batch_size, show_progress_bar=False, **encode_options)
        scores = torch.from_numpy(np.asarray(out, dtype=np.float32))
        return scores.reshape(len(items), -1), time.perf_counter() - start

    def compare(self, reference, candidate, items):
        return compare_scores(reference, candidate, [q for q, _ in items])

    def token_count(self, model, item) -> int:
        limit = cross_encoder_max_length(model)
        return len(token_ids(model.tokenizer, [item[0]], [item[1]], limit)[0])

    def window(self, model) -> int | None:
        return cross_encoder_max_length(model)

    def token_lengths(self, model, items: list) -> list[int]:
        return uncut_lengths(model.tokenizer, [q for q, _ in items], [p for _, p in items])

    def _encodes_nothing(self) -> PrecheckError:
        return PrecheckError(f"a {self.class_name} scores (query, document) pairs; it encodes no text alone",
                             "rerank candidates with eval_pair_scores (docs/evaluation.md)")

    def eval_encode(self, model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict):
        raise self._encodes_nothing()

    def eval_scores(self, queries, documents, pairwise: bool = False):
        raise self._encodes_nothing()

    def eval_pair_scores(self, model, pairs: list, batch_size: int, encode_kwargs: dict):
        """predict() as users call it (its activation included); a model with several labels is ranked
        by its first, as the probe ranks it."""
        import numpy as np

        out = model.predict(pairs, batch_size=batch_size, show_progress_bar=False, **encode_kwargs)
        return np.asarray(out, dtype=np.float64).reshape(len(pairs), -1)[:, 0]
