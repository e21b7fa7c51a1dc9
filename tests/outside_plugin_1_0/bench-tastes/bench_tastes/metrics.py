"""Metrics: the share of predictions within one star, and the mean absolute error of each
taster, averaged over tasters."""

from __future__ import annotations

import numpy as np

from benchmark.api import RATING, MetricSpec, Predictions, hookimpl

BENCH_API_VERSION = 1


def within_one(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of predictions at most one star away from the rating."""
    return float(np.mean(np.abs(y_true - y_pred) <= 1.0))


def taster_mae(predictions: Predictions) -> float:
    """MAE of each test taster, averaged over tasters (every taster counts the same)."""
    per_user = predictions.per_user(lambda t, p: float(np.mean(np.abs(t - p))))
    return float(per_user.mean())


@hookimpl
def bench_metrics():
    return [
        MetricSpec("within-one", within_one, RATING, greater_is_better=True,
                   summary="Share of predictions within one star"),
        MetricSpec("taster-mae", taster_mae, RATING, summary="MAE per taster, averaged", context=True),
    ]
