"""Where --eval meets the scan: the set read before any load, each precision's pass over it made
while the scan's own model of that precision is loaded, and the report's rows made at the end.

The float32 reference and each dtype's `load` run (the model as users load it) encode the corpus
once and the queries once (pairs: both sides), rank them (ranking.py) and keep only the per-query
figures; the embeddings die with the run. A float32 reference reused from precheck's cache had no
model loaded, so float32 is loaded once more for the set.
"""
from __future__ import annotations

import time

from ..errors import PrecheckError


def check_eval_options(options, kind: str):
    """The labelled set read and checked, before any load; None without --eval."""
    if options.eval is None:
        return None
    from ..kinds import kind_for
    from .sets import read_eval_set

    # One dense embedding per text, as --storage needs: the ranking and the similarity are cosines of them.
    if not kind_for(kind).dense_embeddings:
        raise PrecheckError(f"--eval measures embedders in this version; {options.model_name} is a {kind}",
                            "scan a sentence-transformer model, or leave --eval out (docs/evaluation.md)")
    return EvalRuns(read_eval_set(options.eval))


def _encode(model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict):
    """Embeddings as float32 NumPy, encoded as sentence-transformers' evaluators encode: encode_query /
    encode_document where the model has them (their prompts), unless --prompt or --prompt-name is given."""
    import numpy as np

    method = None if encode_kwargs else getattr(model, f"encode_{role}", None)
    out = (method or model.encode)(texts, batch_size=batch_size, show_progress_bar=False, **encode_kwargs)
    if hasattr(out, "float"):  # a tensor (bfloat16 has no NumPy type)
        out = out.float().cpu().numpy()
    return np.asarray(out, dtype=np.float32)


class EvalRuns:
    """What a scan keeps of each precision's pass over the labelled set: figures, seconds, errors."""

    def __init__(self, data) -> None:
        self.data = data
        self.figures: dict = {}
        self.seconds: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self.plans: dict = {}  # the fix search's plans on the set (repair/metric_check.py), by plan

    def describe(self) -> str:
        data = self.data
        if data.layout == "beir":
            return f"{len(data.query_texts)} eval queries against {len(data.corpus_texts)} documents"
        return f"{len(data.scores)} eval pairs"

    def measure(self, label: str, model, session):
        """(figures, seconds, error) of `model` on the set: ranking.Ranked or ranking.Scored, or None and
        the model's failure in one line. `label` names the pass in the progress line."""
        from .ranking import rank_corpus, score_pairs

        session.progress(f"{label}: encoding {self.describe()}")
        data, options = self.data, session.options
        arguments = (options.batch_size, options.load.encode_kwargs())
        start = time.perf_counter()
        figures = error = None
        try:
            if data.layout == "beir":
                corpus = _encode(model, data.corpus_texts, "document", *arguments)
                queries = _encode(model, data.query_texts, "query", *arguments)
                figures = rank_corpus(queries, corpus, data.judgements)
            else:
                first = _encode(model, data.sentences1, "", *arguments)
                second = _encode(model, data.sentences2, "", *arguments)
                figures = score_pairs(first, second, data.scores)
        except Exception as exc:  # noqa: BLE001 - the model's failure is this precision's result
            lines = str(exc).strip().splitlines()
            error = f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]
        return figures, time.perf_counter() - start, error

    def encode(self, dtype: str, model, session) -> None:
        """This precision's figures on the set, from `model` (loaded for the scan's run of `dtype`)."""
        figures, self.seconds[dtype], error = self.measure(dtype, model, session)
        if error is None:
            self.figures[dtype] = figures
        else:
            self.errors[dtype] = error

    def ensure_float32(self, session) -> None:
        """float32's pass over the set, made now when the reference came from precheck's cache (no float32
        model was loaded in this run): the report's rows and the fix search's plans are held against it."""
        if "float32" in self.figures or "float32" in self.errors:
            return
        from ..loading.load import release_memory

        model = session.load_reference()
        self.encode("float32", model, session)
        del model
        release_memory()


def add_evaluation(report, session) -> None:
    """report.evaluation from the runs' figures; the scan then judges the whole report again."""
    from .bootstrap import CONFIDENCE, RESAMPLES, SEED
    from .gate import interval_notes
    from ..data.evaluation import METRICS, EvaluationCheck
    from .result import precision_result, unmeasured

    runs, options = session.evaluation, session.options
    runs.ensure_float32(session)
    start = time.perf_counter()
    data = runs.data
    reference = runs.figures.get("float32")
    rows = []
    for dtype in ["float32", *options.dtypes]:
        if dtype in runs.figures and reference is not None:
            rows.append(precision_result(dtype, data, reference, runs.figures[dtype], runs.seconds[dtype]))
        elif dtype in runs.errors:
            rows.append(unmeasured(dtype, runs.errors[dtype]))
        elif dtype in runs.figures:
            rows.append(unmeasured(dtype, "float32 was not measured"))
        else:
            rows.append(unmeasured(dtype, "the model did not load in this precision"))
    report.evaluation = EvaluationCheck(
        source=str(options.eval), layout=data.layout, metric=METRICS[data.layout],
        items=len(data.query_texts) if data.layout == "beir" else len(data.scores),
        corpus=len(data.corpus_texts) if data.layout == "beir" else None,
        skipped_queries=data.skipped_queries, max_metric_drop=options.max_metric_drop,
        resamples=RESAMPLES, seed=SEED, confidence=CONFIDENCE, results=rows,
        seconds=round(sum(runs.seconds.values()) + time.perf_counter() - start, 4))
    report.notes.extend(interval_notes(report.evaluation))
    if data.skipped_queries:
        report.notes.append(f"--eval: {data.skipped_queries} queries of queries.jsonl have no relevant document "
                            f"in qrels/test.tsv and are left out, as BEIR leaves them out")
