"""The stack's own scoring of a half-precision CrossEncoder under --eval: `predict()` as installed (before
6.0 it applies its activation in the model's dtype; 6.0 upcasts the logits first, #3893) against the same
logits activated in float32. The ties that creates among each query's candidates (scored pairs: among the
pairs), and the metric under each scoring, as scoring_precision.py measures an embedder's similarity.
"""
from __future__ import annotations

from ..data.evaluation import ScoringPrecision


def predict_scoring(model, data, batch_size: int) -> ScoringPrecision | None:
    """The stack's predict() on the set's pairs (a BEIR folder: each query's rerank candidates, rerank.py)
    against float32 activation; None for a model with several labels (no one score to rank by)."""
    import numpy as np

    from ..dtypes import dtype_name
    from ..kinds import torch_module
    from .bootstrap import mean_difference, paired_interval, spearman_difference
    from .ranking import average_ranks, spearman_rows
    from .rerank import candidate_pairs, candidates, rank_candidates
    from .result import CHANGED
    from .ties import created_ties, cross_encoder_scores, differs, grouped_ties, library

    lists = candidates(data) if data.layout == "beir" else None
    pairs = candidate_pairs(data, lists) if lists is not None else list(zip(data.sentences1, data.sentences2))
    scored = cross_encoder_scores(model, pairs, batch_size)
    if scored is None:
        return None
    stack, exact, scores_dtype = scored
    parameter = next(torch_module(model).parameters())
    if lists is not None:
        groups, offset = [], 0
        for rows in lists:
            groups.append(range(offset, offset + len(rows)))
            offset += len(rows)
        ties, tied = grouped_ties(stack, exact, groups)
        low, high = rank_candidates(stack, lists, data).ndcg, rank_candidates(exact, lists, data).ndcg
        delta = low - high
        figures = dict(ties=ties, tied_items=tied, compared=sum(len(g) * (len(g) - 1) // 2 for g in groups),
                       metric=float(low.mean()), float32_metric=float(high.mean()),
                       interval=paired_interval(len(lists), mean_difference(delta)),
                       changed=int((np.abs(delta) > CHANGED).sum()))
    else:
        gold = np.asarray(data.scores, dtype=np.float64)
        low64, exact64 = stack.astype(np.float64), exact.astype(np.float64)
        metric, float32_metric = (float(spearman_rows(gold[None, :], v[None, :])[0]) for v in (low64, exact64))
        ties = int(created_ties(stack[None, :], exact[None, :])[0])
        figures = dict(ties=ties, tied_items=int(ties > 0), compared=len(gold) * (len(gold) - 1) // 2,
                       metric=metric, float32_metric=float32_metric,
                       interval=paired_interval(len(gold), spearman_difference(gold, exact64, low64)),
                       changed=int((np.abs(average_ranks(low64) - average_ranks(exact64)) > CHANGED).sum()))
    version = library()
    row = ScoringPrecision(version, "CrossEncoder.predict (its activation)", dtype_name(parameter.dtype),
                           scores_dtype, difference=figures["metric"] - figures["float32_metric"], **figures)
    if differs(row):
        row.remedy, row.snippet = predict_remedy(model, version)
    return row


def predict_remedy(model, version: str) -> tuple[str, str]:
    """(what to do, the code): the activation applied after .float(); before 6.0, or upgrade."""
    from .ties import SCORES_IN_FLOAT32_FROM, _major

    text = "apply predict()'s activation to its logits after .float()"
    if _major(version) < SCORES_IN_FLOAT32_FROM:
        text += (f", or install sentence-transformers>={SCORES_IN_FLOAT32_FROM}.0, whose predict() upcasts "
                 "float16/bfloat16 logits before the activation (#3893)")
    keyword = "activation_fn" if hasattr(model, "activation_fn") else "activation_fct"
    code = (f"logits = model.predict(pairs, {keyword}=torch.nn.Identity(), convert_to_tensor=True)\n"
            "scores = torch.sigmoid(logits.float())  # float32 scores: no ties the activation made")
    return text, code
