"""Every path a command reads, gathered before any work (without loading or downloading anything).

No output may be, contain or lie inside one of them: outputs.check_outputs refuses it, whatever
--force says. The files themselves are read once, bounded, by reading.read_text_input.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Input:
    label: str  # how the refusal names it: "--texts file", "model folder", "config file"
    path: Path | str | None


def _hub_repo_folder(repo_id: str) -> Path:
    """Where the Hugging Face cache keeps (or would download) a repo: models--org--name, with
    its snapshots and the blobs their files link to."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"


def _linked_files(folder: Path, depth: int = 3) -> list[Path]:
    """What the files of a model folder link to (a hub snapshot's blobs, or anywhere else); a
    model's files sit at most a few folders deep (1_Pooling/, snapshots/<rev>/2_Dense/)."""
    found = []
    top = len(Path(folder).parts)
    for root, dirs, files in os.walk(folder, onerror=lambda exc: None):
        if len(Path(root).parts) - top >= depth:
            dirs[:] = []
        found += [Path(os.path.realpath(os.path.join(root, f))) for f in files
                  if os.path.islink(os.path.join(root, f))]
    return found


def model_inputs(name: str | None, label: str = "model folder") -> list[Input]:
    """Every place MODEL may be read from, found without loading or downloading anything: the
    local folder, the hub cache's repo folder (snapshots and blobs), the embedded default."""
    from ..loading.load import DEFAULT_MODEL, _DEFAULT_ALIASES, _HUB_ID, _cached_snapshot, _embedded_default

    text = (name or "").strip()
    if not text:
        return []
    folders: list[Input] = []
    try:
        local = Path(text).expanduser()
        if local.is_dir():
            folders.append(Input(label, local))
    except OSError:  # a name too long to be a path: resolving MODEL says so
        return []
    if not folders and _HUB_ID.match(text) and not text.startswith((".", "/", "~")):
        repo_id = DEFAULT_MODEL if text.lower() in _DEFAULT_ALIASES else text
        folders.append(Input(f"Hugging Face cache of {repo_id}", _hub_repo_folder(repo_id)))
        snapshot = _cached_snapshot(repo_id)
        if snapshot:
            folders.append(Input(f"cached model {repo_id}", Path(snapshot)))
        if repo_id == DEFAULT_MODEL and _embedded_default():
            folders.append(Input("embedded model folder", Path(_embedded_default())))
    linked = [Input(f"file of {folder.label}", target) for folder in folders for target in _linked_files(Path(folder.path))]
    return folders + linked


def config_inputs(settings) -> list[Input]:
    """What `precheck ci` and `merge` read through the project config: the file itself, the
    baseline, every model and its texts or pairs."""
    from ..options import file_options

    found = [Input("config file", settings.path), Input("baseline", settings.baseline)]
    for model in settings.models:
        found += model_inputs(model.source or model.name, f"model folder of {model.name}")
        for _, key, _ in file_options():
            if getattr(model, key, None) is not None:
                found.append(Input(f"{key} file of {model.name}", getattr(model, key)))
    return found


def option_inputs(options) -> list[Input]:
    """The files a command's ScanOptions name (--texts, --pairs, --calibration, ...)."""
    from ..options import file_options

    return [Input(f"{flag} file", getattr(options, name)) for name, _, flag in file_options()]


def check_input_files(options, where: str = "") -> None:
    """Each file a scan's options name can be read, before anything is planned or loaded:
    --plan-only refuses a missing --texts as the scan would, in reading.py's words."""
    from ..errors import PrecheckError
    from ..options import file_options
    from ..data.reading import check_readable

    from ..options import option_of

    for name, _, flag in file_options():
        if getattr(options, name) is not None:
            if option_of(name).folder and Path(getattr(options, name)).is_dir():
                continue  # a folder it takes (--eval's BEIR layout) is checked whole when it is read
            try:
                check_readable(Path(getattr(options, name)), flag, f"check the path given to {flag}")
            except PrecheckError as exc:
                raise PrecheckError(where + exc.message, exc.hint) from None
