"""Execution engine: run cells in isolated worker processes, here or on a Dask cluster.

Every executor has one method, ``run(tasks, on_event)``. A :class:`Task` is a cell as plain data
(``Cell.to_dict()``) with its :class:`~benchmark.suite.Limits`; ``on_event`` receives
:class:`Started`, :class:`Progress`, :class:`Finished` and :class:`Log` events **in the calling
thread**, so the caller — the store's only writer — appends each row as it arrives. ``run``
returns when every task has a :class:`Finished` event; a failing cell never raises: its row says
why (``status`` and ``error``):

=========  ===========================================================================
status     error
=========  ===========================================================================
timeout    ``timeout after 600 s`` (fit, predict, metrics: not the data's loading, which
           has no limit and its own ``load_seconds`` in the row)
memory     ``memory limit 4 GB exceeded (resident 4.1 GB)``
killed     ``killed by signal 9 (out of memory?)`` — SIGKILL from outside, usually the
           kernel's OOM killer; ``worker died (KilledWorker: ...)`` on Dask
crashed    ``killed by signal 11 (SIGSEGV: Segmentation fault)``, ``worker exited with code 3``
=========  ===========================================================================

What the cell printed (and a crash's faulthandler traceback) is in the row's ``log``.

* :class:`LocalExecutor` — up to ``jobs`` worker processes (:mod:`benchmark.worker`), never
  more than there are cells to run: forked from the driver while it is single-threaded and
  has loaded no thread-pool library (ready in milliseconds, its imported pages shared), else
  fresh interpreters started with ``subprocess`` (``BENCH_WORKER_START=spawn`` always). A worker is reused for the next cell (its registry and mapped datasets stay cached)
  and replaced after a crash, a timeout or a memory kill. Each worker gets ``cores // jobs``
  BLAS/OpenMP/numba/TensorFlow threads; a cell whose model declares ``threads: N`` gets N and
  counts as N of the ``jobs``. The datasets and folds are those the driver loaded, mapped
  read-only (:mod:`benchmark.shared_data`); a cell's time limit starts once its data is ready.
  Each worker is its own session and a child subreaper: what a cell leaves running (forked
  children, ``setsid`` daemons) is killed when the cell ends, with the worker when it is
  killed, and when the driver dies. The rows of one pass of the event loop are delivered
  together, then a :class:`Flush`, so that the caller stores and shows them in one go.
* :class:`DaskExecutor` — the same, one level down: each Dask task runs its cell through a
  one-worker :class:`LocalExecutor` on the Dask worker, so limits, crashes and logs behave
  exactly as locally; a Dask worker that dies under a cell gives ``killed``/``worker died``
  (``allowed-failures`` 0 and one task per worker on the LocalCluster it starts; a cell that
  had not started on the dead worker is sent again, at most twice). Dask is imported only here.
* :class:`InlineExecutor` — in this process, no isolation and no limits (debugging).

Memory limits are enforced by a watchdog in the parent that reads the worker's resident set
size (the worker and its children, from ``/proc``) every 0.1 s and kills it above the limit.
Not ``RLIMIT_AS``: TensorFlow, numba/LLVM and glibc's per-thread arenas reserve far more address
space than they ever touch, so an address-space limit refuses models that fit comfortably, and
the refusal surfaces as a ``MemoryError`` or a C++ abort deep inside a library instead of a clear
reason. Resident memory is what the OOM killer looks at. The price: an allocation faster than
the polling interval can overshoot the limit briefly (or meet the OOM killer first, recorded as
``killed by signal 9 (out of memory?)``). Where cgroup v2 delegation is available,
``memory.max`` on a per-worker cgroup would be exact; it is not portable enough to be the default.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from benchmark.cells import Cell
from benchmark.errors import BenchError, clip
from benchmark.shared_data import ENVIRONMENT
from benchmark.suite import Limits
from benchmark.worker import clip_log, descendants, kill_tree, read_capture

# --- Tasks and events -----------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One cell to run (``Cell.to_dict()``) and its limits."""

    cell: Mapping[str, Any]
    limits: Limits = Limits()
    id: str = ""  # the cell id; computed from ``cell`` when not given

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", Cell.from_dict(self.cell).id)

    @classmethod
    def of(cls, cell: Cell, limits: Limits = Limits()) -> Task:
        return cls(cell.to_dict(), limits, cell.id)

    @property
    def threads(self) -> int:
        """The cores the cell declares (its model's ``threads``; 1 when it has none)."""
        return task_threads(self.cell)

    @property
    def label(self) -> str:
        """``dataset fold model``, as the progress lines name a cell."""
        return f"{self.cell['dataset']} {self.cell['fold_name']} {self.cell['model']}"


@dataclass(frozen=True)
class Started:
    """A worker took the cell (the time limit counts from here)."""

    cell_id: str
    worker: str
    label: str
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Progress:
    """The model called :func:`benchmark.api.report_progress` (throttled to 4 a second)."""

    cell_id: str
    done: int
    total: int | None
    unit: str


@dataclass(frozen=True)
class Finished:
    """The cell's result row, ok or failed; exactly one per task."""

    cell_id: str
    row: dict[str, Any]


@dataclass(frozen=True)
class Log:
    """A notice from the executor itself (a worker replaced, a Dask dashboard address)."""

    text: str
    cell_id: str = ""


@dataclass(frozen=True)
class Stopped:
    """The worker running the cell was stopped (SIGSTOP, a debugger) or, ``stopped=False``,
    continued; its time limit keeps counting."""

    cell_id: str
    stopped: bool = True


@dataclass(frozen=True)
class Flush:
    """The executor delivered what it had for now: a consumer that batches (store writes,
    display lines) writes them out here. Sent after every pass of the event loop."""


Event = Started | Progress | Finished | Log | Stopped | Flush
OnEvent = Callable[[Event], None]


class Executor(Protocol):
    """Runs tasks; a context manager so workers can start while the caller still plans.

    ``run`` ends each pass of its loop that delivered a :class:`Finished` with a :class:`Flush`:
    :func:`run_cells` stores rows only there (or when ``run`` ends or raises)."""

    def run(self, tasks: Sequence[Task], on_event: OnEvent) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: Any) -> None: ...


# --- Reasons --------------------------------------------------------------------------------


def format_size(size: float) -> str:
    """Binary units, as ``parse_size`` reads them: 4 GB, 500 MB, 1.5 GB."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            break
        size /= 1024
    return f"{size:.0f} {unit}" if unit == "bytes" or size == int(size) or size >= 100 else f"{size:.1f} {unit}"


def format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def death_reason(returncode: int | None) -> tuple[str, str]:
    """(status, error) for a worker that ended without returning its cell's row."""
    if returncode is not None and returncode < 0:
        number = -returncode
        if number == signal.SIGKILL:
            return "killed", "killed by signal 9 (out of memory?)"
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown signal"
        description = signal.strsignal(number) or ""
        return "crashed", f"killed by signal {number} ({name}{': ' + description if description else ''})"
    return "crashed", f"worker exited with code {returncode}"


def _failed_row(task: Task, status: str, error: str, run_id: str, log: str = "",
                started_at: str | None = None) -> dict[str, Any]:
    from benchmark.execute import failed_row

    row = failed_row(dict(task.cell), status, error, run_id)
    if log:
        row["log"] = clip_log(log)
    if started_at:
        row["started_at"] = started_at
    return row


# --- Worker processes -----------------------------------------------------------------------

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
WORKER_DIRECTORY_PREFIX = "bench-workers-"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_environment(threads: int, verbose: bool = False, shared: str | None = None) -> dict[str, str]:
    """The parent's environment with thread counts pinned and TensorFlow's C++ logging off.

    numba's pool is sized to the machine (``NUMBA_NUM_THREADS`` is a ceiling fixed at import);
    the worker sets each cell's own count with ``numba.set_num_threads``."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env["NUMBA_NUM_THREADS"] = str(max(threads, cores()))
    if not verbose:
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if shared:  # else an inherited $BENCH_SHARED_DATA (a Dask worker's, on a shared filesystem) stays
        env[ENVIRONMENT] = shared
    return env


def task_threads(cell: Mapping[str, Any]) -> int:
    """The cores a cell declares (its model's ``threads`` parameter), 1 when it declares none."""
    try:
        return max(1, int(cell.get("params", {}).get("threads") or 1))
    except (TypeError, ValueError):
        return 1


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (Linux ``/proc``; 0 elsewhere)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for current in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * page
        except (OSError, ValueError):
            continue
    return total


def _stat_field(pid: int, index: int) -> str:
    """Field ``index`` of ``/proc/PID/stat`` after the command name (0: the state), '' if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[index]
    except (OSError, IndexError):
        return ""


def process_state(pid: int) -> str:
    """The kernel's one-letter state of ``pid`` (``T``: stopped by a signal), '' if unknown."""
    return _stat_field(pid, 0)


def _start_time(pid: int) -> str:
    return _stat_field(pid, 19)


def sweep_worker_directories(base: str | None = None) -> list[str]:
    """Remove the temporary worker directories of runs whose driver no longer exists.

    A driver killed with SIGKILL cannot remove its own; the next run does. Each directory names
    its driver in ``owner`` (pid and start time, so a reused pid does not keep it alive)."""
    base = base or tempfile.gettempdir()
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(base) if n.startswith(WORKER_DIRECTORY_PREFIX)]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(base, name)
        try:
            if os.lstat(path).st_uid != os.getuid() or os.path.islink(path):
                continue
            with open(os.path.join(path, "owner")) as owner:
                pid, started = owner.read().split()
        except (OSError, ValueError):
            continue
        if _start_time(int(pid)) != started:
            import shutil

            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


# --- Forked workers ------------------------------------------------------------------------

START_METHOD = "BENCH_WORKER_START"  # "spawn" always starts fresh interpreters
# Libraries that start thread pools a forked child could inherit half-held (OpenMP, TBB,
# TensorFlow's runtime): a driver that has loaded one spawns its workers instead.
THREADED_LIBRARIES = ("numba", "llvmlite", "tensorflow", "torch", "jax", "sklearn", "implicit",
                      "surprise", "distributed", "optuna")


def can_fork() -> bool:
    """Whether a worker may be forked from this process: Linux, a single thread, no library
    with its own thread pool loaded, and ``BENCH_WORKER_START`` not ``spawn``."""
    if os.environ.get(START_METHOD, "").strip().lower() == "spawn":
        return False
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    return not any(name in sys.modules for name in THREADED_LIBRARIES)


class ForkedProcess:
    """What :class:`_Worker` uses of ``subprocess.Popen``, for a child made by ``os.fork``."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                self.returncode = -signal.SIGKILL
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
            time.sleep(0.002)
        assert self.returncode is not None
        return self.returncode


def fork_worker(fd: int, capture: str, threads: int, verbose: bool, environment: dict[str, str]) -> ForkedProcess:
    """Fork a worker that serves on socket ``fd`` (see :func:`benchmark.worker.serve_forked`).

    The driver's objects go into the collector's permanent generation for the fork (O(1)), so
    the child's collector never walks them: their pages stay shared, and no object of the
    driver's is finalised in the child."""
    import gc

    from benchmark.worker import serve_forked

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed stream has nothing to duplicate
            pass
    gc.freeze()
    try:
        pid = os.fork()
        if pid == 0:
            serve_forked(fd, capture, threads, verbose, environment)  # never returns
    finally:  # (the child never gets here)
        gc.unfreeze()
    return ForkedProcess(pid)


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, slot: int, threads: int, verbose: bool, directory: str, shared: str | None):
        self.slot = slot
        self.capture = None if verbose else os.path.join(directory, f"worker-{slot}-{secrets.token_hex(3)}.log")
        parent_end, child_end = socket.socketpair()
        environment = worker_environment(threads, verbose, shared)
        if can_fork():
            try:
                self.process: subprocess.Popen | ForkedProcess = fork_worker(
                    child_end.fileno(), self.capture or "-", threads, verbose, environment)
            finally:
                child_end.close()
        else:
            output = open(self.capture, "ab") if self.capture else None
            try:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "benchmark.worker", str(child_end.fileno()), self.capture or "-",
                     str(threads)] + (["--verbose"] if verbose else []),
                    pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL, stdout=output,
                    stderr=subprocess.STDOUT if output else None, env=environment,
                    start_new_session=True)  # its own session and process group
            finally:
                child_end.close()
                if output:
                    output.close()
        self.conn = Connection(parent_end.detach())
        self.conn.send(("setup", list(sys.path)))
        self.name = f"w{slot}"
        self.ready = False
        self.task: Task | None = None
        self.loading = False  # the cell's data is being prepared; its time limit not yet running
        self.dispatched = 0.0  # when the cell was sent, then when its data was ready
        self.started_at = ""
        self.killed_for: tuple[str, str] | None = None
        self.rss_checked = 0.0
        self.state_checked = 0.0
        self.stopped = False

    def send(self, task: Task, artifacts_root: str | None, run_id: str) -> None:
        from benchmark.provenance import now

        self.task, self.dispatched, self.started_at, self.loading = task, time.monotonic(), now(), True
        self.conn.send(("cell", task.id, dict(task.cell), artifacts_root, run_id, task.threads))

    def kill(self, status: str, error: str) -> None:
        self.killed_for = self.killed_for or (status, error)
        kill_tree(self.process.pid)  # setsid daemons too: the worker is their subreaper

    def reap(self) -> tuple[int | None, str]:
        """Wait for the process to end; its exit code and captured output. Cleans up."""
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill("crashed", "worker did not exit")
            code = self.process.wait()
        try:  # children left behind by a crashed worker
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.conn.close()
        log = read_capture(self.capture) if self.capture else ""
        self.remove_capture()
        return code, log

    def remove_capture(self) -> None:
        if self.capture:
            try:
                os.unlink(self.capture)
            except OSError:
                pass

    def stop(self) -> None:
        """End the worker and everything below it at once: an idle worker holds nothing worth
        a graceful exit (which costs its interpreter's shutdown, 0.1-0.7 s), and a busy one is
        being abandoned."""
        self.kill("crashed", "stopped")
        self.process.wait()
        self.conn.close()
        self.remove_capture()


class LocalExecutor:
    """Cells in at most ``jobs`` worker processes on this machine.

    ``start(count)`` starts workers early (their imports overlap the caller's planning), no
    more than asked; ``run`` starts what its cells need (never more workers than cells), may be
    called several times and reuses them; ``close`` (or leaving the ``with`` block) stops them
    and removes the run's temporary directory.
    ``threads`` (default ``cores // jobs``) is each worker's BLAS/OpenMP/numba/TF thread count.

    ``jobs`` is a number of cores: a cell whose model declares ``threads: N`` occupies N of them
    (it gets N threads, and fewer other cells run beside it), so nothing is oversubscribed.
    The directory holds the workers' captured output and the run's shared data
    (:attr:`shared_directory`, see :mod:`benchmark.shared_data`).
    """

    MEMORY_POLL = 0.1  # seconds between resident-memory checks of a running cell with a limit
    STATE_POLL = 1.0  # seconds between checks whether a busy worker was stopped (SIGSTOP)
    START_ATTEMPTS = 3  # a worker that fails to start this many times in a row stops the run

    def __init__(self, jobs: int = 1, artifacts_root: str | Path | None = None, run_id: str = "",
                 verbose: bool = False, threads: int | None = None, share_data: bool = True):
        self.jobs = max(1, int(jobs))
        self.artifacts_root = str(artifacts_root) if artifacts_root is not None else None
        self.run_id, self.verbose = run_id, verbose
        self.threads = threads or max(1, cores() // self.jobs)
        self.share_data = share_data
        self._workers: dict[int, _Worker] = {}
        self._directory: str | None = None
        self._start_failures = 0

    def __enter__(self) -> LocalExecutor:
        return self  # workers start in run(), as many as its cells need, or earlier by start(n)

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def directory(self) -> str:
        """The run's private temporary directory (created on first use)."""
        if self._directory is None:
            sweep_worker_directories()
            self._directory = tempfile.mkdtemp(prefix=f"{WORKER_DIRECTORY_PREFIX}{os.getpid()}-")
            with open(os.path.join(self._directory, "owner"), "w") as owner:
                owner.write(f"{os.getpid()} {_start_time(os.getpid())}\n")
        return self._directory

    @property
    def shared_directory(self) -> str | None:
        """Where the driver shares datasets and folds with the workers (None: not shared)."""
        return os.path.join(self.directory, "data") if self.share_data else None

    def start(self, count: int | None = None) -> None:
        """Start workers up to ``count`` (default ``jobs``, never more) without waiting for them."""
        wanted = self.jobs if count is None else min(self.jobs, count)
        slot = 0
        while len(self._workers) < wanted:
            while slot in self._workers:
                slot += 1
            self._workers[slot] = _Worker(slot + 1, self.threads, self.verbose, self.directory,
                                          self.shared_directory)

    def close(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        self._workers.clear()
        if self._directory is not None:
            import shutil

            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    # The loop: dispatch to idle ready workers while cores are free, wait for messages or the
    # next deadline, deliver events, bury and replace workers that died or were killed.
    def run(self, tasks: Sequence[Task], on_event: OnEvent) -> None:
        pending = deque(tasks)
        outstanding = len(pending)
        while outstanding:
            self._dispatch(pending, on_event)
            ready = wait([w.conn for w in self._workers.values()], self._wait_time())
            for slot, worker in list(self._workers.items()):
                if worker.conn in ready:
                    alive = self._receive(worker, on_event)
                else:
                    alive = worker.process.poll() is None
                if not (alive and self._within_limits(worker, on_event)):
                    self._bury(slot, worker, on_event)
            outstanding = len(pending) + sum(1 for w in self._workers.values() if w.task is not None)
            on_event(Flush())

    def _dispatch(self, pending: deque[Task], on_event: OnEvent) -> None:
        """Start the workers that the next cells fitting in the free cores need, and send those
        cells, in order, to the idle ready workers (a cell that does not fit waits, and so do
        the cells after it)."""
        busy = [w.task for w in self._workers.values() if w.task is not None]
        fits = self.fitting(pending, self.jobs - sum(min(self.jobs, task.threads) for task in busy))
        self.start(len(busy) + fits)
        for worker in self._workers.values():
            if not fits:
                break
            if worker.ready and worker.task is None:
                task = pending.popleft()
                fits -= 1
                worker.send(task, self.artifacts_root, self.run_id)
                on_event(Started(task.id, worker.name, task.label))

    def fitting(self, pending: Sequence[Task], free: int | None = None) -> int:
        """How many of the next pending cells fit in ``free`` cores (default: all ``jobs``), so
        many idle workers are enough; a cell wider than ``jobs`` runs alone."""
        count, free = 0, self.jobs if free is None else free
        for task in pending:
            need = min(self.jobs, task.threads)
            if need > free:
                break
            free -= need
            count += 1
        return count

    def _wait_time(self) -> float:
        now, timeout = time.monotonic(), self.STATE_POLL
        for worker in self._workers.values():
            if worker.task is None:
                continue
            if worker.task.limits.timeout is not None and not worker.loading:
                timeout = min(timeout, worker.dispatched + worker.task.limits.timeout - now)
            if worker.task.limits.memory is not None:
                timeout = min(timeout, self.MEMORY_POLL)
        return max(0.0, timeout)

    def _receive(self, worker: _Worker, on_event: OnEvent) -> bool:
        """Deliver the worker's messages; False when it has gone (end of file)."""
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                kind = message[0]
                if kind == "ready":
                    worker.ready, self._start_failures = True, 0
                elif kind == "loaded" and worker.task is not None and message[1] == worker.task.id:
                    worker.loading, worker.dispatched = False, time.monotonic()  # the limit starts now
                elif kind == "progress" and worker.task is not None and message[1] == worker.task.id:
                    on_event(Progress(*message[1:]))
                elif kind == "row" and worker.task is not None:
                    task, worker.task = worker.task, None
                    worker.stopped = False
                    on_event(Finished(task.id, message[2]))
        except (EOFError, OSError):
            return False
        return True

    def _within_limits(self, worker: _Worker, on_event: OnEvent) -> bool:
        task = worker.task
        if task is None:
            return True
        now = time.monotonic()
        if (task.limits.timeout is not None and not worker.loading
                and now - worker.dispatched >= task.limits.timeout):
            # Data loading is not the cell's work: like the driver's own loading, it has no
            # limit, and its time is recorded apart (load_seconds).
            worker.kill("timeout", f"timeout after {format_seconds(task.limits.timeout)}")
            return False
        if task.limits.memory is not None and now - worker.rss_checked >= self.MEMORY_POLL * 0.9:
            worker.rss_checked = now
            resident = _tree_rss(worker.process.pid)
            if resident > task.limits.memory:
                worker.kill("memory", f"memory limit {format_size(task.limits.memory)} exceeded "
                                      f"(resident {format_size(resident)})")
                return False
        if now - worker.state_checked >= self.STATE_POLL * 0.9:
            worker.state_checked = now
            stopped = process_state(worker.process.pid) in ("T", "t")
            if stopped != worker.stopped:
                worker.stopped = stopped
                on_event(Stopped(task.id, stopped))
        return True

    def _bury(self, slot: int, worker: _Worker, on_event: OnEvent) -> None:
        """Record the cell of a worker that ended (the loop starts another if needed)."""
        del self._workers[slot]
        code, log = worker.reap()
        if worker.task is None:
            if not worker.ready:
                self._start_failures += 1
                if self._start_failures >= self.START_ATTEMPTS:
                    raise BenchError(f"worker process failed to start ({death_reason(code)[1]}): "
                                     + (log.strip()[-2000:] or "no output"))
            return
        status, error = worker.killed_for or death_reason(code)
        on_event(Log(f"{worker.name}: {worker.task.label}: {error}; starting a new worker", worker.task.id))
        on_event(Finished(worker.task.id, _failed_row(worker.task, status, error, self.run_id, log,
                                                      worker.started_at)))


class InlineExecutor:
    """In this process: no isolation, no limits (they are ignored). For debugging and tests."""

    def __init__(self, artifacts_root: str | Path | None = None, run_id: str = ""):
        self.artifacts_root = str(artifacts_root) if artifacts_root is not None else None
        self.run_id = run_id

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def run(self, tasks: Sequence[Task], on_event: OnEvent) -> None:
        from benchmark import api
        from benchmark.execute import run_cell

        for task in tasks:
            on_event(Started(task.id, "inline", task.label))
            api._progress_sink = lambda done, total=None, unit="epoch", _id=task.id: on_event(
                Progress(_id, int(done), total, unit))
            try:
                row = run_cell(dict(task.cell), self.artifacts_root, self.run_id)
            finally:
                api._progress_sink = None
            on_event(Finished(task.id, row))
            on_event(Flush())


# --- Dask -----------------------------------------------------------------------------------


class DaskExecutor:
    """Cells as tasks on a Dask cluster: ``scheduler`` (an address) or a new ``LocalCluster``.

    Each task runs its cell in a worker process beside the Dask worker (a one-job
    :class:`LocalExecutor`, kept for the next task), so limits and failures are the same as
    locally. Rows come back to this process, the only writer. The data directory, local
    plugin files and the artifacts directory must be reachable at the same paths on the Dask
    workers, which need bench and the models' libraries installed.
    """

    RESUBMIT = 2  # times a cell that never started is sent again after its worker died

    def __init__(self, scheduler: str | None = None, jobs: int = 1, artifacts_root: str | Path | None = None,
                 run_id: str = "", verbose: bool = False, threads: int | None = None,
                 allowed_failures: int = 0):
        self.scheduler, self.jobs = scheduler, max(1, int(jobs))
        self.artifacts_root = str(artifacts_root) if artifacts_root is not None else None
        self.run_id, self.verbose, self.threads = run_id, verbose, threads
        self.allowed_failures = allowed_failures
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        if self.client is not None:
            return
        import logging

        import dask
        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self.client = Client(self.scheduler)
            except (OSError, TimeoutError, ValueError) as exc:  # refused, unreachable, a bad address
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise BenchError(f"cannot reach the Dask scheduler {self.scheduler!r}: {clip(reason, 200)}",
                                 "--scheduler") from None
            return
        # One task at a time per worker (saturation 1.0), so a worker that dies takes no queued
        # cells with it; a cell that kills its worker fails at once (allowed-failures 0).
        with dask.config.set({"distributed.scheduler.allowed-failures": self.allowed_failures,
                              "distributed.scheduler.worker-saturation": 1.0}):
            self.cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None, memory_limit=0,
                                        silence_logs=logging.CRITICAL)
        self.client = Client(self.cluster)
        if self.threads is None:
            self.threads = max(1, cores() // self.jobs)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def _host_threads(self) -> dict[str, int]:
        """Dask threads per host, to share each host's cores among its cells."""
        threads: dict[str, int] = {}
        for info in self.client.scheduler_info()["workers"].values():
            threads[info["host"]] = threads.get(info["host"], 0) + int(info.get("nthreads", 1))
        return threads

    def _reserves_cores(self) -> bool:
        """Whether the cluster's workers advertise a ``cores`` resource (``dask worker
        --nthreads 32 --resources cores=32``): then cells reserve their declared threads."""
        workers = self.client.scheduler_info().get("workers", {}).values()
        return bool(workers) and all("cores" in (info.get("resources") or {}) for info in workers)

    def run(self, tasks: Sequence[Task], on_event: OnEvent) -> None:
        from distributed import KilledWorker

        self.start()
        topic = f"bench-{secrets.token_hex(6)}"
        inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.client.subscribe_topic(topic, lambda event: inbox.put(("event", event[1])))
        host_threads = None if self.threads else self._host_threads()
        reserve = self._reserves_cores()
        futures: dict[str, tuple[Any, Task]] = {}
        started: set[str] = set()  # cells a Dask worker began: a worker dying under one is its fault
        resubmitted: dict[str, int] = {}
        try:
            def submit(task: Task) -> None:
                payload = {"cell": dict(task.cell), "id": task.id, "label": task.label,
                           "limits": (task.limits.timeout, task.limits.memory), "topic": topic,
                           "artifacts_root": self.artifacts_root, "run_id": self.run_id,
                           "verbose": self.verbose, "threads": self.threads, "host_threads": host_threads,
                           "key": f"bench-cell-{task.id}-{topic}-{secrets.token_hex(3)}"}
                # On workers that advertise a "cores" resource, a cell takes its declared threads
                # of them, as it takes that many of --jobs locally.
                resources = {"cores": task.threads} if reserve else None
                future = self.client.submit(dask_task, payload, key=payload["key"], pure=False, retries=0,
                                            resources=resources)
                futures[future.key] = (future, task)
                future.add_done_callback(lambda f: inbox.put(("done", f.key)))

            for task in tasks:
                submit(task)
            while futures:
                try:
                    kind, value = inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                if kind == "event":
                    if value["kind"] == "started":
                        started.add(value["cell_id"])
                        on_event(Started(value["cell_id"], value["worker"], value["label"]))
                    elif value["kind"] == "progress":
                        on_event(Progress(value["cell_id"], value["done"], value["total"], value["unit"]))
                    elif value["kind"] == "row" and value["key"] in futures:
                        # The row comes with the event, not from the worker's memory: a worker that
                        # dies right after the cell (under the next one) cannot lose it.
                        future, task = futures.pop(value["key"])
                        on_event(Finished(task.id, _as_stored(value["row"])))
                        on_event(Flush())
                    continue
                if value not in futures:
                    continue
                future, task = futures.pop(value)
                try:
                    row = _as_stored(future.result())
                except KilledWorker as exc:
                    if task.id not in started and resubmitted.get(task.id, 0) < self.RESUBMIT:
                        # Queued on a worker that another cell killed: it never ran, run it again.
                        resubmitted[task.id] = resubmitted.get(task.id, 0) + 1
                        submit(task)
                        continue
                    worker = getattr(getattr(exc, "last_worker", None), "address", None)
                    row = _failed_row(task, "killed", f"worker died (the Dask worker {worker or ''} died "
                                                      "while running the cell: KilledWorker)".replace("  ", " "),
                                      self.run_id)
                except Exception as exc:  # cancelled, lost, or a bug in the task itself
                    row = _failed_row(task, "crashed", f"dask task failed: {type(exc).__name__}: {exc}",
                                      self.run_id)
                on_event(Finished(task.id, row))
                on_event(Flush())
        finally:
            try:
                self.client.unsubscribe_topic(topic)
            except Exception:
                pass
            if futures:
                self.client.cancel([f for f, _ in futures.values()])
            self._forget_rows(topic, tasks)

    def _forget_rows(self, topic: str, tasks: Sequence[Task]) -> None:
        """Drop the rows kept on the scheduler (see :func:`dask_task`) once the run is over.

        One ``Variable.delete`` per task, but no round trip: each is a message on the client's
        batched stream (1,000 cost 4 ms here, sent together). distributed deletes Variables
        only one by one; its batch call, ``unpublish_dataset([...])``, is for datasets."""
        from distributed import Variable

        for task in tasks:
            try:
                Variable(_row_variable(topic, task.id), client=self.client).delete()
            except Exception:
                pass


_DASK_LOCAL: dict[int, tuple[tuple[Any, ...], LocalExecutor]] = {}
_DASK_LOCK = threading.Lock()


def _close_dask_local() -> None:
    for _, executor in _DASK_LOCAL.values():
        executor.close()


atexit.register(_close_dask_local)


def dask_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one cell on a Dask worker through a one-job :class:`LocalExecutor`; return its row."""
    from distributed import get_worker
    from distributed.comm.addressing import get_address_host

    dask_worker = get_worker()
    threads = payload["threads"]
    if threads is None:
        on_host = (payload["host_threads"] or {}).get(get_address_host(dask_worker.address), 1)
        threads = max(1, cores() // on_host)
    key = (threads, payload["verbose"], payload["run_id"], payload["artifacts_root"])
    with _DASK_LOCK:
        previous = _DASK_LOCAL.get(threading.get_ident())
        if previous is not None and previous[0] != key:
            previous[1].close()
            previous = None
        if previous is None:
            executor = LocalExecutor(1, payload["artifacts_root"], payload["run_id"], payload["verbose"],
                                     threads, share_data=False)
            _DASK_LOCAL[threading.get_ident()] = (key, executor)
        else:
            executor = previous[1]
    rows: list[dict[str, Any]] = []
    topic = payload["topic"]

    def forward(event: Event) -> None:
        if isinstance(event, Finished):
            rows.append(event.row)
        elif isinstance(event, Started):
            dask_worker.log_event(topic, {"kind": "started", "cell_id": event.cell_id,
                                          "worker": dask_worker.address, "label": event.label})
        elif isinstance(event, Progress):
            dask_worker.log_event(topic, {"kind": "progress", "cell_id": event.cell_id, "done": event.done,
                                          "total": event.total, "unit": event.unit})

    # The row is kept on the scheduler before it is returned: when this worker dies after the
    # cell, Dask recomputes a result that a client still wants; the new task then finds the row
    # there and returns it instead of computing the cell a second time.
    from distributed import Variable

    stored = Variable(_row_variable(topic, payload["id"]))
    try:
        rows.append(stored.get(timeout=0))
    except Exception:  # not stored: the cell has not run yet
        timeout, memory = payload["limits"]
        executor.run([Task(payload["cell"], Limits(timeout, memory), payload["id"])], forward)
        stored.set(rows[0])
    dask_worker.log_event(topic, {"kind": "row", "key": payload["key"], "row": rows[0]})
    return rows[0]


def _as_stored(row: dict[str, Any]) -> dict[str, Any]:
    """A row back from Dask as it is stored and read: its events and variables travel as
    msgpack, which turns every list into a tuple (the readers' schema wants lists)."""
    return json.loads(json.dumps(row))


def _row_variable(topic: str, cell_id: str) -> str:
    return f"{topic}-row-{cell_id}"


# --- What the runner calls --------------------------------------------------------------------


def make_executor(kind: str = "local", jobs: int = 1, scheduler: str | None = None,
                  artifacts_root: str | Path | None = None, run_id: str = "", verbose: bool = False
                  ) -> LocalExecutor | DaskExecutor | InlineExecutor:
    """``--executor local|dask|inline`` with ``--jobs``, ``--scheduler`` and ``-v``."""
    if kind == "local":
        return LocalExecutor(jobs, artifacts_root, run_id, verbose)
    if kind == "dask":
        return DaskExecutor(scheduler, jobs, artifacts_root, run_id, verbose)
    if kind == "inline":
        return InlineExecutor(artifacts_root, run_id)
    raise BenchError(f"unknown executor {kind!r}; expected local, dask or inline")


def run_cells(cells: Sequence[Cell], finished: Callable[[list[dict[str, Any]]], None], *,
              limits: Mapping[str, Limits], options: Any, run_id: str = "",
              artifacts_root: str | Path | None = None, stream: Any = None, progress: Any = None,
              total: int | None = None, done: int = 0, executor: Any = None) -> None:
    """Run ``cells`` with the executor ``options`` asks for; ``finished(rows)`` stores their rows.

    ``limits`` maps a model label to its limits (``runner.limits_of``); ``options`` has
    ``executor``, ``jobs``, ``scheduler``, ``verbose`` (``runner.RunOptions``); ``executor`` is an
    already started one (see :class:`LocalExecutor`), else one is made here. ``progress`` is a
    :mod:`benchmark.progress` display (``progress.open_display(stream, total, done)``: live on a
    terminal). Without one, only heartbeat lines for long cells go to ``stream`` (the caller
    prints its own line per finished cell).
    A given ``executor`` is left open (its workers and shared data serve the caller's next call,
    e.g. the next phase of a tuned suite); one made here is closed here.

    Rows that arrive in one pass of the executor's loop are stored together at its
    :class:`Flush` (``finished(rows)``: one write and one ``fsync`` for all, which is what lets
    the driver keep up with hundreds of cells a second), then shown; and whatever arrived is
    stored before an interruption (Ctrl-C, SIGTERM) propagates. A row is stored within one loop
    pass (≤ 1 s, usually milliseconds) of reaching the driver.
    """
    from benchmark import progress as progress_display

    tasks = [Task.of(cell, limits.get(cell.model, Limits())) for cell in cells]
    owned = executor is None  # a given executor stays open for the caller's next call (its workers, its data)
    if executor is None:
        executor = make_executor(getattr(options, "executor", "local"), getattr(options, "jobs", 1),
                                 getattr(options, "scheduler", None), artifacts_root, run_id,
                                 getattr(options, "verbose", False))
    display = progress or progress_display.LineDisplay(
        stream if stream is not None else sys.stderr, total=total or len(tasks), done=done, lines=False)

    held: list[Finished] = []  # rows received in this pass of the executor's loop

    def deliver() -> None:
        events, held[:] = list(held), []
        if events:
            finished([event.row for event in events])  # stored before they are shown
        for event in events:
            display.handle(event)

    def on_event(event: Event) -> None:
        if isinstance(event, Finished):
            held.append(event)
            return
        if isinstance(event, Flush):
            deliver()
        display.handle(event)

    if isinstance(executor, LocalExecutor):  # before the display's thread: they can fork
        executor.start(executor.fitting(tasks))
    with executor if owned else nullcontext(), display:
        try:
            executor.run(tasks, on_event)
        finally:  # Ctrl-C, SIGTERM: what arrived is stored before the run stops
            deliver()
