"""The run lock: one ``bench run`` at a time per output directory.

``with RunLock(directory):`` takes an exclusive ``flock`` on ``directory/.lock`` and writes in it
who holds it (pid, host, start time, command line). A second run on the same directory -- in
another process or in this one -- fails at once with a :class:`~benchmark.errors.BenchError`
naming the holder.

Stale locks are taken over without anyone's help:

- the kernel releases a ``flock`` when its holder dies, however it dies, so the lock of a
  crashed or killed run is simply free again (its record is left in the file; it is kept in
  :attr:`RunLock.stale` and overwritten);
- a worker process forked by a run inherits the lock; if the run died and an orphaned worker
  still holds it, the record names a process of this host that no longer exists: the lock file
  is then replaced by a new one (the check that the file locked is still the one at the path
  keeps two runners doing this at once from both winning).

A directory this process cannot write (read-only results, every cell already finished) is
locked through an existing lock file opened for reading; without one there is nothing to lock
and :attr:`RunLock.locked` is ``False`` -- writing results there fails later, with its own message.

The lock file is opened without following links: a ``.lock`` that is a symbolic link (or a
directory, a FIFO...) is refused with one line, and its target is never truncated.

The lock is advisory and local: ``flock`` on a network file system may not exclude a run on
another machine.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Self

from benchmark.errors import BenchError, clip
from benchmark.files import open_regular

LOCK_FILE = ".lock"
_ATTEMPTS = 5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


def _read_record(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 65536, 0)
        record = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (OSError, ValueError, RecursionError):
        return {}
    return record if isinstance(record, dict) else {}


class RunLock:
    """Exclusive lock on a results directory, as a context manager.

    ``argv`` is recorded for whoever finds the directory locked (default ``sys.argv``).
    After entering: :attr:`locked` says whether a lock is held, :attr:`stale` is the record
    of a dead previous holder that was taken over (``None`` when there was none).
    """

    def __init__(self, directory: str | Path, *, argv: list[str] | None = None):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self.argv = list(sys.argv if argv is None else argv)
        self.locked = False
        self.stale: dict[str, Any] | None = None
        self._fd: int | None = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def record(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "host": socket.gethostname(),
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "argv": self.argv}

    def acquire(self) -> None:
        """Take the lock or raise :class:`BenchError` naming its holder."""
        if self._fd is not None:
            raise BenchError(f"{self.directory} is already locked by this run")
        self._make_directory()
        for _ in range(_ATTEMPTS):
            fd = self._open()
            if fd is None:  # read-only directory without a lock file: nothing to lock
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_record(fd)
                if self._orphaned(holder) and self._same_file(fd):
                    self._replace(fd)
                    continue
                os.close(fd)
                raise BenchError(self._in_use(holder)) from None
            except OSError as exc:  # e.g. a file system without flock
                os.close(fd)
                raise BenchError(f"cannot lock the results directory: {(exc.strerror or str(exc)).lower()}",
                                 str(self.directory)) from None
            if not self._same_file(fd):  # replaced meanwhile by a runner taking over an orphan
                os.close(fd)
                continue
            previous = _read_record(fd)
            if previous.get("pid"):  # a released lock has no record: its holder died
                self.stale = previous
            self._fd, self.locked = fd, True
            self._write_record(fd)
            return
        raise BenchError(f"{self.directory} is in use: its lock keeps changing hands; try again")

    def release(self) -> None:
        """Remove the lock file and release the lock.

        Removing first means a worker process that inherited the descriptor and outlives the
        run holds a lock on a file nobody opens any more; a runner that opened the old file
        just before finds, once it has locked it, that it is no longer the one at the path,
        and starts over.
        """
        fd, self._fd, self.locked = self._fd, None, False
        if fd is None:
            return
        try:
            if self._same_file(fd):
                os.unlink(self.path)
        except OSError:
            try:
                os.ftruncate(fd, 0)  # cannot remove it: at least no stale record
            except OSError:
                pass
        finally:
            os.close(fd)  # closing releases the flock

    # -- helpers

    def _make_directory(self) -> None:
        if self.directory.exists() and not self.directory.is_dir():
            raise BenchError("is a file, not a results directory; choose another --out", str(self.directory))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "a part of the path is a file" if isinstance(exc, FileExistsError) else \
                (exc.strerror or str(exc)).lower()
            raise BenchError(f"cannot create the results directory: {reason}", str(self.directory)) from None

    def _open(self) -> int | None:
        """The lock file, opened without following a link (a symbolic link or anything but a
        regular file there is refused: truncating it would clobber what it points to)."""
        try:
            return open_regular(self.path, os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise BenchError(f"cannot open the lock file: {(exc.strerror or str(exc)).lower()}",
                                 str(self.path)) from None
        try:  # read-only: flock works on a descriptor opened for reading
            return open_regular(self.path, os.O_RDONLY)
        except OSError:
            return None

    def _same_file(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.lstat(self.path), os.fstat(fd))
        except OSError:
            return False

    def _orphaned(self, holder: dict[str, Any]) -> bool:
        """Held, but by a descriptor that outlived the run that recorded it on this host."""
        pid = holder.get("pid")
        return (isinstance(pid, int) and holder.get("host") == socket.gethostname()
                and pid != os.getpid() and not _alive(pid))

    def _replace(self, fd: int) -> None:
        self.stale = _read_record(fd)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _write_record(self, fd: int) -> None:
        data = (json.dumps(self.record()) + "\n").encode("utf-8")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
        except OSError:  # a read-only lock file: the lock holds without its record
            pass

    def _in_use(self, holder: dict[str, Any]) -> str:
        if not holder.get("pid"):
            return f"{self.directory} is in use by another bench run; wait for it or use another --out"
        return (f"{self.directory} is in use by bench run (pid {clip(holder.get('pid'), 20)} on host "
                f"{clip(holder.get('host', '?'), 80)}, started {clip(holder.get('started_at', '?'), 40)}); "
                f"wait for it or use another --out")
