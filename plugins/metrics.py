"""Built-in metrics: RMSE, MAE and FCP for ratings, MSE and binary cross-entropy for reconstructions.

RMSE and MAE are reported per user, MSE and BCE per example (:class:`~benchmark.api.PerUnit`),
so that ``bench compare`` can pair two models on the same users or rows of one split. The value
stored in the row is still the plain pointwise one (``exact``): summing per-user sums rounds
differently from ``np.mean`` over all pairs, and published figures must not move by an ulp.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import (CHUNK, RATING, RECONSTRUCTION, MetricSpec, PerUnit, Predictions, distinct_in_order,
                           hookimpl)

EPSILON = 1e-7  # as Keras clips probabilities in binary cross-entropy


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y_true - y_pred)))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((y_true - y_pred) ** 2))


def _bce_losses(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of every value; predictions are clipped to [1e-7, 1 - 1e-7]."""
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))


def bce(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean binary cross-entropy over all values; predictions are clipped to [1e-7, 1 - 1e-7]."""
    return float(np.mean(_bce_losses(y_true, y_pred)))


def _per_user(predictions: Predictions, errors: np.ndarray, value: float, transform: str) -> PerUnit:
    """Per test user: the sum of ``errors`` and the number of test pairs."""
    if predictions.users is None:
        raise ValueError("per-user values need the test users")
    pairs = np.asarray(predictions.users)
    users = distinct_in_order(pairs)
    num, den = np.zeros(len(users)), np.zeros(len(users))
    for start in range(0, len(errors), CHUNK):  # added in pair order, as np.bincount adds
        part = slice(start, start + CHUNK)
        codes = users.get_indexer(pairs[part])
        np.add.at(num, codes, errors[part])
        np.add.at(den, codes, 1.0)
    return PerUnit("user", np.asarray(users).astype(str), num, den, transform, exact=value)


def _per_example(predictions: Predictions, losses: np.ndarray, value: float) -> PerUnit:
    """Per test row: the sum of the row's ``losses`` over its features, and the feature count."""
    losses = losses.reshape(len(losses), -1)
    rows = np.asarray(predictions.extra.get("rows", np.arange(len(losses))))
    return PerUnit("example", rows.astype(str), losses.sum(axis=1),
                   np.full(len(losses), float(losses.shape[1])), "identity", exact=value)


def rmse_per_user(predictions: Predictions) -> PerUnit:
    """:func:`rmse`, with each user's sum of squared errors and count."""
    squared = np.subtract(predictions.y_true, predictions.y_pred)
    np.square(squared, out=squared)  # one temporary the size of the test set, not two
    return _per_user(predictions, squared, float(np.sqrt(np.mean(squared))), "sqrt")  # = rmse()


def mae_per_user(predictions: Predictions) -> PerUnit:
    """:func:`mae`, with each user's sum of absolute errors and count."""
    absolute = np.subtract(predictions.y_true, predictions.y_pred)
    np.abs(absolute, out=absolute)
    return _per_user(predictions, absolute, float(np.mean(absolute)), "identity")  # = mae()


def mse_per_example(predictions: Predictions) -> PerUnit:
    """:func:`mse`, with each test row's sum of squared errors over its features."""
    squared = (predictions.y_true - predictions.y_pred) ** 2
    return _per_example(predictions, squared, float(np.mean(squared)))  # = mse()


def bce_per_example(predictions: Predictions) -> PerUnit:
    """:func:`bce`, with each test row's summed cross-entropy over its features."""
    losses = _bce_losses(predictions.y_true, predictions.y_pred)
    return _per_example(predictions, losses, float(np.mean(losses)))  # = bce()


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
        MetricSpec("rmse", rmse_per_user, RATING, context=True,
                   summary="Root mean squared error of predicted ratings"),
        MetricSpec("mae", mae_per_user, RATING, context=True,
                   summary="Mean absolute error of predicted ratings"),
        MetricSpec("fcp", fcp, RATING, greater_is_better=True, context=True,
                   summary="Fraction of concordant pairs per user (as Surprise's accuracy.fcp)"),
        MetricSpec("mse", mse_per_example, RECONSTRUCTION, context=True,
                   summary="Mean squared reconstruction error"),
        MetricSpec("bce", bce_per_example, RECONSTRUCTION, context=True,
                   summary="Mean binary cross-entropy of reconstructions"),
    ]
