"""The worker process: runs the cells its parent sends over a socket, one at a time.

Started by :class:`benchmark.engine.LocalExecutor` as ``python -m benchmark.worker FD CAPTURE
THREADS [--verbose]`` — a fresh interpreter (like multiprocessing's *spawn*: nothing forked from
a parent that may hold threads or locks), with the thread variables of BLAS/OpenMP/numba/
TensorFlow and ``TF_CPP_MIN_LOG_LEVEL=3`` already in its environment, so they hold before numpy
or TensorFlow load. A plain ``subprocess`` rather than ``multiprocessing.Process`` because a Dask
worker is a daemonic process, which multiprocessing forbids to have children, and because it
does not re-import the parent's ``__main__``.

Protocol (pickled tuples over the socket):

* parent → worker: ``("setup", sys_path)`` once, then ``("cell", cell_id, cell, artifacts_root,
  run_id)``
  per cell, ``("stop",)`` at the end;
* worker → parent: ``("ready", pid)`` once imports are done; ``("progress", cell_id, done, total,
  unit)`` from :func:`benchmark.api.report_progress` (at most 4 a second); ``("row", cell_id,
  row)`` when the cell is done.

Unless ``--verbose``, the parent points the worker's stdout and stderr (file descriptors 1 and
2, so C libraries too) at the file ``CAPTURE``; the worker empties it before each cell and puts
what the cell printed into ``row["log"]``. After a crash the parent reads it (with the
faulthandler traceback) into the failed row.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

LOG_LIMIT = 4096  # bytes of a cell's output kept in its row


def clip_log(text: str, limit: int = LOG_LIMIT) -> str:
    """The first quarter and the last three quarters of ``text`` if it is longer than ``limit``."""
    if len(text) <= limit:
        return text
    head, tail = limit // 4, limit - limit // 4
    return f"{text[:head]}\n[... {len(text) - limit} characters left out ...]\n{text[-tail:]}"


def read_capture(path: str) -> str:
    try:
        with open(path, "rb") as captured:
            return captured.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _watch_parent() -> None:
    """Exit when the parent dies (also while a cell runs), so no orphan keeps computing."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, name="bench-parent-watch", daemon=True).start()


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:  # C stdio buffers (printf from extension modules)
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except Exception:
        pass


def _quiet_loggers() -> None:
    """absl (TensorFlow's Python logging) down to errors, if it is loaded."""
    absl = sys.modules.get("absl.logging")
    if absl is not None:
        try:
            absl.set_verbosity(absl.ERROR)  # type: ignore[attr-defined]
        except Exception:
            pass


class Worker:
    def __init__(self, conn: Any, capture: str | None, threads: int):
        self.conn, self.capture, self.threads = conn, capture, threads
        self.cell_id = ""
        self._last_progress = 0.0
        self._lock = threading.Lock()

    def progress(self, done: int, total: int | None = None, unit: str = "epoch") -> None:
        now = time.monotonic()
        if now - self._last_progress < 0.25 and done != total:
            return
        self._last_progress = now
        with self._lock:
            self.conn.send(("progress", self.cell_id, int(done), total, unit))

    def run(self, cell_id: str, cell: dict[str, Any], artifacts_root: str | None, run_id: str
            ) -> dict[str, Any]:
        from threadpoolctl import threadpool_limits

        from benchmark import api
        from benchmark.execute import run_cell  # seeds the global generators itself, per cell

        self.cell_id, self._last_progress = cell_id, 0.0
        if self.capture:
            _flush_all()
            os.ftruncate(1, 0)  # fds 1 and 2 share one O_APPEND file: writes restart at 0
        threadpool_limits(self.threads)  # libraries loaded by earlier cells ignore the env
        _quiet_loggers()
        api._progress_sink = self.progress
        try:
            row = run_cell(cell, artifacts_root, run_id)
        finally:
            api._progress_sink = None
            _quiet_loggers()
        if self.capture:
            _flush_all()
            row["log"] = clip_log(read_capture(self.capture))
        return row


def main(argv: list[str]) -> int:
    from multiprocessing.connection import Connection

    fd, capture, threads = int(argv[0]), argv[1], int(argv[2])
    verbose = "--verbose" in argv[3:]
    import faulthandler

    faulthandler.enable(all_threads=False)  # a segfault leaves its traceback in the cell's log
    _watch_parent()
    conn = Connection(fd)
    message = conn.recv()
    if message[0] == "setup":
        sys.path[:] = [p for p in message[1]]
    import benchmark.execute  # noqa: F401  (the heavy imports, before "ready")
    import threadpoolctl  # noqa: F401

    worker = Worker(conn, None if verbose else capture, threads)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return 0
        if message[0] == "stop":
            return 0
        _, cell_id, cell, artifacts_root, run_id = message
        row = worker.run(cell_id, cell, artifacts_root, run_id)
        with worker._lock:
            conn.send(("row", worker.cell_id, row))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
