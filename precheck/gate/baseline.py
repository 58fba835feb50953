"""Baselines: each model's figures recorded in a committed file, and regressions against it.

A regression is a figure worse than the recorded one by more than its tolerance, or a dtype
that passed when recorded and fails now. Each one says by how much.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..data.ci import Regression
from ..errors import PrecheckError

BASELINE_SCHEMA = "precheck.baseline/1"
# Figures where higher is better, with the default tolerated drop: the `load` run's, and --eval's metric
# (nDCG@10 or Spearman on the user's set, docs/evaluation.md), recorded when the model has a set.
FIGURES = {"min_cosine": 1e-4, "top1_agreement": 0.05, "spearman": 0.005, "eval_metric": 0.01}
PROBE_FIGURES = ("min_cosine", "top1_agreement", "spearman")


def figures_of(report) -> dict[str, dict]:
    """What a baseline records of one report: per dtype, the `load` run's status and figures."""
    recorded = {}
    rows = {r.dtype: r.metric for r in report.evaluation.results} if report.evaluation is not None else {}
    for dtype in report.settings.dtypes:
        load = report.result(dtype, "load")
        recorded[dtype] = {"status": load.status, **{k: getattr(load, k) for k in PROBE_FIGURES}}
        if report.evaluation is not None:
            recorded[dtype]["eval_metric"] = rows.get(dtype)
    return recorded


def write_baseline(path: Path, reports: dict[str, object]) -> None:
    from ..io.outputs import write_file

    data = {"schema": BASELINE_SCHEMA, "models": {name: figures_of(r) for name, r in reports.items()}}
    # Replaced by design (--update-baseline), but whole: a temporary file renamed into place.
    write_file(path, json.dumps(data, indent=2, sort_keys=True) + "\n", True, "baseline")


def read_baseline(path: Path) -> dict | None:
    if not path.is_file():
        return None
    from ..data.reading import read_text_input

    text = read_text_input(path, "baseline", "rerun with --update-baseline")  # once, bounded
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PrecheckError(f"baseline {path} is not valid JSON: {exc}", "rerun with --update-baseline") from exc
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA or not isinstance(data.get("models"), dict):
        raise PrecheckError(f"{path} is not a precheck baseline ({BASELINE_SCHEMA})", "rerun with --update-baseline")
    _check_types(path, data["models"])
    return data["models"]


def _check_types(path: Path, models: dict) -> None:
    """Valid JSON with the wrong shapes would fail only after the scans: checked here, before them."""
    for name, dtypes in models.items():
        if not isinstance(dtypes, dict):
            raise PrecheckError(f"baseline {path}: models.{name} should be an object of dtypes, got {dtypes!r}",
                                "rerun with --update-baseline")
        for dtype, figures in dtypes.items():
            where = f"baseline {path}: models.{name}.{dtype}"
            if not isinstance(figures, dict):
                raise PrecheckError(f"{where} should be an object of figures, got {figures!r}",
                                    "rerun with --update-baseline")
            if not isinstance(figures.get("status", ""), str):
                raise PrecheckError(f"{where}.status should be a string, got {figures['status']!r}",
                                    "rerun with --update-baseline")
            for figure in FIGURES:
                value = figures.get(figure)
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise PrecheckError(f"{where}.{figure} should be a number or null, got {value!r}",
                                        "rerun with --update-baseline")


def regressions(baseline: dict, name: str, report, tolerance: dict) -> list[Regression]:
    found: list[Regression] = []
    recorded = baseline.get(name, {})
    for dtype, now in figures_of(report).items():
        then = recorded.get(dtype)
        if not then:
            continue
        if then.get("status") == "ok" and now["status"] != "ok":
            found.append(Regression(name, dtype, "status", then["status"], now["status"], None))
        for figure, default in FIGURES.items():
            before, after = then.get(figure), now.get(figure)
            if before is None:
                continue
            allowed = tolerance.get(figure, default)
            if after is None or after < before - allowed:
                found.append(Regression(name, dtype, figure, before, after, allowed))
    return found
