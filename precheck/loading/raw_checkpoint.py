"""What sentence-transformers made of a plain transformers checkpoint (a folder without modules.json):
the pipeline it built itself, the checkpoint's weights it left out, and the kind the architecture implies.

Read from the folder's config.json and safetensors headers and from the loaded model; nothing runs.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PrecheckError

def _architectures(folder: Path) -> list[str]:
    from .defaults import _transformer_config  # the one checked read of the model's config.json

    found = _transformer_config(str(folder))[1].get("architectures")
    return [str(a) for a in found] if isinstance(found, list) else []


def _checkpoint_names(folder: Path) -> list[str]:
    from .safetensors_files import read_safetensors_header, weight_files

    try:
        _, files = weight_files(folder)
        return [name for file in files for name in read_safetensors_header(file)]
    except PrecheckError:
        return []  # the memory plan, which reads the same headers first, names what is wrong


def _dropped(names: list[str], transformer) -> list[str]:
    """Checkpoint tensors the loaded transformers model holds under no name (its base-model prefix
    stripped, as transformers strips it when a head checkpoint loads into the bare model)."""
    held = set(transformer.state_dict())
    prefix = getattr(transformer, "base_model_prefix", "") or ""
    return [n for n in names if n not in held and not (prefix and n.startswith(prefix + ".")
                                                       and n[len(prefix) + 1:] in held)]


def _pipeline(loaded) -> str:
    parts = []
    for module in loaded:
        mode = getattr(module, "pooling_mode", None) or getattr(module, "get_pooling_mode_str", lambda: None)()
        parts.append(f"{type(module).__name__}" + (f" ({mode})" if isinstance(mode, str) else ""))
    return " -> ".join(parts)


def raw_checkpoint_notes(folder: str, loaded, kind_name: str) -> list[str]:
    """Notes for a local folder without modules.json; [] for a sentence-transformers folder."""
    from ..kinds import KINDS, kind_for

    path = Path(folder)
    if not path.is_dir() or (path / "modules.json").is_file() or not (path / "config.json").is_file():
        return []
    notes = []
    kind = kind_for(kind_name)
    transformer = next((getattr(m, "auto_model", None) for m in loaded if hasattr(m, "auto_model")), None) \
        if hasattr(loaded, "__iter__") else None
    if kind.dense_embeddings and hasattr(loaded, "__iter__"):
        notes.append(f"{path.name} has no modules.json: sentence-transformers built its own pipeline "
                     f"({_pipeline(loaded)}); the figures are for that pipeline, not one the model's authors chose")
    if transformer is not None:
        dropped = _dropped(_checkpoint_names(path), transformer)
        if dropped:
            shown = ", ".join(dropped[:3]) + (f" and {len(dropped) - 3} more" if len(dropped) > 3 else "")
            notes.append(f"{len(dropped)} tensor(s) of the checkpoint are not in the loaded model: {shown}")
    # The kind whose head the architecture carries (each kind names its own: kinds/).
    for architecture in _architectures(path):
        for implied in KINDS.values():
            if implied.head_suffix and architecture.endswith(implied.head_suffix) and implied.name != kind_name:
                notes.append(f"{architecture} has {implied.head_words}: it is likely a {implied.name}; "
                             f"rerun with --kind {implied.name} to scan it as one")
    return notes
