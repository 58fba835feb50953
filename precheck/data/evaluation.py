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
