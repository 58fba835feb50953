"""The checks `precheck merge` makes before it gates: the reports are one complete run (one digest,
every shard once, each model in its own shard) and, with a project config, the run it asks for.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PrecheckError
from ..options import scan_fields
from .run_identity import SETTINGS, difference, run_identity
from .shard import shard_of

HINT = "merge the reports of one `precheck ci --shard K/N` matrix run: same config, same precheck, every shard once"


def _gated(block: str) -> tuple[tuple[str, str], ...]:
    """(key in the report's `block`, key in the run block) of every gated option the report records
    there, in the run block's order (the first that differs is the one named)."""
    found = [(how.gated.partition(".")[2], how.run_key) for _, how in scan_fields()
             if how.gated and how.gated.partition(".")[0] == block]
    return tuple(sorted(found, key=lambda pair: SETTINGS.index(pair[1])))


# What the verdict of a report is judged on, from the options table (options.py's `gated`): each must be
# what the run recorded. The quantized gates (settings.gates) are compared in full, as the verdict uses them.
REPORT_SETTINGS = tuple(key for key, _ in _gated("settings") if key != "gates")
STORAGE_SETTINGS = _gated("storage")
EVALUATION_SETTINGS = _gated("evaluation")


def _shard(document: dict) -> tuple[int, int] | None:
    if document["shard"] is None:
        return None
    index, count = (int(part) for part in document["shard"].split("/"))
    return index, count


def check_one_run(documents: dict[Path, dict]) -> dict:
    """Refuse reports that are not one complete run; returns the run block they share."""
    versions = {d["precheck"] for d in documents.values()}
    if len(versions) > 1:
        raise PrecheckError(f"reports come from different precheck versions ({', '.join(sorted(versions))})", HINT)
    shards = {path: _shard(d) for path, d in documents.items()}
    whole = [path for path, shard in shards.items() if shard is None]
    parts = [path for path, shard in shards.items() if shard is not None]
    if whole and parts:
        raise PrecheckError(f"{whole[0]} is an unsharded report and {parts[0]} is shard "
                            f"{documents[parts[0]]['shard']}: they cannot be one run", HINT)
    if len(whole) > 1:
        raise PrecheckError(f"{whole[0]} and {whole[1]} are both unsharded reports: each is a whole run",
                            "gate on one of them, or merge the shards of one run")
    first, run = next(iter(documents)), documents[next(iter(documents))]["run"]
    for path, document in documents.items():
        if document["run"]["digest"] != run["digest"]:
            raise PrecheckError(f"{first} and {path} are not one run: "
                                f"{difference(run, document['run'], str(first), str(path))}", HINT)
    counts = sorted({shard[1] for shard in shards.values() if shard})
    if len(counts) > 1:
        raise PrecheckError(f"reports come from matrices of different sizes "
                            f"({', '.join(sorted(d['shard'] for d in documents.values()))})", HINT)
    if parts:
        _check_every_shard_once(shards, counts[0])
    _check_every_model_once(documents, shards, run)
    return run


def _check_every_shard_once(shards: dict, count: int) -> None:
    seen: dict[int, Path] = {}
    for path, (index, _) in shards.items():
        if index in seen:
            raise PrecheckError(f"shard {index}/{count} is given twice ({seen[index]} and {path})", HINT)
        seen[index] = path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise PrecheckError(f"shard {missing[0]}/{count} is missing ({len(seen)} reports for {count} shards)", HINT)


def _check_every_model_once(documents: dict[Path, dict], shards: dict, run: dict) -> None:
    """Each model of the run in exactly one report: the shard its name hashes to."""
    expected = [m["name"] for m in run["models"]]
    seen: dict[str, Path] = {}
    for path, document in documents.items():
        for entry in document["models"]:
            name = entry["name"]
            if name in seen:
                raise PrecheckError(f"{name} is covered twice ({seen[name]} and {path})", HINT)
            if name not in expected:
                raise PrecheckError(f"{path}: {name} is not one of the run's models", HINT)
            if shards[path] and shard_of(name, shards[path][1]) != shards[path][0]:
                raise PrecheckError(f"{path}: {name} belongs to shard "
                                    f"{shard_of(name, shards[path][1])}/{shards[path][1]}, not {document['shard']}", HINT)
            seen[name] = path
    missing = [name for name in expected if name not in seen]
    if missing:
        raise PrecheckError(f"{missing[0]} is in the run but in no report ({len(missing)} model(s) missing)", HINT)
    if not seen:
        raise PrecheckError("no models were compared: the reports hold none",
                            "no gate passes on nothing: list models in the config and rerun `precheck ci`")


def check_against_config(run: dict, config, paths: list[Path]) -> None:
    """With a project config, its settings are the gate: reports that ran anything else are refused."""
    asked = run_identity(config, {"reference_device": run["reference_device"]})
    if asked["digest"] != run["digest"]:
        where = str(paths[0]) if len(paths) == 1 else "the reports"
        raise PrecheckError(f"the reports were not run with {config.path.name}: "
                            f"{difference(run, asked, where, config.path.name)}",
                            f"rerun `precheck ci --shard K/N` with {config.path.name}, or pass the --config they ran with")


def check_report_settings(path: Path, index: int, entry: dict, run: dict) -> None:
    """A model's report ran what its run says it ran (dtypes, thresholds): the verdict is judged on them."""
    report = entry["report"]
    if report is None:
        return
    recorded = next(m for m in run["models"] if m["name"] == entry["name"])
    for key in REPORT_SETTINGS:
        if report["settings"][key] != recorded[key]:
            raise PrecheckError(f"{path}: models[{index}].report.settings.{key} is "
                                f"{report['settings'][key]!r}, but the run recorded {recorded[key]!r} for {entry['name']}",
                                HINT)
    # Each quantized precision is judged on the report's own gates: they must be the run's, in full.
    from types import SimpleNamespace

    from ..engine.verdict import gates_used

    expected = gates_used(SimpleNamespace(dtypes=recorded["dtypes"], gates=recorded["gates"]))
    if report["settings"].get("gates", {}) != expected:
        raise PrecheckError(f"{path}: models[{index}].report.settings.gates is {report['settings'].get('gates')!r}, "
                            f"but the run recorded {expected!r} for {entry['name']}", HINT)
    _check_evaluation(path, index, entry, recorded)
    # The storage gate is judged on the report's own storage block: it must be the one the run asked for.
    storage = report.get("storage")
    if not recorded["storage"]:
        if storage is not None:
            raise PrecheckError(f"{path}: models[{index}].report.storage is set, but the run recorded no storage "
                                f"for {entry['name']}", HINT)
        return
    if storage is None:
        raise PrecheckError(f"{path}: models[{index}].report.storage is missing, but the run recorded storage "
                            f"{', '.join(recorded['storage'])} for {entry['name']}", HINT)
    for key, recorded_key in STORAGE_SETTINGS:
        if storage.get(key) != recorded[recorded_key]:
            raise PrecheckError(f"{path}: models[{index}].report.storage.{key} is {storage.get(key)!r}, but the run "
                                f"recorded {recorded[recorded_key]!r} for {entry['name']}", HINT)


def _check_evaluation(path: Path, index: int, entry: dict, recorded: dict) -> None:
    """The --eval gate is judged on the report's own evaluation block: present when the run had a set
    (its digest is in `probe`), with the run's max_metric_drop."""
    evaluation = entry["report"].get("evaluation")
    asked = any(part.startswith("eval ") for part in recorded["probe"].split("; "))
    where = f"{path}: models[{index}].report.evaluation"
    if asked and evaluation is None:
        raise PrecheckError(f"{where} is missing, but the run recorded --eval for {entry['name']}", HINT)
    if not asked and evaluation is not None:
        raise PrecheckError(f"{where} is set, but the run recorded no --eval for {entry['name']}", HINT)
    for key, recorded_key in EVALUATION_SETTINGS if evaluation is not None else ():
        if evaluation[key] != recorded.get(recorded_key):
            raise PrecheckError(f"{where}.{key} is {evaluation[key]!r}, but the run recorded "
                                f"{recorded.get(recorded_key)!r} for {entry['name']}", HINT)
