"""Whether the tokenizer a model loaded with can be the model's own, asked once on the float32 reference.

With its tokenizer files gone, transformers builds a tokenizer of a handful of special tokens:
every probe text becomes [UNK], float16 agrees with float32 on nothing, and the scan passes.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PrecheckError
from ..kinds.tokens import token_ids, unknown_id, vocab_size

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
                   "sentencepiece.bpe.model", "spiece.model", "tokenizer.model")
# Embedding matrices are padded past the vocabulary (to a multiple of 8 or 64), never to twice it.
MIN_VOCAB_SHARE = 0.5
MAX_UNKNOWN_SHARE = 0.5


def _embedding_rows(model) -> int | None:
    """Rows of the word-embedding matrix: a transformers model's input embeddings, or else the first
    embedding table (a static embedding model's EmbeddingBag)."""
    from torch import nn

    from ..tensors import torch_module

    tables = []
    for module in torch_module(model).modules():
        if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
            tables.append(module)
        getter = getattr(module, "get_input_embeddings", None)
        if getter is None:
            continue
        try:
            return int(getter().num_embeddings)
        except Exception:  # noqa: BLE001 - a module without word embeddings: look further
            continue
    return int(tables[0].num_embeddings) if tables else None


def _texts(items: list) -> list[str]:
    texts: list[str] = []
    for item in items:
        texts.extend([item] if isinstance(item, str) else [part for part in item if isinstance(part, str)])
    return texts


def _hint(folder: Path) -> str:
    if not folder.is_dir():
        return "are the tokenizer files from another model?"
    present = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
    if not present:
        return (f"{folder} has none of {', '.join(TOKENIZER_FILES[:3])}: restore the tokenizer files "
                "from the original model")
    return f"{folder} has {', '.join(present)}: are they another model's? restore them from the original model"


def check_tokenizer(model, items: list, name: str, folder: str) -> None:
    """PrecheckError when the vocabulary is far smaller than the word-embedding matrix, or when
    most probe tokens are unknown to it."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        return
    vocab = vocab_size(tokenizer)
    if vocab is None:
        return
    rows = _embedding_rows(model)
    if rows and vocab < MIN_VOCAB_SHARE * rows:
        raise PrecheckError(f"the tokenizer of {name} cannot be the model's: it has {vocab:,} tokens and the "
                            f"word-embedding matrix has {rows:,} rows", _hint(Path(folder)))
    unknown_token = unknown_id(tokenizer)
    texts = _texts(items)[:64]
    if unknown_token is None or not texts:
        return
    ids = token_ids(tokenizer, texts, special_tokens=False)
    total = sum(len(row) for row in ids)
    unknown = sum(row.count(unknown_token) for row in ids)
    if total and unknown > MAX_UNKNOWN_SHARE * total:
        raise PrecheckError(f"the tokenizer of {name} cannot be the model's: {unknown} of {total} probe tokens "
                            "are unknown to it", _hint(Path(folder)))
