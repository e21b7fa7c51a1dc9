"""The dish-tasting dataset (150 ratings of 14 dishes by 24 tasters, shipped with the package)
and a split that keeps some tasters wholly out of training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.api import (
    RATING, DatasetSpec, Fold, LazyFolds, PluginInputError, RatingData, SplitSpec, hookimpl,
)

BENCH_API_VERSION = 1

EMBEDDED = Path(__file__).with_name("tastes.csv")


def load_tastes(path: str | None = None, min_ratings: int = 1) -> RatingData:
    """The tasting ratings (1-5), from the shipped file or a CSV with the same columns.

    :param path: a CSV file of user,item,rating,timestamp to read instead of the shipped one.
    :param min_ratings: keep only tasters with at least this many ratings.
    """
    source = Path(path) if path else EMBEDDED
    if not source.is_file():
        raise PluginInputError(f"no tasting file at {source}")
    frame = pd.read_csv(source, dtype={"user": str, "item": str})
    missing = {"user", "item", "rating", "timestamp"} - set(frame.columns)
    if missing:
        raise PluginInputError(f"{source.name} lacks column(s) {sorted(missing)}")
    counts = frame["user"].map(frame["user"].value_counts())
    frame = frame[counts >= min_ratings].reset_index(drop=True)
    if frame.empty:
        raise PluginInputError(f"no taster has {min_ratings} ratings")
    frame["rating"] = frame["rating"].astype(np.float64)
    rows = np.arange(len(frame))

    def last_tasting() -> list[Fold]:  # each taster's latest rating is the test set
        latest = frame.groupby("user")["timestamp"].transform("max").to_numpy() == frame["timestamp"].to_numpy()
        return [Fold("last-tasting", rows[~latest], rows[latest])]

    return RatingData(frame, (1.0, 5.0), folds=LazyFolds({"last": last_tasting}),
                      info={"source": "bench-tastes", "file": source.name})


def new_tasters(data: RatingData, seed: int = 0, fraction: float = 0.25) -> list[Fold]:
    """Every rating of a random ``fraction`` of the tasters in test, the rest in training."""
    users = data.ratings["user"].to_numpy()
    distinct = np.unique(users)
    rng = np.random.default_rng(seed)
    n_test = max(1, int(round(fraction * len(distinct))))
    chosen = rng.choice(distinct, size=n_test, replace=False)
    test = np.isin(users, chosen)
    rows = np.arange(len(users))
    return [Fold("new-tasters", rows[~test], rows[test])]


@hookimpl
def bench_datasets():
    return [DatasetSpec("tastes", load_tastes, RATING, summary="Dish tastings, 150 ratings on 1-5",
                        path_options=("path",), constraints={"min_ratings": {"minimum": 1}},
                        default_split={"method": "predefined", "name": "last"})]


@hookimpl
def bench_splits():
    return [SplitSpec("new-tasters", new_tasters,
                      {"fraction": {"exclusiveMinimum": 0, "exclusiveMaximum": 1}},
                      summary="All ratings of some tasters in test (fraction, seed)", tasks=(RATING,))]
