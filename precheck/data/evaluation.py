"""--eval's rows in the report: each precision's metric on the user's labelled set, its difference from
float32 with a paired bootstrap interval, how many queries changed and the worst of them.

Plain dataclasses (data/report.py holds them as Report.evaluation); evaluation/result.py makes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

METRICS = {"beir": "ndcg@10", "pairs": "spearman"}
# The layouts a report's evaluation block has: a labelled set's (METRICS), or "evaluator" (a sentence-
# transformers evaluator object given in Python, whose primary metric is named by the evaluator).
LAYOUTS = (*METRICS, "evaluator")
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


@dataclass
class EvaluationCheck:
    """--eval: the user's own metric per precision (precheck/evaluation/, docs/evaluation.md)."""

    source: str  # the folder or file given (an evaluator: its class and name)
    layout: str  # "beir", "pairs" or "evaluator" (evaluation/evaluator_object.py)
    metric: str  # "ndcg@10" or "spearman", or the evaluator's primary_metric: the metric the gate reads
    items: int | None  # queries evaluated (pairs); an evaluator's: where it says, else None
    corpus: int | None  # documents ranked (BEIR)
    skipped_queries: int  # queries with no relevant document, left out as BEIR leaves them out
    max_metric_drop: float  # the gate: float32's metric less a precision's may be at most this
    resamples: int  # the bootstrap's resamples
    seed: int  # and its seed
    confidence: float  # the interval's level
    results: list[EvalResult]
    passed: bool = False
    seconds: float = 0.0
