"""Baseline rating models: the global mean and the regularised user + item bias baseline.

:class:`Biases` is also the fallback and the matrix filler of the other built-in rating models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.api import (CHUNK, RATING, ModelSpec, RatingData, RatingModel, distinct_in_order, hookimpl,
                           positions_in)


def _counts(positions: np.ndarray, size: int) -> np.ndarray:
    """``np.bincount(positions, minlength=size)``, a chunk at a time (np.bincount copies
    positions that are not ``intp`` whole)."""
    counts = np.zeros(size, dtype=np.intp)
    for start in range(0, len(positions), CHUNK):
        counts += np.bincount(positions[start:start + CHUNK], minlength=size)
    return counts


class Biases:
    """Baseline estimates ``mu + b_u + b_i`` fitted by alternating least squares.

    The same estimator as Surprise's ``BaselineOnly`` (ALS, ``reg_u``/``reg_i`` shrink the
    biases of users and items with few ratings). Unknown users or items get a zero bias.
    """

    def __init__(self, n_epochs: int = 10, reg_u: float = 15.0, reg_i: float = 10.0):
        self.n_epochs, self.reg_u, self.reg_i = n_epochs, reg_u, reg_i

    def fit(self, ratings: pd.DataFrame, index: tuple[pd.Index, pd.Index, np.ndarray, np.ndarray] | None = None
            ) -> Biases:
        """``index``: the training ids and each rating's positions, when the caller has them
        already (:meth:`~benchmark.api.RatingModel.index_training`)."""
        if index is None:
            users, items = distinct_in_order(ratings["user"]), distinct_in_order(ratings["item"])
            index = (users, items, positions_in(users, ratings["user"], np.int32),
                     positions_in(items, ratings["item"], np.int32))
        self.users_, self.items_, u, i = index
        r = ratings["rating"].to_numpy(np.float64)
        self.mu_ = float(r.mean())
        n_u, n_i = _counts(u, len(self.users_)), _counts(i, len(self.items_))
        self.bu_, self.bi_ = np.zeros(len(self.users_)), np.zeros(len(self.items_))
        for _ in range(self.n_epochs):
            self.bi_ = self._sums(r, i, u, self.bu_, len(self.items_)) / (self.reg_i + n_i)
            self.bu_ = self._sums(r, u, i, self.bi_, len(self.users_)) / (self.reg_u + n_u)
        self._padded = np.append(self.bu_, 0.0), np.append(self.bi_, 0.0)  # position -1: a zero bias
        return self

    def _sums(self, r: np.ndarray, by: np.ndarray, other: np.ndarray, other_bias: np.ndarray,
              size: int) -> np.ndarray:
        """Per position of ``by``, the sum of ``r - mu_ - other_bias[other]`` over its ratings,
        added in rating order as ``np.bincount`` adds them (the same numbers, bit for bit), a
        chunk of residuals at a time rather than one array the size of the ratings."""
        sums = np.zeros(size)
        for start in range(0, len(r), CHUNK):
            part = slice(start, start + CHUNK)
            residual = np.subtract(r[part], self.mu_)
            residual -= other_bias[other[part]]
            np.add.at(sums, by[part], residual)
        return sums

    def indices(self, users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``users``/``items`` in the training data, -1 where unknown."""
        return self.users_.get_indexer(users), self.items_.get_indexer(items)

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Baseline at positions ``u``/``i`` (-1 for unknown contributes no bias)."""
        bu, bi = self._padded  # position -1 is the appended zero
        estimate = bu[u]
        estimate += self.mu_  # (mu + b_u) + b_i, in the order of every earlier release
        estimate += bi[i]
        return estimate


class GlobalMean(RatingModel):
    """Predicts the mean training rating for every pair."""

    def fit(self, train: RatingData) -> GlobalMean:
        if self.own_index_training():
            self.index_training(train)
        else:
            self.learn_ids(train)  # no positions: it needs none
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.mean_)


class BaselineFallback(RatingModel):
    """Template for rating models whose pairs with an unknown user or item get the baseline.

    ``fit_baseline`` fits :class:`Biases` on the training ratings (positions from
    :meth:`~benchmark.api.RatingModel.index_training`); the template ``predict`` then asks
    ``estimate`` for known pairs and the baseline (its known biases) for the rest.
    """

    def fit_baseline(self, train: RatingData) -> tuple[np.ndarray, np.ndarray]:
        """Fit the baseline; return the training ratings' user and item positions."""
        u, i = self.index_training(train)
        self.biases_ = Biases().fit(train.ratings, (self.users_, self.items_, u, i))
        return u, i

    def fallback(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.biases_.estimate(u, i)


class BiasBaseline(RatingModel):
    """Predicts ``mu + b_u + b_i``, the regularised user and item biases.

    :param n_epochs: alternating least-squares passes.
    :param reg_u: shrinkage of user biases towards zero.
    :param reg_i: shrinkage of item biases towards zero.
    """

    constraints = {"n_epochs": {"minimum": 1}, "reg_u": {"minimum": 0}, "reg_i": {"minimum": 0}}

    def __init__(self, n_epochs: int = 10, reg_u: float = 15.0, reg_i: float = 10.0):
        self.n_epochs, self.reg_u, self.reg_i = n_epochs, reg_u, reg_i

    def fit(self, train: RatingData) -> BiasBaseline:
        u, i = self.index_training(train) if self.own_index_training() else \
            self.index_training(train, np.int32)  # half the memory of intp positions
        self.biases_ = Biases(self.n_epochs, self.reg_u, self.reg_i).fit(train.ratings, (self.users_, self.items_, u, i))
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.biases_.estimate(u, i)

    def fallback(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.biases_.estimate(u, i)


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [
        ModelSpec("global-mean", {RATING: GlobalMean}, summary="Mean training rating"),
        ModelSpec("bias-baseline", {RATING: BiasBaseline},
                  summary="Global mean + regularised user and item biases (ALS)"),
    ]
