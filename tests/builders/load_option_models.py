"""A tiny random MPNet saved as a SentenceTransformer, with a `query` prompt: an architecture other
than the BERT fixtures, for the load options (config/model/tokenizer kwargs, prompts, truncation).

The tokenizer is all-MiniLM-L6-v2's (its ids fit MPNet's embedding table); nothing is downloaded.
"""
from __future__ import annotations

import json
from pathlib import Path

from shape_models import VOCAB, _copy_tokenizer, _save_pipeline

HIDDEN = 32
LAYERS = 2
QUERY_PROMPT = "query: "


def build_tiny_mpnet(folder: Path) -> Path:
    import torch
    from transformers import MPNetConfig, MPNetModel

    torch.manual_seed(0)
    encoder = folder.parent / f"{folder.name}-encoder"
    config = MPNetConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=514)
    MPNetModel(config).save_pretrained(str(encoder))
    _copy_tokenizer(encoder)
    _save_pipeline(folder, encoder, "mean")
    settings = folder / "config_sentence_transformers.json"
    data = json.loads(settings.read_text())
    data["prompts"] = {"query": QUERY_PROMPT}
    settings.write_text(json.dumps(data, indent=2))
    return folder
