"""The result store: one directory per run, ``cells.jsonl`` appended cell by cell, atomically.

Exactly one writer (the runner, holding :class:`benchmark.lock.RunLock`) appends. Each row is
one ``write`` of one complete line followed by ``fsync``, so a crash or a kill can at worst
leave a partial last line, which readers skip and :meth:`ResultStore.repair` truncates.

A ``cells.jsonl`` removed, replaced or cut while the run goes on (a plugin deleting it, a cleanup
script) is noticed at the next append and at the end of the run: the rows this run had stored
are written again and :attr:`ResultStore.losses` says so (the runner prints it); rows of earlier
runs that were in it cannot be brought back.

A damaged store is repaired, not fatal: lines that are not UTF-8, not JSON, not a JSON object,
or not a cell row (``cell_id`` a non-empty string, ``status`` a string, ``metrics`` a mapping of
names to numbers) are skipped by every reader and moved by :meth:`ResultStore.repair` to
``cells.rejected.jsonl``, their bytes unchanged. Nothing is ever deleted:
:meth:`ResultStore.archive_cells` moves the stored cells aside for ``--fresh``.

No file is written through a symbolic link: a results directory may be shared or unpacked
from elsewhere, and a ``cells.jsonl`` linked to someone's file used to get that file truncated.
Every file is opened, replaced and reached through :mod:`benchmark.files` (``O_NOFOLLOW``,
regular files only, atomic replacement, directories reached without links); a link is refused
with one line and its target is left alone.

Every file follows the umask (``0o666 & ~umask``), as files written by ``open`` do. Every
failure to write -- a results path that is a file, a read-only directory, a full disk -- is a
:class:`~benchmark.errors.BenchError`; opening a store and reading its rows needs no write
access.

The directory::

    cells.jsonl              one JSON object per finished cell
    cells.rejected.jsonl     damaged lines moved out of cells.jsonl, bytes unchanged
    leaderboard.csv/.md      written by the runner through ResultStore.write
    suite.yaml               the suite as run
    environment.json         the environment of the latest run
    environments/RUN_ID.json the environment of every run (reused cells keep theirs)
    artifacts/CELL_ID/       files plugins write for a cell
    units/CELL_ID.npz        per-user / per-example parts of the metrics (paired tests)
    archive/UTC-TIMESTAMP/   what --fresh moved aside
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.errors import BenchError, excerpt
from benchmark.files import (file_mode, fsync_directory, inside, kind_of, link_error, open_read, open_regular,
                             read_stored_json, real_directory, write_all, write_error)
from benchmark.files import artifact_path as artifact_path  # re-exported: report.py, report_sections.py
from benchmark.files import read_artifact as read_artifact  # re-exported: report.py, report_sections.py
from benchmark.files import write_atomic as write_atomic  # re-exported: report.py
from benchmark.record import CellResult, check

__all__ = ["ARCHIVE", "ARCHIVED", "CELLS", "DIRECTORIES", "ENVIRONMENT", "ENVIRONMENTS", "FILES", "REJECTED",
           "ResultStore", "artifact_path", "check_row", "numbered_lines", "parse_line", "read_artifact",
           "read_rows", "write_atomic"]
"""``write_atomic``, ``artifact_path`` and ``read_artifact`` live in :mod:`benchmark.files`; they are
re-exported here for the readers that still import them from the store (report.py, and on its way
report_sections.py)."""

CELLS = "cells.jsonl"
REJECTED = "cells.rejected.jsonl"
ENVIRONMENT = "environment.json"
ENVIRONMENTS = "environments"
ARCHIVE = "archive"
ARCHIVED = (CELLS, REJECTED, "leaderboard.csv", "leaderboard.md", "suite.yaml", "artifacts", "units")
"""What :meth:`ResultStore.archive_cells` moves aside (``environments/`` stays: it is history)."""
FILES = (CELLS, REJECTED, "leaderboard.csv", "leaderboard.md", "suite.yaml", ENVIRONMENT)
"""Files bench writes in a results directory (besides ``.lock``, checked by the lock itself)."""
DIRECTORIES = (ENVIRONMENTS, "artifacts", "units", ARCHIVE)
"""Directories bench writes in; none may be a link (:meth:`ResultStore.check_entries`)."""

_CHUNK = 1 << 16
_SHOWN_LINES = 10


# --- Rows --------------------------------------------------------------------------------


def check_row(row: Any) -> str | None:
    """Why ``row`` is not a cell row (``None`` when it is one)."""
    if not isinstance(row, dict):
        return f"not a JSON object but {type(row).__name__}"
    if not isinstance(row.get("cell_id"), str) or not row["cell_id"]:
        return "no cell_id"
    if not isinstance(row.get("status"), str):
        return "status is not a string"
    metrics = row.get("metrics", {})
    if not isinstance(metrics, dict):
        return "metrics is not a mapping"
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"metric {excerpt(name, 40)} is not a number"
    return None


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """``(row, None)`` for a good line of ``cells.jsonl`` (with its newline), else ``(None, why)``."""
    if not raw.endswith(b"\n"):
        return None, "torn (no newline)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    try:
        row = json.loads(text)
    except (ValueError, RecursionError):
        return None, "not JSON"
    why = check_row(row)
    return (row, None) if why is None else (None, why)


def numbered_lines(handle: Any) -> Iterator[tuple[int, bytes]]:
    yield from enumerate(handle, 1)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every good row of a ``cells.jsonl``, in order; damaged lines and a torn last line are
    skipped (:meth:`ResultStore.repair` moves them out). A missing file has no rows."""
    path = Path(path)
    try:
        with open_read(path) as handle:
            rows = []
            for _, raw in numbered_lines(handle):
                row, _why = parse_line(raw)
                if row is not None:
                    rows.append(row)
            return rows
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise write_error(exc, path, "cannot read the stored cells") from None




def _describe_lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_SHOWN_LINES])
    more = f" and {len(numbers) - _SHOWN_LINES} more" if len(numbers) > _SHOWN_LINES else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


# --- The store -----------------------------------------------------------------------------


class ResultStore:
    """The run directory: cells, leaderboard, suite copy, environments, artifacts.

    Opening a store creates the directory if needed but writes nothing in it, so the rows of a
    read-only directory can be read; writing there is what fails, with a :class:`BenchError`.
    The writer calls :meth:`repair` once, with the run lock held, before it reads or appends.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.cells_path = self.directory / CELLS
        self.rejected_path = self.directory / REJECTED
        self.artifacts = self.directory / "artifacts"
        self.warnings: list[str] = []
        self._tail_checked = False
        self._reasons = ""
        self.losses: list[str] = []  # cells.jsonl found removed, replaced or cut during the run (said by the runner)
        self._stored: list[bytes] = []  # the rows this store appended, to restore a removed cells.jsonl
        self._identity: tuple[int, int, int] | None = None  # (device, inode, size) after the last append
        if self.directory.exists() and not self.directory.is_dir():
            raise BenchError("is a file, not a results directory; choose another --out", str(self.directory))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a part of the path is a file
            raise BenchError("cannot create the results directory: a part of the path is a file",
                             str(self.directory)) from None
        except OSError as exc:
            raise write_error(exc, self.directory, "cannot create the results directory") from None

    @property
    def writable(self) -> bool:
        """Whether this process may write in the directory (a read-only store can still be read)."""
        return os.access(self.directory, os.W_OK)

    # -- reading

    def rows(self) -> list[dict[str, Any]]:
        """Every good stored row, in the order written."""
        return read_rows(self.cells_path)

    def results(self) -> list[CellResult]:
        """Every stored row a reader accepts (:func:`benchmark.record.check`: not a hand-edited
        ``fit_seconds``, not a metric that is not a number), as a typed result in the current
        format, in the order written."""
        return [CellResult.from_stored(row) for row in self.rows() if check(row) is None]

    def finished(self) -> dict[str, dict[str, Any]]:
        """Rows of cells that finished successfully, by cell id (the latest wins)."""
        return {row["cell_id"]: row for row in self.rows() if row.get("status") == "ok"}

    # -- repairing

    def repair(self) -> str | None:
        """Make ``cells.jsonl`` hold only good rows; return one warning line, or ``None``.

        A torn last line is cut off in place (``truncate``: no copy of the file is needed);
        other damaged lines are appended to ``cells.rejected.jsonl`` byte for byte, then
        ``cells.jsonl`` is rewritten without them (atomically). The warning names the lines
        and is also kept in :attr:`warnings`. In a directory this process cannot write, the
        damaged lines stay where they are (readers skip them) and the warning says so.
        """
        self.check_entries()
        self._identity = None  # rewritten or cut on purpose below: not a loss
        parts: list[str] = []
        try:
            torn = self._repair_tail()
        except OSError as exc:
            torn = None
            parts.append(f"a torn last line in {CELLS} is skipped; it cannot be cut off: "
                         f"{(exc.strerror or str(exc)).lower()}")
        if torn is not None:
            parts.append(f"cut a torn last line (line {torn}) off {CELLS}; its bytes are in {REJECTED}")
        bad = self._damaged_lines()
        if bad:
            what = f"{len(bad)} damaged line{'s' if len(bad) > 1 else ''} ({_describe_lines(bad)}: " \
                   f"{self._reasons}) in {CELLS}"
            try:
                self._move_out(set(bad))
                parts.append(f"moved {what} to {REJECTED}")
            except OSError as exc:
                parts.append(f"skipped {what}; they cannot be moved: {(exc.strerror or str(exc)).lower()}")
        if not parts:
            return None
        warning = f"{self.cells_path}: " + "; ".join(parts)
        self.warnings.append(warning)
        return warning

    def _repair_tail(self) -> int | None:
        """Cut a torn last line off in place; its line number, or ``None`` when there was none."""
        self._tail_checked = True
        try:
            fd = open_regular(self.cells_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(fd).st_size
            if size == 0:
                return None
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return None
            end = size  # find the last newline, reading backwards
            keep = 0
            while end > 0:
                start = max(0, end - _CHUNK)
                handle.seek(start)
                found = handle.read(end - start).rfind(b"\n")
                if found >= 0:
                    keep = start + found + 1
                    break
                end = start
            handle.seek(0)
            line = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(_CHUNK), b"")) + 1
            handle.seek(keep)  # keep the torn bytes, then cut them off
            self._append_rejected(iter(lambda: handle.read(_CHUNK), b""), b"\n")
            writer = open_regular(self.cells_path, os.O_WRONLY)  # the file itself, never a link's target
            try:
                if os.path.samestat(os.fstat(writer), os.fstat(fd)):
                    os.ftruncate(writer, keep)
            finally:
                os.close(writer)
        return line

    def _damaged_lines(self) -> list[int]:
        bad: list[int] = []
        reasons: dict[str, int] = {}
        try:
            with open_read(self.cells_path) as handle:
                for number, raw in numbered_lines(handle):
                    _row, why = parse_line(raw)
                    if why is not None:
                        bad.append(number)
                        reasons[why] = reasons.get(why, 0) + 1
        except FileNotFoundError:
            pass
        self._reasons = ", ".join(why if n == 1 else f"{why} ({n})" for why, n in reasons.items())
        return bad

    def _append_rejected(self, chunks: Any, end: bytes = b"") -> None:
        fd = open_regular(self.rejected_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            for chunk in chunks:
                write_all(fd, chunk)
            write_all(fd, end)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _move_out(self, bad: set[int]) -> None:
        """Rejected lines first (a crash then leaves a copy, never a loss), then the rewrite."""
        with open_read(self.cells_path) as handle:
            self._append_rejected(raw if raw.endswith(b"\n") else raw + b"\n"
                                  for number, raw in numbered_lines(handle) if number in bad)
        fd, tmp_name = tempfile.mkstemp(dir=self.directory, prefix=f".{CELLS}.", suffix=".tmp")
        tmp: str | None = tmp_name
        try:
            with os.fdopen(fd, "wb") as out, open_read(self.cells_path) as handle:
                for number, raw in numbered_lines(handle):
                    if number not in bad:
                        out.write(raw)
                out.flush()
                os.fchmod(out.fileno(), file_mode())
                os.fsync(out.fileno())
            os.replace(tmp_name, self.cells_path)
            tmp = None
            fsync_directory(self.directory)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    # -- writing

    def append(self, row: CellResult | Mapping[str, Any]) -> None:
        """Store one result (or row): one ``write`` of one line, then ``fsync``. On a full disk
        the partial line is cut off again and a :class:`BenchError` says so; stored rows are kept."""
        self.append_rows([row])

    def append_rows(self, rows: Sequence[CellResult | Mapping[str, Any]]) -> None:
        """Store results (the cells finished in one pass of the engine) with one ``write`` and
        one ``fsync``: a kill leaves at most a torn last line, which readers skip and
        :meth:`repair` cuts; a failed write is cut back to the old end, so no row is ever half
        stored. A :class:`~benchmark.record.CellResult` is stored as its
        :meth:`~benchmark.record.CellResult.to_row`, a mapping as it is."""
        lines = [(json.dumps(row.to_row() if isinstance(row, CellResult) else row, sort_keys=True,
                             default=str) + "\n").encode("utf-8") for row in rows]
        if lines:
            self._write(lines)

    def _write(self, lines: list[bytes]) -> None:
        """Append ``lines`` (and the rows this store had appended, if ``cells.jsonl`` lost them)."""
        try:
            if not self._tail_checked:
                self._repair_tail()  # never append after a torn line
            fd = open_regular(self.cells_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            raise write_error(exc, self.cells_path, "cannot store a cell") from None
        try:
            info = os.fstat(fd)
            start = info.st_size
            restored = self._lost(info)
            if restored and start and not self._ends_a_line(start):
                restored.insert(0, b"\n")  # a cut line stays a line of its own (readers skip it)
            data = b"".join(restored + lines)
            try:
                write_all(fd, data)
                os.fsync(fd)
            except OSError as exc:
                try:
                    os.ftruncate(fd, start)  # no torn line left behind
                except OSError:
                    pass
                raise write_error(exc, self.cells_path, "cannot store a cell") from None
            self._stored += lines
            self._identity = (info.st_dev, info.st_ino, start + len(data))
        finally:
            os.close(fd)

    def _lost(self, info: os.stat_result) -> list[bytes]:
        """The rows this store appended that ``cells.jsonl`` (opened: ``info``) no longer holds
        -- it was removed, replaced or cut while the run went on (a plugin, a cleanup script) --
        to be written again, with a warning in :attr:`warnings`; ``[]`` when it is intact."""
        if self._identity is None:
            return []
        device, inode, size = self._identity
        if (info.st_dev, info.st_ino) == (device, inode) and info.st_size >= size:
            return []
        how = "cut short" if (info.st_dev, info.st_ino) == (device, inode) else "removed or replaced"
        self.losses.append(f"{self.cells_path} was {how} while the run went on (a plugin or another "
                           f"program); the {len(self._stored)} rows this run had stored are written "
                           "again, rows stored before this run in it are lost unless a copy exists")
        self.warnings.append(self.losses[-1])
        return list(self._stored)

    def _ends_a_line(self, size: int) -> bool:
        with open_read(self.cells_path) as handle:
            handle.seek(size - 1)
            return bool(handle.read(1) == b"\n")

    def check_intact(self) -> None:
        """At the end of a run: if ``cells.jsonl`` lost rows this store appended since its last
        append (see :meth:`_lost`), write them again now; the warning is in :attr:`warnings`."""
        if self._identity is None:
            return
        try:
            info: os.stat_result | None = os.lstat(self.cells_path)
        except FileNotFoundError:
            info = None
        device, inode, size = self._identity
        if info is None or (info.st_dev, info.st_ino) != (device, inode) or info.st_size < size:
            self._write([])  # the opened file is checked again (_lost): the rows and the warning

    def write(self, name: str, text: str | bytes) -> Path:
        """Write a file of the run directory atomically (``leaderboard.csv``, ``suite.yaml``...).

        ``name`` is relative (``environments/RUN.json``); neither the file nor a directory on the
        way to it may be a symbolic link (one line refuses it), so nothing lands outside the run
        directory or replaces what a link points to.
        """
        path = self.inside(name)
        write_atomic(path, text)
        return path

    def inside(self, name: str) -> Path:
        """``directory/name``; see :func:`inside`."""
        return inside(self.directory, name)

    def check_entries(self) -> None:
        """Refuse, with one line, a results directory whose known entries (``cells.jsonl``,
        ``leaderboard.csv``, ``artifacts/``... see :data:`FILES`, :data:`DIRECTORIES`) are
        symbolic links or of the wrong kind: a run writes there, and must not write through a
        link to elsewhere. The writer calls it (through :meth:`repair`) before writing."""
        for names, wanted in ((FILES, stat.S_ISREG), (DIRECTORIES, stat.S_ISDIR)):
            for name in names:
                path = self.directory / name
                try:
                    info = os.lstat(path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise write_error(exc, path, "cannot check") from None
                if stat.S_ISLNK(info.st_mode):
                    raise link_error(path)
                if not wanted(info.st_mode):
                    expected = "a regular file" if names is FILES else "a directory"
                    raise BenchError(f"is {kind_of(info.st_mode)}, expected {expected}; remove it or "
                                     f"choose another --out", str(path))

    def write_environment(self, run_id: str, record: dict[str, Any]) -> Path:
        """Keep the environment of run ``run_id`` in ``environments/RUN_ID.json`` and as the
        latest in ``environment.json``; return the former."""
        text = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(run_id)).lstrip(".") or "run"
        path = self.write(f"{ENVIRONMENTS}/{safe}.json", text)
        self.write(ENVIRONMENT, text)
        return path

    def environment(self, run_id: str) -> dict[str, Any] | None:
        """The stored environment of run ``run_id`` (``None`` when it is missing or unreadable)."""
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(run_id)).lstrip(".") or "run"
        record, _warning = read_stored_json(self.directory / ENVIRONMENTS / f"{safe}.json")
        return record if isinstance(record, dict) else None

    def archive_cells(self) -> Path | None:
        """Move the stored cells, leaderboards, suite copy and artifacts to
        ``archive/<UTC timestamp>/`` (for ``--fresh``); never deletes. Returns the archive
        directory, or ``None`` when there was nothing to move."""
        present = [name for name in ARCHIVED if os.path.lexists(self.directory / name)]
        if not present:
            return None
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        try:
            real_directory(self.directory, ARCHIVE)  # a real directory, not a link to elsewhere
            for n in range(1000):
                target = self.directory / ARCHIVE / (stamp if n == 0 else f"{stamp}-{n}")
                try:
                    target.mkdir()
                    break
                except FileExistsError:
                    continue
            else:
                raise BenchError("cannot archive the stored cells: too many archives this second",
                                 str(self.directory))
            for name in present:  # rename moves a link itself, never what it points to
                os.rename(self.directory / name, target / name)
            fsync_directory(self.directory)
        except OSError as exc:
            raise write_error(exc, self.directory, "cannot move the stored cells aside") from None
        self._tail_checked = False
        self._stored, self._identity = [], None  # moved aside on purpose: nothing to restore
        return target

