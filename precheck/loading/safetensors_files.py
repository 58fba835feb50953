"""The safetensors files of a checkpoint, read without loading a tensor and checked against the format.

One reader for every place that sizes or inspects weights before a load (the memory plan, the
default dtype): a header or index the format does not allow stops precheck with the field named.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path, PurePosixPath

from ..errors import PrecheckError
from ..data.reading import read_text_input
from ..words import a

INDEX_FILE = "model.safetensors.index.json"
# The format's own cap on the JSON header (safetensors' MAX_HEADER_SIZE).
MAX_HEADER_BYTES = 100_000_000
# Bits per element of each dtype the format defines (sub-byte floats pack several to a byte).
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64,
    "I64": 64, "U64": 64, "F64": 64,
}
_HINT = "are the weights complete and uncorrupted?"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor_problem(entry, data_bytes: int) -> str | None:
    """What is wrong with one tensor's header entry, or None."""
    if not isinstance(entry, dict):
        return f"is {a(type(entry).__name__)}, expected an object with dtype, shape and data_offsets"
    for key in ("dtype", "shape", "data_offsets"):
        if key not in entry:
            return f"has no {key}"
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPE_BITS:
        return f"dtype {dtype!r} is not a safetensors dtype"
    if not isinstance(shape, list):
        return f"shape {shape!r} is not a list"
    for position, size in enumerate(shape):
        if not _is_int(size) or size < 0:
            return f"shape[{position}] is {size!r}, expected a non-negative integer"
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) and o >= 0 for o in offsets)):
        return f"data_offsets {offsets!r} is not [begin, end] of non-negative integers"
    begin, end = offsets
    if end < begin:
        return f"data_offsets {offsets!r} ends before it begins"
    numel = 1
    for size in shape:
        numel *= size
    if numel * DTYPE_BITS[dtype] != (end - begin) * 8:
        return f"data_offsets {offsets!r} hold {end - begin} bytes, but {dtype} {shape} needs {numel * DTYPE_BITS[dtype] / 8:g}"
    if end > data_bytes:
        return f"data_offsets {offsets!r} run past the end of the file ({data_bytes} bytes of data)"
    return None


def read_safetensors_header(path: Path) -> dict[str, dict]:
    """{tensor name: {dtype, shape, data_offsets}} of a .safetensors file (u64 little-endian length,
    then that many bytes of JSON), every entry checked; `__metadata__` (str -> str) is left out."""
    def refuse(what: str) -> PrecheckError:
        return PrecheckError(f"could not load the header of {path}: {what}", _HINT)

    if not Path(path).is_file():
        # A pipe or device would block or never end: weights are regular files.
        raise refuse("not a regular file")
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(0)
            if size < 8:
                raise refuse(f"not a safetensors file ({size} bytes, shorter than the 8-byte header length)")
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > MAX_HEADER_BYTES:
                raise refuse(f"not a safetensors file (header length {length} is over the format's limit of "
                             f"{MAX_HEADER_BYTES} bytes)")
            if 8 + length > size:
                raise refuse(f"not a safetensors file (header length {length} is past the end of the file, {size} bytes)")
            raw = handle.read(length)
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from exc
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise refuse(f"not a safetensors file (the header is not JSON: {str(exc)[:120]})") from None
    if not isinstance(header, dict):
        raise refuse(f"the header is a JSON {type(header).__name__}, expected an object of tensor names")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise refuse("__metadata__ should be an object of strings")
    data_bytes = size - 8 - length
    for name, entry in header.items():
        problem = _tensor_problem(entry, data_bytes)
        if problem:
            raise refuse(f"tensor {name!r} {problem}")
    problem = _tiling_problem(header, data_bytes)
    if problem:
        raise refuse(problem)
    return header


def _tiling_problem(header: dict[str, dict], data_bytes: int) -> str | None:
    """The format's tensors cover the data buffer exactly, in order: no gap, no overlap, nothing after."""
    covered = 0
    for name, entry in sorted(header.items(), key=lambda item: tuple(item[1]["data_offsets"])):
        begin, end = entry["data_offsets"]
        if begin != covered:
            return (f"tensor {name!r} data_offsets {[begin, end]} begin at {begin}, expected {covered} "
                    "(tensors must cover the data without gaps or overlaps)")
        covered = end
    if covered != data_bytes:
        return f"the tensors cover {covered} bytes of data and the file holds {data_bytes}"
    return None


def read_index(folder: Path) -> list[Path]:
    """The shard files that `model.safetensors.index.json` maps the weights to, each checked to exist."""
    index = folder / INDEX_FILE

    def refuse(what: str) -> PrecheckError:
        return PrecheckError(f"{index} is not a valid safetensors index: {what}", _HINT)

    text = read_text_input(index, INDEX_FILE, _HINT)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise refuse(f"not JSON ({str(exc)[:120]})") from None
    if not isinstance(document, dict):
        raise refuse(f"it is a JSON {type(document).__name__}, expected an object with weight_map")
    weight_map = document.get("weight_map")
    if not isinstance(weight_map, dict):
        found = "missing" if weight_map is None else a(type(weight_map).__name__)
        raise refuse(f"weight_map is {found}, expected an object of tensor name -> file name")
    if not weight_map:
        raise refuse("weight_map is empty")
    for name, file in weight_map.items():
        if not isinstance(file, str) or not file.strip():
            raise refuse(f"weight_map[{name!r}] is {file!r}, expected a file name")
        if PurePosixPath(file).is_absolute() or ".." in PurePosixPath(file).parts:
            raise refuse(f"weight_map[{name!r}] is {file!r}, which is outside the model folder")
    files = [folder / name for name in sorted(set(weight_map.values()))]
    for file in files:
        if not file.is_file():
            raise PrecheckError(f"{file} is listed in {index} but missing", "download every shard of the checkpoint")
    return files


def weight_files(folder: Path) -> tuple[str, list[Path]]:
    """(kind, files) of the weights in one folder; an index names its shards, so a stray
    consolidated file beside them is not counted twice."""
    if (folder / INDEX_FILE).is_file():
        return "safetensors-index", read_index(folder)
    files = sorted(folder.glob("*.safetensors"))
    if files:
        return "safetensors", files
    if any(folder.glob("pytorch_model*.bin")):
        return "pytorch-bin", []
    return "none", []
