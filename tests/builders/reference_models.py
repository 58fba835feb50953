"""Builders for the reference-check and new-shape tests (issue 21): tiny remote-code models whose
code was written for transformers 4 (a rotary `inv_freq` registered with persistent=False and no
`_init_weights` for it), a parameter-free overflow, a constant that does not fit float16, and
gemma-type configs for the serving rules.

Tiny random-weight configs with all-MiniLM-L6-v2's tokenizer; nothing is downloaded, nothing mocked.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from fixture_models import plain_model_path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
VOCAB = 30522  # all-MiniLM-L6-v2's tokenizer
ROPE_BUFFERS = ("encoder.rotary.inv_freq",)

CONFIGURATION_SOURCE = '''\
from transformers import PretrainedConfig


class TinyRopeConfig(PretrainedConfig):
    model_type = "tinyrope"

    def __init__(self, vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 rope_base=10000.0, pad_token_id=0, extra_feature=False, **kwargs):
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.num_hidden_layers, self.num_attention_heads = num_hidden_layers, num_attention_heads
        self.rope_base = rope_base
        self.extra_feature = extra_feature
        super().__init__(pad_token_id=pad_token_id, **kwargs)
'''

# Written as remote code for transformers 4 was: the rotary table is computed in __init__ and
# registered with persistent=False, and _init_weights knows nothing of it.
MODELING_SOURCE = '''\
import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from .configuration_tinyrope import TinyRopeConfig


class Rotary(nn.Module):
    def __init__(self, dim, base):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x):
        positions = torch.arange(x.shape[1], device=x.device, dtype=torch.float32)
        angles = positions[:, None] * self.inv_freq[None, :]
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        first, second = x[..., 0::2], x[..., 1::2]
        return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


class Layer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.num_attention_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size)

    def forward(self, hidden, rotary, mask):
        q, k, v = self.qkv(hidden).chunk(3, dim=-1)
        q, k = rotary(q), rotary(k)
        scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
        scores = scores.masked_fill(~mask[:, None, :], torch.finfo(scores.dtype).min)
        return self.norm(hidden + self.out(scores.softmax(-1) @ v))


class Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.rotary = Rotary(config.hidden_size, config.rope_base)
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden, mask):
        for layer in self.layer:
            hidden = layer(hidden, self.rotary, mask)
        return hidden


class TinyRopeModel(PreTrainedModel):
    config_class = TinyRopeConfig
    base_model_prefix = "tinyrope"

    def __init__(self, config):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.encoder = Encoder(config)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(0.0, 0.2)
            module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(0.0, 1.0)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.encoder(self.embeddings(input_ids), attention_mask.bool())
        return BaseModelOutput(last_hidden_state=hidden)
'''


def _modules():
    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers 3.x
        from sentence_transformers.models import Normalize, Pooling, Transformer
    return Transformer, Pooling, Normalize


def build_rotary_remote_code_model(folder: Path, modeling_source: str = MODELING_SOURCE) -> Path:
    """A remote-code rotary encoder (hidden 32, 2 layers) as a sentence-transformers folder:
    Transformer, mean pooling, Normalize; loaded with --trust-remote-code."""
    import torch

    hf = folder.parent / f"{folder.name}-hf"
    hf.mkdir(parents=True)
    (hf / "configuration_tinyrope.py").write_text(CONFIGURATION_SOURCE, encoding="utf-8")
    (hf / "modeling_tinyrope.py").write_text(modeling_source, encoding="utf-8")
    (hf / "__init__.py").write_text("", encoding="utf-8")
    config = {
        "model_type": "tinyrope", "architectures": ["TinyRopeModel"], "vocab_size": VOCAB, "hidden_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 2, "rope_base": 10000.0, "pad_token_id": 0,
        "auto_map": {"AutoConfig": "configuration_tinyrope.TinyRopeConfig",
                     "AutoModel": "modeling_tinyrope.TinyRopeModel"},
    }
    (hf / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(0)
    weights = {"embeddings.weight": torch.randn(VOCAB, 32, generator=generator)}
    for index in range(2):
        prefix = f"encoder.layer.{index}"
        weights[f"{prefix}.qkv.weight"] = torch.randn(96, 32, generator=generator) * 0.2
        weights[f"{prefix}.qkv.bias"] = torch.zeros(96)
        weights[f"{prefix}.out.weight"] = torch.randn(32, 32, generator=generator) * 0.2
        weights[f"{prefix}.out.bias"] = torch.zeros(32)
        weights[f"{prefix}.norm.weight"] = torch.ones(32)
        weights[f"{prefix}.norm.bias"] = torch.zeros(32)
    save_file(weights, str(hf / "model.safetensors"), metadata={"format": "pt"})
    for name in TOKENIZER_FILES:
        shutil.copy(plain_model_path() / name, hf / name)
    folder.mkdir(parents=True)
    for item in hf.iterdir():
        shutil.copy(item, folder / item.name)
    shutil.rmtree(hf)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32,
                                                                  "pooling_mode_mean_tokens": True}))
    (folder / "2_Normalize").mkdir()
    return folder


# Variants of the remote code, one shape each.
RANDOM_BUFFER_SOURCE = MODELING_SOURCE.replace(
    '''        self.register_buffer("inv_freq", inv_freq, persistent=False)
''', '''        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("jitter", torch.randn(dim), persistent=False)  # differs on every build
''').replace("return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)",
             "return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1) + self.jitter")
OLD_API_SOURCE = MODELING_SOURCE.replace(
    "        hidden = self.encoder(self.embeddings(input_ids), attention_mask.bool())",
    "        extended = self.get_extended_attention_mask(attention_mask, input_ids.shape)  # transformers 4 API\n"
    "        hidden = self.encoder(self.embeddings(input_ids), extended[:, 0, 0, :] == 0)")
XFORMERS_SOURCE = MODELING_SOURCE.replace(
    "class Encoder(nn.Module):\n    def __init__(self, config):\n        super().__init__()\n",
    "try:\n    import xformers.ops as xops\nexcept ImportError:\n    xops = None\n\n\n"
    "class Encoder(nn.Module):\n    def __init__(self, config):\n        super().__init__()\n"
    "        if config.extra_feature:\n"
    "            assert xops is not None, \"please install xformers\"\n")
CONSTANT_MASK_SOURCE = MODELING_SOURCE.replace("torch.finfo(scores.dtype).min", "-1e9")
OLD_API_LINE = next(i for i, line in enumerate(OLD_API_SOURCE.splitlines(), 1) if "get_extended_attention_mask" in line)


def build_remote_variant(folder: Path, source: str, **config) -> Path:
    build_rotary_remote_code_model(folder, source)
    if config:
        path = folder / "config.json"
        data = json.loads(path.read_text())
        data.update(config)
        path.write_text(json.dumps(data, indent=2))
    return folder


POOLING_SOURCE = '''\
"""Mean pooling that sums in the input dtype, as sentence-transformers before 5.0 does."""
import torch
from torch import nn


class InputDtypeMeanPooling(nn.Module):
    def forward(self, features):
        tokens = features["token_embeddings"]
        mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        summed = (tokens * mask).sum(1)  # float16 in, float16 sum: long texts pass 65504
        features["sentence_embedding"] = summed / mask.sum(1).clamp(min=1)
        return features

    def save(self, output_path, *args, **kwargs) -> None:
        pass

    @staticmethod
    def load(input_path):
        return InputDtypeMeanPooling()
'''
# Each token's first dimension near POOLING_OFFSET: a sum over more than 65504 / POOLING_OFFSET (about
# 20) tokens overflows float16, while every token and the mean stay far inside its range.
POOLING_OFFSET = 3000.0


def build_parameter_free_overflow_model(folder: Path, native_pooling: bool = False, layers: int | None = None) -> Path:
    """all-MiniLM-L6-v2 (its first `layers` layers, all by default) with one dimension of its last LayerNorm
    offset (each token stays within float16) and a parameter-free pooling that sums in the input dtype: only
    long texts overflow, in the pooling. native_pooling keeps sentence-transformers' own Pooling, which sums
    so before 5.0 (3.x imports no module from the model folder); otherwise remote code does the same."""
    import torch

    from fixture_models import _load_float32, cut_to_layers

    model = cut_to_layers(_load_float32(), layers)
    norm = model[0].auto_model.encoder.layer[-1].output.LayerNorm
    with torch.no_grad():
        norm.bias[0] = POOLING_OFFSET
    model.save(str(folder))
    if native_pooling:
        return folder
    (folder / "sum_pooling.py").write_text(POOLING_SOURCE, encoding="utf-8")
    modules = json.loads((folder / "modules.json").read_text())
    modules[1] = {"idx": 1, "name": "1", "path": "", "type": "sum_pooling.InputDtypeMeanPooling"}
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    return folder


def build_gemma_model(folder: Path, model_type: str) -> Path:
    """A tiny random gemma2 or gemma3_text encoder with mean pooling (vLLM refuses float16 for both)."""
    import torch
    from shape_models import _copy_tokenizer, _save_pipeline

    torch.manual_seed(0)
    hf = folder.parent / f"{folder.name}-hf"
    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=256,
                  pad_token_id=0)
    if model_type == "gemma2":
        from transformers import Gemma2Config, Gemma2Model

        Gemma2Model(Gemma2Config(**common)).save_pretrained(str(hf))
    else:
        from transformers import Gemma3TextConfig, Gemma3TextModel

        Gemma3TextModel(Gemma3TextConfig(**common)).save_pretrained(str(hf))
    _copy_tokenizer(hf, model_input_names=["input_ids", "attention_mask"])  # gemma takes no token_type_ids
    return _save_pipeline(folder, hf, "mean")


def drop_from_checkpoint(folder: Path, ends: tuple[str, ...]) -> list[str]:
    """Remove the tensors whose names end with one of `ends` from folder/model.safetensors, as a
    checkpoint saved without them (or under names this transformers no longer maps) would be."""
    from safetensors.torch import load_file, save_file

    path = folder / "model.safetensors"
    tensors = load_file(str(path))
    dropped = [name for name in tensors if name.endswith(ends)]
    save_file({name: t for name, t in tensors.items() if name not in dropped}, str(path), metadata={"format": "pt"})
    return dropped


def build_headless_cross_encoder(folder: Path) -> Path:
    """A tiny reranker whose checkpoint lacks its classification head: a fresh head at every load."""
    from scale_models import build_tiny_cross_encoder

    build_tiny_cross_encoder(folder)
    assert drop_from_checkpoint(folder, ("classifier.weight", "classifier.bias"))
    return folder


def build_decoder_missing_a_weight(folder: Path) -> Path:
    """A tiny Qwen2 last-token embedder whose checkpoint lacks one feed-forward weight of its last layer."""
    from shape_models import build_last_token_decoder_model

    build_last_token_decoder_model(folder)
    assert drop_from_checkpoint(folder, ("layers.1.mlp.down_proj.weight",))
    return folder


def build_unused_pooler_model(folder: Path) -> Path:
    """A tiny BERT embedder (mean pooling) whose checkpoint lacks the pooler, which mean pooling never reads."""
    from scale_models import build_tiny_model

    build_tiny_model(folder)
    assert drop_from_checkpoint(folder, ("pooler.dense.weight", "pooler.dense.bias"))
    return folder
