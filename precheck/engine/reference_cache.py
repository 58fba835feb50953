"""The float32 reference kept between runs: its outputs and what the report needs of it, keyed by
the model's files, the probe set, the load options, the library versions and precheck's own code.

Only a reference that passed its checks is kept (buffers none or ok, and a second float32 load held
against its weights); an entry that cannot be read or does not match its key is recomputed, with a note.
Folder: $PRECHECK_CACHE, else $HF_HOME/precheck, else $XDG_CACHE_HOME/huggingface/precheck, else
~/.cache/huggingface/precheck (huggingface_hub's rule for HF_HOME). Off: --no-cache, `cache = false`,
PRECHECK_NO_CACHE=1.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FORMAT = 1
# Files at most this large are hashed whole (configs, tokenizers, the model's code); larger ones (the
# weights) by size, modification time and their first and last MiB, which hold a safetensors header
# and the end of the data: 2 MiB read per file, whatever its size (docs/benchmarks.md).
WHOLE_FILE = 16 * 2 ** 20
EDGE = 2 ** 20
SKIPPED = {".git", "__pycache__", ".cache"}
PLAN_FILE = "precheck.json"  # read by precheck.load, never by the reference


def cache_folder() -> Path:
    given = os.environ.get("PRECHECK_CACHE", "").strip()
    if given:
        return Path(given).expanduser()
    hf_home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache",
                                                        "huggingface")
    return Path(hf_home).expanduser() / "precheck"


def switched_off(options) -> bool:
    env = os.environ.get("PRECHECK_NO_CACHE", "").strip().lower() in {"1", "true", "yes", "on"}
    return env or not options.cache


def _file_part(path: Path) -> str:
    real = path.resolve()
    # A Hugging Face cache blob is named by the sha256 of its content already.
    if real.parent.name == "blobs" and len(real.name) == 64:
        return "blob:" + real.name
    stat = real.stat()
    digest = hashlib.blake2b(digest_size=20)
    with open(real, "rb") as handle:
        if stat.st_size <= WHOLE_FILE:
            digest.update(handle.read())
            return "content:" + digest.hexdigest()
        digest.update(handle.read(EDGE))
        handle.seek(stat.st_size - EDGE)
        digest.update(handle.read(EDGE))
    return f"large:{stat.st_size}:{stat.st_mtime_ns}:{digest.hexdigest()}"


def model_digest(folder: str | Path) -> str | None:
    """A digest of every file in the model's folder (None when it is no folder: nothing to key on)."""
    root = Path(folder)
    if not root.is_dir():
        return None
    digest = hashlib.blake2b(digest_size=20)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if SKIPPED & set(relative.parts) or relative.as_posix() == PLAN_FILE or not path.is_file():
            continue
        digest.update(f"{relative.as_posix()}={_file_part(path)}\n".encode())
    return digest.hexdigest()


def code_digest() -> str:
    """precheck's own source: the checks, the built-in probe items and the headroom hooks live in it."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=20)
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def items_digest(items: list) -> str:
    return hashlib.blake2b(json.dumps(items, ensure_ascii=False).encode(), digest_size=20).hexdigest()


def cache_key(session) -> dict | None:
    """What decides the float32 reference and its checks; None when the scan cannot be cached."""
    import sys
    from importlib import metadata

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    options = session.options
    if options.storage or session.model.source == "hub":
        return None  # the storage corpus and calibration are not kept; a hub id has no folder to digest
    if session.memory is not None and session.memory.runs and session.memory.runs[0].placement == "offload":
        return None
    digest = model_digest(session.model.path)
    if digest is None:
        return None
    return {
        "format": FORMAT,
        "model": digest,
        "kind": session.model.kind,
        "probe": items_digest(session.items) if session.items else "builtin",
        "load": {**options.load.to_dict(), "trust_remote_code": options.trust_remote_code},
        "batch_size": options.batch_size,
        "depth": options.depth,
        "device": session.device,
        "placement": session.memory.runs[0].placement if session.memory and session.memory.runs else "",
        "versions": {"python": sys.version.split()[0],
                     **{package: version(package) for package in ("torch", "transformers", "sentence-transformers",
                                                                  "numpy", "safetensors", "accelerate")}},
        "precheck": code_digest(),
    }


def entry_folder(key: dict) -> Path:
    name = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=16).hexdigest()
    return cache_folder() / "references" / name


@dataclass
class Cached:
    """What a reference run leaves the session and the report."""

    outputs: object  # float32 tensor, one row per probe item
    items: list
    reference: object  # report.Reference (its fields as a dict in the file)
    modules: list  # report.ModuleRow of the float32 table (dicts in the file)
    headroom: list  # report.Headroom (dicts in the file)
    sums: dict  # reference_weights.weight_sums
    attention: str
    notes: list
    token_lengths: list | None = None  # each probe item's tokens before any cut (engine/moved.py)
    window: int | None = None  # the window that cuts them


def _tensor_digest(tensor) -> str:
    return hashlib.blake2b(tensor.contiguous().numpy().tobytes(), digest_size=20).hexdigest()


def read_entry(key: dict) -> tuple[Cached | None, str]:
    """(the entry, "") on a hit; (None, "") when there is none; (None, why) when one is there and unusable."""
    folder = entry_folder(key)
    meta_path, tensor_path = folder / "reference.json", folder / "outputs.safetensors"
    if not meta_path.exists():
        return None, ""
    try:
        import torch
        from safetensors.torch import load_file

        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("key") != json.loads(json.dumps(key)):
            return None, "its key does not match"
        outputs = load_file(str(tensor_path))["outputs"]
        expected = meta["outputs"]
        if outputs.dtype != torch.float32 or list(outputs.shape) != expected["shape"] \
                or _tensor_digest(outputs) != expected["digest"] or len(meta["items"]) != outputs.shape[0]:
            return None, "its outputs do not match their recorded shape, dtype or digest"
        from ..report import BufferCheck, Headroom, ModuleRow, Reference

        # Built here, inside the guard: an entry whose fields do not make the report's objects is not used.
        fields = dict(meta["reference"])
        buffers = fields.pop("buffers", None)
        reference = Reference(**{**fields, "cached": True}, buffers=BufferCheck(**buffers) if buffers else None)
        # JSON has no tuples: pairs (cross-encoders, multi-vector) come back as the tuples they were.
        items = [tuple(item) if isinstance(item, list) else item for item in meta["items"]]
        return Cached(outputs, items, reference, [ModuleRow(**row) for row in meta["modules"]],
                      [Headroom(**row) for row in meta["headroom"]],
                      {str(k): float(v) for k, v in meta["sums"].items()}, str(meta["attention"]),
                      [str(note) for note in meta["notes"]],
                      [int(n) for n in meta["token_lengths"]] if meta.get("token_lengths") is not None else None,
                      int(meta["window"]) if meta.get("window") is not None else None), ""
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is recomputed, never trusted
        return None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def write_entry(key: dict, cached: Cached) -> Path | None:
    """Write the entry whole or not at all (temp folder, then rename); None when it could not be written."""
    import shutil
    import tempfile

    from safetensors.torch import save_file

    folder = entry_folder(key)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            outputs = cached.outputs.detach().to("cpu").contiguous()
            save_file({"outputs": outputs}, str(staging / "outputs.safetensors"))
            meta = {"key": key, "items": cached.items, "reference": asdict(cached.reference),
                    "modules": [asdict(row) for row in cached.modules],
                    "headroom": [asdict(row) for row in cached.headroom], "sums": cached.sums,
                    "attention": cached.attention,
                    "notes": cached.notes, "token_lengths": cached.token_lengths, "window": cached.window,
                    "outputs": {"shape": list(outputs.shape), "digest": _tensor_digest(outputs)}}
            (staging / "reference.json").write_text(json.dumps(meta), encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except Exception:  # noqa: BLE001 - a cache that cannot be written costs the next run time, never this one
        return None
    return folder


def cacheable(session, reference) -> bool:
    """A reference proven sound without repair, whose outputs are one dense float32 tensor."""
    import torch

    outputs = session.reference
    return (reference.buffers is None or reference.buffers.status in ("none", "ok")) and \
        isinstance(outputs, torch.Tensor) and outputs.layout == torch.strided and outputs.dtype == torch.float32


def as_cached(session, reference, sums: dict) -> Cached:
    return Cached(session.reference, session.items, reference, list(session.modules.get("float32", [])),
                  list(session.headroom), sums, session.attention, list(session.reference_notes),
                  session.token_lengths, session.window)


def reuse(session):
    """The report's Reference from the cache, the session filled as the reference run fills it; None
    when there is no usable entry (with a note when one was there but could not be used)."""
    cached, why = read_entry(session.cache_key)
    where = entry_folder(session.cache_key)
    if why:
        session.notes.append(f"the cached float32 reference in {where} was not used ({why}); it was computed again")
    if cached is None:
        return None
    session.items, session.reference = cached.items, cached.outputs
    session.modules["float32"], session.headroom = cached.modules, cached.headroom
    session.attention, session.reference_sums = cached.attention, cached.sums
    session.token_lengths, session.window = cached.token_lengths, cached.window
    session.notes.extend(cached.notes)
    reference = cached.reference
    session.notes.append(f"float32 reference reused from the cache ({where}): the same model files, probe set, "
                         "load options and library versions, checked when it was made; this run's float32 load "
                         "is held against its weights (--no-cache computes it again)")
    session.progress(f"float32 reference reused from the cache ({where})")
    return reference


def keep(session) -> None:
    """Write the session's reference once it passed every check; says where on the progress line."""
    if session.cache_key is None or session.cache_sums is None or not cacheable(session, session.reference_result):
        return
    written = write_entry(session.cache_key, as_cached(session, session.reference_result, session.cache_sums))
    session.cache_sums = None
    if written is not None:
        session.progress(f"float32 reference kept in {written}")
