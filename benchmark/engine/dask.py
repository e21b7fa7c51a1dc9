"""Cells as tasks on a Dask cluster, each run exactly as :class:`LocalExecutor` runs it.

Each Dask task runs its cell through a one-worker :class:`~benchmark.engine.local.LocalExecutor`
on the Dask worker (:func:`dask_task`), so limits, crashes and logs behave exactly as locally; a
Dask worker that dies under a cell gives ``killed``/``worker died`` (``allowed-failures`` 0 and
one task per worker on the LocalCluster it starts; a cell that had not started on the dead
worker is sent again, at most twice). Started and progress events travel as Dask worker events
on a topic of the run; a finished cell's row travels with its event and is kept on the scheduler
until the run ends, so a worker that dies right after a cell cannot lose it. Dask is imported
only inside these functions: ``bench run`` without ``--executor dask`` never loads it.
"""

from __future__ import annotations

import atexit
import json
import queue
import secrets
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark.engine.local import LocalExecutor, failed_result
from benchmark.engine.processes import cores
from benchmark.errors import BenchError, clip
from benchmark.events import Event, Finished, Flush, Limits, OnEvent, Progress, Started, Task
from benchmark.record import CellResult


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

        distributed = _distributed()
        if self.scheduler:
            try:
                self.client = distributed.Client(self.scheduler)
            except (OSError, TimeoutError, ValueError) as exc:  # refused, unreachable, a bad address
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise BenchError(f"cannot reach the Dask scheduler {self.scheduler!r}: {clip(reason, 200)}",
                                 "--scheduler") from None
            return
        # One task at a time per worker (saturation 1.0), so a worker that dies takes no queued
        # cells with it; a cell that kills its worker fails at once (allowed-failures 0).
        with dask.config.set({"distributed.scheduler.allowed-failures": self.allowed_failures,
                              "distributed.scheduler.worker-saturation": 1.0}):
            self.cluster = distributed.LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                                    dashboard_address=None, memory_limit=0,
                                                    silence_logs=logging.CRITICAL)
        self.client = distributed.Client(self.cluster)
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
        self.start()
        run = _Run(self, on_event)
        try:
            for task in tasks:
                run.submit(task)
            while run.futures:
                try:
                    kind, value = run.inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                if kind == "event":
                    run.worker_event(value)
                else:
                    run.done(value)
        finally:
            try:
                self.client.unsubscribe_topic(run.topic)
            except Exception:
                pass
            if run.futures:
                self.client.cancel([f for f, _ in run.futures.values()])
            self._forget_rows(run.topic, tasks)

    def _forget_rows(self, topic: str, tasks: Sequence[Task]) -> None:
        """Drop the rows kept on the scheduler (see :func:`dask_task`) once the run is over.

        One ``Variable.delete`` per task, but no round trip: each is a message on the client's
        batched stream (1,000 cost 4 ms here, sent together). distributed deletes Variables
        only one by one; its batch call, ``unpublish_dataset([...])``, is for datasets."""
        distributed = _distributed()
        for task in tasks:
            try:
                distributed.Variable(_row_variable(topic, task.id), client=self.client).delete()
            except Exception:
                pass


class _Run:
    """One call of :meth:`DaskExecutor.run`: its topic and inbox, the futures in flight, and
    what the workers' events said of their cells."""

    def __init__(self, executor: DaskExecutor, on_event: OnEvent):
        self.executor, self.on_event = executor, on_event
        self.topic = f"bench-{secrets.token_hex(6)}"
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        executor.client.subscribe_topic(self.topic, lambda event: self.inbox.put(("event", event[1])))
        self.host_threads = None if executor.threads else executor._host_threads()
        self.reserve = executor._reserves_cores()
        self.futures: dict[str, tuple[Any, Task]] = {}
        self.started: set[str] = set()  # cells a Dask worker began: a worker dying under one is its fault
        self.resubmitted: dict[str, int] = {}

    def submit(self, task: Task) -> None:
        executor = self.executor
        payload = {"cell": dict(task.cell), "id": task.id, "label": task.label,
                   "limits": (task.limits.timeout, task.limits.memory), "topic": self.topic,
                   "artifacts_root": executor.artifacts_root, "run_id": executor.run_id,
                   "verbose": executor.verbose, "threads": executor.threads, "host_threads": self.host_threads,
                   "key": f"bench-cell-{task.id}-{self.topic}-{secrets.token_hex(3)}"}
        # On workers that advertise a "cores" resource, a cell takes its declared threads
        # of them, as it takes that many of --jobs locally.
        resources = {"cores": task.threads} if self.reserve else None
        future = executor.client.submit(dask_task, payload, key=payload["key"], pure=False, retries=0,
                                        resources=resources)
        self.futures[future.key] = (future, task)
        future.add_done_callback(lambda f: self.inbox.put(("done", f.key)))

    def worker_event(self, value: dict[str, Any]) -> None:
        """A cell started, reported progress, or finished (its row with the event)."""
        if value["kind"] == "started":
            self.started.add(value["cell_id"])
            self.on_event(Started(value["cell_id"], value["worker"], value["label"]))
        elif value["kind"] == "progress":
            self.on_event(Progress(value["cell_id"], value["done"], value["total"], value["unit"]))
        elif value["kind"] == "row" and value["key"] in self.futures:
            # The row comes with the event, not from the worker's memory: a worker that
            # dies right after the cell (under the next one) cannot lose it.
            future, task = self.futures.pop(value["key"])
            self.on_event(Finished(task.id, _as_stored(value["row"])))
            self.on_event(Flush())

    def done(self, key: str) -> None:
        """A future ended: its row, unless its event brought it already; a cell that never ran
        on a worker that died is sent again."""
        if key not in self.futures:
            return
        future, task = self.futures.pop(key)
        run_id = self.executor.run_id
        try:
            result = _as_stored(future.result())
        except _distributed().KilledWorker as exc:
            if task.id not in self.started and self.resubmitted.get(task.id, 0) < DaskExecutor.RESUBMIT:
                # Queued on a worker that another cell killed: it never ran, run it again.
                self.resubmitted[task.id] = self.resubmitted.get(task.id, 0) + 1
                self.submit(task)
                return
            worker = getattr(getattr(exc, "last_worker", None), "address", None)
            result = failed_result(task, "killed", f"worker died (the Dask worker {worker or ''} died "
                                                   "while running the cell: KilledWorker)".replace("  ", " "), run_id)
        except Exception as exc:  # cancelled, lost, or a bug in the task itself
            result = failed_result(task, "crashed", f"dask task failed: {type(exc).__name__}: {exc}", run_id)
        self.on_event(Finished(task.id, result))
        self.on_event(Flush())


_DASK_LOCAL: dict[int, tuple[tuple[Any, ...], LocalExecutor]] = {}
_DASK_LOCK = threading.Lock()


def _close_dask_local() -> None:
    for _, executor in _DASK_LOCAL.values():
        executor.close()


atexit.register(_close_dask_local)


def dask_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one cell on a Dask worker through a one-job :class:`LocalExecutor`; return its row."""
    distributed = _distributed()
    dask_worker = distributed.get_worker()
    threads = payload["threads"]
    if threads is None:
        host = distributed.comm.addressing.get_address_host(dask_worker.address)
        threads = max(1, cores() // (payload["host_threads"] or {}).get(host, 1))
    rows: list[dict[str, Any]] = []
    topic = payload["topic"]

    def forward(event: Event) -> None:
        if isinstance(event, Finished):
            rows.append(event.row)  # plain data: it travels back as msgpack
        elif isinstance(event, Started):
            dask_worker.log_event(topic, {"kind": "started", "cell_id": event.cell_id,
                                          "worker": dask_worker.address, "label": event.label})
        elif isinstance(event, Progress):
            dask_worker.log_event(topic, {"kind": "progress", "cell_id": event.cell_id, "done": event.done,
                                          "total": event.total, "unit": event.unit})

    # The row is kept on the scheduler before it is returned: when this worker dies after the
    # cell, Dask recomputes a result that a client still wants; the new task then finds the row
    # there and returns it instead of computing the cell a second time.
    stored = distributed.Variable(_row_variable(topic, payload["id"]))
    try:
        rows.append(stored.get(timeout=0))
    except Exception:  # not stored: the cell has not run yet
        timeout, memory = payload["limits"]
        executor = _local_executor(threads, payload["verbose"], payload["run_id"], payload["artifacts_root"])
        executor.run([Task(payload["cell"], Limits(timeout, memory), payload["id"])], forward)
        stored.set(rows[0])
    dask_worker.log_event(topic, {"kind": "row", "key": payload["key"], "row": rows[0]})
    return rows[0]


def _local_executor(threads: int, verbose: bool, run_id: str, artifacts_root: str | None) -> LocalExecutor:
    """This Dask worker thread's one-job executor, kept for its next task of the same run (its
    worker process, registry and mapped data stay warm); a task of other settings replaces it."""
    key = (threads, verbose, run_id, artifacts_root)
    with _DASK_LOCK:
        previous = _DASK_LOCAL.get(threading.get_ident())
        if previous is not None and previous[0] == key:
            return previous[1]
        if previous is not None:
            previous[1].close()
        executor = LocalExecutor(1, artifacts_root, run_id, verbose, threads, share_data=False)
        _DASK_LOCAL[threading.get_ident()] = (key, executor)
        return executor


def _as_stored(row: dict[str, Any]) -> CellResult:
    """A row back from Dask, typed as it is stored and read: its events and variables travel
    as msgpack, which turns every list into a tuple (the readers' schema wants lists)."""
    return CellResult.from_row(json.loads(json.dumps(row)))


def _row_variable(topic: str, cell_id: str) -> str:
    return f"{topic}-row-{cell_id}"




def _distributed() -> Any:
    """The ``distributed`` package, imported when first needed (never by ``bench run`` without
    ``--executor dask``), as ``Any``: it is not annotated throughout."""
    import distributed
    import distributed.comm.addressing  # noqa: F401  (get_address_host, used by dask_task)

    return distributed
