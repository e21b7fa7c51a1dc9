"""Tuning (``tune:``): bad blocks named by line, deterministic searches, trials that never see the
outer test fold, winners that may differ between outer folds, and trials reused after a stop."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from benchmark import tuning
from benchmark.cells import Cell, stable_hash
from benchmark.errors import BenchError
from benchmark.execute import DataCache
from benchmark.record import Refit, Trial
from benchmark.runner import RunInterrupted, RunOptions, plan, run_suite
from benchmark.store import read_rows
from benchmark.suite import load_suite
from tests.conftest import StopAfter, run_bench

QUIET = open(os.devnull, "w")

SMALL = """\
name: tuned-small
seed: 1
datasets:
  - name: synthetic-ratings
    options: {n_users: 60, n_items: 40, density: 0.25, rank: 2}
    split: {method: kfold, k: 3}
models:
  - name: truncated-svd
    tune:
      space: {n_components: [1, 2, 4]}
      objective: rmse
  - name: autorec
    params: {epochs: 3}
    tune:
      space: {reg: {low: 0.1, high: 100, log: true}, hidden: [2, 4]}
      objective: rmse
      search: random
      trials: 3
      split: {method: kfold, k: 2}
metrics: [rmse, mae]
"""


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


# --- Bad input: one line, the line of the key -----------------------------------------------------

BAD_BASE = """\
name: bad
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.3}
models:
  - global-mean
  - name: truncated-svd
    tune:
"""


@pytest.mark.parametrize("block, line, key, message", [
    ("      space: {}\n      objective: rmse\n", 9, "models[1].tune.space",
     "expected at least 1 parameter to search, got an empty mapping"),
    ("      space: {n_components: [2, 4]}\n      objective: rmse\n      search: random\n      trials: 0\n",
     12, "models[1].tune.trials", "expected an integer >= 1 (the number of trials), got an integer 0"),
    ("      space: {n_componets: [2, 4]}\n      objective: rmse\n", 9, "models[1].tune.space.n_componets",
     "expected a parameter of the model (did you mean 'n_components'?), got 'n_componets'"),
    ("      space:\n        n_components: {low: 0, high: 8}\n      objective: rmse\n      search: random\n"
     "      trials: 4\n", 10, "models[1].tune.space.n_components.low", "expected a number >= 1, got 0"),
    ("      space:\n        n_components: [2, -1]\n      objective: rmse\n", 10,
     "models[1].tune.space.n_components[1]", "expected a number >= 1, got -1"),
    ("      space: {n_components: [2, 4]}\n      objective: mse\n", 10, "models[1].tune.objective",
     "expected a metric of the 'rating' task of dataset 'synthetic-ratings', got 'mse' (a 'reconstruction' metric)"),
    ("      space: {n_components: {low: 2, high: 8}}\n      objective: rmse\n      search: grid\n", 9,
     "models[1].tune.space.n_components", "expected a list of values for search: grid, got a range"),
    ("      space: {n_components: [2, 4]}\n      objective: rmse\n      budget: 3\n", 11,
     "models[1].tune.budget", "expected a key of tune (one of: space, objective, search, trials, split), got 'budget'"),
    ("      space: {n_components: {low: 1, high: 8}}\n      objective: rmse\n      search: random\n", 8,
     "models[1].tune", "missing required key 'trials' (the budget of a random search)"),
    ("      space: {n_components: [2, 4]}\n      objective: rmse\n      split: {method: predefined}\n", 11,
     "models[1].tune.split.method", "expected a split that can be carved from a training fold"),
    ("      space: {n_components: [2, 4]}\n      objective: rmse\n      split: {method: holdout, test_size: 2}\n",
     11, "models[1].tune.split.test_size", "expected a number > 0 and < 1, got 2"),
])
def test_a_bad_tune_block_is_one_error_at_its_line(tmp_path, block, line, key, message):
    path = _suite(tmp_path, BAD_BASE + block)
    with pytest.raises(BenchError) as error:
        load_suite(path)
    assert error.value.where == f"{path}:{line}: {key}"
    assert error.value.message.startswith(message), error.value.message


def test_bad_tune_exits_2_with_one_line_and_writes_nothing(tmp_path):
    path = _suite(tmp_path, BAD_BASE + "      space: {n_components: [2, 4]}\n      objective: rmse\n"
                                      "      search: random\n      trials: 0\n")
    out = tmp_path / "out"
    done = run_bench("run", str(path), "--out", str(out))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"bench: error: {path}:12: models[1].tune.trials: expected an integer >= 1 (the number of trials), "
        f"got an integer 0"]
    assert not out.exists()


def test_params_and_space_may_not_both_set_a_parameter(tmp_path):
    path = _suite(tmp_path, BAD_BASE.replace("    tune:\n", "    params: {n_components: 2}\n    tune:\n")
                  + "      space: {n_components: [2, 4]}\n      objective: rmse\n")
    with pytest.raises(BenchError, match="in params or in tune.space, got both") as error:
        load_suite(path)
    assert error.value.where == f"{path}:10: models[1].tune.space.n_components"


# --- The plan: deterministic trials, cells that say where they belong -----------------------------


def _searches(tmp_path: Path, text: str) -> tuple[tuning.Searches, list[Cell]]:
    suite, registry = load_suite(_suite(tmp_path, text))
    cache = DataCache(registry)
    cells = plan(suite, registry, cache)
    return tuning.Searches(suite, cells, cache), cells


def test_existing_cells_keep_their_ids():
    cell = Cell(suite="s", task="rating", dataset="d", dataset_plugin="d", dataset_options={},
                dataset_checksum="c", split="kfold", split_params={"k": 3, "seed": 0}, seed=0, fold=1,
                fold_name="2/3", fingerprint="f", model="m", model_plugin="m", params={}, config={},
                metrics=("rmse",))
    assert cell.id == stable_hash({"checksum": "c", "split": "kfold", "split_params": {"k": 3, "seed": 0},
                                   "fold": 1, "fingerprint": "f", "config": cell.config_id, "seed": 0,
                                   "metrics": ["rmse"]})


def test_grid_and_random_trials_are_the_same_on_every_plan(tmp_path):
    first, _ = _searches(tmp_path, SMALL)
    again, _ = _searches(tmp_path, SMALL)
    ids = [c.id for c in first.cells({})]
    assert ids == [c.id for c in again.cells({})]
    # 3 outer folds: svd grid of 3 points x 1 inner fold, autorec 3 random points x 2 inner folds
    assert len(ids) == 3 * 3 + 3 * 3 * 2
    other_seed, _ = _searches(tmp_path, SMALL.replace("seed: 1", "seed: 2"))
    svd = [s for s in other_seed.searches if s.tuning.search == "grid"]
    assert [p for s in svd for p in s.tuning.grid()] == [{"n_components": n} for n in (1, 2, 4)] * 3
    autorec = [s for s in first.searches if s.tuning.search == "random"]
    draws = [s.random_points() for s in autorec]
    assert draws[0] != draws[1] != draws[2]  # each outer fold draws its own points
    assert draws == [s.random_points() for s in autorec]
    assert draws != [s.random_points() for s in other_seed.searches if s.tuning.search == "random"]
    for point in draws[0]:
        assert 0.1 <= point["reg"] <= 100 and point["hidden"] in (2, 4)


def test_a_trial_cell_names_its_outer_fold_and_inner_rows(tmp_path):
    searches, cells = _searches(tmp_path, SMALL)
    trials = [c for c in searches.cells({}) if c.model == "truncated-svd tuned"]
    outer = {c.fold: c for c in cells if c.model == "truncated-svd tuned"}
    for trial in trials:
        assert isinstance(trial.tuning, Trial) and trial.tuning.role == "trial"
        assert trial.tuning.outer_fold == trial.fold
        assert trial.tuning.outer_fingerprint == outer[trial.fold].fingerprint
        assert trial.tuning.inner == {"method": "holdout", "test_size": 0.1, "seed": 1}
        assert trial.metrics == ("rmse",)
        assert trial.fingerprint != outer[trial.fold].fingerprint
    # no refit before the trials have rows
    assert not [c for c in searches.cells({}) if isinstance(c.tuning, Refit)]


def test_random_search_of_a_small_grid_samples_distinct_points(tmp_path):
    text = SMALL.replace("space: {reg: {low: 0.1, high: 100, log: true}, hidden: [2, 4]}",
                         "space: {hidden: [2, 4]}").replace("trials: 3", "trials: 10")
    searches, _ = _searches(tmp_path, text)
    search = next(s for s in searches.searches if s.tuning.search == "random")
    assert search.tuning.trials == 2
    assert sorted(p["hidden"] for p in search.random_points()) == [2, 4]


# --- Running: winners per outer fold, the guard, resume -------------------------------------------

SPY_PLUGIN = '''
import numpy as np
import pandas as pd
from benchmark.api import RATING, DatasetSpec, Fold, ModelSpec, RatingData, RatingModel, hookimpl


class SpyConstant(RatingModel):
    """Predicts one value; records every (user, item) it was fit on and asked about.

    :param value: the prediction.
    """

    constraints = {"value": {"minimum": 1, "maximum": 5}}

    def __init__(self, value: float = 3.0):
        self.value = value

    def fit(self, train):
        self.fit_pairs_ = [f"{u}:{i}" for u, i in zip(train.ratings["user"], train.ratings["item"])]
        self.asked_ = []
        return self

    def predict(self, users, items):
        self.asked_ += [f"{u}:{i}" for u, i in zip(users, items)]
        return np.full(len(users), float(self.value))

    def info(self):
        return {"fit": self.fit_pairs_, "asked": self.asked_}


def load_halves():
    """200 ratings: the first 100 are all 1, the last 100 all 5; two outer folds swap them."""
    frame = pd.DataFrame({"user": np.repeat(np.arange(20), 10), "item": np.tile(np.arange(10), 20),
                          "rating": np.r_[np.ones(100), np.full(100, 5.0)]})
    low, high = np.arange(100), np.arange(100, 200)
    folds = {"halves": [Fold("low", low, high), Fold("high", high, low)]}
    return RatingData(frame, (1.0, 5.0), folds)


@hookimpl
def bench_models():
    return [ModelSpec("spy-constant", {RATING: SpyConstant})]


@hookimpl
def bench_datasets():
    return [DatasetSpec("halves", load_halves, RATING, default_split={"method": "predefined"})]
'''

SPY_SUITE = """\
name: spy
seed: 0
plugins: [spy.py]
datasets: [halves]
models:
  - name: spy-constant
    tune:
      space: {value: [1.0, 3.0, 5.0]}
      objective: rmse
      split: {method: holdout, test_size: 0.2}
  - name: spy-constant
    label: spy-random
    tune:
      space: {value: {low: 1, high: 5}}
      objective: mae
      search: random
      trials: 4
      split: {method: kfold, k: 2}
metrics: [rmse]
"""


@pytest.fixture(scope="module")
def spy_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("spy")
    (base / "spy.py").write_text(SPY_PLUGIN)
    (base / "suite.yaml").write_text(SPY_SUITE)
    result = run_suite(base / "suite.yaml", RunOptions(out=base / "out", executor="inline"), stream=QUIET)
    return base, result, read_rows(base / "out" / "cells.jsonl")


def test_every_trial_and_refit_is_a_stored_cell(spy_run):
    base, result, rows = spy_run
    trials = [r for r in rows if tuning.is_trial(r)]
    refits = [r for r in rows if r.get("tuning", {}).get("role") == "refit"]
    assert len(trials) == 2 * 3 + 2 * 4 * 2 and len(refits) == 4
    assert all(r["status"] == "ok" for r in rows)
    for refit in refits:
        ids = refit["tuning"]["trial_cell_ids"]
        assert {r["cell_id"] for r in trials if r["fold"] == refit["fold"] and r["model"] == refit["model"]} == set(ids)
    # the leaderboard has one line per tuned model, not per trial or per chosen point
    assert sorted(line.model for line in result.lines) == ["spy-constant tuned", "spy-random"]
    assert all(line.folds == 2 for line in result.lines)


def test_the_chosen_configuration_differs_between_outer_folds(spy_run):
    _, _, rows = spy_run
    chosen = {(c["model"], c["fold_name"]): c["chosen"] for c in tuning.chosen_by_fold(rows)}
    # fold "low" trains on the 1-ratings, fold "high" on the 5-ratings: each picks its own value
    assert chosen[("spy-constant tuned", "low")] == {"value": 1.0}
    assert chosen[("spy-constant tuned", "high")] == {"value": 5.0}
    low, high = chosen[("spy-random", "low")]["value"], chosen[("spy-random", "high")]["value"]
    assert low < 3 < high


def test_no_trial_ever_sees_a_row_of_its_outer_test_fold(spy_run):
    base, _, rows = spy_run
    pair = {"low": (set(range(100)), set(range(100, 200))), "high": (set(range(100, 200)), set(range(100)))}
    names = [f"{u}:{i}" for u in range(20) for i in range(10)]  # row r is names[r]
    trials = [r for r in rows if tuning.is_trial(r)]
    for row in trials:  # what the model itself saw, recorded by the model
        train, test = pair[row["fold_name"].split()[0]]
        seen = set(row["model_info"]["fit"]) | set(row["model_info"]["asked"])
        assert seen <= {names[r] for r in train}
        assert not seen & {names[r] for r in test}
        assert set(row["model_info"]["fit"]).isdisjoint(row["model_info"]["asked"])
    for row in rows:
        if row.get("tuning", {}).get("role") == "refit":  # the refit: the whole outer fold
            train, test = pair[row["fold_name"]]
            assert set(row["model_info"]["fit"]) == {names[r] for r in train}
            assert set(row["model_info"]["asked"]) == {names[r] for r in test}
    # and the harness's own record of every fit and evaluation, rebuilt from the data
    suite, registry = load_suite(base / "suite.yaml")
    cache = DataCache(registry)
    data = cache.dataset("halves", {}, None)
    folds = cache.folds(data, "predefined", {}, 0)
    assert tuning.audit(rows, registry, data, folds) == []
    assert len({r["tuning"]["fit_rows"] for r in trials}) == 2 + 2 * 2  # one per inner fold
    # a trial whose recorded rows were carved from the whole dataset is caught
    leaky = dict(trials[0], tuning={**trials[0]["tuning"],
                                    "fit_rows": tuning.rows_fingerprint(np.arange(160))})
    assert tuning.audit([leaky], registry, data, folds) == [
        f"trial {leaky['cell_id']}: its recorded rows are not its inner fold's"]
    moved = dict(trials[0], fold=1 - trials[0]["fold"])
    assert tuning.audit([moved], registry, data, folds) == [f"trial {moved['cell_id']}: planned on another outer fold"]


def test_notes_and_search_history(spy_run):
    _, _, rows = spy_run
    refit = next(r for r in rows if r.get("tuning", {}).get("role") == "refit" and r["model"] == "spy-random")
    assert tuning.tuning_note(refit) == "tuned: 4 trials, random, inner 2-fold"
    grid = next(r for r in rows if r.get("tuning", {}).get("role") == "refit" and r["model"] != "spy-random")
    assert tuning.tuning_note(grid) == "tuned: 3 trials, grid, inner holdout 20 %"
    assert tuning.tuning_note({"model": "x"}) == ""
    history = tuning.search_history(grid, rows)
    assert [h["params"] for h in history] == [{"value": 1.0}, {"value": 3.0}, {"value": 5.0}]
    assert [h["chosen"] for h in history].count(True) == 1
    best = next(h for h in history if h["chosen"])
    assert best["params"] == grid["tuning"]["chosen"] and best["objective"] == grid["tuning"]["objective_value"]


def test_a_rerun_reuses_every_trial_and_refit(spy_run):
    base, first, _ = spy_run
    again = run_suite(base / "suite.yaml", RunOptions(out=base / "out", executor="inline"), stream=QUIET)
    assert (again.ran, again.reused) == (0, first.ran)


def test_resume_after_a_stop_reuses_the_finished_trials(tmp_path):
    (tmp_path / "spy.py").write_text(SPY_PLUGIN)
    path = _suite(tmp_path, SPY_SUITE)
    options = RunOptions(out=tmp_path / "out", executor="inline")
    with pytest.raises(RunInterrupted) as stopped:
        run_suite(path, options, stream=StopAfter(5))
    partial = read_rows(tmp_path / "out" / "cells.jsonl")
    assert len(partial) == 6 and all(tuning.is_trial(r) for r in partial)
    # no refit yet: nothing to rank, but each tuned model is listed as planned
    assert [(line.note, line.rank) for line in stopped.value.result.lines] == [("no results yet", None)] * 2
    resumed = run_suite(path, options, stream=QUIET)
    assert resumed.reused == 6 and resumed.ran == 2 * 3 + 2 * 4 * 2 + 4 - 6
    whole = read_rows(tmp_path / "out" / "cells.jsonl")
    assert len({r["cell_id"] for r in whole}) == len(whole)  # no trial ran twice


def test_a_refit_whose_trials_all_failed_says_so(tmp_path):
    (tmp_path / "spy.py").write_text(SPY_PLUGIN.replace("self.asked_ = []", "self.asked_ = []\n"
                                                        "        if self.value != 3.0: raise ValueError('no')"))
    path = _suite(tmp_path, SPY_SUITE.replace("[1.0, 3.0, 5.0]", "[1.0, 5.0]"))
    result = run_suite(path, RunOptions(out=tmp_path / "out", executor="inline"), stream=QUIET)
    refits = [r for r in result.rows if r.get("tuning", {}).get("role") == "refit" and r["model"] != "spy-random"]
    assert [r["status"] for r in refits] == ["error", "error"]
    assert "no trial of outer fold low succeeded (2 failed; first error: ValueError: no)" in refits[0]["error"]


def test_tpe_search_through_optuna_replays_to_the_same_trials(tmp_path):
    pytest.importorskip("optuna")
    (tmp_path / "spy.py").write_text(SPY_PLUGIN)
    text = SPY_SUITE.replace("search: random\n      trials: 4", "search: tpe\n      trials: 6")
    path = _suite(tmp_path, text)
    options = RunOptions(out=tmp_path / "out", executor="inline")
    first = run_suite(path, options, stream=QUIET)
    refits = [r for r in first.rows if r.get("tuning", {}).get("search") == "tpe"]
    assert len(refits) == 2 and all(r["status"] == "ok" and r["tuning"]["trials"] == 6 for r in refits)
    again = run_suite(path, options, stream=QUIET)
    assert again.ran == 0 and again.reused == first.ran
    assert json.dumps(sorted(r["cell_id"] for r in again.rows)) == json.dumps(sorted(r["cell_id"] for r in first.rows))


def test_space_kinds_choices_lists_and_integer_ranges():
    from benchmark.params import Param
    from benchmark.suite.tune import parse_space

    params = {"layers": Param("layers", [8], {"type": "array"}), "k": Param("k", 4, {"type": "integer", "minimum": 1}),
              "rate": Param("rate", 0.1, {"type": "number"})}

    def where(*path):
        return ".".join(map(str, path))

    space = parse_space({"layers": {"choices": [[8], [16, 8], [8]]}, "k": {"low": 1, "high": 64, "log": True},
                           "rate": {"low": 0.01, "high": 1}}, params, {}, where, ("tune", "space"))
    layers, k, rate = space
    assert layers.choices == ([8], [16, 8])  # duplicates dropped, order kept; lists are values too
    assert k.integer and k.log and not rate.integer
    rng = np.random.default_rng(0)
    draws = [k.draw(rng) for _ in range(200)]
    assert all(isinstance(d, int) and 1 <= d <= 64 for d in draws) and min(draws) == 1 and max(draws) == 64
    with pytest.raises(BenchError, match="expected an integer") as error:
        parse_space({"k": {"low": 1.5, "high": 8}}, params, {}, where, ("tune", "space"))
    assert error.value.where == "tune.space.k.low"
