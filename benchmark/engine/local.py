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

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from benchmark.engine.processes import (WORKER_DIRECTORY_PREFIX, cores, process_state, start_time, start_worker,
                                        sweep_worker_directories, tree_rss, worker_environment)
from benchmark.errors import BenchError
from benchmark.events import Finished, Flush, Log, OnEvent, Progress, Started, Stopped, Task
from benchmark.provenance import machine, now
from benchmark.record import Cell, CellResult
from benchmark.worker import clip_log, kill_tree, read_capture

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


class _Worker:
    """The executor's handle on one worker process: the cell it runs and that cell's clocks."""

    def __init__(self, slot: int, threads: int, verbose: bool, directory: str, shared: str | None):
        self.slot = slot
        self.capture = None if verbose else os.path.join(directory, f"worker-{slot}-{secrets.token_hex(3)}.log")
        self.process, self.conn = start_worker(self.capture, threads, verbose,
                                               worker_environment(threads, verbose, shared))
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
                owner.write(f"{os.getpid()} {start_time(os.getpid())}\n")
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


