"""Built-in metrics: RMSE and MAE for ratings, MSE and binary cross-entropy for reconstructions."""

from __future__ import annotations

import numpy as np

from benchmark.api import RATING, RECONSTRUCTION, MetricSpec, hookimpl

EPSILON = 1e-7  # as Keras clips probabilities in binary cross-entropy


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y_true - y_pred)))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((y_true - y_pred) ** 2))


def bce(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean binary cross-entropy over all values; predictions are clipped to [1e-7, 1 - 1e-7]."""
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    return float(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))))


@hookimpl
def bench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec("rmse", rmse, RATING, summary="Root mean squared error of predicted ratings"),
        MetricSpec("mae", mae, RATING, summary="Mean absolute error of predicted ratings"),
        MetricSpec("mse", mse, RECONSTRUCTION, summary="Mean squared reconstruction error"),
        MetricSpec("bce", bce, RECONSTRUCTION, summary="Mean binary cross-entropy of reconstructions"),
    ]
