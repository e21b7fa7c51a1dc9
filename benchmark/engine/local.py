"""Cells in worker processes on this machine: scheduling, limits, and the reasons a cell failed.

:class:`LocalExecutor` keeps up to ``jobs`` workers (:mod:`benchmark.engine.processes` starts
them) busy, never more than there are cells to run. Its loop sends the next cells that fit in
the free cores to idle workers, waits for their messages or the next deadline, delivers the
events, and buries a worker that died or was killed — its cell's row made here, with the
reason (:func:`death_reason`, a timeout, a memory kill) — then starts another for the cells
left. A cell's time limit counts from when its data is ready (loading has no limit and its own
``load_seconds``); its memory limit is a watchdog on the resident set size of the worker and its
children, read from ``/proc`` every :attr:`LocalExecutor.MEMORY_POLL` seconds (why not
``RLIMIT_AS``: see :mod:`benchmark.engine`).
"""

from __future__ import annotations

import collections
import itertools
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.engine.processes import (WORKER_DIRECTORY_PREFIX, cores, process_state, start_time, start_worker,
                                        sweep_worker_directories, tree_rss, worker_environment)
from benchmark.errors import BenchError
from benchmark.events import Event, Finished, Flush, Log, OnEvent, Progress, Started, Stopped, Task
from benchmark.provenance import machine, now
from benchmark.record import Cell, CellResult
from benchmark.worker import clip_log, kill_tree, read_capture

if TYPE_CHECKING:
    from benchmark.environments import Environment

# --- Why a cell failed ------------------------------------------------------------------------


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


def failed_result(task: Task, status: str, error: str, run_id: str, log: str = "",
                  started_at: str | None = None) -> CellResult:
    """The result of a cell whose worker could not return one, made by the driver: the cell's
    fields, the reason, what the worker printed; the model's plugin and library versions are
    completed where the driver stores it (:func:`benchmark.execute.complete_provenance`)."""
    result = CellResult.start(Cell.from_dict(task.cell), run_id, machine(), started_at or now())
    result.status, result.error, result.finished_at = status, error, now()
    if log:
        result.log = clip_log(log)
    return result


# --- Workers and the loop that keeps them busy -----------------------------------------------

DEFAULT_POOL = ""
"""The pool of workers started with bench's own interpreter; an environment's pool is its hash,
and a GPU model's pools add ``#gpu`` (a device per worker) or ``#cpu`` (none visible)."""
GPU, CPU = "gpu", "cpu"
DEVICE_VARIABLE = "CUDA_VISIBLE_DEVICES"
CPU_NOTE = "no GPU counted (--gpus 0, or none found): ran on the CPU"


def pool_of(task: Task) -> str:
    """The pool a task runs in: the hash of the environment its cell names
    (``code["environment"]``, :mod:`benchmark.environments`), else :data:`DEFAULT_POOL`."""
    code = task.cell.get("code")
    environment = code.get("environment") if isinstance(code, Mapping) else None
    return str(environment.get("hash") or DEFAULT_POOL) if isinstance(environment, Mapping) else DEFAULT_POOL


@dataclass(frozen=True)
class _Setting:
    """What every worker of an executor is started with: its threads, whether its output goes to
    the terminal, the directory of its capture files and the shared data folder."""

    threads: int
    verbose: bool
    directory: str
    shared: str | None


class _Worker:
    """The executor's handle on one worker process: the cell it runs and that cell's clocks."""

    def __init__(self, slot: int, setting: _Setting, pool: str = DEFAULT_POOL,
                 environment: Environment | None = None, device: str | None = None):
        self.slot, self.pool = slot, pool
        self.device = device  # its CUDA_VISIBLE_DEVICES ("" for a GPU model's cell on the CPU); None: not set
        verbose = setting.verbose
        self.capture = None if verbose else \
            os.path.join(setting.directory, f"worker-{slot}-{secrets.token_hex(3)}.log")
        variables = worker_environment(setting.threads, verbose, setting.shared)
        if device is not None:
            variables[DEVICE_VARIABLE] = device
        self.process, self.conn = start_worker(self.capture, setting.threads, verbose, variables, environment)
        self.name = f"w{slot}" + (f":{environment.spec.name}" if environment is not None else "") + \
            (f":cuda{device}" if device else "")
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
        self.environments: dict[str, Environment] = {}
        """The suite's built environments by hash: a task whose cell names one
        (``code["environment"]``) runs in a worker of that environment's pool (:func:`pool_of`)."""
        self.devices: tuple[str, ...] = ()
        """The GPU devices counted as a resource (``--gpus N``), as ``CUDA_VISIBLE_DEVICES`` names
        them: at most that many cells of models that declare ``uses_gpu`` run at once, each in a
        worker that sees one of them."""
        self.gpu_models: frozenset[str] = frozenset()
        """The model plugins that declare ``uses_gpu`` (the runner asks the registry)."""
        self._noted_cpu: set[str] = set()
        self._device_of: dict[str, str] = {}  # cell id -> the CUDA_VISIBLE_DEVICES of its worker

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
                owner.write(f"{os.getpid()} {start_time(os.getpid())}\n")
        return self._directory

    @property
    def shared_directory(self) -> str | None:
        """Where the driver shares datasets and folds with the workers (None: not shared)."""
        return os.path.join(self.directory, "data") if self.share_data else None

    def start(self, count: int | None = None, pool: str = DEFAULT_POOL) -> None:
        """Start workers up to ``count`` (default ``jobs``, never more) without waiting for them;
        new ones in ``pool`` (bench's own interpreter, or an environment's hash)."""
        wanted = self.jobs if count is None else min(self.jobs, count)
        while len(self._workers) < wanted and self._start_one(pool):
            pass

    def _start_one(self, pool: str) -> bool:
        """Start a worker of ``pool``; False when it needs a device and none is free."""
        slot = 0
        while slot in self._workers:
            slot += 1
        environment_hash, _, kind = pool.partition("#")
        environment = None
        if environment_hash:
            try:
                environment = self.environments[environment_hash]
            except KeyError:
                raise BenchError(f"a cell names environment {environment_hash}, which this run has not built") from None
        device = None
        if kind == GPU:
            held = {w.device for w in self._workers.values()}
            device = next((d for d in self.devices if d not in held), None)
            if device is None:
                return False
        elif kind == CPU:
            device = ""  # a GPU model's cell on the CPU: no device visible
        setting = _Setting(self.threads, self.verbose, self.directory, self.shared_directory)
        self._workers[slot] = _Worker(slot + 1, setting, pool, environment, device)
        return True

    def pool(self, task: Task) -> str:
        """The pool a task runs in: its environment's (:func:`pool_of`), and for a model that
        declares a GPU the environment's GPU pool (one device per worker) when the run counts
        devices, else its CPU pool (``CUDA_VISIBLE_DEVICES`` empty)."""
        base = pool_of(task)
        if task.cell.get("model_plugin") not in self.gpu_models:
            return base
        return f"{base}#{GPU if self.devices else CPU}"

    def start_for(self, tasks: Sequence[Task]) -> None:
        """Start the workers of the pools the first tasks that fit in ``jobs`` need."""
        self._start_pools([self.pool(task) for task in tasks[:self.fitting(tasks)]])

    def _start_pools(self, wanted: Sequence[str]) -> None:
        """Make each pool hold an idle (or starting) worker per task of it in ``wanted``, the next
        cells to send: new workers while there are fewer than ``jobs`` (and, for a GPU pool, a
        free device), else in place of idle workers of pools those cells do not need (one worker
        pool per environment, ``jobs`` workers and ``gpus`` devices in all)."""
        needed = collections.Counter(wanted)
        for pool, count in needed.items():
            have = sum(1 for w in self._workers.values() if w.pool == pool and w.task is None)
            for _ in range(count - have):
                if len(self._workers) >= self.jobs and not self._retire_idle(needed):
                    return
                if not self._start_one(pool) and not (self._retire_idle(needed, devices=True)
                                                      and self._start_one(pool)):
                    break  # every device is held by a busy worker: this pool's cells wait

    def _retire_idle(self, needed: collections.Counter[str], devices: bool = False) -> bool:
        """Stop one idle worker (holding a device, if ``devices``) of a pool with more idle
        workers than ``needed``; whether one was."""
        for slot, worker in self._workers.items():
            idle = sum(1 for w in self._workers.values() if w.pool == worker.pool and w.task is None)
            if worker.task is None and idle > needed.get(worker.pool, 0) and (not devices or worker.device):
                del self._workers[slot]
                worker.stop()
                return True
        return False

    def grouped(self, tasks: Sequence[Task]) -> list[Task]:
        """``tasks`` with the cells of each pool together (bench's own first, then each
        environment in the order it first appears), each pool's in their order: a pool's
        workers start once instead of at every change of environment."""
        order = {pool: i for i, pool in enumerate(dict.fromkeys([DEFAULT_POOL, *map(self.pool, tasks)]))}
        return sorted(tasks, key=lambda task: order[self.pool(task)])

    def close(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        self._workers.clear()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    # The loop: dispatch to idle ready workers while cores are free, wait for messages or the
    # next deadline, deliver events, bury and replace workers that died or were killed.
    def run(self, tasks: Sequence[Task], on_event: OnEvent) -> None:
        pending = deque(self.grouped(tasks))
        on_event = self._noting_devices(on_event)
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
        self._start_pools([self.pool(task) for task in itertools.islice(pending, fits)])
        for _ in range(fits):
            pool = self.pool(pending[0])
            worker = next((w for w in self._workers.values() if w.pool == pool and w.ready and w.task is None), None)
            if worker is None:  # its pool's worker is still starting: the cells after it wait too
                break
            task = pending.popleft()
            worker.send(task, self.artifacts_root, self.run_id)
            on_event(Started(task.id, worker.name, task.label))

    def _noting_devices(self, on_event: OnEvent) -> OnEvent:
        """``on_event`` that adds to the row of a GPU model's cell the device it ran on
        (``model_info["device"]``: ``cuda:N`` as the worker's ``CUDA_VISIBLE_DEVICES`` numbers
        it, or ``cpu`` with a note), and says once per model when its cells run on the CPU."""
        def noting(event: Event) -> None:
            if isinstance(event, Started):
                worker = next((w for w in self._workers.values() if w.task is not None and w.task.id == event.cell_id),
                              None)
                if worker is not None and worker.device is not None:
                    self._device_of[event.cell_id] = worker.device
                    model = str(worker.task.cell.get("model_plugin")) if worker.task else ""
                    if not worker.device and model not in self._noted_cpu:
                        self._noted_cpu.add(model)
                        on_event(Log(f"{model} declares a GPU; {CPU_NOTE}"))
            elif isinstance(event, Finished) and event.cell_id in self._device_of:
                device = self._device_of.pop(event.cell_id)
                info = {**event.result.model_info, "device": f"cuda:{device}" if device else "cpu"}
                event.result.model_info = info if device else {**info, "device_note": CPU_NOTE}
            on_event(event)
        return noting

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
                    # data ready and model warmed: the limit starts now
                    worker.loading, worker.dispatched = False, time.monotonic()
                elif kind == "progress" and worker.task is not None and message[1] == worker.task.id:
                    on_event(Progress(*message[1:]))
                elif kind == "row" and worker.task is not None:
                    task, worker.task = worker.task, None
                    worker.stopped = False
                    on_event(Finished(task.id, CellResult.from_row(message[2])))  # the worker's row, typed
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
            # Data loading and the model's warm-up (imports, numba's compilation, first calls)
            # are not the cell's work: like the driver's own loading they have no limit, and
            # their times are recorded apart (load_seconds, warmup_seconds).
            worker.kill("timeout", f"timeout after {format_seconds(task.limits.timeout)}")
            return False
        if task.limits.memory is not None and now - worker.rss_checked >= self.MEMORY_POLL * 0.9:
            worker.rss_checked = now
            resident = tree_rss(worker.process.pid)
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
        on_event(Finished(worker.task.id, failed_result(worker.task, status, error, self.run_id, log,
                                                        worker.started_at)))


