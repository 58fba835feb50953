"""The limits a loaded model sets on precheck's load options: --truncate-dim past its dimension, a
tokenizer option that leaves no whole-number length, named with the option and the model's limit
right after the load (--max-seq-length past the config's positions is refused before it: defaults.py)."""
from __future__ import annotations

from ..errors import PrecheckError
from ..kinds.tokens import window_of


def set_window(loaded, model, wanted: int) -> None:
    """--max-seq-length on the loaded model, as users set it; refused where the model has no window to set
    (a static embedding model reads every token of a text)."""
    try:
        loaded.max_seq_length = wanted
    except (AttributeError, TypeError):
        pass
    if window_of(getattr(loaded, "max_seq_length", None)) is None:
        raise PrecheckError(f"--max-seq-length {wanted}: {model.name} has no window to set: it reads every token "
                            "of a text (a static embedding model)", "leave --max-seq-length out")


def check_after_load(loaded, model, load) -> None:
    """What only the loaded model knows: its embedding dimension and its tokenizer's length (none at all
    for a model with no window, such as a static embedding model)."""
    length = window_of(getattr(loaded, "max_seq_length", None))
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
