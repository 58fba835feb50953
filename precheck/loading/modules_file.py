"""The one checked reader of a model folder's modules.json: the sentence-transformers pipeline, each
module's class (`type`) and folder (`path`), read once, bounded, and checked against that shape."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import PrecheckError

_HINT = "restore modules.json from the original model"


@dataclass(frozen=True)
class PipelineModule:
    type: str  # its class: "sentence_transformers.models.Transformer", or one the model ships as its own code
    path: str  # its folder under the model folder ("" for the model folder itself)


def read_modules(folder: Path) -> list[PipelineModule]:
    """The pipeline's modules in order; [] when the folder has no modules.json (a CrossEncoder saved
    before sentence-transformers 5, a bare transformers model)."""
    from ..data.reading import read_text_input

    path = folder / "modules.json"
    if not path.is_file():
        return []
    text = read_text_input(path, "model", _HINT)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PrecheckError(f"{path} is not valid JSON: {exc}", "is the model folder complete?") from exc
    except RecursionError:
        raise PrecheckError(f"{path} is not valid JSON: it is nested too deep", _HINT) from None
    if not isinstance(document, list):
        raise PrecheckError(f"{path} should hold a list of modules", _HINT)
    for entry in document:
        # A missing type or path reads as "" (the load itself then says what is missing); one that is
        # there must be a string.
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key, ""), str) for key in ("type", "path")):
            raise PrecheckError(f"{path} is corrupt: each module should be an object whose \"type\" is a class "
                                f"name and \"path\" a folder, got {_short(entry)}", _HINT)
    return [PipelineModule(entry.get("type", ""), entry.get("path", "")) for entry in document]


def _short(entry) -> str:
    text = repr(entry)
    return text if len(text) <= 200 else text[:200] + "..."
