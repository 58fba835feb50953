"""Builders of model shapes beyond the MiniLM fixtures (issue 16): float32 made inside one module
of every layer, two separately overflowing layers, a T5 encoder with modules transformers keeps in
float32, a decoder-only last-token embedder, and a config that declares float16.

Tiny random-weight configs where the weights do not matter; the tokenizer is all-MiniLM-L6-v2's.
Nothing is downloaded, nothing mocked.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from fixture_models import _load_float32, cut_to_layers, plain_model_path, scale_feed_forward

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
VOCAB = 30522  # all-MiniLM-L6-v2's tokenizer
OVERFLOW_LAYERS = (0, 2)
TWO_OVERFLOW_DEPTH = 3
EVERY_LAYER_CLASS = "BiasAttention"
EVERY_LAYER_COUNT = 3

BIAS_STACK_SOURCE = '''\
"""Attention layers on the token embeddings whose position bias is made in float32 at run time
(torch.arange(n).float()) and consumed by a bare matmul in the same forward, as remote code does."""
import math

import torch
from torch import nn


class BiasAttention(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, hidden, mask):
        q, k, v = self.query(hidden), self.key(hidden), self.value(hidden)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        positions = torch.arange(hidden.shape[1], device=hidden.device).float()
        scores = scores - (positions[None, :] - positions[:, None]).abs() / hidden.shape[1]
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        return scores.softmax(-1) @ v  # float32 probabilities against a half value


class BiasLayer(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.attn = BiasAttention(dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, hidden, mask):
        return self.norm(hidden + self.attn(hidden, mask))


class BiasStack(nn.Module):
    def __init__(self, dim: int = 384, layers: int = 3) -> None:
        super().__init__()
        self.layers = nn.ModuleList(BiasLayer(dim) for _ in range(layers))
        generator = torch.Generator().manual_seed(0)  # same weights on every load, nothing saved
        with torch.no_grad():
            for name, parameter in self.named_parameters():
                if "norm" not in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)

    def forward(self, features):
        hidden, mask = features["token_embeddings"], features["attention_mask"].bool()
        for layer in self.layers:
            hidden = layer(hidden, mask)
        features["token_embeddings"] = hidden
        return features

    def save(self, output_path, *args, **kwargs) -> None:
        pass

    @staticmethod
    def load(input_path):
        return BiasStack(layers=__LAYERS__)
'''


def _modules():
    try:
        from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers 3.x
        from sentence_transformers.models import Dense, Normalize, Pooling, Transformer
    return Transformer, Pooling, Dense, Normalize


def _copy_tokenizer(folder: Path, **changes) -> None:
    for name in TOKENIZER_FILES:
        shutil.copy(plain_model_path() / name, folder / name)
    if changes:
        path = folder / "tokenizer_config.json"
        config = json.loads(path.read_text())
        config.update(changes)
        path.write_text(json.dumps(config, indent=2))


def build_float32_every_layer_model(folder: Path, base: Path | None = None) -> Path:
    """MiniLM (or the sentence-transformers folder `base`), then a remote-code stack whose attention makes
    float32 in every layer, then mean pooling."""
    shutil.copytree(base or plain_model_path(), folder)
    (folder / "bias_stack.py").write_text(BIAS_STACK_SOURCE.replace("__LAYERS__", str(EVERY_LAYER_COUNT)),
                                          encoding="utf-8")
    modules = json.loads((folder / "modules.json").read_text())
    stack = {"idx": 1, "name": "1", "path": "", "type": "bias_stack.BiasStack"}
    rest = [{**m, "idx": i + 2, "name": str(i + 2)} for i, m in enumerate(modules[1:])]
    (folder / "modules.json").write_text(json.dumps([modules[0], stack, *rest], indent=2))
    return folder


def build_two_overflow_model(folder: Path) -> Path:
    """all-MiniLM-L6-v2's first TWO_OVERFLOW_DEPTH layers, the feed-forward of two separate ones (a clean
    layer between them) scaled past float16's range."""
    model = cut_to_layers(_load_float32(), TWO_OVERFLOW_DEPTH)
    for index in OVERFLOW_LAYERS:
        scale_feed_forward(model[0].auto_model.encoder.layer[index])
    model.save(str(folder))
    return folder


def feed_forward_share(folder: Path, layers=OVERFLOW_LAYERS) -> float:
    """Share of all parameters in the intermediate and output blocks of these layers."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    total = sum(p.numel() for p in model.parameters())
    kept = 0
    for index in layers:
        layer = model[0].auto_model.encoder.layer[index]
        kept += sum(p.numel() for block in (layer.intermediate, layer.output) for p in block.parameters())
    return kept / total


def _save_pipeline(folder: Path, transformer_folder: Path, pooling_mode: str, dense_out: int | None = None,
                   padding_side: str | None = None) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer

    Transformer, Pooling, Dense, Normalize = _modules()
    tokenizer_args = {"padding_side": padding_side} if padding_side else {}
    first = Transformer(str(transformer_folder), max_seq_length=128, tokenizer_args=tokenizer_args)
    dim = getattr(first, "get_embedding_dimension", None) or first.get_word_embedding_dimension
    dim = dim()
    modules = [first, Pooling(dim, pooling_mode=pooling_mode)]
    if dense_out:
        torch.manual_seed(0)
        modules.append(Dense(dim, dense_out, bias=False, activation_function=torch.nn.Identity()))
    modules.append(Normalize())
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


def build_sentence_t5_model(folder: Path) -> Path:
    """sentence-t5's shape: a T5 encoder (transformers keeps its `wo` in float32 in a float16
    load), mean pooling, a Dense projection; tiny config, random weights."""
    import torch
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    encoder = folder.parent / f"{folder.name}-encoder"
    config = T5Config(vocab_size=VOCAB, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                      feed_forward_proj="relu", decoder_start_token_id=0, pad_token_id=0)
    T5EncoderModel(config).save_pretrained(str(encoder))
    _copy_tokenizer(encoder)
    return _save_pipeline(folder, encoder, "mean", dense_out=32)


def build_last_token_decoder_model(folder: Path) -> Path:
    """A decoder-only embedder (tiny Qwen2, left padding, last-token pooling), as Qwen3-Embedding is."""
    import torch
    from transformers import Qwen2Config, Qwen2Model

    torch.manual_seed(0)
    decoder = folder.parent / f"{folder.name}-decoder"
    config = Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, pad_token_id=0)
    Qwen2Model(config).save_pretrained(str(decoder))
    _copy_tokenizer(decoder, padding_side="left")
    return _save_pipeline(folder, decoder, "lasttoken", padding_side="left")


def build_declared_float16_model(folder: Path, base: Path | None = None) -> Path:
    """all-MiniLM-L6-v2 (or the MiniLM-shaped folder `base`) whose config.json declares float16 (weights
    unchanged)."""
    shutil.copytree(base or plain_model_path(), folder)
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.pop("torch_dtype", None)
    config["dtype"] = "float16"
    path.write_text(json.dumps(config, indent=2))
    return folder


# Probe texts for the shapes diagnosed (tests/diagnosis, and the st3 reference tests): short ones and
# one of a few sentences.
LONG = " ".join(["The committee reviewed the annual budget and approved new funding for schools."] * 3)
TEXTS = ["hello world", "How do I reset my password?", "the cat sat", LONG]
