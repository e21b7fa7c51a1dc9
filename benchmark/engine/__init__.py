"""Execution engine: run cells in isolated worker processes, here or on a Dask cluster.

Every executor has one method, ``run(tasks, on_event)``. A :class:`Task` is a cell as plain data
(``Cell.to_dict()``) with its :class:`~benchmark.events.Limits`; ``on_event`` receives
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

* :class:`LocalExecutor` (:mod:`.local`; :mod:`.processes` starts its workers) — up to ``jobs``
  worker processes (:mod:`benchmark.worker`), never more than there are cells to run: forked
  from the driver while it is single-threaded and has loaded no thread-pool library (ready in
  milliseconds, its imported pages shared), else fresh interpreters started with ``subprocess``
  (``BENCH_WORKER_START=spawn`` always). A worker is reused for the next cell (its registry and
  mapped datasets stay cached) and replaced after a crash, a timeout or a memory kill. Each
  worker gets ``cores // jobs`` BLAS/OpenMP/numba/TensorFlow threads; a cell whose model
  declares ``threads: N`` gets N and counts as N of the ``jobs``. The datasets and folds are those the driver loaded, mapped
  read-only (:mod:`benchmark.shared_data`); a cell's time limit starts once its data is ready.
  A cell of a model that runs in a suite's environment (:mod:`benchmark.environments`) goes to
  that environment's own pool of workers, spawned with its interpreter (``jobs`` workers over all
  pools; each pool's cells are sent together); a cell of a model that declares ``uses_gpu`` to a
  worker that sees one of ``--gpus N`` devices (``CUDA_VISIBLE_DEVICES``), at most N at once, or
  none when the run has none (its row says ``device: cpu``).
  Each worker is its own session and a child subreaper: what a cell leaves running (forked
  children, ``setsid`` daemons) is killed when the cell ends, with the worker when it is
  killed, and when the driver dies. The rows of one pass of the event loop are delivered
  together, then a :class:`Flush`, so that the caller stores and shows them in one go.
* :class:`DaskExecutor` (:mod:`.dask`) — the same, one level down: each Dask task runs its cell
  through a one-worker :class:`LocalExecutor` on the Dask worker, so limits, crashes and logs behave
  exactly as locally; a Dask worker that dies under a cell gives ``killed``/``worker died``
  (``allowed-failures`` 0 and one task per worker on the LocalCluster it starts; a cell that
  had not started on the dead worker is sent again, at most twice). Dask is imported only there.
* :class:`InlineExecutor` (:mod:`.inline`) — in this process, no isolation and no limits
  (debugging).

Memory limits are enforced by a watchdog in the parent that reads the worker's resident set
size (the worker and its children, from ``/proc``) every 0.1 s and kills it above the limit.
Not ``RLIMIT_AS``: TensorFlow, numba/LLVM and glibc's per-thread arenas reserve far more address
space than they ever touch, so an address-space limit refuses models that fit comfortably, and
the refusal surfaces as a ``MemoryError`` or a C++ abort deep inside a library instead of a clear
reason. Resident memory is what the OOM killer looks at. The price: an allocation faster than
the polling interval can overshoot the limit briefly (or meet the OOM killer first, recorded as
``killed by signal 9 (out of memory?)``). Where cgroup v2 delegation is available,
``memory.max`` on a per-worker cgroup would be exact; it is not portable enough to be the default.

The tasks, events and limits are :mod:`benchmark.events`' (those callers imported from here
before are re-exported). The engine knows neither the suite nor the display: the runner builds
the tasks, and :func:`run_cells` hands each event to the display it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

from benchmark.engine.dask import DaskExecutor
from benchmark.engine.inline import InlineExecutor
from benchmark.engine.local import LocalExecutor
from benchmark.engine.processes import (START_METHOD, THREADED_LIBRARIES, WORKER_DIRECTORY_PREFIX, can_fork, cores,
                                        gpu_devices, process_state, sweep_worker_directories)
from benchmark.errors import BenchError
from benchmark.events import (Display, Event, Executor, ExecutorSettings, Finished, Flush, Log, Progress, Started,
                              Stopped, Task)
from benchmark.record import CellResult
from benchmark.worker import descendants

# The package's own names, and those callers (tests, benchmark scripts) imported from the module
# benchmark/engine.py was: the events, the process helpers.
__all__ = ["DaskExecutor", "InlineExecutor", "LocalExecutor", "make_executor", "run_cells",
           "Event", "Finished", "Flush", "Log", "Progress", "Started", "Stopped", "Task",
           "START_METHOD", "THREADED_LIBRARIES", "WORKER_DIRECTORY_PREFIX", "can_fork", "cores", "descendants",
           "gpu_devices",
           "process_state", "sweep_worker_directories"]


def make_executor(settings: ExecutorSettings) -> LocalExecutor | DaskExecutor | InlineExecutor:
    """``--executor local|dask|inline`` with ``--jobs``, ``--scheduler`` and ``-v``."""
    if settings.kind == "local":
        return LocalExecutor(settings.jobs, settings.artifacts_root, settings.run_id, settings.verbose)
    if settings.kind == "dask":
        return DaskExecutor(settings.scheduler, settings.jobs, settings.artifacts_root, settings.run_id,
                            settings.verbose)
    if settings.kind == "inline":
        return InlineExecutor(settings.artifacts_root, settings.run_id)
    raise BenchError(f"unknown executor {settings.kind!r}; expected local, dask or inline")


def run_cells(tasks: Sequence[Task], finished: Callable[[list[CellResult]], None], display: Display,
              settings: ExecutorSettings = ExecutorSettings(), executor: Executor | None = None) -> None:
    """Run ``tasks`` and hand their results to ``finished(results)`` (which stores them), then to
    ``display``.

    ``executor`` is an already started one (see :class:`LocalExecutor`), left open: its workers
    and shared data serve the caller's next call, e.g. the next phase of a tuned suite. Without
    one, :func:`make_executor` makes one from ``settings`` here, and it is closed here.
    ``display`` (:mod:`benchmark.progress`) receives every event; its lines of finished cells
    follow the rows' storing.

    Rows that arrive in one pass of the executor's loop are stored together at its
    :class:`Flush` (``finished(rows)``: one write and one ``fsync`` for all, which is what lets
    the driver keep up with hundreds of cells a second), then shown; and whatever arrived is
    stored before an interruption (Ctrl-C, SIGTERM) propagates. A row is stored within one loop
    pass (≤ 1 s, usually milliseconds) of reaching the driver.
    """
    owned = executor is None
    running = make_executor(settings) if executor is None else executor
    held: list[Finished] = []  # rows received in this pass of the executor's loop

    def deliver() -> None:
        events, held[:] = list(held), []
        if events:
            finished([event.result for event in events])  # stored before they are shown
        for event in events:
            display.handle(event)

    def on_event(event: Event) -> None:
        if isinstance(event, Finished):
            held.append(event)
            return
        if isinstance(event, Flush):
            deliver()
        display.handle(event)

    if isinstance(running, LocalExecutor):  # before the display's thread: they can fork
        running.start_for(running.grouped(tasks))
    with running if owned else nullcontext(), display:
        try:
            running.run(tasks, on_event)
        finally:  # Ctrl-C, SIGTERM: what arrived is stored before the run stops
            deliver()
