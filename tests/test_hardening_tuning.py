"""Issue 29, item 5: tuning bounded and honest -- a search's size is counted before it is
expanded and refused above the configuration limit, the budget is capped, crashed trials fail
the run (summary, exit code, ``--failed``, the tuned line) and an inner split that cannot be
built is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_bench

FLAKY = '''
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Flaky(RatingModel):
    """Crashes for the values of ``p`` listed in ``crash``."""

    def __init__(self, p: int = 0, crash: str = ""):
        self.p, self.crash = p, crash

    def fit(self, train):
        if str(self.p) in self.crash.split(","):
            raise RuntimeError(f"flaky crash at p={self.p}")
        self.index_training(train)
        return self

    def estimate(self, users, items):
        return np.full(len(users), self.mean_ + 0.01 * self.p)

@hookimpl
def bench_models():
    return [ModelSpec("flaky", {RATING: Flaky})]
'''


def suite(tmp_path: Path, tune: str, model: str = "flaky", params: str = "{crash: '1,3'}") -> Path:
    (tmp_path / "flaky.py").write_text(FLAKY)
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nplugins: [flaky.py]\n"
                    "datasets: [{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.5}}]\n"
                    "split: {method: kfold, k: 2}\nmetrics: [rmse]\n"
                    f"models:\n  - name: {model}\n    params: {params}\n    tune: {tune}\n")
    return path


def one_line_error(result, *parts: str) -> None:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("bench: error: "), result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr


@pytest.mark.slow  # a whole `bench run` or several (>= 3 s on the loaded 2-core VM)
def test_a_million_point_grid_is_counted_not_listed_and_refused_in_one_line(tmp_path):
    values = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    space = ", ".join(f"x{n}: {values}" for n in range(6))  # 10^6 points
    flaky = FLAKY.replace("p: int = 0, crash: str = \"\"", "p: int = 0, crash: str = \"\", "
                          + ", ".join(f"x{n}: int = 0" for n in range(6)))
    path = suite(tmp_path, f"{{space: {{{space}}}, objective: rmse}}")
    (tmp_path / "flaky.py").write_text(flaky)
    for command in ("check", "run"):
        out = ["--out", str(tmp_path / "out")] if command == "run" else []
        result = run_bench(command, str(path), *out)
        one_line_error(result, "s.yaml:9: models[0].tune.space:", "the grid has 1,000,000 points (10 x0 × 10 x1",
                       "above the configuration limit of 10,000")
    assert not (tmp_path / "out" / "cells.jsonl").exists()


def test_a_billion_trials_are_refused_in_one_line(tmp_path):
    path = suite(tmp_path, "{space: {p: {low: 0, high: 5}}, objective: rmse, search: random, trials: 1000000000}")
    one_line_error(run_bench("check", str(path)), "models[0].tune.trials",
                   "expected at most 10,000 trials (the configuration limit), got 1,000,000,000")


def test_max_configurations_on_the_command_line_moves_the_trials_limit(tmp_path):
    path = suite(tmp_path, "{space: {p: {low: 0, high: 5}}, objective: rmse, search: random, trials: 20000}")
    one_line_error(run_bench("check", str(path), "--max-configurations", "15000"), "models[0].tune.trials",
                   "expected at most 15,000 trials (the configuration limit), got 20,000")
    assert run_bench("check", str(path), "--max-configurations", "20000").returncode == 0


@pytest.mark.slow  # a whole `bench run` or several (>= 3 s on the loaded 2-core VM)
def test_crashed_trials_fail_the_run_are_listed_and_counted_on_the_tuned_line(tmp_path):
    path = suite(tmp_path, "{space: {p: [0, 1, 2, 3, 4]}, objective: rmse, split: {method: holdout}}")
    out = tmp_path / "out"
    result = run_bench("run", str(path), "--out", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    # 2 outer folds × 5 points × 1 inner fold = 10 trials, of which 2 × 2 crashed; both refits ok
    assert "12 cells run, 0 reused, 4 failed" in result.stdout
    assert "5 trials (4 of 10 failed), grid, inner holdout" in result.stdout  # the tuning column: both searches
    assert "flaky crash at p=1" in result.stdout
    listed = json.loads(run_bench("results", str(out), "--failed", "--format", "json").stdout)
    assert sorted(r["error"] for r in listed) == ["RuntimeError: flaky crash at p=1"] * 2 + \
        ["RuntimeError: flaky crash at p=3"] * 2
    again = run_bench("run", str(path), "--out", str(out))  # reused, still failed
    assert again.returncode == 1 and "0 cells run, 12 reused, 4 failed" in again.stdout


@pytest.mark.slow  # a whole `bench run` or several (>= 3 s on the loaded 2-core VM)
def test_an_inner_split_that_cannot_be_built_is_one_line_before_any_cell_runs(tmp_path):
    path = suite(tmp_path, "{space: {p: [0, 2]}, objective: rmse, split: {method: kfold, k: 500}}")
    result = run_bench("run", str(path), "--out", str(tmp_path / "out"))
    one_line_error(result, "model 'flaky(crash=1,3) tuned' on dataset 'synthetic-ratings'",
                   "the inner split 'kfold' of tune cannot be built on outer fold 1/2", "k=500 is larger than")
    cells = tmp_path / "out" / "cells.jsonl"
    assert not cells.exists() or not cells.read_text()
