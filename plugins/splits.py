"""Built-in split methods: holdout, kfold, predefined, temporal and leave-n-out.

Every method is a pure function of the data, its parameters and the seed. Row positions in
each fold are sorted, so a model sees training rows in the dataset's own order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.api import RATING, Fold, MatrixData, PluginInputError, RatingData, SplitSpec, hookimpl

Data = RatingData | MatrixData
FRACTION = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}


def _fold(name: str, train: np.ndarray, test: np.ndarray) -> Fold:
    return Fold(name, np.sort(train).astype(np.int64, copy=False), np.sort(test).astype(np.int64, copy=False))


def _partition(name: str, n: int, test: np.ndarray) -> Fold:
    """The fold whose test set is the rows ``test`` and training set every other row, both
    sorted: :func:`_fold` of the complement, from a mask (no concatenation, no sort)."""
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    return Fold(name, np.flatnonzero(~is_test).astype(np.int64, copy=False),
                np.flatnonzero(is_test).astype(np.int64, copy=False))


def holdout(data: Data, seed: int = 0, test_size: float = 0.2) -> list[Fold]:
    """One random train/test partition with ``test_size`` of the rows in test."""
    order = np.random.default_rng(seed).permutation(len(data))
    n_test = int(round(len(data) * test_size))
    if not 0 < n_test < len(data):
        raise PluginInputError(f"test_size {test_size} leaves an empty train or test set")
    return [_partition("holdout", len(data), order[:n_test])]


def kfold(data: Data, seed: int = 0, k: int = 5) -> list[Fold]:
    """``k`` folds of a random permutation; each row is in exactly one test set."""
    if k > len(data):
        raise PluginInputError(f"k={k} is larger than the {len(data)} rows")
    order = np.random.default_rng(seed).permutation(len(data))
    chunks = np.array_split(order, k)
    return [_partition(f"{i + 1}/{k}", len(data), chunk) for i, chunk in enumerate(chunks)]


def predefined(data: Data, seed: int = 0, name: str | None = None,
               folds: list[str] | None = None) -> list[Fold]:
    """The folds the dataset itself defines (e.g. MovieLens 100k ``u1``..``u5``, MNIST's test set).

    ``name`` chooses the fold set when the dataset has several; ``folds`` keeps only the folds
    of these names (e.g. ``[u1]``).
    """
    sets = data.folds  # a Mapping; LazyFolds build only the set asked for
    if not sets:
        raise PluginInputError("this dataset defines no folds; use holdout or kfold")
    if name is None:
        if len(sets) > 1:
            raise PluginInputError(f"this dataset defines several fold sets; choose one with "
                                   f"name: {' or '.join(sorted(sets))}")
        name = next(iter(sets))
    if name not in sets:
        raise PluginInputError(f"no fold set {name!r}; this dataset has {', '.join(sorted(sets))}")
    chosen = list(sets[name])
    if folds is not None:
        names = [fold.name for fold in chosen]
        unknown = [f for f in folds if f not in names]
        if unknown:
            raise PluginInputError(f"fold set {name!r} has no fold {unknown[0]!r}; it has {', '.join(names)}")
        chosen = [fold for fold in chosen if fold.name in folds]
    return chosen


def rating_frame(data: Data, method: str, need_time: bool) -> pd.DataFrame:
    """``data``'s ratings, or a one-line error when ``method`` cannot split this data."""
    if not isinstance(data, RatingData):
        raise PluginInputError(f"{method} splits need rating data")
    if need_time and "timestamp" not in data.ratings.columns:
        raise PluginInputError(f"{method} splits need a timestamp column")
    return data.ratings


def per_user_test_counts(sizes: np.ndarray, test_size: float) -> np.ndarray:
    """Test ratings of users with ``sizes`` ratings: ``test_size`` of each, rounded half up."""
    return np.floor(sizes * test_size + 0.5).astype(np.int64)


def temporal(data: Data, seed: int = 0, test_size: float = 0.2, per_user: bool = False) -> list[Fold]:
    """Train on the oldest ratings, test on the newest ``test_size`` (overall or per user)."""
    ratings = rating_frame(data, "temporal", need_time=True)
    positions = np.arange(len(ratings))
    if not per_user:
        order = np.lexsort((positions, ratings["timestamp"].to_numpy()))
        n_test = int(round(len(order) * test_size))
        return [_fold("temporal", order[: len(order) - n_test], order[len(order) - n_test:])]
    frame = pd.DataFrame({"user": ratings["user"].to_numpy(), "t": ratings["timestamp"].to_numpy(),
                          "pos": positions}).sort_values(["user", "t", "pos"], kind="stable")
    rank = frame.groupby("user", sort=False).cumcount().to_numpy()
    size = frame.groupby("user", sort=False)["pos"].transform("size").to_numpy()
    is_test = rank >= size - per_user_test_counts(size, test_size)
    pos = frame["pos"].to_numpy()
    return [_fold("temporal-per-user", pos[~is_test], pos[is_test])]


def leave_n_out(data: Data, seed: int = 0, n: int = 1, order: str = "random") -> list[Fold]:
    """Hold out ``n`` ratings of every user with more than ``n`` (random, or the newest)."""
    ratings = rating_frame(data, "leave-n-out", need_time=order == "time")
    positions = np.arange(len(ratings))
    if order == "time":
        key = ratings["timestamp"].to_numpy()
    else:
        key = np.random.default_rng(seed).permutation(len(ratings))
    frame = pd.DataFrame({"user": ratings["user"].to_numpy(), "key": key, "pos": positions})
    frame = frame.sort_values(["user", "key", "pos"], kind="stable")
    rank_from_end = frame.groupby("user", sort=False).cumcount(ascending=False).to_numpy()
    size = frame.groupby("user", sort=False)["pos"].transform("size").to_numpy()
    is_test = (rank_from_end < n) & (size > n)
    pos = frame["pos"].to_numpy()
    return [_fold(f"leave-{n}-out", pos[~is_test], pos[is_test])]


@hookimpl
def bench_splits() -> list[SplitSpec]:
    return [
        SplitSpec("holdout", holdout, {"test_size": FRACTION},
                  summary="One random train/test split (test_size, seed)"),
        SplitSpec("kfold", kfold, {"k": {"type": "integer", "minimum": 2}},
                  summary="k random folds (k, seed)"),
        SplitSpec("predefined", predefined,
                  {"folds": {"items": {"type": "string"}, "minItems": 1}},
                  summary="Folds shipped with the dataset (name of the fold set, folds to keep)"),
        SplitSpec("temporal", temporal, {"test_size": FRACTION, "per_user": {"type": "boolean"}},
                  summary="Newest ratings in test, overall or per user (test_size, per_user)",
                  tasks=(RATING,)),
        SplitSpec("leave-n-out", leave_n_out,
                  {"n": {"type": "integer", "minimum": 1}, "order": {"enum": ["random", "time"]}},
                  summary="n ratings per user in test, random or newest (n, order, seed)",
                  tasks=(RATING,)),
    ]
