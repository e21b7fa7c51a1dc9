"""The worker process: runs the cells its parent sends over a socket, one at a time.

Started by :class:`benchmark.engine.LocalExecutor` in one of two ways (the same protocol and
the same :func:`serve` after that):

* **forked** from the driver (:func:`serve_forked`), when that is safe: on Linux, while the
  driver has a single thread and has loaded no library with its own thread pool (numba,
  TensorFlow, scikit-learn, ...). The child has the driver's imports already, so it is ready
  in milliseconds instead of the 0.3 s a fresh interpreter spends importing pandas, and their
  pages stay shared with the driver (``gc.freeze`` keeps its collector off them).
* **spawned** otherwise, or with ``BENCH_WORKER_START=spawn``: ``python -m benchmark.worker FD
  CAPTURE THREADS [--verbose]``, a fresh interpreter (nothing inherited from a parent that may
  hold threads or locks), with the thread variables of BLAS/OpenMP/numba/TensorFlow and
  ``TF_CPP_MIN_LOG_LEVEL=3`` in its environment before numpy or TensorFlow load. A plain
  ``subprocess`` rather than ``multiprocessing.Process`` because a Dask worker is a daemonic
  process, which multiprocessing forbids to have children, and because it does not re-import
  the parent's ``__main__``.

Protocol (pickled tuples over the socket):

* parent → worker: ``("setup", sys_path)`` once, then ``("cell", cell_id, cell, artifacts_root,
  run_id, threads)`` per cell; ``("stop",)`` ends it gracefully (the engine kills idle workers
  instead, which is faster);
* worker → parent: ``("ready", pid)`` once imports are done; ``("loaded", cell_id, seconds)``
  when the cell's data is mapped (or loaded) and verified and its model warmed (its libraries
  imported, its kernels compiled: :mod:`benchmark.warmup`) — the cell's time limit counts from
  here, so a slow data load or a first compilation is not a slow model;
  ``("progress", cell_id, done, total, unit)`` from :func:`benchmark.api.report_progress` (at
  most 4 a second); ``("row", cell_id, row)`` when the cell is done. The row carries
  ``load_seconds`` and ``warmup_seconds``, the data's and the warm-up's own times.

Unless ``--verbose``, the parent points the worker's stdout and stderr (file descriptors 1 and
2, so C libraries too) at the file ``CAPTURE``; the worker empties it before each cell and puts
what the cell printed into ``row["log"]``. After a crash the parent reads it (with the
faulthandler traceback) into the failed row.

What a cell changes in the process is put back before the next one: the working directory
(a model that calls ``chdir`` cannot move later cells' artifacts), and the processes it left
behind are killed — forked children, and ``setsid`` daemons too: the worker is a *child
subreaper* (``PR_SET_CHILD_SUBREAPER``), so an orphaned descendant is re-parented to it rather
than to init and stays in reach. When the parent dies, the worker kills them and exits.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

from benchmark.record import Cell  # plain data, the standard library only: no start-up cost

LOG_LIMIT = 4096  # bytes of a cell's output kept in its row
PR_SET_CHILD_SUBREAPER = 36


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


def _become_subreaper() -> None:
    """Orphaned descendants (daemons that double-forked) are re-parented to this process."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:  # not Linux: children in our process group are still killed by the parent
        pass


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(c) for c in children.read().split())
    except (OSError, ValueError):
        pass
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``; empty elsewhere)."""
    found: list[int] = []
    stack = _children(pid)
    while stack:
        current = stack.pop()
        if current not in found:
            found.append(current)
            stack.extend(_children(current))
    return found


def _sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid: int, *, root: bool = True) -> list[int]:
    """SIGKILL every process below ``pid`` and, if ``root``, first ``pid``'s process group (or
    ``pid`` alone while it leads none: a forked worker before its ``setsid``); the pids below.

    The tree is read before anything dies: the orphans of a dead subreaper leave it."""
    below = descendants(pid)
    if root:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            _sigkill(pid)
    for target in below:
        _sigkill(target)
    return below


def end_children() -> int:
    """SIGKILL every process below this one and reap them; how many there were."""
    below = kill_tree(os.getpid(), root=False)
    for _ in below:  # reap our own children and the orphans re-parented to us
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.01)
        except ChildProcessError:
            break
    return len(below)


def _watch_parent() -> None:
    """Exit when the parent dies (also while a cell runs), so no orphan keeps computing."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                try:
                    end_children()
                finally:
                    os._exit(70)

    threading.Thread(target=watch, name="bench-parent-watch", daemon=True).start()


_libc: Any = None


def _flush_all() -> None:
    global _libc
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:  # C stdio buffers (printf from extension modules)
        if _libc is None:
            import ctypes

            _libc = ctypes.CDLL(None)
        _libc.fflush(None)
    except Exception:
        pass


def _quiet_loggers() -> None:
    """absl (TensorFlow's Python logging) down to errors, if it is loaded."""
    absl = sys.modules.get("absl.logging")
    if absl is not None:
        try:
            absl.set_verbosity(absl.ERROR)
        except Exception:
            pass


def _set_threads(threads: int) -> None:
    """BLAS/OpenMP pools (even of libraries loaded by earlier cells) and numba's to ``threads``."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        except Exception:
            pass


class Worker:
    def __init__(self, conn: Any, capture: str | None, threads: int):
        self.conn, self.capture, self.threads = conn, capture, threads
        self.cell_id = ""
        self.directory = os.getcwd()
        self._last_progress = 0.0
        self._lock = threading.Lock()
        self._threads_set: int | None = None

    def progress(self, done: int, total: int | None = None, unit: str = "epoch") -> None:
        now = time.monotonic()
        if now - self._last_progress < 0.25 and done != total:
            return
        self._last_progress = now
        with self._lock:
            self.conn.send(("progress", self.cell_id, int(done), total, unit))

    def prepare(self, cell: Cell) -> float:
        """Map (or load) and verify the cell's data, then warm its model (imports, compilation,
        first calls: :mod:`benchmark.warmup`), before its clock starts; the seconds the data
        took (the warm-up's go into the row through the cell's run, ``warmup_seconds``).

        A failure here is left for the cell itself to meet and record."""
        from benchmark.execute import worker_cache
        from benchmark.warmup import warm_cell

        started = time.perf_counter()
        cache = worker_cache(cell.plugins)
        try:
            cache.prepare(cell)
        except Exception:
            pass
        load_seconds = time.perf_counter() - started
        warm_cell(cell, cache.registry)
        return load_seconds

    def run(self, cell_id: str, cell: dict[str, Any], artifacts_root: str | None, run_id: str,
            threads: int | None = None) -> dict[str, Any]:
        from benchmark import api
        from benchmark.execute import execute_cell  # seeds the global generators itself, per cell

        parsed = Cell.from_dict(cell)  # once, for the data's preparation and the cell's run

        self.cell_id, self._last_progress = cell_id, 0.0
        if self.capture:
            _flush_all()
            os.ftruncate(1, 0)  # fds 1 and 2 share one O_APPEND file: writes restart at 0
        wanted = threads if threads and threads > 1 else self.threads  # a cell's declared cores
        if wanted != self._threads_set:
            _set_threads(wanted)  # libraries loaded by earlier cells ignore the environment
            self._threads_set = wanted
        _quiet_loggers()
        load_seconds = self.prepare(parsed)
        with self._lock:
            self.conn.send(("loaded", cell_id, load_seconds))
        api._progress_sink = self.progress
        try:
            result = execute_cell(parsed, artifacts_root, run_id)
        finally:
            api._progress_sink = None
            _quiet_loggers()
            try:
                os.chdir(self.directory)
            except OSError:
                pass
            end_children()
        result.load_seconds = round(load_seconds, 6)
        if self.capture:
            _flush_all()
            result.log = clip_log(read_capture(self.capture))
        return result.to_row()  # plain data: it crosses the socket


def main(argv: list[str]) -> int:
    from multiprocessing.connection import Connection

    fd, capture, threads = int(argv[0]), argv[1], int(argv[2])
    return serve(Connection(fd), capture, threads, "--verbose" in argv[3:])


def serve(conn: Any, capture: str, threads: int, verbose: bool) -> int:
    """The worker's life: announce readiness, run cells until "stop" or the parent's end."""
    import faulthandler

    faulthandler.enable(all_threads=False)  # a segfault leaves its traceback in the cell's log
    _become_subreaper()
    _watch_parent()
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
            break
        if message[0] == "stop":
            break
        _, cell_id, cell, artifacts_root, run_id, *rest = message
        row = worker.run(cell_id, cell, artifacts_root, run_id, *rest)
        with worker._lock:
            conn.send(("row", worker.cell_id, row))
    end_children()
    return 0


def serve_forked(fd: int, capture: str, threads: int, verbose: bool, environment: dict[str, str]) -> None:
    """The worker's life in a child forked from the driver (:func:`benchmark.engine.fork_worker`).

    Never returns: the child ends with ``os._exit``, so none of the driver's ``finally`` blocks,
    ``atexit`` handlers or buffered output run twice. What it inherited and must not keep is
    put right first: its own session, standard streams on ``/dev/null`` and the capture file,
    no descriptor but its socket (the run lock, other workers' sockets), default signal
    handlers, the worker's environment, and no cached registry or dataset of the driver's."""
    code = 70
    try:
        os.setsid()  # its own session and process group, as start_new_session gives a spawned one
        for number in signal.valid_signals():  # every Python handler the driver (or a plugin) set
            if callable(signal.getsignal(number)):
                signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh interpreter has it
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        import benchmark.execute

        benchmark.execute._WORKER_CACHES.clear()  # before the descriptors go: mmaps close their own
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        if capture != "-":
            out = os.open(capture, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.dup2(out, 1)
            os.dup2(out, 2)
        os.closerange(3, fd)
        os.closerange(fd + 1, os.sysconf("SC_OPEN_MAX"))
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False, errors="backslashreplace")
        sys.stderr = open(2, "w", buffering=1, closefd=False, errors="backslashreplace")
        os.environ.clear()
        os.environ.update(environment)
        from multiprocessing.connection import Connection

        code = serve(Connection(fd), capture, threads, verbose)
    except BaseException:  # noqa: BLE001 - the parent sees the exit code and the captured log
        try:
            import traceback

            traceback.print_exc()
            _flush_all()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
