"""Every file and folder precheck writes: checked before any work, written whole or not at all.

Checks (before a model loads): no output is, contains or lies inside anything the command reads
(inputs.py gathers it), whatever --force says; no two outputs share a path or a stream ("-" is
stdout); the target's folder exists and takes a new file; nothing is replaced without --force; an
appended output (--summary) takes an existing file as it is.
Writes: a temporary path beside the target, renamed into place only when complete. Without
--force the final step is an exclusive create, so of two concurrent runs one loses cleanly.
--force replaces the target itself (a symbolic link is replaced, never followed). What is staged
is registered until removed or published, so an interrupted run can say what it left.
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import PrecheckError
from .inputs import Input

TEMP_MARK = ".precheck-"  # in every temporary name, beside the target: `.<name>.precheck-...`
_TEMP_NAME_BYTES = 64  # of the target's name kept in a temporary name: NAME_MAX (255) is never passed
_STAGED: set[Path] = set()  # temporary files and folders that exist now (left_behind() after an interrupt)


def _temp_prefix(path: Path, extra: str = "") -> str:
    name = path.name.encode("utf-8", "surrogateescape")[:_TEMP_NAME_BYTES].decode("utf-8", "ignore")
    return f".{name}{TEMP_MARK}{extra}"


def left_behind() -> list[Path]:
    """Staged paths still on disk: empty unless a removal failed."""
    return sorted(p for p in _STAGED if os.path.lexists(p))


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
        handle, probe = tempfile.mkstemp(dir=parent, prefix=_temp_prefix(path, "probe-"))
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


HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# Every signal the command's handler saw (cli/_errors.py): if a library catches the exception it
# raised, the signal still stops every output from being put in place and the exit from being 0.
_SIGNALS_SEEN: list[int] = []


def note_signal(signum: int) -> None:
    _SIGNALS_SEEN.append(signum)


def signal_seen() -> int | None:
    return _SIGNALS_SEEN[0] if _SIGNALS_SEEN else None


def refuse_if_signalled() -> None:
    """Before an output is put in place: a signal seen earlier, even one swallowed on its way up, wins."""
    if _SIGNALS_SEEN:
        raise KeyboardInterrupt


@contextmanager
def signals_held():
    """SIGINT/SIGTERM/SIGHUP wait until the renames that put an output in place, or the removal of
    what was staged, are done: an interrupt (or a second one) never leaves either half done."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _remove(path: Path) -> None:
    with signals_held():
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        elif path.exists():
            shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            _STAGED.discard(path)


@contextmanager
def _staged(make):
    """A temporary path made by `make()` and registered until it is gone or published."""
    with signals_held():
        path = Path(make())
        _STAGED.add(path)
    try:
        yield path
    finally:
        _remove(path)


def _lost_race(option: str, path: Path) -> PrecheckError:
    return PrecheckError(f"{option} {path} was created by someone else while precheck ran (another precheck?)",
                         "nothing was overwritten; rerun, or pass --force to replace it")


def write_stdout(text: str) -> None:
    """Text for stdout as UTF-8 even when the terminal's encoding is narrower (JSON is UTF-8 by
    its standard; replacing its characters with '?' would change the data)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
    buffer = getattr(sys.stdout, "buffer", None)
    if encoding.startswith("utf") or buffer is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()


def write_file(path: Path | str, text: str, force: bool, option: str = "--json") -> None:
    """Write `text` to a temporary file beside `path`, then put it in place: os.replace with
    --force (a link at `path` is replaced, not followed), an exclusive hard link without.
    "-" is stdout; a device or pipe is written through, never replaced."""
    try:
        if str(path) == STDOUT or goes_to_stdout(path):  # also /dev/stdout redirected to a file
            write_stdout(text)
            return
        path = Path(path)
        if is_stream(path):
            # Replacing /dev/stdout or /dev/null with a file would be a disaster (as root, a possible one).
            # Appended: /dev/stdout may be a file the view is also written to.
            with open(path, "a", encoding="utf-8") as stream:
                stream.write(text)
            return
        _write_whole(path, text, force, option)
    except OSError as exc:  # a full disk (/dev/full), a closed pipe, a quota
        raise PrecheckError(f"{option} {path}: cannot write it: {exc.strerror or exc}",
                            "free some space or choose another path" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                            else "") from exc


def same_file(first: Path | str, second: Path | str) -> bool:
    """Two names of one file: one real path (links followed, also before it exists) or one inode."""
    return real(first) == real(second) or (_identity(str(first)) is not None
                                           and _identity(str(first)) == _identity(str(second)))


def append_file(path: Path | str, text: str, option: str) -> None:
    """Append `text` to `path` (created if absent) in one write; a write that fails part way is cut
    back to the file's earlier length, so what was there stays and nothing half-written follows it.
    "-" is stdout."""
    if str(path) == STDOUT or goes_to_stdout(path):
        write_stdout(text)
        return
    data = text.encode("utf-8")
    try:
        handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # a FIFO may wait here: signals not held
        try:
            with signals_held():
                start = os.fstat(handle).st_size
                try:
                    written = 0
                    while written < len(data):
                        written += os.write(handle, data[written:])
                except OSError:
                    if stat.S_ISREG(os.fstat(handle).st_mode):
                        os.ftruncate(handle, start)
                    raise
        finally:
            os.close(handle)
    except OSError as exc:
        raise PrecheckError(f"{option} {path}: cannot append to it: {exc.strerror or exc}",
                            "free some space or choose another path" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                            else "") from exc


def _write_whole(path: Path, text: str, force: bool, option: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    with _staged(lambda: _mkstemp(folder, _temp_prefix(path))) as temp:
        with open(temp, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o666 & ~_umask())
        refuse_if_signalled()
        with signals_held():
            if force:
                os.replace(temp, path)
            else:
                _create_exclusively(temp, path, option)


def _mkstemp(folder: Path, prefix: str) -> str:
    handle, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    os.close(handle)
    return name


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


def modes_as_source(staging: Path, source: Path) -> None:
    """Each file and folder built in `staging` (a copy of `source`, some of it written anew) takes the
    mode of its namesake in `source`, else the umask's: a writer that creates 0600 files (safetensors)
    never leaves a copy in a shared cache unreadable to the others who read the source."""
    umask = _umask()
    for path in staging.rglob("*"):
        if path.is_symlink():
            continue
        twin = source / path.relative_to(staging)
        try:
            mode = stat.S_IMODE(os.stat(twin).st_mode) if twin.is_dir() == path.is_dir() else None
        except OSError:
            mode = None
        os.chmod(path, mode if mode is not None else (0o777 if path.is_dir() else 0o666) & ~umask)


@contextmanager
def staged_folder(out: Path):
    """A temporary folder beside `out` to build the output in; removed on any failure or
    interrupt, and at the end if it was never published."""
    def make() -> str:
        try:
            return tempfile.mkdtemp(dir=out.parent if str(out.parent) else ".", prefix=_temp_prefix(out))
        except OSError as exc:
            raise PrecheckError(f"--out {out}: cannot write in {out.parent}: {exc.strerror or exc}") from exc

    with _staged(make) as staging:
        yield staging


def publish_folder(staging: Path, out: Path, force: bool, option: str = "--out") -> None:
    """Rename a finished staging folder to `out`. An empty `out` folder is replaced; a
    non-empty one (or a link, or a file) only with --force, and then only `out` itself."""
    refuse_if_signalled()
    with signals_held():
        occupied = os.path.lexists(out) and (out.is_symlink() or not out.is_dir() or any(out.iterdir()))
        if occupied and not force:
            raise _lost_race(option, out)
        aside = None
        if occupied:
            # The old target moves into a fresh hidden folder (a link moves as a link), so a
            # failed rename can put it back and a success deletes only what was `out`.
            folder = out.parent if str(out.parent) else Path(".")
            aside = Path(tempfile.mkdtemp(dir=folder, prefix=_temp_prefix(out, "old-")))
            _STAGED.add(aside)
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
        _STAGED.discard(staging)
        if aside is not None:
            _remove(aside)
