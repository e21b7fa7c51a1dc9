"""fast-svd and fast-svdpp: Surprise's numbers in exact mode, within ±0.001 in fast mode.

Surprise runs live here on MovieLens 100k's u1 for SVD (0.5 s) and for 3 epochs of SVD++; its
full 20-epoch SVD++ RMSE (10 s to compute) is the constant below, measured with
scikit-surprise 1.1.5 through bench's ``svdpp`` on u1 with ``random_state=0``.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from bench_plugins import fast_mf
from bench_plugins.fast_mf import FastSVD, FastSVDpp
from bench_plugins.surprise_models import SVD, SVDpp
from bench_plugins.synthetic import load_synthetic
from benchmark.api import PluginInputError, RatingData

SURPRISE_SVD_U1 = 0.9512763611209161    # bench's svd, u1, random_state=0
SURPRISE_SVDPP_U1 = 0.9330455147719535  # bench's svdpp, u1, random_state=0


@pytest.fixture(scope="module")
def u1(shared_data):
    from bench_plugins.movielens import load_release

    data = load_release("movielens-100k", data_dir=str(shared_data), download=False)
    fold = data.folds["u"][0]
    return data.subset(fold.train), data.subset(fold.test)


@pytest.fixture(scope="module")
def small():
    """Synthetic train/test with a few unknown users and items in the test set."""
    data = load_synthetic(n_users=60, n_items=40, n_ratings=900, seed=4)
    frame = data.ratings
    train = RatingData(frame.iloc[:800].reset_index(drop=True), data.scale)
    test = pd.concat([frame.iloc[800:], pd.DataFrame({
        "user": [10_000, 10_001, 0, 10_002], "item": [0, 10_000, 10_001, 10_003],
        "rating": [3.0, 3.0, 3.0, 3.0]})], ignore_index=True)
    return train, test


def rmse(model, test: RatingData) -> float:
    frame = test.ratings
    predicted = np.clip(model.predict(frame["user"].to_numpy(), frame["item"].to_numpy()), 1, 5)
    return float(np.sqrt(np.mean((predicted - frame["rating"].to_numpy()) ** 2)))


def fitted(cls, train, **params):
    model = cls(**params)
    model.prepare()
    return model.fit(train)


def test_exact_svd_reproduces_surprise_bit_for_bit_on_u1(u1):
    train, test = u1
    ours = fitted(FastSVD, train, random_state=0, mode="exact")
    theirs = SVD(random_state=0).fit(train)
    for mine, surprise in [(ours.pu_, theirs.algo_.pu), (ours.qi_, theirs.algo_.qi),
                           (ours.bu_, theirs.algo_.bu), (ours.bi_, theirs.algo_.bi)]:
        np.testing.assert_array_equal(mine, surprise)
    assert rmse(ours, test) == pytest.approx(rmse(theirs, test), abs=1e-12)
    assert rmse(ours, test) == pytest.approx(SURPRISE_SVD_U1, abs=1e-6)


def test_exact_svdpp_reproduces_surprise_on_u1(u1):
    train, test = u1
    ours = fitted(FastSVDpp, train, random_state=0, mode="exact", n_epochs=3)
    theirs = SVDpp(random_state=0, n_epochs=3).fit(train)
    for mine, surprise in [(ours.pu_, theirs.algo_.pu), (ours.qi_, theirs.algo_.qi),
                           (ours.yj_, theirs.algo_.yj), (ours.bu_, theirs.algo_.bu)]:
        np.testing.assert_allclose(mine, surprise, rtol=0, atol=1e-12)
    assert rmse(ours, test) == pytest.approx(rmse(theirs, test), abs=1e-12)
    full = fitted(FastSVDpp, train, random_state=0, mode="exact")
    assert full.info()["kernel"] == "reformulated"
    assert rmse(full, test) == pytest.approx(SURPRISE_SVDPP_U1, abs=1e-6)


@pytest.mark.parametrize("cls, reference", [(FastSVD, SURPRISE_SVD_U1), (FastSVDpp, SURPRISE_SVDPP_U1)])
def test_fast_mode_stays_within_a_thousandth_on_u1(u1, cls, reference):
    train, test = u1
    model = fitted(cls, train, random_state=0)
    assert model.mode == "fast"
    assert rmse(model, test) == pytest.approx(reference, abs=1e-3)


def test_reformulation_equals_the_literal_loop():
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 30, 25)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    items = np.concatenate([rng.choice(40, c, replace=False) for c in counts]).astype(np.int32)
    ratings = rng.integers(1, 6, len(items)).astype(np.float64)
    start = np.random.RandomState(1)
    state = [np.zeros(25), np.zeros(40)] + [start.normal(0, 0.1, (n, 8)) for n in (25, 40, 40)]
    rates = (0.007, 0.006, 0.005, 0.004, 0.003, 0.02, 0.03, 0.04, 0.05, 0.06)
    literal, lazy = [a.copy() for a in state], [a.copy() for a in state]
    for _ in range(5):
        fast_mf._kernel("svdpp_literal")(indptr, items, ratings, 3.0, *literal, *rates)
        fast_mf._kernel("svdpp")(indptr, items, ratings, 3.0, *lazy, np.array([0, 25]), *rates)
    for a, b in zip(literal, lazy):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_repeated_pairs_use_the_literal_loop_and_match_surprise(small):
    train, test = small
    frame = train.ratings
    repeated = pd.concat([frame, frame.iloc[:30].assign(rating=lambda f: 6 - f["rating"])],
                         ignore_index=True).sample(frac=1, random_state=0)
    train = RatingData(repeated.reset_index(drop=True), train.scale)
    ours = fitted(FastSVDpp, train, random_state=2, mode="exact")
    theirs = SVDpp(random_state=2).fit(train)
    assert ours.info()["kernel"] == "literal"
    np.testing.assert_allclose(ours.yj_, theirs.algo_.yj, rtol=0, atol=1e-12)
    assert rmse(ours, RatingData(test, train.scale)) == pytest.approx(
        rmse(theirs, RatingData(test, train.scale)), abs=1e-12)


@pytest.mark.parametrize("cls, surprise, params", [
    (FastSVD, SVD, {}), (FastSVD, SVD, {"biased": False}), (FastSVDpp, SVDpp, {})])
def test_unknown_users_and_items_predict_as_surprise(small, cls, surprise, params):
    train, test = small
    ours = fitted(cls, train, random_state=1, mode="exact", **params)
    theirs = surprise(random_state=1, **params).fit(train)
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    np.testing.assert_allclose(ours.predict(users, items), theirs.predict(users, items),
                               rtol=0, atol=1e-12)
    unknown = ours.predict(np.array([10_000, 10_000, 0]), np.array([10_000, 0, 10_000]))
    mean = train.ratings["rating"].mean()
    if params.get("biased", True):   # mu, mu + b_i, mu + b_u
        assert unknown[0] == pytest.approx(mean)
        assert unknown[1] == pytest.approx(mean + ours.bi_[ours.items_.get_loc(0)])
        assert unknown[2] == pytest.approx(mean + ours.bu_[ours.users_.get_loc(0)])
    else:                            # PredictionImpossible: Surprise's default, the mean
        np.testing.assert_allclose(unknown, mean)


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_same_seed_same_numbers(small, cls, mode):
    train, test = small
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    first = fitted(cls, train, random_state=3, mode=mode).predict(users, items)
    again = fitted(cls, train, random_state=3, mode=mode).predict(users, items)
    other = fitted(cls, train, random_state=4, mode=mode).predict(users, items)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def _fit_and_predict(model, train, users, items):
    model.prepare()
    return model.fit(train).predict(users, items), model.info()


def test_pickles_and_runs_in_a_worker_process(small):
    train, test = small
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    model = fitted(FastSVDpp, train, random_state=5)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(users, items), model.predict(users, items))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        predicted, info = pool.submit(_fit_and_predict, FastSVDpp(random_state=5), train,
                                      users, items).result(timeout=120)
    np.testing.assert_array_equal(predicted, model.predict(users, items))
    assert info["compile_seconds"] >= 0 and info["mode"] == "fast"


def test_prepare_reports_compile_time_and_bad_mode_is_refused(small):
    train, _ = small
    model = FastSVD(n_factors=4, n_epochs=1)
    model.prepare()
    assert model.fit(train).info()["compile_seconds"] >= 0
    with pytest.raises(PluginInputError, match="mode must be one of"):
        FastSVD(mode="quick").fit(train)


BLOCK_NUMBA = textwrap.dedent("""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "numba":
                raise ModuleNotFoundError(name)

    sys.meta_path.insert(0, Block())
""")


def test_module_imports_without_numba_and_is_listed_unusable_with_the_hint():
    script = BLOCK_NUMBA + textwrap.dedent("""
        import bench_plugins.fast_mf
        assert "numba" not in sys.modules
        from benchmark.cli import main
        sys.exit(main(["plugins"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ})
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    for name in ("fast-svd", "fast-svdpp"):
        assert "pip install numba" in lines[name], done.stdout


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
def test_threads_1_is_the_serial_fit_and_more_threads_stay_within_two_thousandths(cls):
    data = load_synthetic(n_users=600, n_items=300, n_ratings=30_000, seed=2)
    train = RatingData(data.ratings.iloc[:25_000].reset_index(drop=True), data.scale)
    test = RatingData(data.ratings.iloc[25_000:].reset_index(drop=True), data.scale)
    serial = fitted(cls, train, random_state=1)
    users, items = test.ratings["user"].to_numpy(), test.ratings["item"].to_numpy()
    np.testing.assert_array_equal(fitted(cls, train, random_state=1, threads=1).predict(users, items),
                                  serial.predict(users, items))
    parallel = fitted(cls, train, random_state=1, threads=3)
    assert parallel.info()["threads"] == 3
    assert abs(rmse(parallel, test) - rmse(serial, test)) < 0.002


def test_user_blocks_cover_every_user_once_with_balanced_ratings():
    indptr = np.cumsum([0] + [1] * 90 + [100] * 10).astype(np.int64)
    blocks = fast_mf.user_blocks(indptr, threads=2, per_thread=2)
    assert blocks[0] == 0 and blocks[-1] == 100 and np.all(np.diff(blocks) > 0)
    assert len(blocks) - 1 <= 4
