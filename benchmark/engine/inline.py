"""Cells in this process, one after the other: no isolation, no limits (``--executor inline``).

For debugging a model (a breakpoint in ``fit`` stops where it is) and for tests that need no
worker; a cell that crashes takes the run with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark import api, execute
from benchmark.events import Finished, Flush, OnEvent, Progress, Started, Task


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
        for task in tasks:
            on_event(Started(task.id, "inline", task.label))
            api._progress_sink = lambda done, total=None, unit="epoch", _id=task.id: on_event(
                Progress(_id, int(done), total, unit))
            try:
                result = execute.execute_cell(task.cell, self.artifacts_root, self.run_id)
            finally:
                api._progress_sink = None
            on_event(Finished(task.id, result))
            on_event(Flush())


