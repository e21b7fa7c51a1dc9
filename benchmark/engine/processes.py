"""Worker processes on this machine: how one starts, what it inherits, what ``/proc`` says of it.

:class:`~benchmark.engine.local.LocalExecutor` decides *which* cell runs *where*; this module
holds what it asks of the operating system. A worker is **forked** from the driver when that is
safe (:func:`can_fork`: Linux, one thread, no library with its own thread pool loaded): ready in
milliseconds, its imported pages shared with the driver. Otherwise it is **spawned**, a fresh
interpreter started with ``subprocess`` (``BENCH_WORKER_START=spawn`` always): 0.3 s of imports,
but nothing inherited from a parent that may hold threads or locks. Either way it gets the
thread variables of BLAS/OpenMP/numba/TensorFlow (:func:`worker_environment`) and speaks the
same protocol over a socket pair (:mod:`benchmark.worker`).

Each run keeps its workers' captured output and shared data in one private temporary directory
named after its driver (:data:`WORKER_DIRECTORY_PREFIX`); a driver killed with SIGKILL cannot
remove its own, so the next run sweeps them (:func:`sweep_worker_directories`).
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from benchmark.shared_data import ENVIRONMENT
from benchmark.worker import descendants, serve_forked

if TYPE_CHECKING:
    from benchmark.environments import Environment

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


def gpu_devices(count: int | None = None) -> tuple[str, ...]:
    """The GPU devices a run hands out, as ``CUDA_VISIBLE_DEVICES`` names them: the driver's own
    ``CUDA_VISIBLE_DEVICES`` entries if it is set, else those ``nvidia-smi -L`` lists (none
    without it); ``count`` (``--gpus N``) takes the first N, or N numbered from 0 when fewer are
    found (a machine bench cannot inspect: the user knows)."""
    if count == 0:
        return ()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        found = [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    else:
        found = [str(i) for i in range(_listed_gpus())]
    if count is None:
        return tuple(found)
    return tuple(found[:count]) if len(found) >= count else tuple(str(i) for i in range(count))


def _listed_gpus() -> int:
    """How many GPUs ``nvidia-smi -L`` lists (0 without it or when it fails)."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return 0
    try:
        done = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in done.stdout.splitlines() if line.startswith("GPU ")) if done.returncode == 0 else 0


def tree_rss(pid: int) -> int:
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


def start_time(pid: int) -> str:
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
        if start_time(int(pid)) != started:
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
    """What the executor uses of ``subprocess.Popen``, for a child made by ``os.fork``."""

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


WorkerProcess = subprocess.Popen[bytes] | ForkedProcess


def start_worker(capture: str | None, threads: int, verbose: bool, environment: dict[str, str],
                 python: Environment | None = None) -> tuple[WorkerProcess, Connection]:
    """Start a worker (forked if :func:`can_fork`, else spawned) in its own session and process
    group; its process and the parent's end of its socket, on which ``setup`` is already sent.

    ``capture`` is the file that receives its standard output and error (None: ours, ``-v``).
    A worker of a suite's environment (``python``, :mod:`benchmark.environments`) is always
    spawned with that environment's interpreter, with its variables (the driver's ``PYTHONPATH``
    and ``VIRTUAL_ENV`` left out) and its ``sys.path`` instead of the driver's."""
    parent_end, child_end = socket.socketpair()
    process: WorkerProcess
    if python is None and can_fork():
        try:
            process = fork_worker(child_end.fileno(), capture or "-", threads, verbose, environment)
        finally:
            child_end.close()
    else:
        output = open(capture, "ab") if capture else None
        try:
            command = [sys.executable, "-m", "benchmark.worker", str(child_end.fileno()), capture or "-",
                       str(threads)] + (["--verbose"] if verbose else [])
            if python is not None:
                command = python.worker_command(child_end.fileno(), capture or "-", threads, verbose)
                environment = python.worker_variables(environment)
            process = subprocess.Popen(
                command, pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT if output else None, env=environment,
                start_new_session=True)  # its own session and process group
        finally:
            child_end.close()
            if output:
                output.close()
    conn = Connection(parent_end.detach())
    conn.send(("setup", python.worker_sys_path(sys.path) if python is not None else list(sys.path)))
    return process, conn
