"""What users get without asking: the dtype a plain load gives, and what transformers and `.to()`
decide for them (modules kept in float32 on purpose, floating buffers), as report notes.

Read from config files and the report, so no extra model load: `annotate` fills them in.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import PrecheckError
from ..data.reading import read_text_input
from ..words import a

_SAFETENSORS = {"F16": "float16", "BF16": "bfloat16", "F32": "float32"}
_RANK = {"ok": 0, "drift": 1, "nonfinite": 2, "error": 2, "unsupported": 3}


def _transformers_major() -> int:
    from importlib import metadata

    try:
        return int(metadata.version("transformers").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return 0


def _transformer_folder(folder: Path) -> Path:
    """The folder of the pipeline's Transformer module (often the model folder itself)."""
    from .modules_file import read_modules

    return next((folder / module.path for module in read_modules(folder) if module.type.endswith("Transformer")),
                folder)


def _weights_dtype(folder: Path) -> str | None:
    """The first floating dtype in model.safetensors' header; None when there is none to read."""
    from .safetensors_files import read_safetensors_header

    path = folder / "model.safetensors"
    if not path.is_file():
        return None
    try:
        header = read_safetensors_header(path)
    except PrecheckError:
        return None  # the memory plan, which reads the same header first, names what is wrong
    for entry in header.values():
        if entry["dtype"] in _SAFETENSORS:
            return _SAFETENSORS[entry["dtype"]]
    return None


def _transformer_config(model_path: str) -> tuple[Path | None, dict]:
    """The pipeline Transformer's folder and config.json ({} when there is none to read)."""
    folder = Path(model_path)
    if not folder.is_dir():
        from .load import _cached_snapshot

        cached = _cached_snapshot(model_path)
        if not cached:
            return None, {}
        folder = Path(cached)
    folder = _transformer_folder(folder)
    try:
        config = json.loads(read_text_input(folder / "config.json", "config.json", ""))
    except (PrecheckError, ValueError, RecursionError):
        return folder, {}
    return folder, config if isinstance(config, dict) else {}


def default_dtype(model_path: str) -> str:
    """The dtype of a plain SentenceTransformer(model) / CrossEncoder(model). transformers 5 loads
    with dtype "auto": the config's `dtype` (or `torch_dtype`), else the weights' own dtype;
    transformers 4 loads float32 unless asked (sentence-transformers 2.x/3.x never ask)."""
    if _transformers_major() < 5:
        return "float32"
    folder, config = _transformer_config(model_path)
    if folder is None or not config:
        return "float32"
    declared = config.get("dtype") or config.get("torch_dtype")
    if isinstance(declared, str) and declared in _SAFETENSORS.values():
        return declared
    return _weights_dtype(folder) or "float32"


def model_type(model_path: str) -> str:
    """The config's model_type of the pipeline's Transformer ("" when there is none to read)."""
    value = _transformer_config(model_path)[1].get("model_type")
    return value if isinstance(value, str) else ""


# A gap in the headline figure smaller than this is noise (batching alone moves float32 by ~1e-7),
# or smaller than a tenth of the distance from 1: neither says that one strategy is worse.
MEANINGFUL_GAP = 1e-5


def _compare(kind, load, cast) -> int:
    """-1 when cast is worse than load, 1 when better, 0 when the same or not clearly different:
    the headline gap must be meaningful and the mean (max score difference) must agree."""
    if _RANK.get(cast.status, 3) != _RANK.get(load.status, 3):
        return -1 if _RANK.get(cast.status, 3) > _RANK.get(load.status, 3) else 1
    a, b = kind.headline_value(load), kind.headline_value(cast)
    if a is None or b is None:
        return 0
    gap = abs(a - b)
    if gap < MEANINGFUL_GAP or gap < 0.1 * max(1.0 - min(a, b), 0.0):
        return 0
    direction = -1 if b < a else 1
    if load.mean_cosine is not None and cast.mean_cosine is not None:
        second = cast.mean_cosine - load.mean_cosine
    elif load.max_abs_diff is not None and cast.max_abs_diff is not None:
        second = load.max_abs_diff - cast.max_abs_diff
    else:
        second = direction
    return direction if second * direction > 0 else 0


def _summary(kind, result) -> str:
    return result.status if kind.headline_value(result) is None else f"{result.status}, {kind.headline(result)}"


def notes(report) -> list[str]:
    """Notes on what users get by default, what transformers keeps in float32 on purpose, and what
    `.to(dtype)` changes on top of that, drawn from the report's own rows and results."""
    from ..kinds import kind_for

    found, kind = [], kind_for(report.model.kind)
    if report.model.default_dtype != "float32":
        found.append(f"a plain load of this model (no dtype given) runs in {report.model.default_dtype}: "
                     f"users who pass no dtype already run it")
    for dtype, rows in report.modules.items():
        if dtype == "float32":
            continue
        kept = list(dict.fromkeys(k for row in rows for k in row.kept_in_fp32))
        buffers = list(dict.fromkeys(b for row in rows for b in row.fp32_buffers))
        load = next((r for r in report.results if r.dtype == dtype and r.strategy == "load"), None)
        cast = next((r for r in report.results if r.dtype == dtype and r.strategy == "cast"), None)
        if kept:
            found.append(f"transformers keeps {len(kept)} module(s) in float32 on purpose in {a(dtype)} load "
                         f"(_keep_in_fp32_modules): {', '.join(kept)}; not flagged")
        if load is None or cast is None:
            continue
        comparison = _compare(kind, load, cast)
        if kept and comparison != 0:
            found.append(f"cast (.to({dtype})) overrides the modules transformers keeps in float32 and its result "
                         f"differs from load: load {_summary(kind, load)}; cast {_summary(kind, cast)}")
        if buffers and comparison < 0:
            # Measured: the gap and the dtypes of the buffers; not which of them causes it.
            found.append(f"cast is worse than load in {dtype} (load {_summary(kind, load)}; cast {_summary(kind, cast)}); "
                         f".to({dtype}) also casts floating buffers that load keeps in float32: {', '.join(buffers)}")
    return found


def annotate(report, session) -> None:
    """Fill in the default dtype and the notes above (called once the report is assembled)."""
    report.model.default_dtype = session.source.default_dtype()
    report.model.model_type = session.source.model_type()
    report.notes.extend(notes(report))


# config.json keys that bound the positions a model can embed (BERT-like, GPT-2-like).
_POSITION_KEYS = ("max_position_embeddings", "n_positions")


def position_limit(model_path: str) -> int | None:
    _, config = _transformer_config(model_path)
    values = [config.get(key) for key in _POSITION_KEYS]
    found = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    return min(found) if found else None


def check_before_load(model, load) -> None:
    """--max-seq-length against the positions config.json declares (no load needed)."""
    if load.max_seq_length is None:
        return
    limit = position_limit(model.path)
    if limit is not None and load.max_seq_length > limit:
        raise PrecheckError(f"--max-seq-length {load.max_seq_length} is past {model.name}'s limit: its config "
                            f"embeds {limit} positions", f"pass --max-seq-length {limit} or less (or leave it out)")
