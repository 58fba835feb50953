"""--eval's part of the report: each precision's metric on the user's labelled set, its difference from
float32 with a paired bootstrap interval, how many queries changed and the worst of them.

Plain dataclasses (report.py holds them as Report.evaluation); `precision_result` makes one row from
two precisions' figures (ranking.py), the gate (gate.py) judges the rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

WORST = 10  # the worst queries (pairs) kept per precision, worst first
TEXT_CHARS = 200  # texts in the report are clipped to this many characters
CHANGED = 1e-12  # a per-item figure that moved less than this did not change
METRICS = {"beir": "ndcg@10", "pairs": "spearman"}
LABELS = {"ndcg@10": "nDCG@10", "spearman": "Spearman"}


@dataclass
class EvalItem:
    """One query (or pair) among a precision's worst: its texts and its figure in both precisions."""

    item: int  # position among the evaluated queries (pairs: among the pairs), from 0
    id: str  # the query's _id (pairs: its position, as text)
    text: str  # the query (pairs: sentence1), clipped
    float32: float  # the per-item figure in float32: the query's nDCG@10 (pairs: its rank error)
    value: float  # the same figure in this precision
    other: str | None = None  # pairs: sentence2, clipped
    float32_top: str | None = None  # retrieval: the _id float32 ranks first
    top: str | None = None  # retrieval: the _id this precision ranks first (None: nothing retrieved)
    top_text: str | None = None  # its text, clipped


@dataclass
class ScoringPrecision:
    """What the installed sentence-transformers' own scoring does with one precision's embeddings, against
    the same function on the same embeddings after .float() (evaluation/scoring_precision.py)."""

    library: str  # "sentence-transformers 3.0.1": the stack that scored
    scorer: str  # the function called, e.g. "SentenceTransformer.similarity (cosine)"
    embeddings_dtype: str  # the dtype the precision's model gives its embeddings in
    scores_dtype: str  # the dtype the scorer returns for them (float32: it upcasts)
    ties: int  # retrieval: pairs of documents per query (pairs: pairs of pairs) that float32 scoring
    # tells apart and the stack's scoring scores equal, summed
    tied_items: int  # queries with such a tie (pairs: pairs in one)
    compared: int  # pairs of scores compared
    metric: float | None  # the primary metric under the stack's scoring
    float32_metric: float | None  # under the same function on the same embeddings, .float() first
    difference: float | None  # metric - float32_metric
    interval: list[float] | None  # its paired bootstrap interval (as the row's)
    changed: int  # queries (pairs) whose own figure differs between the two scorings
    remedy: str | None = None  # None: the stack scores these embeddings in float32 already
    snippet: str | None = None  # the remedy, in code
    error: str | None = None  # why the stack's scoring could not be measured


@dataclass
class EvalResult:
    """One precision (float32 first) on the labelled set."""

    dtype: str
    metric: float | None  # nDCG@10 (BEIR) or Spearman (pairs); None: not measured (error says why)
    difference: float | None  # metric - float32's metric
    interval: list[float] | None  # [low, high]: the paired bootstrap interval of the difference
    changed: int  # queries (pairs) whose own figure differs from float32's
    worse: int  # of them, those that got worse
    secondary: dict[str, float] = field(default_factory=dict)  # BEIR: mrr@10, recall@100
    nonfinite: int = 0  # embeddings that were NaN/inf (never retrieved, ranked last)
    passed: bool = False
    worst: list[EvalItem] = field(default_factory=list)
    seconds: float | None = None  # encoding the set and ranking it
    error: str | None = None
    # The installed stack's own scoring of these embeddings; None where they come out in float32.
    scoring: ScoringPrecision | None = None


@dataclass
class EvaluationCheck:
    """--eval: the user's own metric per precision (precheck/evaluation/, docs/evaluation.md)."""

    source: str  # the folder or file given
    layout: str  # "beir" or "pairs"
    metric: str  # "ndcg@10" or "spearman": the primary metric, which the gate reads
    items: int  # queries evaluated (pairs)
    corpus: int | None  # documents ranked (BEIR)
    skipped_queries: int  # queries with no relevant document, left out as BEIR leaves them out
    max_metric_drop: float  # the gate: float32's metric less a precision's may be at most this
    resamples: int  # the bootstrap's resamples
    seed: int  # and its seed
    confidence: float  # the interval's level
    results: list[EvalResult]
    passed: bool = False
    seconds: float = 0.0


def clip(text: str | None) -> str | None:
    return text if text is None or len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 3] + "..."


def unmeasured(dtype: str, error: str) -> EvalResult:
    return EvalResult(dtype, None, None, None, 0, 0, error=error)


def precision_result(dtype: str, data, reference, run, seconds: float) -> EvalResult:
    """The row of `run` (ranking.Ranked or ranking.Scored) against float32's `reference` on `data`."""
    if data.layout == "beir":
        return _retrieval_result(dtype, data, reference, run, seconds)
    return _pairs_result(dtype, data, reference, run, seconds)


def _retrieval_result(dtype, data, reference, run, seconds) -> EvalResult:
    import numpy as np

    from .bootstrap import mean_difference, paired_interval

    delta = run.ndcg - reference.ndcg
    metric, baseline = float(run.ndcg.mean()), float(reference.ndcg.mean())
    order = [int(i) for i in np.argsort(delta, kind="stable") if delta[i] < -CHANGED][:WORST]

    def first(top, row):
        return data.corpus_ids[int(top[row, 0])] if top.shape[1] and top[row, 0] >= 0 else None

    worst = [EvalItem(i, data.query_ids[i], clip(data.query_texts[i]), float(reference.ndcg[i]), float(run.ndcg[i]),
                      float32_top=first(reference.top, i), top=first(run.top, i),
                      top_text=clip(data.corpus_texts[int(run.top[i, 0])]) if first(run.top, i) else None)
             for i in order]
    return EvalResult(
        dtype, metric, metric - baseline,
        None if dtype == "float32" else paired_interval(len(delta), mean_difference(delta)),
        int((np.abs(delta) > CHANGED).sum()), int((delta < -CHANGED).sum()),
        secondary={"mrr@10": float(run.mrr.mean()), "recall@100": float(run.recall.mean())},
        nonfinite=run.nonfinite, worst=worst, seconds=round(seconds, 4))


def _pairs_result(dtype, data, reference, run, seconds) -> EvalResult:
    import numpy as np

    from .bootstrap import paired_interval, spearman_difference
    from .ranking import average_ranks

    gold = average_ranks(np.asarray(data.scores, dtype=np.float64))
    before, after = average_ranks(reference.cosines), average_ranks(run.cosines)
    # Each pair's rank error: how far the model's rank of the pair is from the gold rank.
    error_before, error_after = np.abs(before - gold), np.abs(after - gold)
    grew = error_after - error_before
    order = [int(i) for i in np.argsort(-grew, kind="stable") if grew[i] > CHANGED][:WORST]
    worst = [EvalItem(i, str(i), clip(data.sentences1[i]), float(error_before[i]), float(error_after[i]),
                      other=clip(data.sentences2[i])) for i in order]
    return EvalResult(
        dtype, run.spearman, run.spearman - reference.spearman,
        None if dtype == "float32" else paired_interval(
            len(gold), spearman_difference(data.scores, reference.cosines, run.cosines)),
        int((np.abs(after - before) > CHANGED).sum()), int((grew > CHANGED).sum()),
        nonfinite=run.nonfinite, worst=worst, seconds=round(seconds, 4))
