"""What makes `precheck ci` reports the parts of one run: the `run` block each report records.

Each report records a digest of the config's content and of every setting that changes results
(per model: dtypes, thresholds, probe texts or pairs by content; the precheck version), the settings
themselves (so that a refusal can name the difference) and its shard K/N.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ..data.version import __version__

# The per-model settings recorded and compared, in the order a refusal names them.
SETTINGS = ("dtypes", "min_cosine", "min_spearman", "min_top1_agreement", "probe", "kind", "fix", "device",
            "trust_remote_code", "load", "storage", "min_recall", "rescore_multiplier",
            "rescore_with", "gates", "max_metric_drop")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str:
    """By content, so that the same texts checked out in another folder are the same run. Only regular
    files are read here: a pipe or device is read once, by the scan, and counted by its name. A folder
    (--eval's BEIR layout) is its files' digests together."""
    if path.is_dir():
        from ..evaluation.sets import BEIR_FILES

        return _sha256(" ".join(_file_digest(path / name) for name in BEIR_FILES).encode("ascii"))
    try:
        return _sha256(path.read_bytes()) if path.is_file() else f"not a file: {path.name}"
    except OSError:
        return f"unreadable: {path.name}"


def model_settings(model, digests: dict | None = None) -> dict:
    """One config model's settings that change its results (a ModelConfig); digests: file -> digest,
    so that texts shared by every model are read once."""
    digests = {} if digests is None else digests
    probes = []
    for key in ("texts", "pairs", "calibration", "eval"):
        path = getattr(model, key)
        if path is not None:
            if path not in digests:
                digests[path] = _file_digest(Path(path))
            probes.append(f"{key} {digests[path]}")
    return {"name": model.name, "kind": model.kind, "dtypes": list(model.dtypes), "min_cosine": model.min_cosine,
            "min_spearman": model.min_spearman, "min_top1_agreement": model.min_top1_agreement,
            "probe": "; ".join(probes) or "builtin", "fix": model.fix, "device": model.device,
            "trust_remote_code": model.trust_remote_code, "load": _load_settings(model),
            "storage": list(model.storage), "min_recall": model.min_recall,
            "rescore_multiplier": model.rescore_multiplier, "rescore_with": model.rescore_with,
            "gates": {dtype: dict(values) for dtype, values in (model.gates or {}).items()},
            "max_metric_drop": model.max_metric_drop}


def _load_settings(model) -> dict:
    """How the model is loaded and encoded (revision, kwargs, prompt, ...): only what is set."""
    from ..options import LoadOptions

    return LoadOptions(**{f: getattr(model, f) for f in LoadOptions.__dataclass_fields__ if hasattr(model, f)}).to_dict()


def run_identity(config, overrides: dict | None = None) -> dict:
    """The `run` block of a ci report: over the whole config (every shard of a run records the same)."""
    reference_device = (overrides or {}).get("reference_device")
    digests: dict = {}
    models = [model_settings(m, digests) for m in config.models]
    body = {"precheck": __version__, "config": config.digest, "reference_device": reference_device, "models": models}
    digest = _sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode("ascii"))
    return {"digest": digest, "config": config.digest, "reference_device": reference_device, "models": models}


def _short(value) -> str:
    return re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]{52}", r"\1...", str(value))


def difference(a: dict, b: dict, in_a: str, in_b: str) -> str:
    """The first setting two run blocks disagree on, in words: 'm min_cosine 0.999 in A, 1.0 in B'."""
    names_a, names_b = [m["name"] for m in a["models"]], [m["name"] for m in b["models"]]
    if set(names_a) != set(names_b):
        only_a, only_b = sorted(set(names_a) - set(names_b)), sorted(set(names_b) - set(names_a))
        side = f"{only_a[0]} is only in {in_a}" if only_a else f"{only_b[0]} is only in {in_b}"
        return f"the model lists differ ({side})"
    settings_b = {m["name"]: m for m in b["models"]}
    for model in a["models"]:
        other = settings_b[model["name"]]
        for key in SETTINGS:
            if model.get(key) != other.get(key):
                return (f"{model['name']} {key} {_short(model.get(key))} in {in_a}, "
                        f"{_short(other.get(key))} in {in_b}")
    if a["reference_device"] != b["reference_device"]:
        return f"--reference-device {a['reference_device']} in {in_a}, {b['reference_device']} in {in_b}"
    if a["config"] != b["config"]:
        return f"the config's content differs ({_short(a['config'])} in {in_a}, {_short(b['config'])} in {in_b})"
    return f"their run digests differ ({_short(a['digest'])}, {_short(b['digest'])})"
