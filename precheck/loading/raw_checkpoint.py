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


def _renamer(transformer):
    """The installed transformers' own key renames at load (transformers 5: its conversion mapping,
    e.g. a legacy LayerNorm.gamma -> LayerNorm.weight), as a function of a checkpoint key; the identity
    where this transformers has none."""
    try:
        from transformers.conversion_mapping import get_model_conversion_mapping
        from transformers.core_model_loading import WeightConverter, rename_source_key

        transforms = get_model_conversion_mapping(transformer)
    except Exception:  # noqa: BLE001 - an older or newer transformers: compare names and values only
        return lambda key: key
    renamings = [t for t in transforms if not isinstance(t, WeightConverter)]
    converters = [t for t in transforms if isinstance(t, WeightConverter)]

    def rename(key: str) -> str:
        try:
            return rename_source_key(key, renamings, converters)[0]
        except Exception:  # noqa: BLE001 - a key its patterns cannot take is compared as it is
            return key
    return rename


def _held_by_value(folder: Path, names: list[str], transformer) -> set[str]:
    """Of `names`, those whose values the loaded model holds under some name (same shape, equal values;
    a constant tensor is never taken as held)."""
    import torch

    from .safetensors_files import weight_files

    by_shape: dict[tuple, list] = {}
    for tensor in transformer.state_dict().values():
        by_shape.setdefault(tuple(tensor.shape), []).append(tensor)
    held = set()
    try:
        from safetensors import safe_open

        for file in weight_files(folder)[1]:
            with safe_open(str(file), framework="pt") as f:
                for name in set(names) & set(f.keys()):
                    shape = tuple(f.get_slice(name).get_shape())
                    if shape not in by_shape:
                        continue
                    value = f.get_tensor(name)
                    # A constant tensor (a fresh LayerNorm's ones) matches any other by chance: not evidence.
                    if value.numel() < 2 or bool((value == value.reshape(-1)[0]).all()):
                        continue
                    if any(t.dtype.is_floating_point == value.dtype.is_floating_point
                           and torch.equal(t.to(value.dtype).cpu(), value) for t in by_shape[shape]):
                        held.add(name)
    except (PrecheckError, OSError, ImportError):
        pass
    return held


def _dropped(folder: Path, names: list[str], transformer) -> list[str]:
    """Checkpoint tensors whose values the loaded transformers model does not hold: compared after the
    installed transformers' own key renames (a legacy gamma/beta loads as weight/bias) and its base-model
    prefix stripped, as transformers strips it when a head checkpoint loads into the bare model; a tensor
    left over still counts as loaded when the model holds its values under another name."""
    held = set(transformer.state_dict())
    prefix = getattr(transformer, "base_model_prefix", "") or ""
    rename = _renamer(transformer)

    def loaded(name: str) -> bool:
        return any(n in held or (prefix and n.startswith(prefix + ".") and n[len(prefix) + 1:] in held)
                   for n in (name, rename(name)))

    left = [n for n in names if not loaded(n)]
    by_value = _held_by_value(folder, left, transformer) if left else set()
    return [n for n in left if n not in by_value]


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
        dropped = _dropped(path, _checkpoint_names(path), transformer)
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
