"""Broken variants of the session's tiny model (conftest `tiny_model`, built by
scale_models.build_tiny_model) for the bad-input and output-safety tests: each breaks one file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from scale_models import TOKENIZER_FILES


def copy_without_tokenizer(model: Path, folder: Path) -> Path:
    shutil.copytree(model, folder)
    for name in TOKENIZER_FILES:
        (folder / name).unlink(missing_ok=True)
    return folder


def build_nan_model(model: Path, folder: Path) -> Path:
    """Every float32 output NaN: the pooling divides by a sequence length it never gets."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(model, folder)
    weights = load_file(folder / "model.safetensors")
    key = next(k for k in weights if k.endswith("embeddings.LayerNorm.weight"))
    weights[key] = weights[key] * float("nan")
    save_file(weights, folder / "model.safetensors")
    return folder


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
