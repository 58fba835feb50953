"""The limits a model sets on precheck's load options: --max-seq-length past the positions it has,
--truncate-dim past its dimension, a tokenizer option that leaves no whole-number length. Named with
the option and the model's limit, before the load where the config says it, right after it otherwise."""
from __future__ import annotations

from ..errors import PrecheckError

# config.json keys that bound the positions a model can embed (BERT-like, GPT-2-like).
_POSITION_KEYS = ("max_position_embeddings", "n_positions")


def position_limit(model_path: str) -> int | None:
    from .defaults import _transformer_config

    _, config = _transformer_config(model_path)
    values = [config.get(key) for key in _POSITION_KEYS]
    found = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    return min(found) if found else None


def check_before_load(model, load) -> None:
    """--max-seq-length against the positions config.json declares (no load needed)."""
    if load.max_seq_length is None:
        return
    limit = position_limit(model.path)
    if limit is not None and load.max_seq_length > limit:
        raise PrecheckError(f"--max-seq-length {load.max_seq_length} is past {model.name}'s limit: its config "
                            f"embeds {limit} positions", f"pass --max-seq-length {limit} or less (or leave it out)")


def check_after_load(loaded, model, load) -> None:
    """What only the loaded model knows: its embedding dimension and its tokenizer's length."""
    length = getattr(loaded, "max_seq_length", None)
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
        given = "model_max_length" in load.tokenizer_kwargs
        raise PrecheckError(f"{model.name}'s max_seq_length is {length!r}, not a whole number"
                            + (" (--tokenizer-kwarg model_max_length set it)" if given else ""),
                            "pass --tokenizer-kwarg model_max_length=N with a number, or --max-seq-length N")
    # sentence-transformers 6 renamed get_sentence_embedding_dimension (the old name warns).
    dimension = getattr(loaded, "get_embedding_dimension", None) or \
        getattr(loaded, "get_sentence_embedding_dimension", None)
    if load.truncate_dim is not None and hasattr(loaded, "truncate_dim") and dimension is not None:
        kept, loaded.truncate_dim = loaded.truncate_dim, None
        try:
            full = dimension()
        finally:
            loaded.truncate_dim = kept
        if full is not None and load.truncate_dim > full:
            raise PrecheckError(f"--truncate-dim {load.truncate_dim} is past {model.name}'s dimension ({full})",
                                f"pass --truncate-dim {full} or less (or leave it out)")
