"""Files bench writes and reads back: regular files only, never through a link, replaced atomically.

A results directory may be shared or unpacked from elsewhere, and a ``cells.jsonl`` linked to
someone's file used to get that file truncated. Every file bench writes or reads back from a
results directory goes through here:

* :func:`open_regular` opens with ``O_NOFOLLOW`` and refuses anything but a regular file (a
  link, a directory, a FIFO -- opened without blocking --, a device) with one line;
  :func:`open_read` is it for reading;
* :func:`write_atomic` replaces a file through a temporary file and a rename (readers never see
  half a file), refusing a link or a non-regular file at the path (:func:`check_writable_path`);
* :func:`real_directory` / :func:`inside` reach a directory of the results without any link;
* :func:`artifact_path` / :func:`read_artifact` give a reader (the report) a row's artifact only
  from inside its run directory, never through a link;
* :func:`read_stored_json` (and :func:`read_stored`, which :func:`benchmark.yamlsafe.read_stored_yaml`
  uses) read a file bench stored itself in bounded memory and never raise: a damaged or hostile
  copy is ``(None, warning)``.

Every file follows the umask (``0o666 & ~umask``), as files written by ``open`` do. Every
failure to write is a :class:`~benchmark.errors.BenchError` with the reason and what to do.
This module depends on nothing of bench but its errors: the store, the suite reader, the lock,
the report and the worker all use it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from benchmark.errors import BenchError, clip, excerpt

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


# --- Writing and opening ---------------------------------------------------------------------------------


def file_mode() -> int:
    """The mode a new file gets from ``open``: ``0o666`` less the process umask."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it (and put it back at once)
    os.umask(mask)
    return 0o666 & ~mask


def write_error(exc: OSError, path: Path | str, what: str = "cannot write") -> BenchError:
    """One line for a failed write: the reason, and what to do about it."""
    reason = (exc.strerror or str(exc)).lower()
    hint = {errno.ENOSPC: "; free some space and rerun (stored cells are kept)",
            errno.EDQUOT: "; free some space and rerun (stored cells are kept)",
            errno.EROFS: "; choose another --out",
            errno.EACCES: "; choose another --out or fix the permissions",
            errno.EPERM: "; choose another --out or fix the permissions",
            errno.ENOTDIR: "; a part of the path is a file, not a directory"}.get(exc.errno or 0, "")
    return BenchError(f"{what}: {reason}{hint}", str(path))


def kind_of(mode: int) -> str:
    return ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a file" if stat.S_ISREG(mode) else "a special file")


def link_error(path: Path | str, where: str | None = None) -> BenchError:
    """One line refusing a symbolic link where bench writes (or reads back) a file."""
    return BenchError("is a symbolic link; bench never writes through a link (its target is left "
                      "alone): remove the link or choose another path", where or str(path))


def not_regular_error(path: Path | str, mode: int, where: str | None = None) -> BenchError:
    return BenchError(f"is {kind_of(mode)}, not a regular file; bench writes only regular files here: "
                      f"remove it or choose another path", where or str(path))


def check_writable_path(path: Path | str, where: str | None = None) -> None:
    """Refuse ``path`` if it is a symbolic link or exists as anything but a regular file.

    Used before a file is replaced (:func:`write_atomic`): ``os.replace`` never follows a link
    at the destination, but silently turning someone's link into a file is no better than
    writing through it. A missing file is fine.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise write_error(exc, where or path) from None
    if stat.S_ISLNK(info.st_mode):
        raise link_error(path, where)
    if not stat.S_ISREG(info.st_mode):
        raise not_regular_error(path, info.st_mode, where)


def open_regular(path: Path | str, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that does not follow a symbolic link at ``path`` and refuses anything but a
    regular file (a directory, a FIFO -- opened without blocking --, a device).

    A link or a non-regular file is a :class:`BenchError`; any other failure (a missing file,
    no permission) is the ``OSError`` itself, for the caller to word.
    """
    try:
        fd = os.open(path, flags | _NOFOLLOW | _NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise link_error(path) from None
        if exc.errno in (errno.EISDIR, errno.ENXIO):  # a directory; a FIFO without a reader
            try:
                found = os.lstat(path).st_mode
            except OSError:
                found = None
            if found is not None:
                raise not_regular_error(path, found) from None
        raise
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise not_regular_error(path, info.st_mode)
    return fd


def write_atomic(path: Path | str, text: str | bytes, *, where: str | None = None) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename: readers never see half a file.

    ``path`` must be a regular file or not exist: a symbolic link or a directory there is
    refused with one line (:func:`check_writable_path`; ``where`` names it in the message, e.g.
    ``-o report.html``), so what a link points to is never replaced. The file gets the mode
    ``open`` would give it (the umask applies). A failure is a :class:`BenchError` and leaves
    ``path`` as it was.
    """
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        check_writable_path(path, where)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
        try:
            write_all(fd, data)
            os.fchmod(fd, file_mode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # replaces a link, if one appeared meanwhile, never its target
        tmp = None
    except OSError as exc:
        raise write_error(exc, where or path) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:  # os.write may write less than asked for
        view = view[os.write(fd, view):]


def fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def real_directory(base: Path | str, relative: str) -> Path:
    """``base/relative`` as a directory reached without any link: each component of
    ``relative`` is created if missing and refused with one line if it is a symbolic link or not
    a directory; ``relative`` must be relative and without ``..``. ``base`` itself is trusted
    (the results directory the user named).

    For writers of subdirectories of a results directory: the worker's
    ``real_directory(run_dir, f"artifacts/{cell_id}")`` and ``real_directory(run_dir, "units")``.
    """
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts or "\0" in relative:
        raise BenchError(f"not a path inside the results directory: {excerpt(relative)}", str(base))
    here = Path(base)
    try:
        here.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, here, "cannot create the results directory") from None
    for part in parts:
        here = here / part
        try:
            info = os.lstat(here)
        except FileNotFoundError:
            try:
                here.mkdir()
            except FileExistsError:
                pass  # made meanwhile: checked below
            except OSError as exc:
                raise write_error(exc, here) from None
            try:
                info = os.lstat(here)
            except OSError as exc:
                raise write_error(exc, here) from None
        except OSError as exc:
            raise write_error(exc, here) from None
        if stat.S_ISLNK(info.st_mode):
            raise link_error(here)
        if not stat.S_ISDIR(info.st_mode):
            raise BenchError(f"is {kind_of(info.st_mode)}, expected a directory of the results; "
                             f"remove it or choose another --out", str(here))
    return here


def inside(base: Path | str, name: str) -> Path:
    """``base/name`` for a file bench writes: the directories on the way are
    :func:`real_directory`; the file itself is checked when it is written
    (:func:`write_atomic`, :func:`open_regular`)."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts or "\0" in name:
        raise BenchError(f"not a path inside the results directory: {excerpt(name)}", str(base))
    return real_directory(base, "/".join(parts[:-1])) / parts[-1]


# --- Artifacts ------------------------------------------------------------------------------

MAX_ARTIFACT_BYTES = 10_000_000
"""Size of an artifact :func:`read_artifact` reads (a report embeds it: a larger one is skipped)."""


def _artifact_parts(relative: Any) -> tuple[str, ...] | None:
    if not isinstance(relative, str) or not relative or "\0" in relative or "\\" in relative:
        return None
    path = PurePosixPath(relative)
    parts = tuple(p for p in path.parts if p != ".")
    if path.is_absolute() or not parts or ".." in parts:
        return None
    return parts


def artifact_path(run_dir: str | Path, relative: Any) -> Path | None:
    """The file a row's ``artifacts`` entry names, or ``None`` when it must not be used.

    An entry is a path relative to the run directory (``artifacts/CELL/loss.png``). ``None``
    when it is not a non-empty string, is absolute, has a ``..`` component, when any directory
    on the way or the file itself is a symbolic link, or when the file is missing or not a
    regular file: a row (hand-edited, or written by a model that misbehaved) cannot make a
    report embed ``/etc/passwd`` or ``../../secret.png``. The run directory itself may be a
    link (the user names it). :func:`read_artifact` reads the file with the same rules and no
    window between check and read.
    """
    parts = _artifact_parts(relative)
    if parts is None:
        return None
    here = Path(run_dir)
    for index, part in enumerate(parts):
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except (OSError, ValueError):
            return None
        last = index == len(parts) - 1
        if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) if last else stat.S_ISDIR(mode)):
            return None
    return here


def read_artifact(run_dir: str | Path, relative: Any, max_bytes: int = MAX_ARTIFACT_BYTES) -> bytes | None:
    """The bytes of the artifact ``relative`` of ``run_dir`` under :func:`artifact_path`'s rules,
    or ``None`` (also when it is larger than ``max_bytes``). Each directory is opened relative
    to the previous one without following links, so a link swapped in after a check is not
    followed either."""
    parts = _artifact_parts(relative)
    if parts is None:
        return None
    if os.open not in os.supports_dir_fd:  # pragma: no cover -- every POSIX system bench runs on
        path = artifact_path(run_dir, relative)
        if path is None:
            return None
        try:
            with os.fdopen(open_regular(path, os.O_RDONLY), "rb") as handle:
                data = handle.read(max_bytes + 1)
        except (OSError, BenchError):
            return None
        return data if len(data) <= max_bytes else None
    directory = getattr(os, "O_DIRECTORY", 0)
    fds: list[int] = []
    try:
        fds.append(os.open(run_dir, os.O_RDONLY | directory | os.O_CLOEXEC))
        for part in parts[:-1]:
            fds.append(os.open(part, os.O_RDONLY | directory | _NOFOLLOW | os.O_CLOEXEC, dir_fd=fds[-1]))
        fds.append(os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK | os.O_CLOEXEC, dir_fd=fds[-1]))
        info = os.fstat(fds[-1])
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        with os.fdopen(fds.pop(), "rb") as handle:
            data = handle.read(max_bytes + 1)
        return data if len(data) <= max_bytes else None
    except (OSError, ValueError):
        return None
    finally:
        for fd in fds:
            os.close(fd)

def open_read(path: Path) -> Any:
    """``path`` opened for reading in binary, not through a link (see :func:`open_regular`)."""
    return os.fdopen(open_regular(path, os.O_RDONLY), "rb")


# --- Stored records: read back without ever raising ------------------------------------------

MAX_STORED_JSON_BYTES = 8_000_000
"""Size limit of a stored JSON record (``environment.json``): generous, a run's record is ~5 kB."""




def read_stored_json(path: str | Path, *, max_bytes: int = MAX_STORED_JSON_BYTES) -> tuple[Any, str | None]:
    """The data of a JSON file bench stored itself (``environment.json``,
    ``environments/RUN.json``) as ``(data, None)``, or ``(None, warning)``; never an exception.

    Refused with a warning, as :func:`benchmark.yamlsafe.read_stored_yaml` does: a link, a directory or other
    non-regular file, a file over ``max_bytes``, text that is not UTF-8, text that is not JSON
    (nesting too deep for the parser and numbers too long to convert included). A missing file
    is ``(None, None)``.
    """
    return read_stored(path, max_bytes, lambda data: _parse_json(data, str(path)))


def _parse_json(data: bytes, name: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BenchError(f"not UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start}",
                         f"{name}:{line}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"not JSON: {one_line(exc.msg)}", f"{name}:{exc.lineno}") from None
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else one_line(str(exc))
        raise BenchError(f"not JSON bench can read: {reason}", name) from None


_EXHAUSTED = {MemoryError: "out of memory", RecursionError: "nested too deeply"}
"""How a warning words a parser running out of a resource (its message says nothing)."""


def read_stored(path: str | Path, max_bytes: int, parse: Callable[[bytes], Any]) -> tuple[Any, str | None]:
    """``(parse(bytes of the file), None)``, ``(None, None)`` when it is missing, else
    ``(None, warning)``: at most ``max_bytes`` of a regular file, not through a link."""
    try:
        data = _read_stored_bytes(Path(path), max_bytes)
        return (None, None) if data is None else (parse(data), None)
    except BenchError as exc:
        return None, f"{exc}; the stored copy is ignored"
    except Exception as exc:  # noqa: BLE001 -- a reader of stored files must not crash on them
        reason = next((text for kind, text in _EXHAUSTED.items() if isinstance(exc, kind)), None)
        if reason is not None:
            return None, f"{path}: cannot read the stored copy ({reason}); it is ignored"
        return None, f"{path}: cannot read the stored copy: {type(exc).__name__}: {one_line(str(exc))}"


def _read_stored_bytes(path: Path, max_bytes: int) -> bytes | None:
    """At most ``max_bytes`` of a stored file, not through a link; ``None`` when it is missing."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read: {os_reason(exc)}", str(path)) from None
    with os.fdopen(fd, "rb") as handle:
        return read_bounded(handle, os.fstat(fd).st_size, max_bytes, str(path))


def read_bounded(handle: BinaryIO, size: int, max_bytes: int, where: str, noun: str = "") -> bytes:
    """At most ``max_bytes`` from ``handle`` (a file of ``size`` bytes when it was looked at;
    it may have grown since); a file over the limit, or failing to read, is a BenchError whose
    message names ``noun`` (``suite file is too large``; ``too large`` without one)."""
    too_large = f"{noun} is too large" if noun else "too large"
    if size > max_bytes:
        raise BenchError(f"{too_large}: {size:,} bytes, the limit is {max_bytes:,}", where)
    try:
        data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise BenchError(f"cannot read{' ' + noun if noun else ''}: {os_reason(exc)}", where) from None
    if len(data) > max_bytes:
        raise BenchError(f"{too_large}: more than {max_bytes:,} bytes", where)
    return data


def os_reason(exc: BaseException) -> str:
    """Why an operating-system call failed, in lower case and one line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return one_line(str(exc))


def one_line(text: str) -> str:
    """A library's message as one bounded line (its own quotes of the input included)."""
    return clip(" ".join(str(text)[:1000].split()), 300)
