"""End-to-end runs: stored cells and provenance, leaderboard, determinism, resume, failures."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from benchmark import leaderboard, resultset
from benchmark.runner import RunOptions, run_suite
from benchmark.store import read_rows
from tests.conftest import ROOT, run_bench

SUITE = """\
name: small
seed: 3
datasets:
  - name: synthetic-ratings
    options: {n_users: 120, n_items: 80, density: 0.2, rank: 3}
    split: {method: kfold, k: 3}
  - name: digits
    split: {method: holdout, test_size: 0.25}
models:
  - global-mean
  - bias-baseline
  - name: truncated-svd
    grid: {n_components: [2, 4]}
  - name: pca
    params: {n_components: 4}
metrics: [rmse, mae, mse, bce]
"""

PROVENANCE = {"suite", "dataset", "dataset_checksum", "split", "split_params", "fold", "fold_name",
              "split_fingerprint", "model", "model_plugin", "params", "seed", "plugin", "libraries",
              "machine", "status", "fit_seconds", "predict_seconds", "peak_rss_mb", "metrics",
              "started_at", "finished_at", "cell_id", "config_id"}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("run")
    (base / "suite.yaml").write_text(SUITE)
    result = run_suite(base / "suite.yaml", RunOptions(out=base / "out", executor="inline"), stream=open(os.devnull, "w"))
    return base, result


def test_every_cell_is_stored_with_its_provenance(first_run):
    base, result = first_run
    rows = read_rows(base / "out" / "cells.jsonl")
    # synthetic: 3 folds x 5 configurations; digits: 1 fold x 3 reconstruction configurations
    assert len(rows) == 3 * 5 + 1 * 3 == result.ran
    for row in rows:
        assert PROVENANCE <= set(row), PROVENANCE - set(row)
        assert row["status"] == "ok", row.get("error")
        assert row["plugin"]["distribution"] == "bench-harness"
        assert row["peak_rss_mb"] > 10
    svd = [r for r in rows if r["model"] == "truncated-svd(n_components=2)" and r["task"] == "rating"]
    assert svd[0]["libraries"]["scikit-learn"] not in ("", "missing")
    assert svd[0]["params"] == {"n_components": 2, "n_iter": 5, "random_state": 3}
    assert {r["fold_name"] for r in svd} == {"1/3", "2/3", "3/3"}
    assert len({r["split_fingerprint"] for r in svd}) == 3
    digits = [r for r in rows if r["dataset"] == "digits"]
    assert {r["model"] for r in digits} == {"truncated-svd(n_components=2)", "truncated-svd(n_components=4)",
                                            "pca(n_components=4)"}
    assert set(digits[0]["metrics"]) == {"mse", "bce"}
    assert digits[0]["n_test"] == 449


def test_leaderboard_files(first_run):
    base, result = first_run
    out = base / "out"
    with (out / "leaderboard.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 5 + 3
    synthetic = [r for r in table if r["dataset"] == "synthetic-ratings"]
    rmse = [float(r["rmse_mean"]) for r in synthetic]
    assert rmse == sorted(rmse), "sorted by the primary metric"
    assert synthetic[-1]["model"] == "global-mean"
    assert all(r["folds"] == "3" for r in synthetic)
    markdown = (out / "leaderboard.md").read_text()
    assert "## synthetic-ratings (rating)" in markdown and " ± " in markdown
    assert (out / "suite.yaml").read_text() == SUITE
    env = json.loads((out / "environment.json").read_text())
    assert env["machine"]["cpus"] >= 1 and "numpy" in env["packages"]
    assert any(p["distribution"] == "bench-harness" for p in env["plugins"])
    assert "global-mean" in result.text


def test_same_suite_same_seed_same_numbers(first_run, tmp_path):
    base, _ = first_run
    again = run_suite(base / "suite.yaml", RunOptions(out=tmp_path / "again", executor="inline"), stream=open(os.devnull, "w"))
    before = {r["cell_id"]: r["metrics"] for r in read_rows(base / "out" / "cells.jsonl")}
    after = {r["cell_id"]: r["metrics"] for r in again.rows}
    assert before == after


def test_a_different_seed_changes_folds_and_numbers(first_run, tmp_path):
    base, _ = first_run
    (tmp_path / "suite.yaml").write_text(SUITE.replace("seed: 3", "seed: 4"))
    other = run_suite(tmp_path / "suite.yaml", RunOptions(out=tmp_path / "out", executor="inline"), stream=open(os.devnull, "w"))
    before = {r["split_fingerprint"] for r in read_rows(base / "out" / "cells.jsonl")}
    assert before.isdisjoint({r["split_fingerprint"] for r in other.rows})


def test_rerun_resumes_and_repairs_a_torn_line(first_run, tmp_path):
    base, _ = first_run
    out = tmp_path / "out"
    out.mkdir()
    lines = (base / "out" / "cells.jsonl").read_text().splitlines(keepends=True)
    # a run killed after 7 cells, in the middle of writing the 8th
    (out / "cells.jsonl").write_text("".join(lines[:7]) + lines[7][:40])
    resumed = run_suite(base / "suite.yaml", RunOptions(out=out, executor="inline"), stream=open(os.devnull, "w"))
    assert (resumed.reused, resumed.ran) == (7, len(lines) - 7)
    rows = read_rows(out / "cells.jsonl")
    assert len(rows) == len(lines)
    assert all(line.endswith("\n") for line in (out / "cells.jsonl").read_text().splitlines(keepends=True))
    again = run_suite(base / "suite.yaml", RunOptions(out=out, executor="inline"), stream=open(os.devnull, "w"))
    assert (again.reused, again.ran) == (len(lines), 0)


def test_a_stored_row_the_readers_refuse_is_computed_again(first_run, tmp_path):
    """A hand-edited row (``fit_seconds`` as text) is not reused: readers would set it aside and the
    leaderboard would lose the cell; the rerun computes it again and every line stays complete."""
    base, first = first_run
    out = tmp_path / "out"
    out.mkdir()
    rows = [json.loads(line) for line in (base / "out" / "cells.jsonl").read_text().splitlines()]
    rows[0]["fit_seconds"] = "fast"
    (out / "cells.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    again = run_suite(base / "suite.yaml", RunOptions(out=out, executor="inline"), stream=open(os.devnull, "w"))
    assert (again.reused, again.ran) == (len(rows) - 1, 1)
    assert [line.cells for line in again.lines] == [line.cells for line in first.lines]


def test_a_suite_that_reorders_its_metrics_ranks_by_its_new_first_one(first_run, tmp_path):
    """The same cells (their ids hash the sorted metrics), every one reused: their stored rows name
    rmse as the primary metric, the suite now says mae. The run's leaderboard and ``bench
    leaderboard`` of the directory rank by mae, as before the stored rows carried it."""
    base, first = first_run
    shutil.copytree(base / "out", tmp_path / "out")
    (tmp_path / "suite.yaml").write_text(SUITE.replace("[rmse, mae, mse, bce]", "[mae, rmse, mse, bce]"))
    again = run_suite(tmp_path / "suite.yaml", RunOptions(out=tmp_path / "out", executor="inline"),
                      stream=open(os.devnull, "w"))
    assert (again.ran, again.reused) == (0, first.ran)
    rating = [row for row in again.rows if row["task"] == "rating"]
    assert rating and {row["primary_metric"] for row in rating} == {"mae"}
    with open(tmp_path / "out" / "leaderboard.csv") as handle:
        table = [row for row in csv.DictReader(handle) if row["task"] == "rating"]
    assert list(table[0]).index("mae_mean") < list(table[0]).index("rmse_mean")
    ranked = [float(row["mae_mean"]) for row in table]
    assert ranked == sorted(ranked)
    stored = {row["primary_metric"] for row in read_rows(tmp_path / "out" / "cells.jsonl") if row["task"] == "rating"}
    assert stored == {"rmse"}  # the stored rows are not rewritten: the run records its primary metrics
    loaded = resultset.load([tmp_path / "out"])
    assert loaded.primary_metrics()["rating"] == "mae"
    assert leaderboard.from_results(loaded)[1]["rating"][0] == "mae"


SLOW_PLUGIN = '''
import time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Slow(RatingModel):
    def __init__(self, seconds: float = 0.4):
        self.seconds = seconds
    def fit(self, train):
        time.sleep(self.seconds)
        self.mean_ = float(train.ratings["rating"].mean())
        return self
    def predict(self, users, items):
        return np.full(len(users), self.mean_)

class Broken(RatingModel):
    def fit(self, train):
        raise ArithmeticError("diverged")
    def estimate(self, u, i):
        return u * 0.0

class NeedsMissing(RatingModel):
    requires = {"bench_no_such_module": "bench-no-such-dist"}
    def fit(self, train):
        return self
    def estimate(self, u, i):
        return u * 0.0

@hookimpl
def bench_models():
    return [ModelSpec("slow", {RATING: Slow}), ModelSpec("broken", {RATING: Broken}),
            ModelSpec("needs-missing", {RATING: NeedsMissing}, {"bench_no_such_module": "bench-no-such-dist"})]
'''


def test_killed_run_keeps_finished_cells_and_resumes(tmp_path):
    (tmp_path / "slow_plugin.py").write_text(SLOW_PLUGIN)
    (tmp_path / "suite.yaml").write_text(
        "name: killme\nplugins: [slow_plugin.py]\nsplit: {method: kfold, k: 10}\n"
        "datasets: [{name: synthetic-ratings, options: {n_users: 50, n_items: 30, density: 0.3}}]\n"
        "models: [slow]\n")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "benchmark", "run", str(tmp_path / "suite.yaml"),
                                "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while len(read_rows(out / "cells.jsonl")) < 3 and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = read_rows(out / "cells.jsonl")
    assert 3 <= len(finished) < 10
    assert all(row["status"] == "ok" for row in finished)
    result = run_bench("run", str(tmp_path / "suite.yaml"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"{10 - len(finished)} cells run, {len(finished)} reused, 0 failed" in result.stdout
    assert len(read_rows(out / "cells.jsonl")) == 10


def test_failures_are_recorded_not_fatal(tmp_path):
    (tmp_path / "slow_plugin.py").write_text(SLOW_PLUGIN)
    (tmp_path / "suite.yaml").write_text(
        "name: failing\nplugins: [slow_plugin.py]\nsplit: {method: holdout}\n"
        "datasets: [{name: synthetic-ratings, options: {n_users: 50, n_items: 30, density: 0.3}}]\n"
        "models: [broken, needs-missing, {name: slow, params: {seconds: 0.0}}]\n")
    result = run_bench("run", str(tmp_path / "suite.yaml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    rows = {r["model"]: r for r in read_rows(tmp_path / "out" / "cells.jsonl")}
    assert rows["broken"]["status"] == "error"
    assert rows["broken"]["error"] == "ArithmeticError: diverged"
    assert rows["needs-missing"]["status"] == "missing-dependency"
    assert "pip install bench-no-such-dist" in rows["needs-missing"]["error"]
    assert rows["slow(seconds=0.0)"]["status"] == "ok"
    assert "1 failed: ArithmeticError: diverged" in result.stdout
    assert "Traceback" not in result.stderr


def test_local_plugin_from_the_command_line(tmp_path):
    (tmp_path / "slow_plugin.py").write_text(SLOW_PLUGIN)
    listed = run_bench("plugins", "-p", str(tmp_path / "slow_plugin.py"))
    assert listed.returncode == 0
    line = next(l for l in listed.stdout.splitlines() if l.startswith("needs-missing"))
    assert "no: pip install bench-no-such-dist" in line
    assert "slow_plugin.py" in next(l for l in listed.stdout.splitlines() if l.startswith("slow "))


def test_quickstart_suite_is_valid_against_the_printed_schema():
    import jsonschema
    import yaml

    result = run_bench("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for suite in (ROOT / "suites").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(suite.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "datasets": ["digits"], "models": ["no-such-model"]}, schema)


def test_peak_memory_sees_a_short_lived_allocation():
    import numpy as np

    from benchmark.provenance import PeakMemory, _rss_bytes

    before = _rss_bytes() / 2**20
    with PeakMemory() as memory:
        block = np.ones(300 * 2**20 // 8)  # 300 MB, touched, then freed inside the block
        del block
    assert memory.peak_mb - before > 250



def test_a_cell_is_plain_data_a_worker_can_rebuild(first_run):
    """A cell survives JSON, and executing it anew (own registry, own data cache) repeats its row."""
    from benchmark.cells import Cell
    from benchmark.execute import DataCache, execute
    from benchmark.registry import build_registry
    from benchmark.runner import plan

    base, result = first_run
    rows = {r["cell_id"]: r for r in read_rows(base / "out" / "cells.jsonl")}
    registry = build_registry()
    planned = plan(result.suite, registry, DataCache(registry))[-1]
    cell = Cell.from_dict(json.loads(json.dumps(planned.to_dict())))
    again = execute(cell, DataCache(build_registry()))
    assert cell.id == planned.id in rows
    assert again.metrics == rows[cell.id]["metrics"]


def test_bench_run_takes_o_for_its_results_directory_as_report_does(tmp_path):
    from tests.conftest import run_bench

    (tmp_path / "s.yaml").write_text("name: s\ndatasets:\n  - name: synthetic-ratings\n"
                                     "    options: {n_users: 30, n_items: 20, density: 0.5}\n"
                                     "models: [global-mean]\nmetrics: [rmse]\n")
    result = run_bench("run", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "here"), "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "here" / "cells.jsonl").is_file()


SLEEPY = '''
import time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Sleepy(RatingModel):
    requires = {"numpy": "numpy"}
    def __init__(self, seconds: float = 60.0):
        self.seconds = seconds
    def fit(self, train):
        time.sleep(self.seconds)
        return self
    def predict(self, users, items):
        return np.zeros(len(users))

@hookimpl
def bench_models():
    return [ModelSpec("sleepy", {RATING: Sleepy})]
'''


def test_a_cell_killed_by_its_time_limit_still_names_its_plugin_and_libraries(tmp_path):
    import io

    from benchmark.runner import RunOptions, run_suite

    (tmp_path / "sleepy.py").write_text(SLEEPY)
    (tmp_path / "s.yaml").write_text("name: s\nplugins: [sleepy.py]\ndatasets:\n  - name: synthetic-ratings\n"
                                     "    options: {n_users: 30, n_items: 20, density: 0.5}\n"
                                     "    split: {method: holdout}\n"
                                     "models: [sleepy]\nmetrics: [rmse]\nlimits: {timeout: 1}\n")
    result = run_suite(tmp_path / "s.yaml", RunOptions(out=tmp_path / "out", jobs=1), stream=io.StringIO())
    [row] = result.rows
    assert row["status"] == "timeout"
    assert row["plugin"]["distribution"].endswith("sleepy.py") and row["plugin"]["version"] == "local"
    assert set(row["libraries"]) == {"numpy"}
