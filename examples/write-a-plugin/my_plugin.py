"""A plugin with every hook, as docs/writing-plugins.md walks through it.

Try it without packaging: ``bench run suite.yaml`` (the suite names this file in ``plugins``),
or ``bench plugins -p my_plugin.py user-mean``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.api import (
    RATING, DatasetSpec, Fold, LazyFolds, MetricSpec, ModelSpec, PluginInputError, Predictions,
    RatingData, RatingModel, SplitSpec, hookimpl, report_progress,
)

BENCH_API_VERSION = 1


# --- A model: Surprise-style template (fit + estimate; fallback for unknown users/items) ------


class UserMean(RatingModel):
    """Each user's mean rating, shrunk towards the global mean.

    :param shrinkage: pseudo-ratings at the global mean added to every user.
    :param rounds: how often the means are recomputed (only to show report_progress).
    """

    constraints = {"shrinkage": {"minimum": 0}, "rounds": {"minimum": 1}}

    def __init__(self, shrinkage: float = 2.0, rounds: int = 1):
        self.shrinkage, self.rounds = shrinkage, rounds

    def fit(self, train: RatingData) -> UserMean:
        u, i = self.index_training(train)  # users_, items_, mean_; each rating's positions
        ratings = train.ratings["rating"].to_numpy(np.float64)
        for done in range(1, self.rounds + 1):
            sums = np.bincount(u, ratings, len(self.users_)) + self.shrinkage * self.mean_
            self.user_means_ = sums / (np.bincount(u, minlength=len(self.users_)) + self.shrinkage)
            report_progress(done, self.rounds, "round")
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.user_means_[u]  # u, i: positions of known users and items

    def fallback(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        known_user = u >= 0  # an unknown item still has a known user's mean
        return np.where(known_user, self.user_means_[np.maximum(u, 0)], self.mean_)

    def info(self) -> dict:
        return {"users": len(self.users_)}


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec("user-mean", {RATING: UserMean}, summary="Shrunk mean rating of the user")]


# --- A dataset: a loader returning RatingData, with a predefined fold set --------------------


def load_toy(n_users: int = 200, n_items: int = 50, seed: int = 0) -> RatingData:
    """Seeded toy ratings: users have a taste, items a quality.

    :param n_users: how many users.
    :param n_items: how many items.
    :param seed: seed of the generator.
    """
    if n_users < 2 or n_items < 2:
        raise PluginInputError("n_users and n_items must be at least 2")
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), 10)
    items = rng.integers(0, n_items, len(users))
    value = 3 + rng.normal(0, 0.7, n_users)[users] + rng.normal(0, 0.5, n_items)[items]
    frame = pd.DataFrame({"user": users, "item": items,
                          "rating": np.clip(np.round(value + rng.normal(0, 0.5, len(users))), 1, 5),
                          "timestamp": np.arange(len(users))})
    rows = np.arange(len(frame))

    def last_ratings() -> list[Fold]:  # built only when a predefined split asks for it
        last = rows % 10 == 9  # every user's tenth rating
        return [Fold("last-rating", rows[~last], rows[last])]

    return RatingData(frame, (1.0, 5.0), folds=LazyFolds({"last": last_ratings}),
                      info={"source": "my_plugin.load_toy", "seed": seed})


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("toy-ratings", load_toy, RATING, summary="Seeded toy ratings",
                        constraints={"n_users": {"minimum": 2}, "n_items": {"minimum": 2}},
                        default_split={"method": "predefined", "name": "last"})]


# --- A split method: cold-start users (all their ratings in test) ----------------------------


def cold_users(data: RatingData, seed: int = 0, fraction: float = 0.1) -> list[Fold]:
    """Every rating of a random ``fraction`` of the users goes to test."""
    if not isinstance(data, RatingData):
        raise PluginInputError("cold-users splits need rating data")
    users = data.ratings["user"].to_numpy()
    unique = np.unique(users)
    rng = np.random.default_rng(seed)
    cold = rng.choice(unique, max(1, int(len(unique) * fraction)), replace=False)
    in_test = np.isin(users, cold)
    rows = np.arange(len(users))
    return [Fold("cold-users", rows[~in_test], rows[in_test])]


@hookimpl
def bench_splits() -> list[SplitSpec]:
    return [SplitSpec("cold-users", cold_users,
                      {"fraction": {"exclusiveMinimum": 0, "exclusiveMaximum": 1}},
                      summary="All ratings of some users in test (fraction, seed)", tasks=(RATING,))]


# --- Metrics: a pointwise one and a context one (per user, through Predictions) --------------


def max_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.max(np.abs(y_true - y_pred)))


def user_rmse(predictions: Predictions) -> float:
    """RMSE of each test user, averaged over users (every user counts the same)."""
    per_user = predictions.per_user(lambda t, p: float(np.sqrt(np.mean((t - p) ** 2))))
    return float(per_user.mean())


@hookimpl
def bench_metrics() -> list[MetricSpec]:
    return [MetricSpec("max-error", max_error, RATING, summary="Largest absolute error"),
            MetricSpec("user-rmse", user_rmse, RATING, context=True,
                       summary="RMSE per test user, averaged over users")]


# --- Running and reporting: artifacts per cell, and a hook after each stored cell -----------


@hookimpl
def bench_cell_artifacts(cell, model, predictions: Predictions, directory: Path) -> list[str] | None:
    if cell.task != RATING:
        return None
    errors = pd.DataFrame({"user": predictions.users, "error": predictions.y_pred - predictions.y_true})
    worst = errors.groupby("user")["error"].apply(lambda e: float(np.sqrt(np.mean(e ** 2))))
    worst.nlargest(10).to_csv(directory / "worst-users.csv")
    return ["worst-users.csv"]


@hookimpl
def bench_cell_finished(result) -> None:
    log = os.environ.get("MY_PLUGIN_LOG")  # e.g. where a tracker would be told
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps({"run": result.run_id, "model": result.model, "fold": result.fold_name,
                                     "status": result.status, "metrics": result.metrics}) + "\n")
