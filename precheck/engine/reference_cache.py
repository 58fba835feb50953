"""The float32 reference kept between runs: its outputs and what the report needs of it, keyed by
the model (engine/cache_key.py), the probe set, the load options, the library versions and precheck's code.

Only a reference that passed its checks is kept (buffers none or ok, and a second float32 load held
against its weights). An entry is used only when it agrees with the model in hand: the float32 model
is loaded and its fingerprint, and its probe items, must be the entry's. An entry that cannot be read,
does not match its key or disagrees with the model is a miss: computed again, with a note, never an error.
Folder: $PRECHECK_CACHE, else $HF_HOME/precheck, else $XDG_CACHE_HOME/huggingface/precheck, else
~/.cache/huggingface/precheck (huggingface_hub's rule for HF_HOME). Off: --no-cache, `cache = false`,
PRECHECK_NO_CACHE=1.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from .cache_key import cache_folder
from .reference import Float32Reference

def entry_folder(key: dict) -> Path:
    name = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=16).hexdigest()
    return cache_folder() / "references" / name


def _tensor_digest(tensor) -> str:
    return hashlib.blake2b(tensor.contiguous().numpy().tobytes(), digest_size=20).hexdigest()


def _entry_problem(meta) -> str | None:
    """The first field of an entry that is not what its writer writes (a string where a number belongs,
    a string where a list of notes belongs ...), checked against the report's own types: None when sound."""
    from typing import Optional, Union

    from ..data.report import Headroom, ModuleRow, Reference
    from ..data.schema import schema_of
    from ..data.schema.check import first_problem

    item = Union[str, list[str]]
    expected = {"items": list[item], "reference": Reference, "modules": list[ModuleRow],
                "headroom": list[Headroom], "fingerprint": str, "attention": str, "notes": list[str],
                "token_lengths": Optional[list[int]], "window": Optional[int]}
    if not isinstance(meta, dict):
        return "it is not a JSON object"
    for name, kind in expected.items():
        if name not in meta:
            return f"{name} is missing"
        problem = first_problem(meta[name], schema_of(kind), name)
        if problem:
            return problem
    return None


def read_entry(key: dict) -> tuple[Float32Reference | None, str]:
    """(the entry, "") on a hit; (None, "") when there is none; (None, why) when one is there and unusable."""
    folder = entry_folder(key)
    meta_path, tensor_path = folder / "reference.json", folder / "outputs.safetensors"
    if not meta_path.exists():
        return None, ""
    try:
        import torch
        from safetensors.torch import load_file

        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("key") != json.loads(json.dumps(key)):
            return None, "its key does not match"
        problem = _entry_problem(meta)
        if problem:
            return None, f"it is malformed: {problem}"
        outputs = load_file(str(tensor_path))["outputs"]
        expected = meta["outputs"]
        if outputs.dtype != torch.float32 or list(outputs.shape) != expected["shape"] \
                or _tensor_digest(outputs) != expected["digest"] or len(meta["items"]) != outputs.shape[0]:
            return None, "its outputs do not match their recorded shape, dtype or digest"
        from ..data.report import BufferCheck, Headroom, ModuleRow, Reference

        # Built here, inside the guard: an entry whose fields do not make the report's objects is not used.
        fields = dict(meta["reference"])
        buffers = fields.pop("buffers", None)
        reference = Reference(**{**fields, "cached": True}, buffers=BufferCheck(**buffers) if buffers else None)
        # JSON has no tuples: pairs (cross-encoders, multi-vector) come back as the tuples they were.
        items = [tuple(item) if isinstance(item, list) else item for item in meta["items"]]
        return Float32Reference(outputs, items, reference, [ModuleRow(**row) for row in meta["modules"]],
                                [Headroom(**row) for row in meta["headroom"]], meta["fingerprint"],
                                meta["attention"], list(meta["notes"]), meta["token_lengths"], meta["window"]), ""
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is recomputed, never trusted
        return None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def write_entry(key: dict, cached: Float32Reference) -> Path | None:
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
            meta = {"key": key, "items": cached.items, "reference": asdict(cached.result),
                    "modules": [asdict(row) for row in cached.modules],
                    "headroom": [asdict(row) for row in cached.headroom], "fingerprint": cached.fingerprint,
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


def cacheable(reference: Float32Reference) -> bool:
    """A reference proven sound without repair, whose outputs are one dense float32 tensor."""
    import torch

    outputs, buffers = reference.outputs, reference.result.buffers
    return (buffers is None or buffers.status in ("none", "ok")) and \
        isinstance(outputs, torch.Tensor) and outputs.layout == torch.strided and outputs.dtype == torch.float32


def disagreement(session, cached: Float32Reference, model, fingerprint: str | None) -> str:
    """Why the entry is not the reference of the model in hand ("" when it is): the float32 model's
    weights (its fingerprint), or the probe items it would run, differ from those the entry was made of."""
    if fingerprint != cached.fingerprint:
        return "the float32 model's weights are not those it was made from"
    items = session.items or session.kind.default_items(model)
    if list(items) != list(cached.items):
        return "its probe items are not this scan's"
    return ""


def reuse(session) -> tuple[Float32Reference | None, object, str | None]:
    """(the cached reference, None, None) when an entry agrees with the model in hand; else (None, the
    float32 model loaded to check the entry or None, its fingerprint or None), with a note when an entry
    was there but could not be used: the caller computes the reference with that model."""
    from ..kinds import torch_module
    from ..loading.fingerprint import model_fingerprint

    cached, why = read_entry(session.cache_key)
    where = entry_folder(session.cache_key)
    model = fingerprint = None
    if cached is not None:
        # The entry is held against the model in hand before anything of it is used: whatever the key
        # said, a reference made of other weights or other probe items is a miss.
        session.progress("loading float32 reference (to check the cached one against it)")
        model = session.load_reference()
        fingerprint = model_fingerprint(torch_module(model))
        why = disagreement(session, cached, model, fingerprint)
    if why:
        session.notes.append(f"the cached float32 reference in {where} was not used ({why}); it was computed again")
    if cached is None or why:
        return None, model, fingerprint
    del model
    session.notes.extend(cached.notes)
    session.notes.append(f"float32 reference reused from the cache ({where}): a float32 load of the same model "
                         "files or object has the same weights (fingerprint) and probe items as the entry, "
                         "which was checked when it was made (--no-cache computes it again)")
    session.progress(f"float32 reference reused from the cache ({where})")
    return cached, None, None


def keep(key: dict | None, reference: Float32Reference | None, progress) -> None:
    """Write the reference once it passed every check (says where on the progress line): only a computed
    one (it has a fingerprint; a reused entry is already there) under a key, and only once a scan."""
    if key is None or reference is None or reference.result.cached or reference.fingerprint is None \
            or not cacheable(reference):
        return
    written = write_entry(key, reference)
    if written is not None:
        progress(f"float32 reference kept in {written}")
