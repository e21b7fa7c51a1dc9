"""An example third-party plugin: predicts each item's (shrunk) mean rating."""

from __future__ import annotations

import numpy as np

from benchmark.api import RATING, ModelSpec, RatingData, RatingModel, hookimpl


class ItemMean(RatingModel):
    """The item's mean rating, shrunk towards the global mean by ``shrinkage`` pseudo-ratings."""

    def __init__(self, shrinkage: float = 5.0):
        self.shrinkage = shrinkage

    def fit(self, train: RatingData) -> ItemMean:
        ratings = train.ratings
        self.global_mean_ = float(ratings["rating"].mean())
        grouped = ratings.groupby("item")["rating"].agg(["sum", "count"])
        shrunk = (grouped["sum"] + self.shrinkage * self.global_mean_) / (grouped["count"] + self.shrinkage)
        self.item_means_ = shrunk.to_dict()
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.array([self.item_means_.get(item, self.global_mean_) for item in items])


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec("item-mean", {RATING: ItemMean}, summary="Shrunk mean rating of the item")]
