"""A third-party task for bench: will the user like the item (rate it at least ``threshold``)?

Everything a task needs, in one module that imports only ``benchmark.api``:

* the task (``bench_tasks``): its model base class, the data it runs on (``RatingData``: every
  rating dataset serves it), its runner, its option ``threshold`` and its default metrics;
* models (``bench_models``) deriving from :class:`LikeModel`;
* metrics (``bench_metrics``) of the task, one of them per user (``PerUnit``) so that
  ``bench compare`` can pair two models on the same users.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import (
    Fold, MetricSpec, Model, ModelSpec, Outcome, PerUnit, Predictions, RatingData, TaskSpec,
    Timing, check_shape_finite, hookimpl,
)

BENCH_API_VERSION = 1  # the 1.1 additions (tasks) keep the major version

LIKE_DISLIKE = "like-dislike"
EPSILON = 1e-7


# --- The task -------------------------------------------------------------------------------


class LikeModel(Model):
    """A model of the ``like-dislike`` task.

    ``fit`` receives the fold's training ratings with every rating replaced by 1.0 (a like:
    rating >= the task's ``threshold``) or 0.0 (a dislike), on the scale (0, 1);
    ``predict_proba(users, items)`` returns the probability of a like for each pair (raw ids;
    unknown users and items included).
    """

    def fit(self, train: RatingData) -> LikeModel:
        raise NotImplementedError

    def predict_proba(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def likes(data: RatingData, threshold: float) -> RatingData:
    """The ratings as likes (1.0) and dislikes (0.0)."""
    liked = (data.ratings["rating"].to_numpy() >= threshold).astype(np.float64)
    return RatingData(data.ratings.assign(rating=liked), (0.0, 1.0), info=data.info)


def run_like_dislike(model: LikeModel, data: RatingData, fold: Fold,
                     options: Mapping[str, Any]) -> Outcome:
    """Fit on the fold's training likes, predict the probability of a like for its test pairs."""
    threshold = float(options["threshold"])
    labelled = likes(data, threshold)
    train = labelled.subset(fold.train)
    test = labelled.ratings.iloc[fold.test]
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    with Timing() as fit_time:
        model.fit(train)
    with Timing() as predict_time:
        raw = check_shape_finite(model.predict_proba(users, items), (len(test),), "predict_proba")
    probability = np.clip(raw, 0.0, 1.0)
    predictions = Predictions(LIKE_DISLIKE, test["rating"].to_numpy(np.float64), probability,
                              users, items, train, data.info,
                              extra={"like_share": float(train.ratings["rating"].mean())})
    return Outcome(predictions, {"n_clipped": int((probability != raw).sum())}, fit_time, predict_time)


def examples(noisy: bool, seed: int = 0) -> Predictions:
    """Perfect or noisy predictions of 40 pairs by 8 users, for the conformance kit's metric checks."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(8), 5)
    truth = (rng.random(40) < 0.6).astype(np.float64)
    guess = np.clip(np.abs(truth - rng.random(40) * 0.9), 0, 1) if noisy else truth.copy()
    return Predictions(LIKE_DISLIKE, truth, guess, users, np.arange(40))


@hookimpl
def bench_tasks() -> list[TaskSpec]:
    return [TaskSpec(
        LIKE_DISLIKE, LikeModel, (RatingData,), run_like_dislike,
        default_metrics=("log-loss", "accuracy"),
        options={"threshold": 4.0},
        constraints={"threshold": {"type": "number",
                                   "description": "a rating at least this high is a like"}},
        examples=examples,
        summary="Will the user like the item (rating >= threshold)? Probability per test pair",
    )]


# --- Models ---------------------------------------------------------------------------------


class GlobalLikeRate(LikeModel):
    """The share of likes in the training ratings, for every pair."""

    def fit(self, train: RatingData) -> GlobalLikeRate:
        self.rate_ = float(train.ratings["rating"].mean())
        return self

    def predict_proba(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.rate_)


class ItemLikeRate(LikeModel):
    """The item's share of likes, shrunk towards the global share.

    :param shrinkage: pseudo-ratings at the global share added to every item.
    """

    constraints = {"shrinkage": {"minimum": 0}}

    def __init__(self, shrinkage: float = 2.0):
        self.shrinkage = shrinkage

    def fit(self, train: RatingData) -> ItemLikeRate:
        ratings = train.ratings
        self.global_ = float(ratings["rating"].mean())
        grouped = ratings.groupby("item")["rating"].agg(["sum", "count"])
        self.rates_ = (grouped["sum"] + self.shrinkage * self.global_) / (grouped["count"] + self.shrinkage)
        return self

    def predict_proba(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.rates_.reindex(items).fillna(self.global_).to_numpy(np.float64)


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [
        ModelSpec("global-like-rate", {LIKE_DISLIKE: GlobalLikeRate}, summary="Share of likes in training"),
        ModelSpec("item-like-rate", {LIKE_DISLIKE: ItemLikeRate}, summary="Shrunk share of likes of the item"),
    ]


# --- Metrics --------------------------------------------------------------------------------


def log_loss(predictions: Predictions) -> PerUnit:
    """Mean binary cross-entropy of the like probabilities, with each user's sum and count."""
    p = np.clip(predictions.y_pred, EPSILON, 1 - EPSILON)
    y = predictions.y_true
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    codes, users = pd.factorize(pd.Series(predictions.users))
    return PerUnit("user", np.asarray(users).astype(str), np.bincount(codes, losses, len(users)),
                   np.bincount(codes, minlength=len(users)).astype(np.float64), "identity",
                   exact=float(np.mean(losses)))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of pairs where a probability of at least 0.5 means a like."""
    return float(np.mean((y_pred >= 0.5) == (y_true == 1.0)))


@hookimpl
def bench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec("log-loss", log_loss, LIKE_DISLIKE, context=True, version="1",
                   summary="Binary cross-entropy of the like probability (per user)"),
        MetricSpec("accuracy", accuracy, LIKE_DISLIKE, greater_is_better=True, version="1",
                   summary="Share of pairs classified right at probability 0.5"),
    ]
