"""The result store: one directory per run, ``cells.jsonl`` appended cell by cell, atomically.

Exactly one writer (the runner) appends. Each row is one ``write`` of one complete line
followed by ``fsync``, so a crash or a kill can at worst leave a partial last line, which
readers skip and the next append repairs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

CELLS = "cells.jsonl"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every complete row of a ``cells.jsonl`` (a torn last line is skipped)."""
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


class ResultStore:
    """The run directory: cells, leaderboard, suite copy, environment, artifacts."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cells_path = self.directory / CELLS
        self.artifacts = self.directory / "artifacts"
        self._repair_tail()

    def _repair_tail(self) -> None:
        """Drop a torn last line left by a killed writer, so the next append starts clean."""
        if not self.cells_path.exists():
            return
        data = self.cells_path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            write_atomic(self.cells_path, keep.decode("utf-8"))

    def rows(self) -> list[dict[str, Any]]:
        return read_rows(self.cells_path)

    def finished(self) -> dict[str, dict[str, Any]]:
        """Rows of cells that finished successfully, by cell id (the latest wins)."""
        return {row["cell_id"]: row for row in self.rows() if row.get("status") == "ok"}

    def append(self, row: dict[str, Any]) -> None:
        line = (json.dumps(row, sort_keys=True, default=str) + "\n").encode("utf-8")
        fd = os.open(self.cells_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            while written < len(line):  # os.write may write less than asked for large lines
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, name: str, text: str) -> Path:
        path = self.directory / name
        write_atomic(path, text)
        return path
