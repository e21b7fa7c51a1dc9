"""Issue 27.2: a model's one-time costs (imports, numba's first compilation, first calls) are paid
before a cell's time limit starts and recorded apart (``warmup_seconds``), never as a timeout."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.engine import Finished, LocalExecutor
from benchmark.events import Limits
from benchmark.record import CellResult, check
from benchmark.runner import RunOptions, run_suite
from tests.conftest import run_bench
from tests.test_scale import quiet, tasks_of

PLUGIN = '''
import os, time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

WARMED = []
CALLS = []  # per warm-up of this process: (started, ended, slept)

class Slow(RatingModel):
    """Its first cell in a process pays ``seconds`` of warm-up (as numba's first compilation
    would), its later cells nothing; ``fail`` makes the warm-up raise."""

    def __init__(self, seconds: float = 0.0, fail: bool = False, i: int = 0):
        self.seconds, self.fail, self.i = seconds, fail, i

    @classmethod
    def warm_up(cls, params):
        if params.get("fail"):
            raise RuntimeError("the kernels do not compile")
        started, slept = time.time(), os.getpid() not in WARMED
        if slept:  # a forked worker inherits the driver's list
            time.sleep(params["seconds"])
            WARMED.append(os.getpid())
        CALLS.append((started, time.time(), slept))

    def fit(self, train):
        self.fit_started_ = time.time()
        self.index_training(train)
        self.warmed_ = os.getpid() in WARMED
        self.warm_call_ = CALLS[-1] if CALLS else None
        self.fit_ended_ = time.time()
        return self

    def estimate(self, users, items):
        return np.full(len(users), self.mean_)

    def info(self):
        started, ended, slept = self.warm_call_ or (None, None, False)
        return {"warmed": self.warmed_, "slept": slept, "warm_started": started, "warm_ended": ended,
                "fit_started": self.fit_started_, "fit_ended": self.fit_ended_}

@hookimpl
def bench_models():
    return [ModelSpec("slow-start", {RATING: Slow})]
'''


def write_suite(directory: Path, models: list[str], split: str = "{method: kfold, k: 2}") -> Path:
    (directory / "slow_plugin.py").write_text(PLUGIN)
    entries = "\n".join(f"  - {m}" for m in models)
    (directory / "suite.yaml").write_text(
        f"name: warm\nsplit: {split}\nplugins: [slow_plugin.py]\n"
        f"datasets: [{{name: synthetic-ratings, options: {{n_users: 40, n_items: 30}}}}]\n"
        f"models:\n{entries}\nmetrics: [rmse]\n")
    return directory / "suite.yaml"


def run_in_workers(suite: Path, limits: Limits) -> list[dict]:
    rows: list[dict] = []
    with LocalExecutor(jobs=1) as executor:
        executor.run(tasks_of(suite, limits), lambda e: rows.append(e.row) if isinstance(e, Finished) else None)
    return sorted(rows, key=lambda row: row["started_at"])


def test_a_slow_warm_up_is_not_a_timeout_and_is_recorded_apart(tmp_path):
    suite = write_suite(tmp_path, ["{name: slow-start, params: {seconds: 2.5}}"])
    first, second = run_in_workers(suite, Limits(timeout=1.0))  # one worker runs both folds
    assert (first["status"], second["status"]) == ("ok", "ok"), (first.get("error"), second.get("error"))
    assert first["warmup_seconds"] >= 2.5  # the warm-up slept 2.5 s: outside the 1 s limit, recorded
    info, again = first["model_info"], second["model_info"]
    assert info["slept"] and not again["slept"]  # warm already: the worker's second cell sleeps not
    assert info["warmed"] and again["warmed"]  # before the fit
    # the fit clock excludes the warm-up: the warm-up (its 2.5 s sleep) ended before fit() began,
    # and the harness times fit() alone (orders of events, not speeds)
    assert info["warm_started"] <= info["warm_ended"] <= info["fit_started"] <= info["fit_ended"]


def test_a_warm_up_that_fails_fails_its_cell_with_the_reason(tmp_path):
    suite = write_suite(tmp_path, ["{name: slow-start, params: {fail: true}}"], split="{method: holdout}")
    (row,) = run_in_workers(suite, Limits(timeout=30.0))
    assert row["status"] == "error"
    assert row["error"] == "RuntimeError: the kernels do not compile"
    assert "warm_up" in row["traceback"]


def test_the_inline_executor_records_the_warm_up_too(tmp_path):
    suite = write_suite(tmp_path, ["{name: slow-start, params: {seconds: 0.3, i: 1}}"], split="{method: holdout}")
    result = run_suite(suite, RunOptions(out=str(tmp_path / "out"), executor="inline"), stream=quiet())
    (row,) = result.rows
    assert row["status"] == "ok", row.get("error")
    if row["model_info"]["slept"]:  # this process may be warm already (then nothing is slept)
        assert row["warmup_seconds"] >= 0.3
    assert row["model_info"]["warmed"]


def test_warmup_seconds_is_stored_and_old_rows_without_it_still_load():
    row = {"cell_id": "c", "status": "ok", "task": "rating", "dataset": "d", "model": "m", "fold": 0, "seed": 0,
           "warmup_seconds": 1.25}
    assert check(row) is None
    assert CellResult.from_stored(row).warmup_seconds == 1.25
    assert CellResult.from_stored(row).to_row()["warmup_seconds"] == 1.25
    del row["warmup_seconds"]
    assert CellResult.from_stored(row).warmup_seconds is None
    assert "warmup_seconds" not in CellResult.from_stored(row).to_row()
    assert check({**row, "warmup_seconds": "slow"}) == "warmup_seconds: expected a number, got 'slow'"


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="needs numba: pip install -e '.[fast]'")
def test_fast_svd_on_a_cold_numba_cache_is_not_a_timeout(tmp_path):
    """The issue's case: on a fresh install, fast-svd at --timeout 1 was recorded as a timeout
    (numba compiling inside the cell); its compilation is now the row's warm-up."""
    (tmp_path / "suite.yaml").write_text(
        "name: cold\nsplit: {method: holdout}\n"
        "datasets: [{name: synthetic-ratings, options: {n_users: 60, n_items: 40}}]\n"
        "models: [{name: fast-svd, params: {n_epochs: 2}}]\nmetrics: [rmse]\n")
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    done = run_bench("run", str(tmp_path / "suite.yaml"), "--out", str(tmp_path / "out"), "--jobs", "1",
                     "--timeout", "1", env={"NUMBA_CACHE_DIR": str(cache)})
    (row,) = [json.loads(line) for line in next((tmp_path / "out").rglob("cells.jsonl")).read_text().splitlines()]
    assert row["status"] == "ok", (row.get("error"), done.stdout[-500:])
    assert row["warmup_seconds"] > 0.0
    assert any(cache.rglob("*.nbi")), "the kernels were compiled into the empty cache"


def test_ease_and_item_knn_warm_up_changes_no_number():
    from bench_plugins.ranking_models import EASE, ItemKNN
    from benchmark.ranking import Interactions

    rng = np.random.default_rng(0)
    train = Interactions.from_matrix((rng.random((30, 20)) < 0.3).astype(np.float32))
    cold_ease, cold_knn = EASE(l2=5.0).fit(train), ItemKNN(k=3).fit(train)
    EASE.warm_up({"l2": 5.0})
    ItemKNN.warm_up({"k": 3, "shrinkage": 10.0})
    assert np.array_equal(EASE(l2=5.0).fit(train).B_, cold_ease.B_)
    assert (ItemKNN(k=3).fit(train).similarity_ != cold_knn.similarity_).nnz == 0
    users = np.arange(30)
    assert np.array_equal(EASE(l2=5.0).fit(train).score(users), cold_ease.score(users))
