"""`precheck.scan(model, evaluator=obj)`: the user's own sentence-transformers evaluator, run as --eval runs
a set: on the float32 reference and on each precision's `load` model, while the scan holds it.

Any evaluator object works (InformationRetrievalEvaluator, EmbeddingSimilarityEvaluator, the
CrossEncoder, SparseEncoder and MultiVectorEncoder evaluators, or your own): it is called with the
model, and its primary metric is read from what it returns (a dict: the key its `primary_metric`
names after the call, as sentence-transformers' trainer reads it; a number: that number). The gate is
the same --max-metric-drop on the difference from float32. An evaluator returns one number, not one
per query, so there is no paired bootstrap interval (null), no count of changed queries (0) and no
worst queries: a note in the report says so (docs/evaluation.md).
"""
from __future__ import annotations

import copy
import math
import time

from ..errors import PrecheckError

HINT = ("pass a sentence-transformers evaluator object (called with the model, returning its metrics), "
        "e.g. EmbeddingSimilarityEvaluator(...); docs/evaluation.md")


def _described(evaluator) -> str:
    name = getattr(evaluator, "name", "") or ""
    return f"{type(evaluator).__name__}" + (f" {name!r}" if isinstance(name, str) and name else "")


def _items(evaluator) -> int | None:
    """How many queries (pairs, samples) the evaluator holds, where it keeps them under a usual name."""
    for attribute in ("queries", "samples", "sentences1", "anchors", "source_sentences", "sentence_pairs"):
        held = getattr(evaluator, attribute, None)
        if held is not None and hasattr(held, "__len__") and len(held):
            return len(held)
    return None


def primary_value(evaluator, returned) -> tuple[str, float]:
    """(the primary metric's name, its value) of what the evaluator returned."""
    if isinstance(returned, dict):
        key = getattr(evaluator, "primary_metric", None)
        if key not in returned:
            raise ValueError(f"the evaluator's primary_metric {key!r} is not among the metrics it returned "
                             f"({', '.join(sorted(map(str, returned))[:8])})")
        value = returned[key]
    else:
        key, value = getattr(evaluator, "primary_metric", None) or "score", returned
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"the evaluator's {key} is {value!r}, not a number") from None
    return str(key), number


# What a sentence-transformers evaluator writes into the model it is given (model_card_data): kept and put
# back, so that a model object scanned with evaluator= is left as it was, as precheck.scan promises.
_CARD_FIELDS = ("eval_results_dict", "training_logs")


def _card_state(model) -> dict:
    card = getattr(model, "model_card_data", None)
    return {name: copy.deepcopy(getattr(card, name)) for name in _CARD_FIELDS if hasattr(card, name)}


def _restore_card(model, state: dict) -> None:
    card = getattr(model, "model_card_data", None)
    for name, value in state.items():
        setattr(card, name, value)


class EvaluatorRuns:
    """What a scan keeps of each precision's call of the evaluator: its primary metric, seconds, errors."""

    per_item = False  # one number per model: nothing per query to hold a fix's plan against

    def __init__(self, evaluator) -> None:
        if not callable(evaluator):
            raise PrecheckError(f"evaluator is a {type(evaluator).__name__}, which cannot be called with a model",
                                HINT)
        if getattr(evaluator, "greater_is_better", True) is False:
            raise PrecheckError(f"evaluator {_described(evaluator)} says lower is better; --max-metric-drop gates a "
                                "drop of a metric where higher is better", HINT)
        self.evaluator = evaluator
        self.metric: str | None = None
        self.figures: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self.scoring: dict = {}  # an evaluator's call yields no embeddings: no stack scoring to measure

    def encode(self, dtype: str, model, session) -> None:
        session.progress(f"{dtype}: running {_described(self.evaluator)}")
        start = time.perf_counter()
        card = _card_state(model)
        try:
            self.metric, self.figures[dtype] = primary_value(self.evaluator, self.evaluator(model))
        except Exception as exc:  # noqa: BLE001 - the model's (or evaluator's) failure is this precision's result
            lines = str(exc).strip().splitlines()
            self.errors[dtype] = f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]
        finally:
            _restore_card(model, card)
        self.seconds[dtype] = time.perf_counter() - start

    def check(self, options):
        from .bootstrap import CONFIDENCE, RESAMPLES, SEED
        from ..data.evaluation import EvalResult, EvaluationCheck
        from .result import unmeasured

        reference = self.figures.get("float32")
        rows = []
        for dtype in ["float32", *options.dtypes]:
            value = self.figures.get(dtype)
            if value is not None and reference is not None:
                finite = math.isfinite(value) and math.isfinite(reference)
                rows.append(EvalResult(dtype, value, value - reference if finite else None, None, 0, 0,
                                       seconds=round(self.seconds[dtype], 4)))
            elif dtype in self.errors:
                rows.append(unmeasured(dtype, self.errors[dtype]))
            elif value is not None:
                rows.append(unmeasured(dtype, "float32 was not measured"))
            else:
                rows.append(unmeasured(dtype, "the model did not load in this precision"))
        return EvaluationCheck(
            source=_described(self.evaluator), layout="evaluator", metric=self.metric or "score",
            items=_items(self.evaluator), corpus=None, skipped_queries=0, max_metric_drop=options.max_metric_drop,
            resamples=RESAMPLES, seed=SEED, confidence=CONFIDENCE, results=rows,
            seconds=round(sum(self.seconds.values()), 4))

    def notes(self) -> list[str]:
        return [f"evaluator: {_described(self.evaluator)} returns one {self.metric or 'score'} per model, not one "
                "figure per query, so no paired bootstrap interval, changed queries or worst queries are "
                "reported; the gate reads the difference from float32 alone (docs/evaluation.md)"]
