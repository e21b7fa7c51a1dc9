"""What the core checks of a task's outputs before any metric reads them, whatever the task.

A task's runner is a plugin's code, and a metric trusts what it is given: all-NaN scores ranked
by a new task's own code gave ``hitrate@1 = 1.0`` without a word. So :func:`execute.run_task`
(and the conformance kit, with the same sentences) checks every :class:`Predictions` here,
once, in the core:

* ``y_pred`` has ``y_true``'s shape and holds no NaN or infinity (when it holds numbers);
* a :class:`~benchmark.ranking.RankedLists` in ``extra`` has one ranked list per user, of item
  positions within the catalogue (``-1`` past the candidates), and relevance of the same shape;
* another float array of ``extra`` holds no NaN (infinity may be a mask: ``-inf`` for excluded
  items).

A problem is one line (``ValueError``); the cell fails with it and no metric runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.api import Predictions
from benchmark.ranking import RankedLists


def _numbers(values: Any) -> np.ndarray | None:
    """``values`` as an array of floats, or ``None`` when they are not numbers (labels)."""
    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind == "O":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError):
            return None
    return None


def _non_finite(array: np.ndarray, what: str) -> str:
    bad = int((~np.isfinite(array)).sum())
    return f"{bad} of {array.size} {what} are NaN or infinite" if bad else ""


def _ranked_lists_problem(lists: RankedLists, key: str) -> str:
    where = f"extra[{key!r}]"
    top = np.asarray(lists.top)
    users = len(np.asarray(lists.users))
    if top.ndim != 2 or top.shape[0] != users:
        return f"{where} ranked lists have shape {top.shape}, expected ({users}, depth): one list per user"
    if top.size and top.dtype.kind not in "iu":
        return f"{where} ranked lists hold {top.dtype} values, expected integer item positions"
    outside = top[(top < -1) | (top >= lists.n_items)]
    if outside.size:
        return (f"{where} ranked lists hold item positions {sorted(set(outside.tolist()))[:3]} outside "
                f"0..{lists.n_items - 1} (-1 past the candidates)")
    shape = getattr(lists.relevant, "shape", None)
    if shape != (users, lists.n_items):
        return f"{where} relevance has shape {shape}, expected ({users}, {lists.n_items})"
    return ""


def predictions_problem(predictions: Predictions, runner: str = "the task's runner") -> str:
    """Why ``predictions`` cannot be scored ('' when they can): one line naming ``runner``."""
    y_true, y_pred = np.asarray(predictions.y_true), np.asarray(predictions.y_pred)
    if y_pred.shape != y_true.shape:
        return f"{runner} returned predictions of shape {y_pred.shape}, expected {y_true.shape} (y_true's)"
    values = _numbers(y_pred)
    if values is not None and values.size:
        problem = _non_finite(values, "predictions")
        if problem:
            return f"{runner}: {problem}"
    for key, value in (predictions.extra or {}).items():
        if isinstance(value, RankedLists):
            problem = _ranked_lists_problem(value, str(key))
        elif isinstance(value, np.ndarray) and value.dtype.kind in "fc" and np.isnan(value).any():
            problem = f"extra[{key!r}] holds {int(np.isnan(value).sum())} NaN values"
        else:
            continue
        if problem:
            return f"{runner}: {problem}"
    return ""


def check_predictions(predictions: Predictions, runner: str = "the task's runner") -> Predictions:
    """``predictions``, or a one-line ``ValueError`` saying why no metric may read them."""
    problem = predictions_problem(predictions, runner)
    if problem:
        raise ValueError(problem)
    return predictions
