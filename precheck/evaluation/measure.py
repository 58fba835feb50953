"""Where --eval meets the scan: the set read before any load, each precision's pass over it made
while the scan's own model of that precision is loaded, and the report's rows made at the end.

The float32 reference and each dtype's `load` run (the model as users load it) encode the corpus
once and the queries once (pairs: both sides), rank them (ranking.py) and keep only the per-query
figures; the embeddings die with the run. A float32 reference reused from precheck's cache had no
model loaded, so float32 is loaded once more for the set.
"""
from __future__ import annotations

import time


def check_eval_options(options, kind: str):
    """The labelled set read and checked (or the evaluator object taken), before any load; None
    without either. Every kind takes both layouts (kinds/*.py say how each scores them)."""
    if getattr(options, "evaluator", None) is not None:
        from .evaluator_object import EvaluatorRuns

        return EvaluatorRuns(options.evaluator)
    if options.eval is None:
        return None
    from .sets import read_eval_set

    return EvalRuns(read_eval_set(options.eval))


class EvalRuns:
    """What a scan keeps of each precision's pass over the labelled set: figures, seconds, errors."""

    per_item = True  # per-query figures: a fix's plan can be held against float32's (repair/metric_check.py)

    def __init__(self, data) -> None:
        self.data = data
        self.figures: dict = {}
        self.seconds: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self.plans: dict = {}  # the fix search's plans on the set (repair/metric_check.py), by plan
        self.reranked_by: str | None = None  # a kind that scores pairs (rerank.py): its class, for the note
        self.scoring: dict = {}  # the installed stack's own scoring of each precision's embeddings

    def describe(self) -> str:
        data = self.data
        if data.layout == "beir":
            return f"{len(data.query_texts)} eval queries against {len(data.corpus_texts)} documents"
        return f"{len(data.scores)} eval pairs"

    def measure(self, label: str, model, session):
        """(figures, seconds, error) of `model` on the set, scored as its kind scores it (kind_runs.py), or
        None and the model's failure in one line. `label` names the pass in the progress line."""
        figures, seconds, error, _ = self._pass(label, model, session, with_stack=False)
        return figures, seconds, error

    def _pass(self, label: str, model, session, with_stack: bool):
        """measure's figures, seconds and error, and with_stack: the set as the stack returns it
        (scoring_precision.stack_pass), from the one pass that measured it, or None."""
        from .kind_runs import measure_set
        from .scoring_precision import stack_pass

        session.progress(f"{label}: encoding {self.describe()}")
        options = session.options
        if self.data.layout == "beir" and not session.kind.eval_ranks_corpus:
            self.reranked_by = session.kind.class_name
        start = time.perf_counter()
        figures = error = encoded = None
        try:
            encoded = stack_pass(session.kind, model, self.data, options) if with_stack else None
            figures = measure_set(session.kind, model, self.data, options.batch_size, options.load.encode_kwargs(),
                                  encoded=None if encoded is None else _rows(encoded))
        except Exception as exc:  # noqa: BLE001 - the model's failure is this precision's result
            lines = str(exc).strip().splitlines()
            error = f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]
        return figures, time.perf_counter() - start, error, encoded

    def encode(self, dtype: str, model, session) -> None:
        """This precision's figures on the set, from `model` (loaded for the scan's run of `dtype`), and the
        installed stack's scoring of the same outputs."""
        figures, self.seconds[dtype], error, encoded = self._pass(dtype, model, session, with_stack=True)
        if error is None:
            from .scoring_precision import stack_scoring

            self.figures[dtype] = figures
            self.scoring[dtype] = stack_scoring(session.kind, model, self.data, session.options, encoded)
        else:
            self.errors[dtype] = error

    def check(self, options):
        """The report's EvaluationCheck: a row per precision, float32's first."""
        from .bootstrap import CONFIDENCE, RESAMPLES, SEED
        from ..data.evaluation import METRICS, EvaluationCheck
        from .result import precision_result, unmeasured

        start = time.perf_counter()
        data, reference = self.data, self.figures.get("float32")
        rows = []
        for dtype in ["float32", *options.dtypes]:
            if dtype in self.figures and reference is not None:
                rows.append(precision_result(dtype, data, reference, self.figures[dtype], self.seconds[dtype]))
            elif dtype in self.errors:
                rows.append(unmeasured(dtype, self.errors[dtype]))
            elif dtype in self.figures:
                rows.append(unmeasured(dtype, "float32 was not measured"))
            else:
                rows.append(unmeasured(dtype, "the model did not load in this precision"))
        return EvaluationCheck(
            source=str(options.eval), layout=data.layout, metric=METRICS[data.layout],
            items=len(data.query_texts) if data.layout == "beir" else len(data.scores),
            corpus=len(data.corpus_texts) if data.layout == "beir" else None,
            skipped_queries=data.skipped_queries, max_metric_drop=options.max_metric_drop,
            resamples=RESAMPLES, seed=SEED, confidence=CONFIDENCE, results=rows,
            seconds=round(sum(self.seconds.values()) + time.perf_counter() - start, 4))

    def notes(self) -> list[str]:
        from .rerank import OTHERS, SEED

        notes = []
        if self.reranked_by:
            notes.append(f"--eval: a {self.reranked_by} reranks each query's judged documents and {OTHERS} other "
                         f"corpus documents drawn with seed {SEED}, so its figures are over those candidates, not the "
                         f"whole corpus (docs/evaluation.md)")
        if self.data.skipped_queries:
            notes.append(f"--eval: {self.data.skipped_queries} queries of queries.jsonl have no relevant document in "
                         f"qrels/test.tsv and are left out, as BEIR leaves them out")
        return notes


def ensure_float32(runs, session) -> None:
    """float32's pass over the set (or the evaluator's call), made now when the reference came from
    precheck's cache (no float32 model was loaded in this run): the report's rows and the fix search's
    plans are held against it."""
    if "float32" in runs.figures or "float32" in runs.errors:
        return
    from ..loading.load import release_memory

    model = session.load_reference()
    runs.encode("float32", model, session)
    del model
    release_memory()


def add_evaluation(report, session) -> None:
    """report.evaluation from the runs' figures; the scan then judges the whole report again."""
    from .gate import interval_notes

    runs, options = session.evaluation, session.options
    ensure_float32(runs, session)
    report.evaluation = runs.check(options)
    from .scoring_precision import attach_scoring

    attach_scoring(report, runs)
    report.notes.extend(interval_notes(report.evaluation))
    report.notes.extend(runs.notes())


def _rows(encoded):
    """stack_pass's two sides as the dense kind's eval rows (kinds/eval_scoring.py's dense_rows)."""
    from ..kinds.eval_scoring import dense_rows

    first, second, _ = encoded
    return dense_rows(first), dense_rows(second)

