"""Changes made to a model after a scan, as users make them: weights rewritten in place (keeping the file's
size and modification time), a tokenizer, modules.json or pooling config edited, an object trained in place.

Each leaves the model a scan must judge afresh; tests/reference/test_reference_cache_doors.py scans before and after.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

# GELU(k x) / k keeps the float32 function while the feed-forward of the last layer passes float16's
# 65504: the tiny model's random weights give pre-activations of about 0.1, so k must be large.
OVERFLOW_SCALE = 1.0e6


def _rewrite_weights(folder: Path, change) -> None:
    """Apply `change(tensors)` to model.safetensors in place: the same names, shapes and dtypes (so the
    same size), the modification time put back as it was."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = folder / "model.safetensors"
    before = path.stat()
    with safe_open(str(path), "pt") as weights:
        metadata = weights.metadata()
        tensors = {name: weights.get_tensor(name) for name in weights.keys()}
    change(tensors)
    save_file(tensors, str(path), metadata=metadata)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


def _last_layer(tensors: dict) -> str:
    layers = sorted({int(name.split("layer.")[1].split(".")[0]) for name in tensors if "layer." in name})
    return f"layer.{layers[-1]}."


def overflow_weights_in_place(folder: Path) -> None:
    """The last layer's feed-forward made to pass 65504 in float16 (float32 keeps its function)."""
    def change(tensors):
        layer = _last_layer(tensors)
        for name in tensors:
            if layer in name and "intermediate.dense" in name:
                tensors[name] = tensors[name] * OVERFLOW_SCALE
            elif layer in name and "output.dense.weight" in name and "attention" not in name:
                tensors[name] = tensors[name] / OVERFLOW_SCALE
    _rewrite_weights(folder, change)


def overflow_object_in_place(model) -> None:
    """The same change made to a loaded model's parameters, as a training step changes them."""
    import torch

    from precheck.kinds import torch_module

    net = torch_module(model)
    names = dict(net.named_parameters())
    layer = _last_layer(names)
    with torch.no_grad():
        for name, parameter in names.items():
            if layer in name and "intermediate.dense" in name:
                parameter.mul_(OVERFLOW_SCALE)
            elif layer in name and "output.dense.weight" in name and "attention" not in name:
                parameter.div_(OVERFLOW_SCALE)


def swap_weights_in_place(folder: Path) -> None:
    """Two values of one tensor in the middle of the file swapped: every parameter's sum, the file's size,
    its modification time and its first and last MiB all stay as they were; the function does not."""
    def change(tensors):
        names = [n for n in sorted(tensors) if tensors[n].is_floating_point() and tensors[n].numel() > 1
                 and tensors[n].reshape(-1)[0] != tensors[n].reshape(-1)[-1]]
        name = names[len(names) // 2]
        flat = tensors[name].reshape(-1).clone()
        flat[0], flat[-1] = flat[-1].clone(), flat[0].clone()
        tensors[name] = flat.reshape(tensors[name].shape)
    _rewrite_weights(folder, change)


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def pooling_folder(folder: Path) -> Path:
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    return folder / next(m["path"] for m in modules if m["type"].endswith("Pooling"))


def change_pooling(folder: Path) -> None:
    """Mean pooling made CLS pooling: the same weights, other embeddings."""
    config = pooling_folder(folder) / "config.json"
    edit_json(config, pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)


def change_tokenizer(folder: Path) -> None:
    """Lower-casing switched off: the same weights, other token ids for any capital letter."""
    tokenizer = folder / "tokenizer.json"
    data = json.loads(tokenizer.read_text(encoding="utf-8"))
    data["normalizer"]["lowercase"] = False
    tokenizer.write_text(json.dumps(data), encoding="utf-8")


def change_modules(folder: Path) -> None:
    """A Normalize step added to the pipeline in modules.json."""
    path = folder / "modules.json"
    modules = json.loads(path.read_text(encoding="utf-8"))
    modules.append({"idx": len(modules), "name": str(len(modules)), "path": f"{len(modules)}_Normalize",
                    "type": "sentence_transformers.models.Normalize"})
    (folder / f"{len(modules) - 1}_Normalize").mkdir(exist_ok=True)
    path.write_text(json.dumps(modules, indent=2), encoding="utf-8")
