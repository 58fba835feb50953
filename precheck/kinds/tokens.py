"""Tokens whatever the tokenizer: a transformers tokenizer (called) or a bare `tokenizers.Tokenizer` (what a
sentence-transformers StaticEmbedding holds: encoded), and the window a model reads, where it has one.

A model with no window (a static embedding model reads every token of a text, its max_seq_length is
infinite) has no limit to check: no item is cut, and --max-seq-length has nothing to set."""
from __future__ import annotations

import math

BATCH = 1024


def window_of(length) -> int | None:
    """The tokens a model reads per item: a whole number, or None when it has no window (none declared,
    or an infinite one)."""
    if isinstance(length, bool) or length is None:
        return None
    if isinstance(length, float) and math.isinf(length) and length > 0:
        return None
    return length


def is_bare(tokenizer) -> bool:
    """A `tokenizers.Tokenizer` (encoded, not called), not a transformers tokenizer."""
    return not callable(tokenizer) and hasattr(tokenizer, "encode_batch")


def token_ids(tokenizer, texts: list[str], second: list[str] | None = None,
              limit: int | None = None, special_tokens: bool = True) -> list[list[int]]:
    """Each text's (or pair's) token ids, cut to `limit` when one is given. A transformers tokenizer
    adds special tokens unless told not to; a bare tokenizer never does, as StaticEmbedding encodes."""
    if is_bare(tokenizer):
        batch = texts if second is None else list(zip(texts, second))
        ids = [encoding.ids for encoding in tokenizer.encode_batch(batch, add_special_tokens=False)]
        return ids if limit is None else [row[:limit] for row in ids]
    cut = {"truncation": False} if limit is None else {"truncation": True, "max_length": limit}
    return tokenizer(texts, second, verbose=False, add_special_tokens=special_tokens, **cut)["input_ids"]


def uncut_lengths(tokenizer, items: list, pairs: list | None = None) -> list[int]:
    """Token counts with nothing cut, a batch at a time."""
    counts: list[int] = []
    for start in range(0, len(items), BATCH):
        batch = [str(t) for t in items[start:start + BATCH]]
        second = None if pairs is None else [str(t) for t in pairs[start:start + BATCH]]
        counts += [len(ids) for ids in token_ids(tokenizer, batch, second)]
    return counts


def vocab_size(tokenizer) -> int | None:
    """Tokens in the vocabulary, added tokens included; None when the tokenizer does not say."""
    if is_bare(tokenizer):
        return int(tokenizer.get_vocab_size(with_added_tokens=True))
    try:
        return len(tokenizer)
    except TypeError:
        return None


def unknown_id(tokenizer) -> int | None:
    """The id of the unknown token, None when the tokenizer has none (byte-level BPE never needs one)."""
    if is_bare(tokenizer):
        token = getattr(getattr(tokenizer, "model", None), "unk_token", None)
        return tokenizer.token_to_id(token) if isinstance(token, str) else None
    return getattr(tokenizer, "unk_token_id", None)
