"""Split methods: partitions, reproducibility, fingerprints and their error cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.api import Fold, MatrixData, PluginInputError, RatingData
from bench_plugins import splits
from bench_plugins.synthetic import load_synthetic


@pytest.fixture(scope="module")
def ratings() -> RatingData:
    return load_synthetic(n_users=80, n_items=50, density=0.25, seed=1)


def assert_partition(fold: Fold, n: int) -> None:
    assert len(np.intersect1d(fold.train, fold.test)) == 0
    assert len(fold.train) + len(fold.test) == n


def test_kfold_partitions_every_row_once(ratings):
    folds = splits.kfold(ratings, seed=7, k=4)
    assert [f.name for f in folds] == ["1/4", "2/4", "3/4", "4/4"]
    for fold in folds:
        assert_partition(fold, len(ratings))
    tests = np.sort(np.concatenate([f.test for f in folds]))
    assert np.array_equal(tests, np.arange(len(ratings)))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_kfold_and_holdout_folds_are_the_sorted_chunks_of_the_seeded_permutation(ratings, k):
    # the definition every stored fingerprint rests on: a new implementation must give the same rows
    order = np.random.default_rng(11).permutation(len(ratings))
    chunks = np.array_split(order, k)
    for i, fold in enumerate(splits.kfold(ratings, seed=11, k=k)):
        assert fold.train.dtype == fold.test.dtype == np.int64
        assert np.array_equal(fold.test, np.sort(chunks[i]))
        assert np.array_equal(fold.train, np.sort(np.concatenate(chunks[:i] + chunks[i + 1:])))
    n_test = int(round(len(ratings) * 0.2))
    (fold,) = splits.holdout(ratings, seed=11)
    assert np.array_equal(fold.test, np.sort(order[:n_test])) and np.array_equal(fold.train, np.sort(order[n_test:]))


def test_same_seed_same_fingerprints_other_seed_other_fingerprints(ratings):
    first = [f.fingerprint for f in splits.kfold(ratings, seed=7, k=4)]
    assert first == [f.fingerprint for f in splits.kfold(ratings, seed=7, k=4)]
    assert set(first).isdisjoint(f.fingerprint for f in splits.kfold(ratings, seed=8, k=4))


def test_holdout_fraction(ratings):
    (fold,) = splits.holdout(ratings, seed=0, test_size=0.3)
    assert_partition(fold, len(ratings))
    assert len(fold.test) == round(0.3 * len(ratings))


def test_holdout_on_matrix_rows():
    data = MatrixData(np.random.default_rng(0).random((10, 3), dtype=np.float32))
    (fold,) = splits.holdout(data, seed=0, test_size=0.2)
    assert len(fold.test) == 2


def test_temporal_global_puts_the_newest_in_test(ratings):
    (fold,) = splits.temporal(ratings, test_size=0.2)
    time = ratings.ratings["timestamp"].to_numpy()
    assert time[fold.train].max() <= time[fold.test].min()
    assert_partition(fold, len(ratings))


def test_temporal_per_user(ratings):
    (fold,) = splits.temporal(ratings, test_size=0.25, per_user=True)
    frame = ratings.ratings.assign(test=False)
    frame.loc[fold.test, "test"] = True
    for _, group in frame.groupby("user"):
        if group["test"].any() and (~group["test"]).any():
            assert group.loc[~group["test"], "timestamp"].max() <= group.loc[group["test"], "timestamp"].min()
    assert_partition(fold, len(ratings))


@pytest.mark.parametrize("order", ["random", "time"])
def test_leave_n_out(ratings, order):
    (fold,) = splits.leave_n_out(ratings, seed=0, n=2, order=order)
    users = ratings.ratings["user"].to_numpy()
    counts = pd.Series(users).value_counts()
    held = pd.Series(users[fold.test]).value_counts()
    assert (held == 2).all()
    assert set(held.index) == set(counts[counts > 2].index)
    assert_partition(fold, len(ratings))


def test_temporal_needs_timestamps():
    data = RatingData(pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [3.0, 4.0]}), (1, 5))
    with pytest.raises(PluginInputError, match="timestamp"):
        splits.temporal(data)


def test_predefined_chooses_sets_and_folds():
    a, b = Fold("a", np.array([0, 1]), np.array([2])), Fold("b", np.array([1, 2]), np.array([0]))
    data = MatrixData(np.zeros((3, 2), np.float32), folds={"ab": [a, b], "only": [a]})
    assert splits.predefined(data, name="ab", folds=["b"]) == [b]
    with pytest.raises(PluginInputError, match="several fold sets"):
        splits.predefined(data)
    with pytest.raises(PluginInputError, match="no fold 'c'"):
        splits.predefined(data, name="ab", folds=["c"])
    with pytest.raises(PluginInputError, match="defines no folds"):
        splits.predefined(MatrixData(np.zeros((3, 2), np.float32)))
