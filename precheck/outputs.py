"""Every file and folder precheck writes: checked before any work, written whole or not at all.

Checks (before a model loads): the target's folder exists and takes a new file; nothing is
replaced without --force; no two outputs of one command share a path; no output is one of the
command's inputs; `fix --out` neither is, nor lies inside, nor contains the model folder.
Writes: a temporary path beside the target, renamed into place only when complete. Without
--force the final step is an exclusive create, so of two concurrent runs one loses cleanly.
--force replaces the target itself (a symbolic link is replaced, never followed).
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import PrecheckError

TEMP_MARK = ".precheck-"  # in every temporary name, beside the target: `.<name>.precheck-...`


@dataclass(frozen=True)
class Output:
    option: str  # how the user named it: "--json", "--junit", "--out", "baseline"
    path: Path | str | None  # as given: "" is refused, not read as the current folder
    folder: bool = False


def real(path: Path | str) -> Path:
    """The resolved real path (symbolic links followed), also for a path that does not exist yet."""
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _inside(path: Path, folder: Path) -> bool:
    return folder in path.parents


def _check_writable(option: str, path: Path) -> None:
    """Create and remove a file where the output will go: a read-only file system or /proc
    answers now, not after the scan."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise PrecheckError(f"{option} {path}: folder {parent} does not exist", "create it first")
    try:
        handle, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}{TEMP_MARK}probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise PrecheckError(f"{option} {path}: cannot write in {parent}: {exc.strerror or exc}",
                            "choose a writable folder") from exc


def is_stream(path: Path) -> bool:
    """A device, pipe or socket (/dev/stdout, /dev/null, a FIFO): written through, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _check_file(output: Output, force: bool) -> None:
    path = output.path
    if is_stream(path):
        return
    if path.is_dir():
        raise PrecheckError(f"{output.option} {path} is a folder", "give a file path")
    if os.path.lexists(path) and not force:
        raise PrecheckError(f"{output.option} {path} already exists", "pass --force to overwrite it")
    _check_writable(output.option, path)


def _check_folder(output: Output, force: bool) -> None:
    path = output.path
    if path.is_symlink():
        if not force:
            raise PrecheckError(f"{output.option} {path} is a symbolic link",
                                "pass --force to replace the link itself (what it points to is left alone)")
    elif path.exists() and not path.is_dir():
        raise PrecheckError(f"{output.option} {path} is a file", "give a folder path")
    elif path.is_dir() and any(path.iterdir()) and not force:
        raise PrecheckError(f"{output.option} {path} exists and is not empty", "pass --force to replace its contents")
    _check_writable(output.option, path)


def check_model_overlap(option: str, out: Path, model_folder: Path) -> None:
    """--out may not be the model folder, lie inside it or contain it: refused whatever --force says."""
    target, model = real(out), real(model_folder)
    if target == model:
        where = "is the model folder"
    elif _inside(target, model):
        where = f"is inside the model folder {model}"
    elif _inside(model, target):
        where = f"contains the model folder {model}"
    else:
        return
    raise PrecheckError(f"{option} {out} {where}", "write the fixed model to a folder outside the model's own")


def check_outputs(outputs: list[Output], force: bool, inputs: dict[str, Path | None] | None = None,
                  model_folders: tuple[Path, ...] = ()) -> None:
    """Every check that can be made before the work; raises PrecheckError on the first failure."""
    wanted = [o for o in outputs if o.path is not None and str(o.path) != "-"]
    for output in wanted:
        if not str(output.path).strip():
            raise PrecheckError(f"{output.option} is empty", "give a path (is a variable in your script unset?)")
    wanted = [Output(o.option, Path(o.path), o.folder) for o in wanted]
    try:
        _check_all(wanted, force, inputs, model_folders)
    except OSError as exc:  # a name too long, a loop of links: the path cannot be used
        raise PrecheckError(f"cannot use {exc.filename or 'an output path'}: {exc.strerror or exc}",
                            "check the path") from exc


def _check_all(wanted: list[Output], force: bool, inputs: dict[str, Path | None] | None,
               model_folders: tuple[Path, ...]) -> None:
    cwd = real(".")
    for output in wanted:
        if output.folder and (real(output.path) == cwd or _inside(cwd, real(output.path))):
            raise PrecheckError(f"{output.option} {output.path} is or contains the current folder {cwd}",
                                "write the output to a new folder")
    for output in wanted:
        for model in model_folders:
            if output.folder:
                check_model_overlap(output.option, output.path, model)
            elif _inside(real(output.path), real(model)) and os.path.lexists(output.path):
                raise PrecheckError(f"{output.option} {output.path} is a file of the model {model}",
                                    "write it outside the model folder")
    for index, output in enumerate(wanted):
        target = real(output.path)
        for other in wanted[:index]:
            other_target = real(other.path)
            if target == other_target and not is_stream(target):
                raise PrecheckError(f"{other.option} and {output.option} are the same path {output.path}",
                                    "give each output its own path")
            for inner, outer in ((output, other), (other, output)):
                if outer.folder and _inside(real(inner.path), real(outer.path)):
                    raise PrecheckError(f"{inner.option} {inner.path} is inside {outer.option} {outer.path}",
                                        "write it outside that folder")
        for label, given in (inputs or {}).items():
            if given is None:
                continue
            source = real(given)
            if source == target or (output.folder and _inside(source, target)):
                raise PrecheckError(f"{output.option} {output.path} would overwrite the {label} {given}",
                                    "write the output somewhere else")
    for output in wanted:
        (_check_folder if output.folder else _check_file)(output, force)


@contextmanager
def signals_held():
    """SIGINT/SIGTERM wait until the renames that put an output in place are done, so an
    interrupt never leaves the old target moved aside and the new one not yet in place."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _lost_race(option: str, path: Path) -> PrecheckError:
    return PrecheckError(f"{option} {path} was created by someone else while precheck ran (another precheck?)",
                         "nothing was overwritten; rerun, or pass --force to replace it")


def write_file(path: Path | str, text: str, force: bool, option: str = "--json") -> None:
    """Write `text` to a temporary file beside `path`, then put it in place: os.replace with
    --force (a link at `path` is replaced, not followed), an exclusive hard link without."""
    path = Path(path)
    if is_stream(path):
        # Replacing /dev/stdout or /dev/null with a file would be a disaster (as root, a possible one).
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
    handle, temp_name = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                                         prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o666 & ~_umask())
        with signals_held():
            if force:
                os.replace(temp, path)
            else:
                _create_exclusively(temp, path, option)
    except OSError as exc:
        raise PrecheckError(f"{option} {path}: cannot write it: {exc.strerror or exc}") from exc
    finally:
        temp.unlink(missing_ok=True)


def _create_exclusively(temp: Path, path: Path, option: str) -> None:
    try:
        os.link(temp, path)
    except FileExistsError as exc:
        raise _lost_race(option, path) from exc
    except OSError:
        # A file system without hard links: claim the name exclusively, then fill it by rename.
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError as exc:
            raise _lost_race(option, path) from exc
        os.replace(temp, path)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextmanager
def staged_folder(out: Path):
    """A temporary folder beside `out` to build the output in; removed on any failure or
    interrupt, and at the end if it was never published."""
    try:
        staging = Path(tempfile.mkdtemp(dir=out.parent if str(out.parent) else ".", prefix=f".{out.name}{TEMP_MARK}"))
    except OSError as exc:
        raise PrecheckError(f"--out {out}: cannot write in {out.parent}: {exc.strerror or exc}") from exc
    try:
        yield staging
    finally:
        _remove(staging)


def publish_folder(staging: Path, out: Path, force: bool, option: str = "--out") -> None:
    """Rename a finished staging folder to `out`. An empty `out` folder is replaced; a
    non-empty one (or a link, or a file) only with --force, and then only `out` itself."""
    with signals_held():
        occupied = os.path.lexists(out) and (out.is_symlink() or not out.is_dir() or any(out.iterdir()))
        if occupied and not force:
            raise _lost_race(option, out)
        aside = None
        if occupied:
            # The old target moves into a fresh hidden folder (a link moves as a link), so a
            # failed rename can put it back and a success deletes only what was `out`.
            aside = Path(tempfile.mkdtemp(dir=out.parent if str(out.parent) else ".", prefix=f".{out.name}{TEMP_MARK}old-"))
            os.rename(out, aside / out.name)
        try:
            os.rename(staging, out)
        except OSError as exc:
            if aside is not None:
                os.rename(aside / out.name, out)
                _remove(aside)
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):  # someone wrote it meanwhile
                raise _lost_race(option, out) from exc
            raise PrecheckError(f"{option} {out}: cannot put it in place: {exc.strerror or exc}") from exc
        if aside is not None:
            _remove(aside)
