"""Built-in metrics: RMSE, MAE and FCP for ratings, MSE and binary cross-entropy for reconstructions."""

from __future__ import annotations

import numpy as np

from benchmark.api import RATING, RECONSTRUCTION, MetricSpec, Predictions, hookimpl

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


def fcp(predictions: Predictions) -> float:
    """Fraction of concordant pairs (Koren 2011), computed exactly as Surprise's ``accuracy.fcp``.

    Per test user, ``nc`` counts ordered pairs ranked in the true order (``est_i > est_j`` and
    ``r_i > r_j``) and ``nd`` those ranked against it (``est_i >= est_j`` and ``r_i < r_j``);
    FCP is ``mean(nc) / (mean(nc) + mean(nd))``, where, as in Surprise, each mean is over the
    users whose count is not zero.
    """
    concordant, discordant = [], []
    for _, truth, estimate in predictions.by_user():
        if len(truth) < 2:
            continue
        higher_estimate = estimate[:, None] > estimate[None, :]
        higher_truth = truth[:, None] > truth[None, :]
        nc = int(np.count_nonzero(higher_estimate & higher_truth))
        nd = int(np.count_nonzero(~higher_estimate.T & higher_truth.T))  # est_i >= est_j, r_i < r_j
        if nc:
            concordant.append(nc)
        if nd:
            discordant.append(nd)
    nc_mean = float(np.mean(concordant)) if concordant else 0.0
    nd_mean = float(np.mean(discordant)) if discordant else 0.0
    if nc_mean + nd_mean == 0:
        raise ValueError("fcp needs a user with at least two test ratings of different values")
    return nc_mean / (nc_mean + nd_mean)


@hookimpl
def bench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec("rmse", rmse, RATING, summary="Root mean squared error of predicted ratings"),
        MetricSpec("mae", mae, RATING, summary="Mean absolute error of predicted ratings"),
        MetricSpec("fcp", fcp, RATING, greater_is_better=True, context=True,
                   summary="Fraction of concordant pairs per user (as Surprise's accuracy.fcp)"),
        MetricSpec("mse", mse, RECONSTRUCTION, summary="Mean squared reconstruction error"),
        MetricSpec("bce", bce, RECONSTRUCTION, summary="Mean binary cross-entropy of reconstructions"),
    ]
