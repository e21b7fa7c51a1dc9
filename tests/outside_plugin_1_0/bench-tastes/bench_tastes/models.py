"""Rating models: a shrunk item mean, matrix factorisation by alternating least squares (seeded)
and a seeded random guess (a floor any model should beat)."""

from __future__ import annotations

import numpy as np

from benchmark.api import RATING, ModelSpec, RatingData, RatingModel, hookimpl, report_progress

BENCH_API_VERSION = 1


class ItemMean(RatingModel):
    """The item's mean rating, shrunk towards the global mean.

    :param shrinkage: pseudo-ratings at the global mean added to every item.
    """

    constraints = {"shrinkage": {"minimum": 0}}

    def __init__(self, shrinkage: float = 5.0):
        self.shrinkage = shrinkage

    def fit(self, train: RatingData) -> "ItemMean":
        u, i = self.index_training(train)
        ratings = train.ratings["rating"].to_numpy(np.float64)
        sums = np.bincount(i, ratings, len(self.items_)) + self.shrinkage * self.mean_
        self.item_means_ = sums / (np.bincount(i, minlength=len(self.items_)) + self.shrinkage)
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.item_means_[i]

    def fallback(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        known_item = i >= 0  # an unknown user still has a known item's mean
        return np.where(known_item, self.item_means_[np.maximum(i, 0)], self.mean_)


class AlsMF(RatingModel):
    """Matrix factorisation of the ratings minus their mean, by alternating least squares.

    :param factors: latent dimensions of users and items.
    :param epochs: rounds of solving for users, then items.
    :param reg: L2 penalty on the factors.
    :param random_state: seed of the factors' initial values.
    """

    constraints = {"factors": {"minimum": 1}, "epochs": {"minimum": 1}, "reg": {"minimum": 0}}

    def __init__(self, factors: int = 8, epochs: int = 10, reg: float = 0.5,
                 random_state: int | None = None):
        self.factors = factors
        self.epochs = epochs
        self.reg = reg
        self.random_state = random_state

    def fit(self, train: RatingData) -> "AlsMF":
        u, i = self.index_training(train)
        residual = train.ratings["rating"].to_numpy(np.float64) - self.mean_
        rng = np.random.default_rng(self.random_state)
        self.user_factors_ = rng.normal(0, 0.1, (len(self.users_), self.factors))
        self.item_factors_ = rng.normal(0, 0.1, (len(self.items_), self.factors))
        history = []
        for epoch in range(self.epochs):
            self._solve(self.user_factors_, self.item_factors_, u, i, residual)
            self._solve(self.item_factors_, self.user_factors_, i, u, residual)
            error = residual - np.sum(self.user_factors_[u] * self.item_factors_[i], axis=1)
            history.append(float(np.sqrt(np.mean(error ** 2))))
            report_progress(epoch + 1, self.epochs)
        self.history_ = history
        return self

    def _solve(self, solved: np.ndarray, fixed: np.ndarray, rows: np.ndarray, others: np.ndarray,
               residual: np.ndarray) -> None:
        penalty = self.reg * np.eye(self.factors)
        for row in range(len(solved)):
            mine = rows == row
            if not mine.any():
                continue
            F = fixed[others[mine]]
            solved[row] = np.linalg.solve(F.T @ F + penalty, F.T @ residual[mine])

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.mean_ + np.sum(self.user_factors_[u] * self.item_factors_[i], axis=1)

    def info(self) -> dict:
        return {"history": {"rmse": self.history_}}


class RandomGuess(RatingModel):
    """A uniform random rating within the training scale: the floor every model should beat.

    :param seed: seed of the guesses.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, train: RatingData) -> "RandomGuess":
        self.index_training(train)
        self.scale_ = tuple(float(s) for s in train.scale)
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return rng.uniform(self.scale_[0], self.scale_[1], len(users))


@hookimpl
def bench_models():
    return [
        ModelSpec("tastes-item-mean", {RATING: ItemMean}, summary="Shrunk item mean"),
        ModelSpec("als-mf", {RATING: AlsMF}, summary="Matrix factorisation by alternating least squares"),
        ModelSpec("random-guess", {RATING: "bench_tastes.models:RandomGuess"},
                  summary="Uniform random rating within the scale"),
    ]
