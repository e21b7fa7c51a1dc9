"""What the engine and its callers say to each other: tasks in, events out.

The runner (:mod:`benchmark.runner`) turns cells into :class:`Task` objects, an executor
(:mod:`benchmark.engine`) runs them and reports :class:`Started`, :class:`Progress`,
:class:`Stopped`, :class:`Log`, :class:`Finished` and :class:`Flush` events to one callback
(:data:`OnEvent`), and a display (:mod:`benchmark.progress`) shows them. This module is the one
vocabulary the three share, and it imports none of them: the engine does not know the suite or
the display, the display does not know the engine (before, ``engine`` and ``progress`` imported
each other). :class:`Limits` lives here because a task carries them; the suite parses them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchmark.record import Cell, CellResult

# --- What a task is ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Per-cell limits; ``None`` means no limit."""

    timeout: float | None = None
    memory: int | None = None  # bytes

    def merged(self, other: Limits) -> Limits:
        """``other``'s limits where set, else these."""
        return Limits(other.timeout if other.timeout is not None else self.timeout,
                      other.memory if other.memory is not None else self.memory)


def task_threads(cell: Mapping[str, Any]) -> int:
    """The cores a cell declares (its model's ``threads`` parameter), 1 when it declares none."""
    try:
        return max(1, int(cell.get("params", {}).get("threads") or 1))
    except (TypeError, ValueError):
        return 1


@dataclass(frozen=True)
class Task:
    """One cell to run, as plain data (``Cell.to_dict()``: it crosses process and machine
    boundaries), and its limits."""

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
class ExecutorSettings:
    """Which executor runs the tasks and how (``--executor``, ``--jobs``, ``--scheduler``,
    ``-v``), and what every cell of the run shares (its run id, its artifacts directory)."""

    kind: str = "local"  # "local" (worker processes), "dask", "inline" (this process)
    jobs: int = 1
    scheduler: str | None = None
    verbose: bool = False
    run_id: str = ""
    artifacts_root: str | None = None  # absolute: a model's chdir cannot move it


# --- Events -----------------------------------------------------------------------------------


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
    """The cell's result, ok or failed; exactly one per task.

    Typed from the moment it reaches the driver: what a worker process or a Dask task sends is
    the stored row (plain data crosses processes), read once by the executor with
    :meth:`CellResult.from_row`; an inline cell's result and one the driver makes for a cell
    whose worker died (:func:`benchmark.engine.local.failed_result`) are typed from the start."""

    cell_id: str
    result: CellResult

    @property
    def row(self) -> dict[str, Any]:
        """The result as ``cells.jsonl`` stores it (a copy)."""
        return self.result.to_row()


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


# --- Who sends them, who receives them --------------------------------------------------------


class Executor(Protocol):
    """Runs tasks; a context manager so workers can start while the caller still plans.

    ``on_event`` receives the events **in the calling thread** (the caller is the store's only
    writer); ``run`` returns when every task has had its :class:`Finished`, and never raises for
    a failing cell (its row says why). Each pass of its loop that delivered a :class:`Finished`
    ends with a :class:`Flush`."""

    def run(self, tasks: Sequence[Task], on_event: OnEvent) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


class Display(Protocol):
    """Shows a run's events (:mod:`benchmark.progress`); a context manager around the run.

    ``handle`` is called in the run's thread; a display's own thread may only redraw or write
    heartbeats."""

    def handle(self, event: Event) -> None: ...

    def __enter__(self) -> Display: ...

    def __exit__(self, *exc: object) -> None: ...
