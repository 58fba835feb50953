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
    """(embeddings as float32 NumPy, the torch dtype the model gave them in), encoded as sentence-transformers'
    evaluators encode: encode_query / encode_document where the model has them (their prompts), unless
    --prompt or --prompt-name is given."""
    import numpy as np

    method = None if encode_kwargs else getattr(model, f"encode_{role}", None)
    out = (method or model.encode)(texts, batch_size=batch_size, show_progress_bar=False, convert_to_tensor=True,
                                   **encode_kwargs)
    dtype = getattr(out, "dtype", None)
    if hasattr(out, "float"):  # a tensor (bfloat16 has no NumPy type)
        out = out.float().cpu().numpy()
    return np.asarray(out, dtype=np.float32), dtype


class EvalRuns:
    """What a scan keeps of each precision's pass over the labelled set: figures, seconds, errors."""

    def __init__(self, data) -> None:
        self.data = data
        self.figures: dict = {}
        self.seconds: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self.scoring: dict = {}  # the installed stack's own scoring of each precision's embeddings

    def describe(self) -> str:
        data = self.data
        if data.layout == "beir":
            return f"{len(data.query_texts)} eval queries against {len(data.corpus_texts)} documents"
        return f"{len(data.scores)} eval pairs"

    def encode(self, dtype: str, model, session) -> None:
        """This precision's figures on the set, from `model` (loaded for the scan's run of `dtype`)."""
        from .ranking import rank_corpus, score_pairs
        from .scoring_precision import measure_scoring

        session.progress(f"{dtype}: encoding {self.describe()}")
        data, options = self.data, session.options
        arguments = (options.batch_size, options.load.encode_kwargs())
        start = time.perf_counter()
        try:
            if data.layout == "beir":
                second, given = _encode(model, data.corpus_texts, "document", *arguments)
                first, _ = _encode(model, data.query_texts, "query", *arguments)
                self.figures[dtype] = rank_corpus(first, second, data.judgements)
            else:
                first, given = _encode(model, data.sentences1, "", *arguments)
                second, _ = _encode(model, data.sentences2, "", *arguments)
                self.figures[dtype] = score_pairs(first, second, data.scores)
            self.scoring[dtype] = measure_scoring(model, data, first, second, given)
        except Exception as exc:  # noqa: BLE001 - the model's failure is this precision's result
            lines = str(exc).strip().splitlines()
            self.errors[dtype] = f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]
        self.seconds[dtype] = time.perf_counter() - start


def add_evaluation(report, session) -> None:
    """report.evaluation from the runs' figures; the scan then judges the whole report again."""
    from ..engine.verdict import judge
    from .bootstrap import CONFIDENCE, RESAMPLES, SEED
    from .gate import interval_notes
    from .result import METRICS, EvaluationCheck, precision_result, unmeasured
    from .scoring_precision import attach_scoring

    runs, options = session.evaluation, session.options
    if "float32" not in runs.figures and "float32" not in runs.errors:
        # The reference came from the cache: no float32 model was loaded in this run.
        from ..loading.load import release_memory

        model = session.load_reference()
        runs.encode("float32", model, session)
        del model
        release_memory()
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
    attach_scoring(report, runs)
    report.verdict = judge(report)
    report.notes.extend(interval_notes(report.evaluation))
    if data.skipped_queries:
        report.notes.append(f"--eval: {data.skipped_queries} queries of queries.jsonl have no relevant document "
                            f"in qrels/test.tsv and are left out, as BEIR leaves them out")
