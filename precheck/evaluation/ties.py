"""Ties a low-precision scoring creates among scores float32 tells apart, counted per row or per group,
and the installed stack's own scores (its version, a cross-encoder's predict() as installed): what
scoring_precision.py (embedders) and predict_scoring.py (cross-encoders) measure with.
"""
from __future__ import annotations

from ..dtypes import dtype_name
from .result import CHANGED

# sentence-transformers 6.0 upcasts sub-float32 embeddings before its similarity functions (#3892),
# CrossEncoder.predict's logits before the activation (#3893) and MaxSim's sum (#3924).
SCORES_IN_FLOAT32_FROM = 6


def library() -> str:
    import sentence_transformers

    return f"sentence-transformers {sentence_transformers.__version__}"


def _major(version: str) -> int:
    head = version.split()[-1].split(".")[0]
    return int(head) if head.isdigit() else 0


def below_float32(dtype) -> bool:
    """True for a torch floating dtype of fewer than 32 bits: embeddings a stack may score in that dtype."""
    import torch

    return isinstance(dtype, torch.dtype) and dtype.is_floating_point and torch.finfo(dtype).bits < 32


def _numpy(scores):
    """Scores as float32 NumPy (exact: every float16/bfloat16 value is a float32), NaN/inf as -inf."""
    import numpy as np

    out = scores.detach().float().cpu().numpy().astype(np.float32, copy=True)
    out[~np.isfinite(out)] = -np.inf
    return out


def _pairs_equal(same_as_previous):
    """Per row of sorted values: pairs of equal values, from each position's 'equal to the one before'."""
    import numpy as np

    index = np.arange(1, same_as_previous.shape[1] + 1)
    run_start = np.maximum.accumulate(np.where(same_as_previous, 0, index), axis=1)
    return (index - run_start).sum(axis=1)


def created_ties(stack, exact):
    """Per row (2-D arrays): pairs of positions whose `exact` scores differ and whose `stack` scores are equal."""
    import numpy as np

    order = np.lexsort((exact, stack), axis=-1)
    low, high = np.take_along_axis(stack, order, -1), np.take_along_axis(exact, order, -1)
    same = low[:, 1:] == low[:, :-1]
    return _pairs_equal(same) - _pairs_equal(same & (high[:, 1:] == high[:, :-1]))


def _in_created_tie(stack, exact) -> int:
    """Positions of a 1-D array that share their stack score with one whose exact score differs."""
    import numpy as np

    _, group = np.unique(stack, return_inverse=True)
    lowest, highest = np.full(group.max() + 1, np.inf), np.full(group.max() + 1, -np.inf)
    np.minimum.at(lowest, group, exact)
    np.maximum.at(highest, group, exact)
    return int((lowest[group] != highest[group]).sum())


def cross_encoder_scores(model, pairs: list, batch_size: int = 32):
    """(the stack's scores, the same logits activated in float32, the dtype the stack returned them in) of a
    one-label CrossEncoder's `predict` over `pairs`: its default activation as installed (3.x: applied in
    the model's dtype; 6.0 and later: after an upcast, #3893), then its logits with the activation applied
    after .float(). Both as float32 NumPy, for created_ties and the ranking; None for several labels."""
    import torch

    keyword = "activation_fn" if hasattr(model, "activation_fn") else "activation_fct"
    activation = getattr(model, "activation_fn", None) or getattr(model, "default_activation_function", None)
    arguments = dict(batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False)
    stack = model.predict(pairs, **arguments)
    logits = model.predict(pairs, **arguments, **{keyword: torch.nn.Identity()})
    if stack.dim() != 1:
        return None
    exact = activation(logits.float()) if activation is not None else logits.float()
    return _numpy(stack), _numpy(exact), dtype_name(stack.dtype)


def grouped_ties(stack, exact, groups: list) -> tuple[int, int]:
    """(created ties, groups with one) where each group (a query's candidates: positions into the 1-D
    score arrays) is ranked on its own, as a reranker ranks each query's documents."""
    import numpy as np

    counts = [int(created_ties(stack[None, list(g)], exact[None, list(g)])[0]) for g in groups if len(g) > 1]
    return sum(counts), int(np.count_nonzero(counts))


def differs(row: ScoringPrecision) -> bool:
    """The stack's scoring lost something float32 scoring of the same embeddings keeps: a tie, or the metric."""
    return row.error is None and (row.ties > 0 or abs(row.difference or 0.0) > CHANGED)
