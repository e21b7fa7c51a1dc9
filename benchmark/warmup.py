"""A model's one-time costs in a process, paid before a cell's time limit starts (issue 27).

A worker's first cell of a model used to pay what its later cells did not: the imports of the
model's libraries (TensorFlow: seconds), numba's first compilation (``fast-svd`` on a cold cache
was recorded as a timeout at ``--timeout 1``, then took 0.1 s once cached), the first calls into
SciPy and LAPACK (EASE at ml-100k: about 1 s in a worker's first cell against 0.2 s after).
Now the worker *warms* the cell's model after mapping its data and before it tells the engine
that the cell is ready (``("loaded", ...)``, :mod:`benchmark.worker`): the cell's time limit
counts from there, so none of that counts against ``--timeout``, and the row records the warm-up
apart (``warmup_seconds``); ``prepare_seconds`` and ``fit_seconds`` measure the model alone.

Warming a model is importing the libraries its entry declares (``requires``) and calling its
class's :meth:`benchmark.api.Model.warm_up` with the cell's parameters (contract 1.5; a 1.0
model inherits the base's, which does nothing). bench calls it before *every* cell, so a model
keeps it cheap once done (a flag of its module, numba's dispatcher cache); what one call spends
is that cell's ``warmup_seconds`` -- the first cell of a model in a process shows the cost, the
next ones about zero.

A warm-up that fails in the worker is not the worker's to report: the cell warms again inside
its own run (:func:`warmed`), meets the same failure and records it as its error.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from typing import Any

from benchmark.errors import MissingDependency
from benchmark.record import Cell
from benchmark.registry import Entry, Registry

_WARMED: dict[str, float] = {}
"""The seconds this process spent warming the model of the cell it is about to run (its id),
until that cell takes them (:func:`warmed`); at most one entry: a worker runs one cell at a time."""


def warm_up(entry: Entry, task: str, params: Mapping[str, Any]) -> float:
    """Warm the model of ``entry`` for ``task`` in this process: import its libraries, then its
    class's ``warm_up(params)``; the seconds it took. Raises :class:`MissingDependency` for a
    library that is not installed, and whatever the model's warm-up raises."""
    started = time.perf_counter()
    if entry.missing:
        module = next(m for m, d in entry.requires.items() if d in entry.missing)
        raise MissingDependency(module, entry.requires[module], entry.name)
    for module in entry.requires:
        importlib.import_module(module)
    entry.model_class(task).warm_up(dict(params))
    return time.perf_counter() - started


def warm_cell(cell: Cell, registry: Registry) -> float | None:
    """Before ``cell``'s clock starts (the worker): warm its model and keep the seconds for the
    cell's row. ``None`` when the warm-up failed: the cell meets that failure in its own run."""
    _WARMED.clear()
    try:
        seconds = warm_up(registry.get("model", cell.model_plugin), cell.task, cell.params)
    except Exception:  # noqa: BLE001 - recorded by the cell itself, with its traceback
        return None
    _WARMED[cell.id] = seconds
    return seconds


def warmed(cell: Cell, entry: Entry) -> float:
    """The seconds spent warming ``cell``'s model: what the worker spent before the cell's clock
    started (:func:`warm_cell`), or -- no worker warmed it (the inline executor, a warm-up that
    failed there) -- the model warmed now."""
    seconds = _WARMED.pop(cell.id, None)
    return seconds if seconds is not None else warm_up(entry, cell.task, cell.params)
