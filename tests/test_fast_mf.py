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

from bench_plugins import fast_mf_parallel
from bench_plugins.fast_mf_kernels import GRID, kernel
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
    predicted = np.clip(model.predict(frame["user"].to_numpy(), frame["item"].to_numpy()), *test.scale)
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
        kernel("svdpp_literal")(indptr, items, ratings, 3.0, *literal, *rates)
        kernel("svdpp")(indptr, items, ratings, 3.0, *lazy, *rates)
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
        import bench_plugins.fast_mf_kernels
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


@pytest.mark.slow  # compiles every kernel, IEEE and fastmath, into an empty cache (~30 s on 2 cores)
def test_every_kernel_compiles_into_a_cold_cache_without_a_warning(tmp_path):
    """The steps are inlined into each kernel; numba can warn (NumbaIRAssumptionWarning) when one
    kernel inlines a function twice (``_run_end`` in both passes of the grid's SVD++ epoch did), so
    each kernel calls each step once. Any warning fails."""
    script = textwrap.dedent("""
        import warnings
        warnings.simplefilter("error")
        from bench_plugins.fast_mf import FastSVD, FastSVDpp
        for cls in (FastSVD, FastSVDpp):
            for mode in ("exact", "fast"):
                for threads in (1, 2):
                    cls(mode=mode, threads=threads).prepare()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(tmp_path.rglob("*.nbi"))) >= 8  # 4 epochs × 2 modes, the helpers, all compiled here


def test_helpers_compile_ieee_only_and_epochs_in_both_modes():
    """A helper kernel has no factory closure to keep a fastmath variant apart in numba's disk cache,
    so asking for one gives the IEEE kernel; each epoch has its two variants."""
    assert kernel("has_repeats", True) is kernel("has_repeats")
    assert not kernel("has_repeats").targetoptions.get("fastmath")
    for name in ("svd", f"{GRID}svdpp"):
        assert kernel(name, True).targetoptions.get("fastmath") and not kernel(name).targetoptions.get("fastmath")


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
def test_every_parameter_is_documented_and_stored(cls):
    """The parameters both models share are documented once (``_shared_params``) and stored by one
    helper: each still has its line in ``bench plugins``, and a model's parameters come back as given."""
    from benchmark.params import model_params

    params = model_params(cls)
    assert not [name for name, param in params.items() if not param.doc]
    own = {"lr_qi": 0.01, "reg_all": 0.05, "n_factors": 7, "mode": "exact", "threads": 3}
    assert cls(**own).get_params() == {**cls.param_defaults(), **own}
    assert params[f"reg_{cls._rates[-1]}"].doc.endswith("(default ``reg_all``)")
    lr_all = cls.param_defaults()["lr_all"]  # each term's own rate, else the _all one, in the kernels' order
    assert cls(**own)._learning() == tuple([0.01 if term == "qi" else lr_all for term in cls._rates]
                                           + [0.05] * len(cls._rates))


def split_synthetic(n_users=600, n_items=300, n_ratings=30_000, seed=2, train=25_000):
    data = load_synthetic(n_users=n_users, n_items=n_items, n_ratings=n_ratings, seed=seed)
    return (RatingData(data.ratings.iloc[:train].reset_index(drop=True), data.scale),
            RatingData(data.ratings.iloc[train:].reset_index(drop=True), data.scale))


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
def test_threads_1_is_the_serial_fit_and_more_threads_stay_within_two_thousandths(cls):
    train, test = split_synthetic()
    serial = fitted(cls, train, random_state=1)
    users, items = test.ratings["user"].to_numpy(), test.ratings["item"].to_numpy()
    np.testing.assert_array_equal(fitted(cls, train, random_state=1, threads=1).predict(users, items),
                                  serial.predict(users, items))
    assert serial.info()["grid"] is None
    for threads in (2, 3):
        parallel = fitted(cls, train, random_state=1, threads=threads)
        assert parallel.info()["threads"] == threads and parallel.info()["grid"]["threads"] == threads
        assert abs(rmse(parallel, test) - rmse(serial, test)) < 0.002


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
@pytest.mark.parametrize("seed", [0, 1])
def test_two_threads_stay_within_two_thousandths_on_u1(u1, cls, seed):
    train, test = u1
    serial = fitted(cls, train, random_state=seed)
    parallel = fitted(cls, train, random_state=seed, threads=2)
    assert abs(rmse(parallel, test) - rmse(serial, test)) < 0.002


@pytest.fixture(scope="module")
def latest_small():
    """ml-latest-small (shipped with bench), bench's kfold seed 0, first fold: the training rows in
    the file's order, each user's ratings sorted by movieId."""
    from bench_plugins.movielens import load_latest_small
    from bench_plugins.splits import kfold

    data = load_latest_small()
    fold = kfold(data, seed=0, k=5)[0]
    return data.subset(fold.train), data.subset(fold.test)


def within_users_shuffled(train: RatingData, seed: int = 1) -> RatingData:
    """The same rows, users in the same order, each user's ratings in a random order."""
    frame = train.ratings
    key = np.random.default_rng(seed).random(len(frame))
    order = np.lexsort((key, pd.factorize(frame["user"])[0]))
    return RatingData(frame.iloc[order].reset_index(drop=True), train.scale)


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
def test_threads_match_the_serial_fit_unless_each_users_rows_are_sorted_by_item(latest_small, cls):
    """Parallel SGD is the serial SGD in another order (fast_mf_parallel's docstring). Where each
    user's rows come in no particular order the two agree within 0.002; where they come sorted
    by item (ml-latest-small as shipped, which bench's splits keep), the serial fit's fixed
    ascending cycle costs it accuracy against the same rows in any other order, the grid's
    partial reordering recovers part of that, and threads are never the worse fit."""
    train, test = latest_small
    shuffled = within_users_shuffled(train)

    def score(data, threads):
        return rmse(fitted(cls, data, random_state=0, threads=threads), test)

    serial_sorted, serial_shuffled = score(train, 1), score(shuffled, 1)
    for threads in (2, 4):
        assert abs(score(shuffled, threads) - serial_shuffled) < 0.002
        assert score(train, threads) < serial_sorted + 0.002
    assert serial_shuffled < serial_sorted - 0.002  # the sorted cycle's cost, which threads partly undo


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_parallel_fit_is_the_same_for_a_seed_and_a_thread_count_whatever_the_cores(cls, mode, monkeypatch):
    """The waves' blocks touch disjoint parameters: neither the threads' timing nor how many of
    them numba really runs can change a number; another seed or thread count does."""
    train, test = split_synthetic(n_users=200, n_items=120, n_ratings=6_000, train=5_000)
    users, items = test.ratings["user"].to_numpy(), test.ratings["item"].to_numpy()

    def predictions(**params):
        return fitted(cls, train, n_factors=8, mode=mode, **params).predict(users, items)

    first = predictions(random_state=3, threads=3)
    np.testing.assert_array_equal(predictions(random_state=3, threads=3), first)
    assert not np.array_equal(predictions(random_state=4, threads=3), first)
    assert not np.array_equal(predictions(random_state=3, threads=2), first)
    set_threads = fast_mf_parallel.usable_threads
    monkeypatch.setattr(fast_mf_parallel, "usable_threads", lambda threads: set_threads(1))
    try:
        np.testing.assert_array_equal(predictions(random_state=3, threads=3), first)
    finally:
        set_threads(1 << 20)  # numba's whole pool again


def random_training(n_users=25, n_items=40, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 30, n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    items = np.concatenate([rng.choice(n_items, c, replace=False) for c in counts]).astype(np.int32)
    ratings = rng.integers(1, 6, len(items)).astype(np.float64)
    return {"indptr": indptr, "items": items, "ratings": ratings}


RATES = (0.007, 0.006, 0.005, 0.004, 0.003, 0.02, 0.03, 0.04, 0.05, 0.06)  # lr_bu … lr_yj, reg_bu … reg_yj


def starting_state(n_users=25, n_items=40, k=8):
    start = np.random.RandomState(1)
    return [np.zeros(n_users), np.zeros(n_items)] + [start.normal(0, 0.1, (n, k)) for n in (n_users, n_items, n_items)]


def test_a_grid_of_one_thread_is_the_serial_svd_bit_for_bit():
    data = random_training()
    serial, grid_state = starting_state()[:4], starting_state()[:4]
    svd_rates = RATES[:4] + RATES[5:9]
    for rounds in (1, 3):
        grid = fast_mf_parallel.build_grid(data, 40, 1, rounds, np.random.RandomState(0))
        for _ in range(3):
            kernel("svd")(data["indptr"], data["items"], data["ratings"], 3.0, *serial, True, *svd_rates)
            kernel(f"{GRID}svd")(*grid.layout(), grid.shifts(np.random.RandomState(0)), 1, 3.0,
                                           *grid_state, True, *svd_rates)
        for mine, reference in zip(grid_state, serial):
            np.testing.assert_array_equal(mine, reference)


def test_a_grid_of_one_thread_and_one_user_a_round_is_the_serial_svdpp_bit_for_bit():
    """Refresh z_u, run the user's ratings, apply its map: the serial kernel's steps, user by user."""
    data = random_training()
    indptr, items = data["indptr"], data["items"]
    block_ptr, users, items_b, ratings_b = kernel("block_layout")(
        indptr, items, data["ratings"], np.arange(25), np.zeros(40, dtype=np.int64), 1, 25)
    grid = fast_mf_parallel.Grid(1, 25, users, items_b, ratings_b, block_ptr, np.arange(26), np.arange(40), items)
    serial, grid_state = starting_state(), starting_state()
    per_user = (grid.row_bounds, indptr, items, np.sqrt(np.diff(indptr)).astype(np.float64))
    for _ in range(3):
        kernel("svdpp")(indptr, items, data["ratings"], 3.0, *serial, *RATES)
        kernel(f"{GRID}svdpp")(*grid.layout(), grid.shifts(np.random.RandomState(0)), 1, *per_user,
                                         3.0, *grid_state, np.zeros((25, 8)), np.zeros((25, 8)), np.ones(25),
                                         *RATES)
    for mine, reference in zip(grid_state, serial):
        np.testing.assert_array_equal(mine, reference)


@pytest.mark.parametrize("threads, rounds", [(2, 1), (3, 4), (4, 16)])
def test_the_grid_holds_every_rating_once_and_a_waves_blocks_share_no_user_and_no_item(threads, rounds):
    data = random_training(n_users=300, n_items=90, seed=threads)
    grid = fast_mf_parallel.build_grid(data, 90, threads, rounds, np.random.RandomState(0))
    n = threads
    user_of = np.repeat(np.arange(300), np.diff(data["indptr"]))
    assert sorted(zip(grid.users, grid.item_order[grid.items], grid.ratings)) == sorted(
        zip(user_of, data["items"], data["ratings"]))
    assert np.array_equal(grid.item_order[grid.user_items], data["items"])
    assert sorted(grid.item_order) == list(range(90))
    assert len(grid.block_ptr) == rounds * n * n + 1 and grid.row_bounds[-1] == 300
    assert np.all(np.diff(grid.row_bounds) >= 0)
    column_of = np.full(90, -1)
    for b in range(rounds * n * n):
        part = slice(grid.block_ptr[b], grid.block_ptr[b + 1])
        row, column = divmod(b, n)
        assert np.all((grid.users[part] >= grid.row_bounds[row]) & (grid.users[part] < grid.row_bounds[row + 1]))
        assert np.all(np.diff(grid.users[part]) >= 0)  # users by inner id within a block
        assert np.all(np.isin(column_of[grid.items[part]], [-1, column]))
        column_of[grid.items[part]] = column
    shifts = grid.shifts(np.random.RandomState(1))
    assert shifts.shape == (rounds, n) and all(sorted(row) == list(range(n)) for row in shifts)
    for rho in range(rounds):
        for w in range(n):  # the kernels' block of thread t in wave w of round rho
            wave = [((rho * n + t), (t + shifts[rho, w]) % n) for t in range(n)]
            assert len({row for row, _ in wave}) == n and len({column for _, column in wave}) == n
    seen = column_of >= 0  # each column group a run of consecutive grid numbers
    assert np.all(np.diff(column_of[seen]) >= 0)
    counts = np.bincount(column_of[grid.items], minlength=n)
    assert counts.max() - counts.min() <= 2 * np.bincount(data["items"]).max()  # about equal ratings


def test_balanced_groups_follow_the_order_with_about_equal_counts():
    counts = np.array([1] * 90 + [100] * 10)
    group = fast_mf_parallel.balanced_groups(counts, 4, np.arange(100))
    assert np.all(np.diff(group) >= 0) and set(group) == {0, 1, 2, 3}
    assert np.all(np.abs(np.bincount(group, counts) - counts.sum() / 4) <= 100)
    assert fast_mf_parallel.rounds_for(1_000, 2) == 16 and fast_mf_parallel.rounds_for(10**9, 2) == 64


def test_svdpp_with_repeated_pairs_runs_the_serial_literal_loop_whatever_the_threads(small):
    train, _ = small
    frame = train.ratings
    repeated = RatingData(pd.concat([frame, frame.iloc[:30]], ignore_index=True), train.scale)
    model = fitted(FastSVDpp, repeated, random_state=2, threads=2, n_epochs=2)
    assert model.info()["kernel"] == "literal" and model.info()["grid"] is None


@pytest.mark.parametrize("cls", [FastSVD, FastSVDpp])
def test_more_threads_than_users_and_items_still_fit(cls):
    data = load_synthetic(n_users=5, n_items=3, n_ratings=10, seed=0)
    model = fitted(cls, data, random_state=0, threads=8, n_epochs=3)
    assert model.info()["grid"]["threads"] == 8
    assert np.all(np.isfinite(model.predict(data.ratings["user"].to_numpy(), data.ratings["item"].to_numpy())))
