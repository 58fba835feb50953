"""`precheck merge`: the shard reports of a CI matrix (`precheck ci --shard K/N --json`) as one gate.

Each report is checked against the published schema, the lot proven to be one complete run
(one_run.py), rebuilt into a CiRun with every verdict recomputed from the figures, and gated
exactly as `precheck ci`.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..data.version import __version__
from ..errors import PrecheckError
from ..data.ci import CiRun, ModelRun, Regression
from ..data.json import from_document
from ..data.report import Report
from ..data.schema.check import first_problem
from ..data.schema.ci import CI_REPORT_SCHEMA
from .baseline import FIGURES, read_baseline
from .ci import gate
from .config import CiConfig, ModelConfig
from .one_run import check_against_config, check_one_run, check_report_settings

_PASS_CI_JSON = "pass the files `precheck ci --json` wrote"
# Figures a scan writes together (the verdict's summary states them together).
_TOGETHER = {"spearman": ("max_abs_diff",), "topk_overlap": ("active_dims", "active_dims_change")}
_REGRESSION_FIGURES = tuple(FIGURES)


def read_shard_report(path: Path) -> dict:
    """The document, checked field by field against the published precheck.ci/1 schema."""
    from ..data.reading import read_text_input

    # Once and bounded, like every input: a report given as /dev/zero or a pipe is no exception.
    text = read_text_input(Path(path), "report", _PASS_CI_JSON)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PrecheckError(f"{path} is not valid JSON: {exc}", _PASS_CI_JSON) from exc
    except RecursionError:
        raise PrecheckError(f"{path} is not a precheck report: its JSON is nested too deep", _PASS_CI_JSON) from None
    problem = first_problem(document, CI_REPORT_SCHEMA)
    if problem is None:
        problem = _consistency_problem(document)
    if problem:
        written_by = document.get("precheck") if isinstance(document, dict) else None
        hint = (f"it was written by precheck {written_by}; rerun the shards with this precheck ({__version__})"
                if isinstance(written_by, str) and written_by != __version__ else _PASS_CI_JSON)
        raise PrecheckError(f"{path}: {problem}", hint)
    return document


def _consistency_problem(document: dict) -> str | None:
    """What the schema cannot say: K <= N, a missing report explained, a result for every dtype run."""
    if document["shard"] is not None:
        index, count = (int(part) for part in document["shard"].split("/"))
        if index > count:
            return f"shard is {document['shard']!r}: K must be between 1 and N"
    for index, entry in enumerate(document["models"]):
        report = entry["report"]
        if report is None:
            if entry["error"] is None:
                return f"models[{index}].report is null and models[{index}].error says nothing of why"
            continue
        dtypes = report["settings"]["dtypes"]
        runs = [(r["dtype"], r["strategy"]) for r in report["results"]]
        where = f"models[{index}].report.results"
        for position, run in enumerate(runs):
            if run[0] not in dtypes:
                return f"{where}[{position}].dtype is {run[0]!r}, which settings.dtypes does not list"
            if run in runs[:position]:
                return f"{where}[{position}] repeats the {run[0]} {run[1]} result"
        for dtype in dtypes:
            if (dtype, "load") not in runs:
                return f"{where} has no {dtype} load result"
        for position, result in enumerate(report["results"]):
            for figure, companions in _TOGETHER.items():
                lacking = [c for c in companions if result.get(figure) is not None and result.get(c) is None]
                if lacking:
                    return f"{where}[{position}] has {figure} but no {lacking[0]}"
        problem = _regressions_problem(entry["regressions"], f"models[{index}].regressions")
        if problem:
            return problem
    return None


def _regressions_problem(regressions: list, where: str) -> str | None:
    """A status regression holds statuses; a figure's holds numbers and its tolerance (as baseline.py makes them)."""
    for position, regression in enumerate(regressions):
        here = f"{where}[{position}]"
        if regression["figure"] == "status":
            if not isinstance(regression["baseline"], str) or not isinstance(regression["current"], str):
                return f"{here}: a status regression's baseline and current should be statuses"
        elif regression["figure"] not in _REGRESSION_FIGURES:
            return f"{here}.figure is {regression['figure']!r}, expected status or one of {', '.join(_REGRESSION_FIGURES)}"
        elif isinstance(regression["baseline"], str) or isinstance(regression["current"], str) \
                or regression["tolerance"] is None:
            return f"{here}: a {regression['figure']} regression's baseline, current and tolerance should be numbers"
    return None


def _model_run(path: Path, index: int, entry: dict) -> ModelRun:
    report = None
    if entry["report"] is not None:
        from ..engine.verdict import rejudge

        report = from_document(Report, entry["report"], f"{path}: models[{index}].report", _PASS_CI_JSON)
        rejudge(report)  # the verdict is the figures' against the thresholds, never the file's
    dtypes = tuple(report.settings.dtypes) if report is not None else ()
    run = ModelRun(ModelConfig(entry["name"], dtypes, fix=entry["fix"]), report, entry["error"])
    run.regressions = [Regression(**{k: v for k, v in g.items() if k != "message"}) for g in entry["regressions"]]
    return run


def merge_reports(paths: list[Path], config: CiConfig | None, update_baseline: bool = False) -> CiRun:
    """One CiRun from shard reports. With a project config, its settings are the gate (reports that
    ran others are refused), baselines are checked against its baseline file and tolerances (as
    `precheck ci` does) and models come in its order; without one, each shard's recorded regressions stand."""
    if not paths:
        raise PrecheckError("no reports to merge", "pass the JSON files of every shard")
    given = [Path(p) for p in paths]
    twice = next((p for i, p in enumerate(given) if p in given[:i]), None)
    if twice is not None:
        raise PrecheckError(f"{twice} is given twice", "pass each shard's report once")
    documents = {p: read_shard_report(p) for p in given}
    run = check_one_run(documents)
    for path, document in documents.items():
        for index, entry in enumerate(document["models"]):
            check_report_settings(path, index, entry, run)
    if config is not None:
        check_against_config(run, config, list(documents))
    runs = [_model_run(path, index, entry) for path, document in documents.items()
            for index, entry in enumerate(document["models"])]
    first = next(iter(documents.values()))
    if config is None:
        baseline_found = all(d["baseline"]["found"] for d in documents.values())
        config = CiConfig(Path(first["config"] or "precheck.toml"), tuple(r.config for r in runs),
                          Path(first["baseline"]["path"] or "precheck-baseline.json"))
        return CiRun(config, runs, baseline_found=baseline_found, identity=run)
    order = {m.name: i for i, m in enumerate(config.models)}
    runs.sort(key=lambda r: order[r.config.name])
    for model_run in runs:
        model_run.regressions = []
    return gate(config, runs, None if update_baseline else read_baseline(config.baseline), update_baseline, run)

