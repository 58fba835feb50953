"""Every output a command names, checked before any work: no output is, contains or lies inside anything
the command reads (inputs.py gathers it), whatever --force says; no two outputs share a path or a
stream ("-" is stdout); the target's folder exists and takes a new file; nothing is replaced without
--force; an appended output (--summary) takes an existing file as it is. outputs.py writes them.
"""
from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import PrecheckError
from .inputs import Input

TEMP_MARK = ".precheck-"  # in every temporary name, beside the target: `.<name>.precheck-...`
_TEMP_NAME_BYTES = 64  # of the target's name kept in a temporary name: NAME_MAX (255) is never passed


def temp_prefix(path: Path, extra: str = "") -> str:
    name = path.name.encode("utf-8", "surrogateescape")[:_TEMP_NAME_BYTES].decode("utf-8", "ignore")
    return f".{name}{TEMP_MARK}{extra}"


@dataclass(frozen=True)
class Output:
    option: str  # how the user named it: "--json", "--junit", "--out", "baseline"
    path: Path | str | None  # as given: "" is refused, not read as the current folder; "-" is stdout
    folder: bool = False
    replaced: bool = False  # replaced by design (--update-baseline's baseline): no --force needed
    appended: bool = False  # appended to, as a job summary is (--summary): an existing file is kept, no --force


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
        handle, probe = tempfile.mkstemp(dir=parent, prefix=temp_prefix(path, "probe-"))
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise PrecheckError(f"{option} {path}: cannot write in {parent}: {exc.strerror or exc}",
                            "choose a writable folder") from exc


STDOUT = "-"  # as an output path: standard output, for every output that is a file (--json, --junit, --summary)


def is_stream(path: Path) -> bool:
    """A device, pipe or socket (/dev/stdout, /dev/null, a FIFO): written through, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _identity(path: str) -> tuple | None:
    """What an output really writes into, when it exists: "-" and /dev/stdout are one stream, two
    links are one file. None for /dev/null, which takes any number of writers."""
    try:
        info = os.fstat(1) if path == STDOUT else os.stat(path)
    except (OSError, ValueError):
        return ("stdout",) if path == STDOUT else None
    if stat.S_ISCHR(info.st_mode) and info.st_rdev == os.stat(os.devnull).st_rdev:
        return ("stdout",) if path == STDOUT else None  # two "-" are refused even then
    return (info.st_dev, info.st_ino)


def goes_to_stdout(path: str | Path | None) -> bool:
    """Whether an output is standard output ("-", /dev/stdout, /dev/fd/1): the view then goes to stderr."""
    if path is None or not str(path).strip():
        return False
    return str(path) == STDOUT or (_identity(str(path)) is not None and _identity(str(path)) == _identity(STDOUT))


def _check_file(output: Output, force: bool) -> None:
    path = output.path
    if str(path) == STDOUT or is_stream(path) or goes_to_stdout(path):
        return
    if path.is_dir():
        raise PrecheckError(f"{output.option} {path} is a folder", "give a file path")
    if output.appended and path.exists():
        try:
            open(path, "a", encoding="utf-8").close()  # adds nothing: a file it cannot append to answers now
        except OSError as exc:
            raise PrecheckError(f"{output.option} {path}: cannot append to it: {exc.strerror or exc}",
                                "choose a writable file") from exc
        return
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


def _check_not_an_input(output: Output, source: Input) -> None:
    """An output that is, lies inside or contains what the command reads: refused whatever --force says."""
    target, read = real(output.path), real(source.path)
    if target == read:
        where = "is the" if read.is_dir() else "would overwrite the"
    elif _inside(target, read):
        where = "is inside the"
    elif _inside(read, target):
        where = "contains the"
    else:
        return
    raise PrecheckError(f"{output.option} {output.path} {where} {source.label} {source.path}",
                        "precheck never writes over what it reads; choose a path outside it")


def check_outputs(outputs: list[Output], force: bool, inputs: list[Input] | None = None) -> None:
    """Every check of a command's outputs against each other and against everything it reads
    (inputs.py), made before the work; raises PrecheckError on the first failure."""
    wanted = [o for o in outputs if o.path is not None]
    for output in wanted:
        if not str(output.path).strip():
            raise PrecheckError(f"{output.option} is empty", "give a path (is a variable in your script unset?)")
        if output.folder and str(output.path) == STDOUT:
            raise PrecheckError(f"{output.option} - : a folder cannot go to stdout", "give a folder path")
    wanted = [o if str(o.path) == STDOUT else Output(o.option, Path(o.path), o.folder, o.replaced, o.appended)
              for o in wanted]
    read = [i for i in inputs or () if i.path is not None and str(i.path).strip()]
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    try:
        if step_summary and any(o.option == "--summary" for o in outputs):
            # A command that writes a summary also appends it to $GITHUB_STEP_SUMMARY: never to an input.
            for source in read:
                _check_not_an_input(Output("$GITHUB_STEP_SUMMARY", Path(step_summary)), source)
        _check_all(wanted, force, read)
    except OSError as exc:  # a name too long, a loop of links: the path cannot be used
        raise PrecheckError(f"cannot use {exc.filename or 'an output path'}: {exc.strerror or exc}",
                            "check the path") from exc


def _check_all(wanted: list[Output], force: bool, inputs: list[Input]) -> None:
    cwd = real(".")
    files = [o for o in wanted if str(o.path) != STDOUT]
    for output in files:
        if output.folder and (real(output.path) == cwd or _inside(cwd, real(output.path))):
            raise PrecheckError(f"{output.option} {output.path} is or contains the current folder {cwd}",
                                "write the output to a new folder")
    for output in files:
        for source in inputs:
            _check_not_an_input(output, source)
    for index, output in enumerate(wanted):
        for other in wanted[:index]:
            _check_pair(other, output)
    for output in files:
        (_check_folder if output.folder else _check_file)(output, force or output.replaced)


def _check_pair(first: Output, second: Output) -> None:
    """Two outputs of one command: never one file, one stream, or one inside the other's folder."""
    names = (str(first.path), str(second.path))
    same = _identity(names[0]) is not None and _identity(names[0]) == _identity(names[1])
    if STDOUT in names or any(is_stream(Path(name)) for name in names):
        if same:
            raise PrecheckError(f"{first.option} {first.path} and {second.option} {second.path} both write to "
                                "one stream", "send one of them to a file")
        return
    if same or real(first.path) == real(second.path):
        raise PrecheckError(f"{first.option} and {second.option} are the same path {second.path}",
                            "give each output its own path")
    for inner, outer in ((second, first), (first, second)):
        if outer.folder and _inside(real(inner.path), real(outer.path)):
            raise PrecheckError(f"{inner.option} {inner.path} is inside {outer.option} {outer.path}",
                                "write it outside that folder")


def same_file(first: Path | str, second: Path | str) -> bool:
    """Two names of one file: one real path (links followed, also before it exists) or one inode."""
    return real(first) == real(second) or (_identity(str(first)) is not None
                                           and _identity(str(first)) == _identity(str(second)))
