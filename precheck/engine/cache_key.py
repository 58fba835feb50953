"""What a cached float32 reference is keyed by: every byte of the model's files (a folder) or the
object's own weights, configs and tokenizer (an in-memory model), the probe set, options and versions.

A key that a change to the model can leave alone is a stale reference waiting to happen, so nothing here
samples a file: each file is hashed whole. A large file's digest is remembered by its identity and
status-change time (st_ctime, which any write or `os.utime` moves and no tool can set back), so a
second scan of the same files reads no weights (docs/benchmarks.md, "Reference cache").
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

FORMAT = 2
SKIPPED = {".git", "__pycache__", ".cache"}
PLAN_FILE = "precheck.json"  # read by precheck.load, never by the reference
# Files at most this large are hashed at every scan (configs, tokenizers, the model's code); larger ones
# once per (device, inode, size, mtime, ctime), the digest kept in the cache folder's file-digests.json.
REMEMBERED_FROM = 16 * 2 ** 20
_CHUNK = 8 * 2 ** 20
_DIGESTS_FILE = "file-digests.json"
_DIGESTS_KEPT = 4096  # entries; past it the memo starts afresh (it costs one hash per large file)


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


def _hash_file(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FileDigests:
    """Whole-file digests of large files, remembered by what changes whenever a file's bytes do."""

    def __init__(self) -> None:
        self.path = cache_folder() / _DIGESTS_FILE
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            self.known = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def digest(self, path: Path) -> str:
        real = path.resolve()
        stat = real.stat()
        if stat.st_size <= REMEMBERED_FROM:
            return _hash_file(real)
        identity = f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"
        name = os.fsencode(real).decode("utf-8", "backslashreplace")
        remembered = self.known.get(name)
        if isinstance(remembered, list) and len(remembered) == 2 and remembered[0] == identity \
                and isinstance(remembered[1], str):
            return remembered[1]
        value = _hash_file(real)
        if len(self.known) >= _DIGESTS_KEPT:
            self.known = {}
        self.known[name] = [identity, value]
        self.changed = True
        return value

    def save(self) -> None:
        """Whole or not at all; a memo that cannot be written costs the next scan one hash, nothing else."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            staging = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            staging.write_text(json.dumps(self.known), encoding="utf-8")
            os.replace(staging, self.path)
        except OSError:
            pass


def _files(root: Path):
    """Every file under root, symbolic links to folders followed (a module folder may be one), each
    folder once; names as bytes, so a name that is not UTF-8 is keyed like any other."""
    seen = set()
    for folder, folders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        folders[:] = sorted(f for f in folders if f not in SKIPPED)
        for name in sorted(names):
            path = Path(folder) / name
            relative = os.fsencode(path.relative_to(root).as_posix())
            if relative != PLAN_FILE.encode() and path.is_file():
                yield relative, path


def model_digest(folder: str | Path) -> str | None:
    """A digest of every file in the model's folder (None when it is no folder: nothing to key on)."""
    root = Path(folder)
    if not root.is_dir():
        return None
    memo = FileDigests()
    digest = hashlib.blake2b(digest_size=20)
    for relative, path in _files(root):
        digest.update(relative + b"=" + memo.digest(path).encode() + b"\n")
    memo.save()
    return digest.hexdigest()


def _tokenizer_text(tokenizer) -> str | None:
    """The whole tokenizer as text (a fast tokenizer's JSON, or a bare `tokenizers.Tokenizer`'s);
    None when it has no such form, and then the object is not cached."""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    to_str = getattr(backend, "to_str", None)
    if not callable(to_str):
        return None
    try:
        document = json.loads(to_str())
    except ValueError:
        return None
    # transformers sets the backend's truncation and padding at each call, from the call's own arguments
    # (which the key holds through max_seq_length and the load options): they are not the tokenizer's.
    document.pop("truncation", None)
    document.pop("padding", None)
    special = getattr(tokenizer, "special_tokens_map", None)
    return json.dumps(document, sort_keys=True) + json.dumps(special, sort_keys=True, default=str)


def object_digest(obj) -> str | None:
    """What decides an in-memory model's outputs: its weights (loading/fingerprint.py), every module's
    configuration, its tokenizer and the settings encode reads. None when any of them cannot be read
    (weights on the meta device, a tokenizer with no text form): such an object is not cached."""
    from transformers import PreTrainedModel

    from ..kinds import torch_module
    from ..loading.fingerprint import model_fingerprint

    weights = model_fingerprint(torch_module(obj))
    tokenizer = _tokenizer_text(getattr(obj, "tokenizer", None))
    if weights is None or tokenizer is None:
        return None
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"weights {weights}\n".encode())
    digest.update(tokenizer.encode("utf-8", "surrogatepass"))
    for path, module in torch_module(obj).named_modules():
        config = module.config.to_json_string() if isinstance(module, PreTrainedModel) else None
        get_config = getattr(module, "get_config_dict", None)
        if config is None and callable(get_config):
            config = json.dumps(get_config(), sort_keys=True, default=str)
        if config is not None:
            digest.update(f"config {path} {config}\n".encode("utf-8", "surrogatepass"))
    for name in ("max_seq_length", "prompts", "default_prompt_name", "truncate_dim", "similarity_fn_name",
                 "activation_fn", "num_labels"):
        value = getattr(obj, name, None)
        digest.update(f"{name} {json.dumps(value, sort_keys=True, default=repr)}\n".encode())
    return digest.hexdigest()


def code_digest() -> str:
    """precheck's own source: the checks, the built-in probe items and the headroom hooks live in it."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=20)
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def items_digest(items: list) -> str:
    return hashlib.blake2b(json.dumps(items, ensure_ascii=False).encode("utf-8", "surrogatepass"),
                           digest_size=20).hexdigest()


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cache_key(session) -> dict | None:
    """What decides the float32 reference and its checks; None when the scan cannot be cached."""
    import sys

    options = session.options
    if options.storage or session.model.source == "hub":
        return None  # the storage corpus and calibration are not kept; a hub id has no folder to digest
    if session.memory is not None and session.memory.runs and session.memory.runs[0].placement == "offload":
        return None
    if session.model.source == "object":
        digest = object_digest(options.model)
        model = f"object:{digest}" if digest else None
    else:
        digest = model_digest(session.model.path)
        model = f"folder:{digest}" if digest else None
    if model is None:
        return None
    return {
        "format": FORMAT,
        "model": model,
        "kind": session.model.kind,
        "probe": items_digest(session.items) if session.items else "builtin",
        "load": {**options.load.to_dict(), "trust_remote_code": options.trust_remote_code},
        "batch_size": options.batch_size,
        "depth": options.depth,
        "device": session.device,
        "placement": session.memory.runs[0].placement if session.memory and session.memory.runs else "",
        "versions": {"python": sys.version.split()[0],
                     **{package: _version(package) for package in ("torch", "transformers", "sentence-transformers",
                                                                   "numpy", "safetensors", "accelerate")}},
        "precheck": code_digest(),
    }
