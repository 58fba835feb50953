"""Tiny test models for the bad-input and output-safety tests, where the weights do not matter.

A two-layer BERT with hidden size 32 and random weights, with all-MiniLM-L6-v2's tokenizer,
saved as an ordinary sentence-transformers folder (about 4 MB). Variants break one file each.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import fixture_models

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def build_tiny_model(folder: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    source = fixture_models.plain_model_path()
    transformer_dir = folder.parent / f"{folder.name}-transformer"
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(transformer_dir)
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, transformer_dir / name)
    # A plain transformers folder loads as Transformer + mean pooling: saved, it is a sentence-transformers folder.
    SentenceTransformer(str(transformer_dir), device="cpu").save(str(folder))
    shutil.rmtree(transformer_dir)
    return folder


def copy_without_tokenizer(model: Path, folder: Path) -> Path:
    shutil.copytree(model, folder)
    for name in TOKENIZER_FILES:
        (folder / name).unlink(missing_ok=True)
    return folder


def build_nan_model(model: Path, folder: Path) -> Path:
    """Every float32 output NaN: the pooling divides by a sequence length it never gets."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(model, folder)
    weights = load_file(folder / "model.safetensors")
    key = next(k for k in weights if k.endswith("embeddings.LayerNorm.weight"))
    weights[key] = weights[key] * float("nan")
    save_file(weights, folder / "model.safetensors")
    return folder


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
