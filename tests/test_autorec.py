"""AutoRec: correct gradients, it learns, it is reproducible, unknown pairs get the baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad
from scipy.sparse import random as sparse_random

from benchmark.api import PluginInputError, RatingData
from bench_plugins.autorec import AutoRec
from bench_plugins.baselines import Biases, GlobalMean
from bench_plugins.splits import holdout
from bench_plugins.synthetic import load_synthetic


@pytest.fixture(scope="module")
def split() -> tuple[RatingData, RatingData]:
    data = load_synthetic(n_users=300, n_items=200, density=0.1, rank=3, seed=0)
    (fold,) = holdout(data, seed=0)
    return data.subset(fold.train), data.subset(fold.test)


def rmse(model, test: RatingData) -> float:
    frame = test.ratings
    prediction = np.clip(model.predict(frame["user"].to_numpy(), frame["item"].to_numpy()), *test.scale)
    return float(np.sqrt(np.mean((prediction - frame["rating"].to_numpy()) ** 2)))


def test_gradient_matches_finite_differences():
    model = AutoRec(hidden=6, reg=0.3)
    model.n_in_ = 11
    rows = sparse_random(8, 11, density=0.4, random_state=1, format="csr")
    rows.data = np.round(rows.data * 4 + 1)
    theta = model._init(np.random.default_rng(0)) + 0.1 * np.random.default_rng(1).standard_normal(
        6 * 11 * 2 + 6 + 11)
    loss, gradient = model._loss_grad(theta, rows)
    error = check_grad(lambda t: model._loss_grad(t, rows)[0], lambda t: model._loss_grad(t, rows)[1], theta)
    assert error < 1e-4 * np.linalg.norm(gradient)


@pytest.mark.parametrize("params", [
    {"variant": "item"},
    {"variant": "user"},
    {"variant": "item", "optimizer": "adam", "epochs": 15, "learning_rate": 0.01, "batch_size": 16},
])
def test_beats_the_global_mean(split, params):
    train, test = split
    model = AutoRec(hidden=40, reg=10.0, **{"epochs": 60, **params}, random_state=0).fit(train)
    assert rmse(model, test) < rmse(GlobalMean().fit(train), test) - 0.02
    losses = model.info()["history"]["loss"]
    assert losses[-1] < losses[0]


def test_the_same_seed_gives_identical_predictions(split):
    train, test = split
    users, items = test.ratings["user"].to_numpy(), test.ratings["item"].to_numpy()
    first = AutoRec(hidden=20, epochs=15, random_state=3).fit(train).predict(users, items)
    second = AutoRec(hidden=20, epochs=15, random_state=3).fit(train).predict(users, items)
    other = AutoRec(hidden=20, epochs=15, random_state=4).fit(train).predict(users, items)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_unknown_users_and_items_get_the_baseline(split):
    train, _ = split
    model = AutoRec(hidden=10, epochs=5, random_state=0).fit(train)
    known_user, known_item = train.ratings["user"].iloc[0], train.ratings["item"].iloc[0]
    users = np.array([known_user, -1, -2])
    items = np.array([-7, known_item, -3])
    expected = Biases().fit(train.ratings)
    baseline = expected.estimate(*expected.indices(users, items))
    np.testing.assert_allclose(model.predict(users, items), baseline)


def test_bad_options_are_reported(split):
    train, _ = split
    with pytest.raises(PluginInputError, match="variant"):
        AutoRec(variant="both").fit(train)
    with pytest.raises(PluginInputError, match="optimizer"):
        AutoRec(optimizer="sgd").fit(train)
