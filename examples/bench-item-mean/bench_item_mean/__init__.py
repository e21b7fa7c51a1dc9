"""An example third-party bench plugin: predicts each item's mean rating, shrunk towards the
global mean. The whole plugin is this module; ``pyproject.toml`` registers it."""

from __future__ import annotations

import numpy as np

from benchmark.api import RATING, ModelSpec, RatingData, RatingModel, hookimpl

BENCH_API_VERSION = 1  # the plugin contract this module targets (benchmark.api.API_VERSION)


class ItemMean(RatingModel):
    """The item's mean rating, shrunk towards the global mean by ``shrinkage`` pseudo-ratings.

    :param shrinkage: pseudo-ratings at the global mean added to every item (0: the raw mean).
    """

    constraints = {"shrinkage": {"minimum": 0}}

    def __init__(self, shrinkage: float = 5.0):
        self.shrinkage = shrinkage  # __init__ only stores its parameters

    def fit(self, train: RatingData) -> ItemMean:
        users, items = self.index_training(train)  # learns users_, items_, mean_; positions
        ratings = train.ratings["rating"].to_numpy(np.float64)
        sums = np.bincount(items, ratings, minlength=len(self.items_))
        counts = np.bincount(items, minlength=len(self.items_))
        self.item_means_ = (sums + self.shrinkage * self.mean_) / (counts + self.shrinkage)
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Pairs whose user and item were both in training (positions)."""
        return self.item_means_[i]

    def fallback(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """A pair with an unknown user still gets its item's mean; an unknown item the global mean."""
        return np.where(i >= 0, self.item_means_[np.maximum(i, 0)], self.mean_)


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec("item-mean", {RATING: ItemMean}, summary="Shrunk mean rating of the item")]
