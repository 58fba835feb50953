"""Every file and folder precheck writes, written whole or not at all (output_checks.py checks them first).

A temporary path beside the target, renamed into place only when complete. Without --force the final
step is an exclusive create, so of two concurrent runs one loses cleanly. --force replaces the target
itself (a symbolic link is replaced, never followed). What is staged is registered until removed or
published, so an interrupted run can say what it left; a signal seen (signals.py) stops every rename.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import PrecheckError
from .output_checks import STDOUT, goes_to_stdout, is_stream, temp_prefix
from .signals import refuse_if_signalled, signals_held

_STAGED: set[Path] = set()  # temporary files and folders that exist now (left_behind() after an interrupt)


def left_behind() -> list[Path]:
    """Staged paths still on disk: empty unless a removal failed."""
    return sorted(p for p in _STAGED if os.path.lexists(p))


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
    with _staged(lambda: _mkstemp(folder, temp_prefix(path))) as temp:
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
            return tempfile.mkdtemp(dir=out.parent if str(out.parent) else ".", prefix=temp_prefix(out))
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
            aside = Path(tempfile.mkdtemp(dir=folder, prefix=temp_prefix(out, "old-")))
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
