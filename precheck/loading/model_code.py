"""Errors raised by the model's own code, named: which file and line, and what they mean.

A load or a float32 encode that fails in the model's remote code is not a corrupt checkpoint:
a method the installed transformers no longer has, or an optional package the code asserts.
"""
from __future__ import annotations

import linecache
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import PrecheckError

# PreTrainedModel attributes of transformers 4.44 that 5.x no longer has (generation helpers left out:
# they moved to GenerationMixin). Code written for 4.x calls them from its own forward.
REMOVED_IN_5 = frozenset({
    "get_extended_attention_mask", "invert_attention_mask", "get_head_mask", "_convert_head_mask_to_5d",
    "create_extended_attention_mask_for_decoder", "prune_heads", "estimate_tokens", "floating_point_ops",
    "add_memory_hooks", "reset_memory_hooks_state", "to_bettertransformer", "reverse_bettertransformer",
    "_set_default_torch_dtype", "_autoset_attn_implementation", "_check_and_enable_sdpa",
    "_check_and_enable_flash_attn_2", "_tie_or_clone_weights", "_get_no_split_modules", "framework",
    "is_parallelizable",
})
_NO_ATTRIBUTE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_INSTALL = re.compile(r"(?:please |pip )?install(?:ed)?\s+(?:-U\s+|--upgrade\s+)?[`'\"]?([A-Za-z][\w.-]*)", re.I)
_CONFIG_READ = re.compile(r"config\.(\w+)")
# Errors about the checkpoint itself: only these get the "are the weights complete?" hint.
_WEIGHTS = re.compile(
    r"safetensor|state_dict|size mismatch|header|unpickl|pickle|invalid load key|unexpected eof|"
    r"pytorch_model\.bin|model\.safetensors|incomplete|truncated|corrupt|checkpoint|no file named", re.I)


@dataclass(frozen=True)
class CodeFrame:
    file: str
    line: int
    text: str


def _transformers_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("transformers")
    except metadata.PackageNotFoundError:
        return "?"


def _is_model_code(filename: str, model_path: str | None) -> bool:
    """Remote code transformers copied into its modules cache, or a file of the model folder."""
    if "transformers_modules" in Path(filename).parts:
        return True
    return bool(model_path) and Path(model_path).is_dir() and Path(filename).resolve().is_relative_to(
        Path(model_path).resolve())


def model_frame(exc: BaseException, model_path: str | None = None) -> CodeFrame | None:
    """The innermost traceback frame in the model's own code."""
    import traceback

    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if _is_model_code(frame.filename, model_path):
            found = CodeFrame(frame.filename, frame.lineno or 0, (frame.line or "").strip())
    return found


def _where(frame: CodeFrame) -> str:
    text = f": `{frame.text}`" if frame.text else ""
    return f"{Path(frame.file).name}, line {frame.line}{text}"


def _config_switches(frame: CodeFrame) -> list[str]:
    """config.<name> read in the lines just above the failing one: the switches that chose this path."""
    lines = [linecache.getline(frame.file, n) for n in range(max(1, frame.line - 12), frame.line + 1)]
    return list(dict.fromkeys(_CONFIG_READ.findall("".join(lines))))


def missing_attribute(exc: BaseException, frame: CodeFrame | None) -> tuple[str, str] | None:
    if not isinstance(exc, AttributeError) or frame is None:
        return None
    name = getattr(exc, "name", None)
    owner = getattr(exc, "obj", None)
    match = _NO_ATTRIBUTE.search(str(exc))
    cls = type(owner).__name__ if owner is not None else (match.group(1) if match else "")
    name = name or (match.group(2) if match else None)
    if not name:
        return None
    try:
        from transformers import PreTrainedModel

        is_model = owner is not None and isinstance(owner, PreTrainedModel)
    except ImportError:
        is_model = False
    if name not in REMOVED_IN_5 and not is_model:
        return None
    version = _transformers_version()
    older = "it was removed in transformers 5" if name in REMOVED_IN_5 else "it may be from another transformers"
    message = (f"the model's code calls {cls}.{name} ({_where(frame)}), which transformers {version} does not "
               f"have: {older}, and the code targets an older transformers")
    return message, "install the transformers the model was written for (pip install 'transformers<5'), " \
                    "or use a revision of the model updated for transformers 5"


def package_to_install(exc: BaseException) -> str | None:
    """The package an ImportError or assertion asks to install ("... requires bitsandbytes: pip install ...")."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return exc.name.split(".")[0]
    if isinstance(exc, (AssertionError, ImportError)):
        names = [m.group(1) for m in _INSTALL.finditer(str(exc))]
        return next((n for n in names if n.lower() not in {"it", "the", "a", "them", "this", "-u"}), None)
    return None


def missing_package(exc: BaseException, frame: CodeFrame | None) -> tuple[str, str] | None:
    # A module imported by name by sentence-transformers itself is not the model's code's.
    if isinstance(exc, ModuleNotFoundError) and frame is None:
        return None
    package = package_to_install(exc)
    if not package:
        return None
    where = f" ({_where(frame)})" if frame else ""
    switches = _config_switches(frame) if frame else []
    reads = f"; the code there reads config.{', config.'.join(switches)}" if switches else ""
    message = (f"the model's code requires the optional package {package}, which is not installed{where}{reads}; "
               "its config switches may avoid it")
    example = f"--config-kwarg {switches[0]}=false" if switches else "--config-kwarg KEY=VALUE"
    return message, f"pip install {package}, or turn the switch off at load as the model card says: {example}"


def describe(exc: BaseException, model_path: str | None = None) -> tuple[str, str] | None:
    """(message, hint) for an error of the model's own code, or None when it is something else."""
    frame = model_frame(exc, model_path)
    return missing_attribute(exc, frame) or missing_package(exc, frame)


def is_about_weights(exc: BaseException) -> bool:
    return bool(_WEIGHTS.search(f"{type(exc).__name__} {exc}"))


def float32_failure(name: str, exc: BaseException, model_path: str | None = None) -> PrecheckError:
    """The error for a float32 encode that raised: named when the model's own code is at fault."""
    named = describe(exc, model_path)
    if named is not None:
        return PrecheckError(f"{name} fails even in float32: {named[0]}", named[1])
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    frame = model_frame(exc, model_path)
    where = f" (in the model's code, {_where(frame)})" if frame else ""
    return PrecheckError(f"{name} fails even in float32: {type(exc).__name__}: {first}{where}",
                         "precheck needs a working float32 model to compare against")
