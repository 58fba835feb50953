"""`precheck merge`: the shard reports of a CI matrix (`precheck ci --shard K/N --json`) as one gate.

The reports are checked to be one matrix (same precheck and schema versions, every shard
present once, each model once), rebuilt into a CiRun, and gated exactly as `precheck ci`.
"""
from __future__ import annotations

import json
import types
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

from .. import __version__
from ..errors import PrecheckError
from ..report import SCHEMA as REPORT_SCHEMA, Report
from .baseline import Regression, read_baseline
from .ci import CI_SCHEMA, CiRun, ModelRun, gate
from .config import CiConfig, ModelConfig

_HINT = "merge the reports of one `precheck ci --shard K/N` matrix run"


def read_shard_report(path: Path) -> dict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PrecheckError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise PrecheckError(f"{path} is not valid JSON: {exc}", "pass the files `precheck ci --json` wrote") from exc
    if not isinstance(document, dict) or document.get("schema") != CI_SCHEMA or not isinstance(document.get("models"), list):
        found = document.get("schema") if isinstance(document, dict) else None
        raise PrecheckError(f"{path} is not a {CI_SCHEMA} report (schema {found!r})", "pass the files `precheck ci --json` wrote")
    return document


def check_one_matrix(documents: dict[Path, dict]) -> None:
    """Refuse what would make a gate lie: mixed versions, a model twice, a shard missing or twice."""
    versions = {str(d.get("precheck")) for d in documents.values()}
    if len(versions) > 1:
        raise PrecheckError(f"reports come from different precheck versions ({', '.join(sorted(versions))})", _HINT)
    for path, document in documents.items():
        for model in document["models"]:
            report = model.get("report")
            if report is not None and report.get("schema") != REPORT_SCHEMA:
                raise PrecheckError(f"{path}: {model.get('name')} has report schema {report.get('schema')!r}, "
                                    f"this precheck ({__version__}) reads {REPORT_SCHEMA}", _HINT)
    seen: dict[str, Path] = {}
    for path, document in documents.items():
        for model in document["models"]:
            name = model.get("name")
            if name in seen:
                raise PrecheckError(f"{name} is covered twice ({seen[name]} and {path})", _HINT)
            seen[name] = path
    shards = [d.get("shard") for d in documents.values()]
    if all(shards):
        counts = {s.split("/")[1] for s in shards}
        if len(counts) > 1:
            raise PrecheckError(f"reports come from matrices of different sizes ({', '.join(sorted(shards))})", _HINT)
        total = int(counts.pop())
        missing = sorted(set(range(1, total + 1)) - {int(s.split("/")[0]) for s in shards})
        if missing or len(shards) != total:
            what = f"shard {missing[0]}/{total} is missing" if missing else "a shard is given twice"
            raise PrecheckError(f"{what} ({len(shards)} reports for {total} shards)", _HINT)


def _rebuild(kind, value):
    """A report dataclass (or a field of one) from its JSON, led by the dataclasses' own type hints,
    so that fields added to the report later are rebuilt without a change here."""
    if value is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        classes = [a for a in args if is_dataclass(a)]
        return _rebuild(classes[0], value) if classes and isinstance(value, dict) else value
    if origin is list:
        return [_rebuild(args[0], v) for v in value] if args else value
    if origin is dict:
        return {k: _rebuild(args[1], v) for k, v in value.items()} if args else value
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _rebuild(hints[f.name], value[f.name]) for f in fields(kind) if f.name in value})
    return value


def _model_run(entry: dict) -> ModelRun:
    report = _rebuild(Report, entry["report"]) if entry.get("report") is not None else None
    dtypes = tuple(report.settings.dtypes) if report is not None else ()
    run = ModelRun(ModelConfig(entry["name"], dtypes, fix=entry.get("fix", True)), report, entry.get("error"))
    run.regressions = [Regression(**{k: v for k, v in g.items() if k != "message"}) for g in entry.get("regressions", [])]
    return run


def merge_reports(paths: list[Path], config: CiConfig | None, update_baseline: bool = False) -> CiRun:
    """One CiRun from shard reports. With a project config, baselines are checked here against
    its baseline file and tolerances (as `precheck ci` does) and models come in its order;
    without one, each shard's recorded regressions stand."""
    if not paths:
        raise PrecheckError("no reports to merge", "pass the JSON files of every shard")
    documents = {Path(p): read_shard_report(Path(p)) for p in paths}
    check_one_matrix(documents)
    runs = [_model_run(entry) for document in documents.values() for entry in document["models"]]
    first = next(iter(documents.values()))
    if config is None:
        baseline_found = all(d.get("baseline", {}).get("found") for d in documents.values())
        config = CiConfig(Path(first.get("config") or "precheck.toml"), tuple(r.config for r in runs),
                          Path(first.get("baseline", {}).get("path") or "precheck-baseline.json"))
        return CiRun(config, runs, baseline_found=baseline_found)
    missing = [m.name for m in config.models if m.name not in {r.config.name for r in runs}]
    if missing:
        raise PrecheckError(f"{missing[0]} is in {config.path.name} but in no report ({len(missing)} model(s) missing)",
                            "merge every shard's report, or pass the --config the shards ran with")
    order = {m.name: i for i, m in enumerate(config.models)}
    runs.sort(key=lambda r: order.get(r.config.name, len(order)))
    for run in runs:
        run.regressions = []
    return gate(config, runs, None if update_baseline else read_baseline(config.baseline), update_baseline)
