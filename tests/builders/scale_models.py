"""Tiny random-weight sentence-transformers models for the many-models and memory tests (issue 15).

BERT with hidden size 32 and 2 layers, the MiniLM tokenizer: a scan takes well under a second,
and the weights can be saved in one file or sharded with an index, as large checkpoints are.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from fixture_models import plain_model_path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def build_tiny_model(folder: Path, seed: int = 0, max_shard_size: str | None = None) -> Path:
    """A SentenceTransformer (tiny BERT + mean pooling) with random weights; with max_shard_size
    the transformer weights are written as shards plus model.safetensors.index.json."""
    import torch
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers before 6
        from sentence_transformers.models import Pooling, Transformer
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=128)
    bert_folder = folder.parent / f"{folder.name}-bert"
    BertModel(config).save_pretrained(bert_folder)
    for name in TOKENIZER_FILES:
        if (plain_model_path() / name).is_file():
            shutil.copy(plain_model_path() / name, bert_folder / name)
    transformer = Transformer(str(bert_folder), max_seq_length=128)
    model = SentenceTransformer(modules=[transformer, Pooling(32, "mean")], device="cpu")
    model.save(str(folder))
    shutil.rmtree(bert_folder)
    if max_shard_size is not None:
        (folder / "model.safetensors").unlink()
        transformer.auto_model.save_pretrained(folder, max_shard_size=max_shard_size)
    return folder


def build_tiny_cross_encoder(folder: Path, seed: int = 0) -> Path:
    """A reranker as older releases saved it: a tiny BERT with a one-score classification head."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=128, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        if (plain_model_path() / name).is_file():
            shutil.copy(plain_model_path() / name, folder / name)
    return folder
