"""Which metric values bench averages: the one rule, at the source and at every reader.

A metric value that is NaN or infinite was always a metric error. A *finite* value can still
break every reader: two values of 1e308 overflow ``math.fsum`` (``bench run``, ``bench
leaderboard`` and ``bench report`` failed on every call). So a value's magnitude is bounded by
:data:`LARGEST`, chosen so that any mean, difference or variance of such values over any
number of folds stays finite (a square of 1e150 is 1e300, below the largest float, 1.8e308).
Beyond it the value is that metric's error, like NaN: :func:`benchmark.execute.score` records it
so for a new cell, :func:`benchmark.resultset.record` for a stored row. No metric of bench's
kind comes near it (errors, losses and ranking metrics are small numbers).
"""

from __future__ import annotations

import math

LARGEST = 1e150
"""The largest magnitude of a metric value bench averages."""


def metric_problem(number: float) -> str:
    """Why ``number`` is not averaged (``""`` when it is): non-finite, or beyond :data:`LARGEST`."""
    if not math.isfinite(number):
        return f"non-finite value {number}"
    if abs(number) > LARGEST:
        return f"value {number:g} too large to average (beyond ±{LARGEST:g})"
    return ""
