"""The scoring precision of the user's stack (issue 34 item 4; docs/evaluation.md, "Scoring precision").

precheck ranks every precision's embeddings in float32 itself (ranking.py). Users score them with their
installed sentence-transformers: `model.similarity` (util.cos_sim, dot_score, ...) on the tensors the
precision's model gives, in its own dtype. Before sentence-transformers 6.0 (#3892) those functions
compute in the embeddings' dtype, so float16/bfloat16 scores land on a coarse grid and documents that
float32 tells apart tie. Here the installed function scores a precision's embeddings as they come out
and again after `.float()` (the remedy, so it is verified by the same run): the ties the first creates
among scores the second tells apart, and the set's metric under each.
"""
from __future__ import annotations

from .result import CHANGED
from .ties import (
    SCORES_IN_FLOAT32_FROM,
    _in_created_tie,
    _major,
    _numpy,
    below_float32,
    created_ties,
    differs,
    library,
)
from ..data.evaluation import LABELS, ScoringPrecision
from ..dtypes import dtype_name

CAUSE = "scoring-precision"


def stack_scorer(model, pairwise: bool):
    """(function, its name): the model's own similarity (its similarity_fn_name), as users call it; util's
    cosine for a model without one."""
    name = "similarity_pairwise" if pairwise else "similarity"
    function = getattr(model, name, None)
    if callable(function):
        kind = getattr(model, "similarity_fn_name", None)
        return function, f"{type(model).__name__}.{name}" + (f" ({getattr(kind, 'value', kind)})" if kind else "")
    from sentence_transformers import util

    function = util.pairwise_cos_sim if pairwise else util.cos_sim
    return function, f"sentence_transformers.util.{function.__name__}"


def _retrieval(score, queries, corpus, data) -> dict:
    import numpy as np

    from ..compare.neighbours import row_blocks
    from .bootstrap import mean_difference, paired_interval
    from .ranking import rank_block

    rows, documents = queries.shape[0], corpus.shape[0]
    low_ndcg, exact_ndcg, ties = np.zeros(rows), np.zeros(rows), np.zeros(rows, dtype=np.int64)
    scores_dtype = None
    exact_corpus = corpus.float()
    for start, stop in row_blocks(rows, documents):
        low = score(queries[start:stop], corpus)
        scores_dtype = low.dtype
        low, exact = _numpy(low), _numpy(score(queries[start:stop].float(), exact_corpus))
        ties[start:stop] = created_ties(low, exact)
        judged = data.judgements[start:stop]
        low_ndcg[start:stop], exact_ndcg[start:stop] = rank_block(low, judged)[0], rank_block(exact, judged)[0]
    delta = low_ndcg - exact_ndcg
    return dict(scores_dtype=scores_dtype, ties=int(ties.sum()), tied_items=int((ties > 0).sum()),
                compared=rows * (documents * (documents - 1) // 2), metric=float(low_ndcg.mean()),
                float32_metric=float(exact_ndcg.mean()), interval=paired_interval(rows, mean_difference(delta)),
                changed=int((np.abs(delta) > CHANGED).sum()))


def _pairs(score, first, second, data) -> dict:
    import numpy as np

    from .bootstrap import paired_interval, spearman_difference
    from .ranking import average_ranks, spearman_rows

    low = score(first, second)
    scores_dtype = low.dtype
    low, exact = _numpy(low), _numpy(score(first.float(), second.float()))
    gold = np.asarray(data.scores, dtype=np.float64)
    low64, exact64 = low.astype(np.float64), exact.astype(np.float64)
    metric, float32_metric = (float(spearman_rows(gold[None, :], v[None, :])[0]) for v in (low64, exact64))
    items = len(gold)
    return dict(scores_dtype=scores_dtype, ties=int(created_ties(low[None, :], exact[None, :])[0]),
                tied_items=_in_created_tie(low, exact), compared=items * (items - 1) // 2, metric=metric,
                float32_metric=float32_metric,
                interval=paired_interval(items, spearman_difference(gold, exact64, low64)),
                changed=int((np.abs(average_ranks(low64) - average_ranks(exact64)) > CHANGED).sum()))


def remedy(model, version: str, scorer: str, layout: str) -> tuple[str, str]:
    """(what to do, the code): .float() the embeddings before scoring; before 6.0, or upgrade."""
    text = ".float() the embeddings before scoring them"
    if _major(version) < SCORES_IN_FLOAT32_FROM:
        text += (f", or install sentence-transformers>={SCORES_IN_FLOAT32_FROM}.0, whose similarity functions "
                 "score float16/bfloat16 embeddings in float32 (#3892)")
    function = scorer.split(" ")[0].replace(type(model).__name__, "model", 1).removeprefix("sentence_transformers.")
    if layout == "beir":
        query, document = ("encode_query", "encode_document") if hasattr(model, "encode_query") else ("encode",) * 2
        code = (f"queries = model.{query}(queries, convert_to_tensor=True).float()\n"
                f"documents = model.{document}(documents, convert_to_tensor=True).float()\n"
                f"scores = {function}(queries, documents)  # float32 scores: no ties the scoring made")
    else:
        code = ("first = model.encode(sentences1, convert_to_tensor=True).float()\n"
                "second = model.encode(sentences2, convert_to_tensor=True).float()\n"
                f"scores = {function}(first, second)  # float32 scores: no ties the scoring made")
    return text, code


def stack_embeddings(model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict):
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


def stack_pass(kind, model, data, options):
    """(first, second, dtype): the set's two sides (queries and corpus; pairs: each side) encoded once, as the
    installed stack returns them (float32 arrays of the model's own values, and the torch dtype it gave them
    in), for a kind scored by the library's similarity and a model that computes below float32; else None.
    The same pass gives precheck's own measurement (kind_runs.measure_set's `encoded`) and the stack's
    scoring, so a half-precision model encodes the set once."""
    if kind.eval_stack_scoring != "similarity" or not _below_float32(model):
        return None
    arguments = (options.batch_size, options.load.encode_kwargs())
    if data.layout == "beir":
        second, given = stack_embeddings(model, data.corpus_texts, "document", *arguments)
        first, _ = stack_embeddings(model, data.query_texts, "query", *arguments)
    else:
        first, given = stack_embeddings(model, data.sentences1, "", *arguments)
        second, _ = stack_embeddings(model, data.sentences2, "", *arguments)
    return first, second, given


def _below_float32(model) -> bool:
    from ..kinds import torch_module

    parameter = next(torch_module(model).parameters(), None)
    return parameter is not None and below_float32(parameter.dtype)


def stack_scoring(kind, model, data, options, encoded=None):
    """The installed stack's scoring of `model`'s outputs on the set (Kind.eval_stack_scoring): a dense kind's
    similarity on `encoded` (stack_pass's, made by the measuring pass), a cross-encoder's predict() activation;
    None for the other kinds, and where the model computes in float32 or wider."""
    if kind.eval_stack_scoring is None or not _below_float32(model):
        return None
    if kind.eval_stack_scoring == "predict":  # a cross-encoder: predict()'s activation (predict_scoring.py)
        from .predict_scoring import predict_scoring

        return predict_scoring(model, data, options.batch_size)
    first, second, given = encoded if encoded is not None else stack_pass(kind, model, data, options)
    return measure_scoring(model, data, first, second, given)


def measure_scoring(model, data, first, second, dtype) -> ScoringPrecision | None:
    """The installed stack's scoring of one precision's embeddings on the set: `first`, `second` the
    queries and the corpus (pairs: each side) as float32 arrays, `dtype` the torch dtype the model gave
    them in. None where that is float32 or wider: every stack scores those in float32."""
    if not below_float32(dtype):
        return None
    import torch

    version = library()
    score, scorer = stack_scorer(model, pairwise=data.layout != "beir")
    # Exact: the arrays are the model's own dtype upcast, so casting back gives its very tensors; on the
    # model's device, where users score them (a GPU's half-precision matmul rounds as the user's does).
    device = getattr(model, "device", None) or "cpu"
    a, b = (torch.from_numpy(x).to(device=device, dtype=dtype) for x in (first, second))
    try:
        figures = (_retrieval if data.layout == "beir" else _pairs)(score, a, b, data)
    except Exception as exc:  # noqa: BLE001 - the stack's failure is this figure's result
        lines = str(exc).strip().splitlines()
        return ScoringPrecision(version, scorer, dtype_name(dtype), "", 0, 0, 0, None, None, None, None, 0,
                                error=f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500])
    figures["scores_dtype"] = dtype_name(figures["scores_dtype"])
    row = ScoringPrecision(version, scorer, dtype_name(dtype), difference=figures["metric"] - figures["float32_metric"],
                           **figures)
    if differs(row):
        row.remedy, row.snippet = remedy(model, version, scorer, data.layout)
    return row


def scoring_diagnoses(check) -> list:
    """A `scoring-precision` diagnosis per precision whose stack scoring differs, naming the remedy."""
    from ..data.report import Diagnosis

    label = LABELS.get(check.metric, check.metric)
    unit = "documents of a query" if check.layout == "beir" else "pairs"
    found = []
    for result in check.results:
        row = result.scoring
        if row is None or not differs(row):
            continue
        beyond = abs(row.difference) > check.max_metric_drop
        outputs = "logits" if row.scorer.startswith("CrossEncoder") else "embeddings"
        detail = (f"{row.library}'s {row.scorer} scores {row.embeddings_dtype} {outputs} in {row.scores_dtype}: "
                  f"{row.ties} pairs of {unit} that float32 scoring tells apart tie "
                  f"({row.tied_items} {'queries' if check.layout == 'beir' else 'pairs'}); {label} "
                  f"{row.metric:.4f} against {row.float32_metric:.4f} scored in float32 ({row.difference:+.4f}, "
                  f"{'beyond' if beyond else 'within'} --max-metric-drop {check.max_metric_drop:g}); "
                  f"remedy: {row.remedy} (run on the set: {label} {row.float32_metric:.4f}, no such tie)")
        found.append(Diagnosis(result.dtype, "load", CAUSE, "", detail))
    return found


def attach_scoring(report, runs) -> None:
    """Each row's stack scoring from the runs, and a diagnosis where it differs (measure.py's add_evaluation)."""
    for row in report.evaluation.results:
        row.scoring = runs.scoring.get(row.dtype)
    report.diagnoses.extend(scoring_diagnoses(report.evaluation))
