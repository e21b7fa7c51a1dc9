"""The Surprise wrappers give exactly Surprise's numbers, take its parameters, and load lazily."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.api import MissingDependency, RatingData
from benchmark.execute import make_model
from bench_plugins.splits import holdout
from bench_plugins.surprise_models import MODELS, SVD, KNNBaseline, NormalPredictor, SlopeOne
from bench_plugins.synthetic import load_synthetic
from tests.conftest import run_bench

surprise = pytest.importorskip("surprise")

NAMES = list(MODELS)
SEEDED = [name for name, (cls, _) in MODELS.items() if "random_state" in cls.param_defaults()]


@pytest.fixture(scope="module")
def small() -> tuple[RatingData, np.ndarray, np.ndarray]:
    """3,000 synthetic ratings, split 80/20, plus test pairs with unknown users and items."""
    data = load_synthetic(n_users=150, n_items=80, density=0.25, seed=0)
    fold = holdout(data, seed=0)[0]
    test = data.ratings.iloc[fold.test]
    unknown_user, unknown_item = 10_000, 20_000
    users = np.concatenate([test["user"].to_numpy(), [unknown_user, unknown_user, 0]])
    items = np.concatenate([test["item"].to_numpy(), [unknown_item, 0, unknown_item]])
    return data.subset(fold.train), users, items


def direct(algorithm: str, seed: int | None, train: RatingData, users: np.ndarray,
           items: np.ndarray) -> np.ndarray:
    """What Surprise itself predicts (``algo.predict(..., clip=False)``) at its defaults."""
    frame = train.ratings[["user", "item", "rating"]]
    trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=train.scale)) \
        .build_full_trainset()
    cls = getattr(surprise, algorithm)
    if algorithm == "NormalPredictor":  # draws from numpy's global generator
        np.random.seed(seed)
        algo = cls()
    else:
        algo = cls(random_state=seed) if seed is not None else cls()
    algo.fit(trainset)
    return np.array([algo.predict(u, i, clip=False).est for u, i in zip(users, items)])


@pytest.mark.parametrize("name", NAMES)
def test_predictions_equal_surprise_predict(name, small):
    train, users, items = small
    model = make_model(MODELS[name][0], {}, seed=3)
    ours = model.fit(train).predict(users, items)
    assert ours.shape == (len(users),) and ours.dtype == np.float64
    seed = 3 if name in SEEDED else None
    np.testing.assert_array_equal(ours, direct(model.algorithm, seed, train, users, items))
    if name != "normal-predictor":  # unknown user and item: the training mean, as Surprise says
        assert ours[-3] == model.algo_.trainset.global_mean


@pytest.mark.parametrize("name", SEEDED)
def test_same_random_state_same_predictions_other_differs(name, small):
    train, users, items = small
    cls = MODELS[name][0]
    first = cls(random_state=1).fit(train).predict(users, items)
    np.testing.assert_array_equal(first, cls(random_state=1).fit(train).predict(users, items))
    assert not np.array_equal(first, cls(random_state=2).fit(train).predict(users, items))


def test_suite_seed_fills_random_state_only_where_surprise_has_one():
    assert make_model(SVD, {}, seed=7).random_state == 7
    assert make_model(SVD, {"random_state": None}, seed=7).random_state is None
    assert make_model(NormalPredictor, {}, seed=7).random_state == 7
    assert SlopeOne.param_defaults() == {} and "random_state" not in KNNBaseline.param_defaults()


@pytest.mark.parametrize("name", [n for n in NAMES if n != "normal-predictor"])
def test_defaults_are_surprises(name):
    cls = MODELS[name][0]
    theirs = {k: p.default for k, p in inspect.signature(getattr(surprise, cls.algorithm).__init__)
              .parameters.items() if k != "self" and p.kind is not p.VAR_KEYWORD}
    ours = cls.param_defaults()
    assert set(ours) == set(theirs)
    for key in ("sim_options", "bsl_options"):  # None -> a fresh {} (Surprise edits its default)
        if key in theirs:
            assert isinstance(theirs.pop(key), dict) and ours.pop(key) is None
    if "verbose" in theirs:  # Surprise's k-NN and BaselineOnly print by default; we do not
        theirs.pop("verbose"), ours.pop("verbose")
    assert ours == theirs


def test_params_reach_the_algorithm(small):
    train, users, items = small
    rank5 = SVD(n_factors=5, random_state=0).fit(train)
    assert rank5.algo_.pu.shape[1] == 5
    assert not np.array_equal(rank5.predict(users, items),
                              SVD(random_state=0).fit(train).predict(users, items))
    options = {"name": "pearson_baseline", "user_based": False}
    knn = KNNBaseline(k=10, sim_options=options, bsl_options={"method": "sgd"}).fit(train)
    assert knn.algo_.k == 10 and knn.algo_.sim_options == options
    assert knn.algo_.bsl_options == {"method": "sgd"}
    assert knn.sim_options == {"name": "pearson_baseline", "user_based": False}  # not edited


def test_impossible_predictions_are_counted(small):
    train, users, items = small
    n_unknown = 3
    slope = make_model(SlopeOne, {}, 0).fit(train)
    slope.predict(users, items)
    assert slope.info()["impossible"] == n_unknown  # SlopeOne refuses unknown users or items
    svd = SVD(random_state=0).fit(train)
    prediction = svd.predict(users, items)
    assert svd.info()["impossible"] == 0  # biased SVD answers mu + b_i for an unknown user
    assert prediction[-2] == svd.algo_.trainset.global_mean + svd.algo_.bi[
        svd.algo_.trainset.to_inner_iid(0)]


def test_missing_surprise_is_reported_with_pip_hint(small, monkeypatch):
    monkeypatch.setitem(sys.modules, "surprise", None)
    with pytest.raises(MissingDependency, match="pip install scikit-surprise"):
        SVD().fit(small[0])


def test_plugin_registers_without_importing_surprise():
    code = ("import sys, bench_plugins.surprise_models as m; assert 'surprise' not in sys.modules\n"
            "from benchmark.registry import build_registry\n"
            "r = build_registry(); assert 'surprise' not in sys.modules\n"
            "print(sorted(n for n, e in r.entries['model'].items() "
            "if e.spec.requires == {'surprise': 'scikit-surprise'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sorted(NAMES))


U1_SUITE = """\
name: surprise-u1
seed: 0
datasets:
  - name: movielens-100k
    split: {method: predefined, name: u, folds: [u1]}
models:
  - name: svd
    params: {random_state: 0}
metrics: [rmse, mae]
"""


def test_bench_svd_on_u1_is_exactly_surprise(shared_data: Path, write_suite, tmp_path):
    """``bench run`` of svd on ml-100k u1 gives bit-for-bit the RMSE of Surprise on u1.base/u1.test."""
    out = tmp_path / "out"
    done = run_bench("run", str(write_suite(U1_SUITE)), "--out", str(out),
                     "--data-dir", str(shared_data), "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]
    assert row["status"] == "ok" and row["fold_name"] == "u1" and row["n_test"] == 20_000

    folder = shared_data / "ml-100k"
    data = surprise.Dataset.load_from_folds([(str(folder / "u1.base"), str(folder / "u1.test"))],
                                            surprise.Reader("ml-100k"))
    trainset, testset = next(surprise.model_selection.PredefinedKFold().split(data))
    predictions = surprise.SVD(random_state=0).fit(trainset).test(testset)
    assert row["metrics"]["rmse"] == surprise.accuracy.rmse(predictions, verbose=False)
    assert row["metrics"]["mae"] == surprise.accuracy.mae(predictions, verbose=False)
