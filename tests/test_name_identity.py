"""Issue 28, item 3: one identity per model, and what a plugin's names mean once bench takes them.

* A model's configuration id does not depend on the name a suite used or on what else is
  installed: a package's ``solo`` run under its plain name, then -- once a second package also
  provides ``solo`` -- under ``first-dist:solo``, pairs in ``bench compare``.
* A package written from the docs provides its own task ``next-item`` and model
  ``markov-chain``, which bench now ships too. Inside the package its own names come first: its
  dataset stays data of *its* task, its model and metric stay its task's; the task is filed
  under ``sessions-pkg:next-item``. A suite's plain ``markov-chain`` is bench's, and run on the
  package's data it is refused with one line -- never silently run instead.

The packages are installed as a user would (a site folder with their ``.dist-info``), so the
registry is built from two entry-point sources.
"""

from __future__ import annotations

import json

from benchmark.registry import build_registry
from benchmark.store import read_rows
from tests.conftest import run_bench
from tests.test_contract import installed

SOLO = """\
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Solo(RatingModel):
    \"\"\":param shift: added to the mean.\"\"\"

    def __init__(self, shift: float = 0.0):
        self.shift = shift

    def fit(self, train):
        self.index_training(train)
        return self

    def estimate(self, u, i):
        return np.full(len(u), self.mean_ + SHIFT)

@hookimpl
def bench_models():
    return [ModelSpec("solo", {RATING: Solo})]
"""

SUITE = """\
name: identity
split: {method: kfold, k: 3}
datasets: [{name: synthetic-ratings, options: {n_users: 40, n_items: 30, density: 0.3}}]
models: [MODEL]
metrics: [rmse]
"""


def _run(tmp_path, name: str, model: str, env: dict[str, str]):
    path = tmp_path / f"{name}.yaml"
    path.write_text(SUITE.replace("MODEL", model))
    ran = run_bench("run", str(path), "--out", str(tmp_path / name), "--executor", "inline", "-q", env=env)
    assert ran.returncode == 0, ran.stderr
    return read_rows(tmp_path / name / "cells.jsonl")


def test_plain_then_qualified_after_a_second_package_takes_the_name_pair_in_compare(tmp_path):
    first = installed(tmp_path, "solo_first", SOLO.replace("SHIFT", "0.0"), dist="first-dist")
    before = _run(tmp_path, "before", "solo", first)
    installed(tmp_path, "solo_second", SOLO.replace("SHIFT", "0.5"), dist="second-dist")  # same site
    ambiguous = run_bench("check", str(tmp_path / "before.yaml"), env=first)
    assert ambiguous.returncode == 2 and "qualify it as 'first-dist:solo' or 'second-dist:solo'" in ambiguous.stderr
    after = _run(tmp_path, "after", "first-dist:solo", first)

    assert {r["model_plugin"] for r in before + after} == {"first-dist:solo"}
    assert {r["config_id"] for r in before} == {r["config_id"] for r in after}
    assert [r["cell_id"] for r in before] == [r["cell_id"] for r in after]  # and the cells are the same
    compared = run_bench("compare", str(tmp_path / "before"), str(tmp_path / "after"), "--format", "json",
                         env=first)
    assert compared.returncode == 0, compared.stderr
    [pair] = json.loads(compared.stdout)
    assert pair["config_id"] == before[0]["config_id"] and pair["model"] == "first-dist:solo"  # label: the latest


def test_a_built_in_model_keeps_its_plain_identity():
    registry = build_registry()
    assert registry.get("model", "bench-harness:svd").identity == "svd" == registry.get("model", "svd").identity


SESSIONS = """\
import numpy as np
import pandas as pd
from benchmark.api import (DatasetSpec, MetricSpec, ModelSpec, RatingData, RatingModel, TaskSpec,
                           hookimpl)

class Chain(RatingModel):
    def fit(self, train):
        self.index_training(train)
        return self

    def estimate(self, u, i):
        return np.full(len(u), self.mean_)

def load():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user": rng.integers(0, 30, 300), "item": rng.integers(0, 20, 300),
                          "rating": rng.integers(1, 6, 300).astype(float)})
    return RatingData(frame.drop_duplicates(["user", "item"]).reset_index(drop=True), (1.0, 5.0))

def near_hits(y_true, y_pred):
    return float(np.mean(np.abs(y_true - y_pred) < 1))

@hookimpl
def bench_tasks():
    return [TaskSpec("next-item", RatingModel, (RatingData,), "bench_plugins.tasks:run_rating",
                     default_metrics=("hitrate@10",), greater_is_better=True)]

@hookimpl
def bench_models():
    return [ModelSpec("markov-chain", {"next-item": Chain})]

@hookimpl
def bench_datasets():
    return [DatasetSpec("sessions", load, "next-item")]

@hookimpl
def bench_metrics():
    return [MetricSpec("hitrate@10", near_hits, "next-item", greater_is_better=True)]
"""

SESSIONS_SUITE = """\
name: sessions
split: {method: kfold, k: 2}
datasets: [sessions]
models: [MODEL]
"""


def test_a_package_whose_names_bench_took_keeps_running_its_own_task_model_and_metric(tmp_path):
    env = installed(tmp_path, "sessions_pkg", SESSIONS, dist="sessions-pkg")
    path = tmp_path / "suite.yaml"
    path.write_text(SESSIONS_SUITE.replace("MODEL", "sessions-pkg:markov-chain"))
    ran = run_bench("run", str(path), "--out", str(tmp_path / "o"), "--executor", "inline", "-q", env=env)
    assert ran.returncode == 0, ran.stderr
    rows = read_rows(tmp_path / "o" / "cells.jsonl")
    assert {r["task"] for r in rows} == {"sessions-pkg:next-item"}
    assert {r["model_plugin"] for r in rows} == {"sessions-pkg:markov-chain"}
    assert {r["plugin"]["distribution"] for r in rows} == {"sessions-pkg"}
    assert {r["metric_info"]["sessions-pkg:hitrate@10"]["distribution"] for r in rows} == {"sessions-pkg"}

    path.write_text(SESSIONS_SUITE.replace("MODEL", "markov-chain"))  # the plain name: bench's own
    refused = run_bench("run", str(path), "--out", str(tmp_path / "o2"), "--executor", "inline", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "model 'markov-chain' supports next-item" in refused.stderr
    assert "sessions (sessions-pkg:next-item)" in refused.stderr

    path.write_text(SESSIONS_SUITE.replace("MODEL", "sessions-pkg:markov-chain") + "metrics: [hitrate@10]\n")
    clash = run_bench("check", str(path), env=env)
    assert clash.returncode == 2
    assert "metric 'hitrate@10' is for the 'ranking' and 'next-item' tasks, and no dataset in this suite is; " \
           "'sessions-pkg:hitrate@10' scores 'sessions-pkg:next-item'" in clash.stderr


def test_inside_a_package_its_own_names_come_first(tmp_path):
    installed(tmp_path, "sessions_pkg", SESSIONS, dist="sessions-pkg")
    import sys

    sys.path.insert(0, str(tmp_path / "site"))
    try:
        registry = build_registry()
    finally:
        sys.path.remove(str(tmp_path / "site"))
        sys.modules.pop("sessions_pkg", None)
    assert registry.get("task", "next-item").provider.distribution == "bench-harness"
    own = registry.task("sessions-pkg:next-item")
    assert own.name == "sessions-pkg:next-item" and own.default_metrics == ("sessions-pkg:hitrate@10",)
    assert registry.get("dataset", "sessions").spec.task == "sessions-pkg:next-item"
    assert registry.get("model", "sessions-pkg:markov-chain").tasks == ("sessions-pkg:next-item",)
    assert registry.get("metric", "sessions-pkg:hitrate@10").spec.scored_tasks == ("sessions-pkg:next-item",)
    assert registry.get("metric", "hitrate@10").provider.distribution == "bench-harness"
    assert not registry.find("task", "sessions-pkg:next-item").unusable


def test_a_plain_name_bench_took_from_an_installed_package_is_warned_of_where_it_runs_benchs(tmp_path):
    env = installed(tmp_path, "sessions_pkg", SESSIONS, dist="sessions-pkg")
    path = tmp_path / "suite.yaml"
    path.write_text("name: s\ndatasets: [{name: movielens-100k, task: next-item}]\nmodels: [markov-chain]\n")
    checked = run_bench("check", str(path), env=env)
    assert checked.returncode == 0, checked.stderr
    assert ("suite.yaml:3: models[0].name: 'markov-chain' is bench's own model; "
            "sessions-pkg:markov-chain also provides one: write that name to run it") in checked.stderr
    alone = run_bench("check", str(path))  # without the package: nothing to warn of
    assert alone.returncode == 0 and "warning" not in alone.stderr, alone.stderr


def test_bench_run_warns_before_it_runs_benchs_model_under_a_name_a_package_also_provides(tmp_path):
    env = installed(tmp_path, "mean_pkg", SOLO.replace('"solo"', '"global-mean"').replace("SHIFT", "0.5"),
                    dist="mean-pkg")
    path = tmp_path / "s.yaml"
    path.write_text(SUITE.replace("MODEL", "global-mean"))
    ran = run_bench("run", str(path), "--out", str(tmp_path / "o"), "--executor", "inline", "-q", env=env)
    assert ran.returncode == 0, ran.stderr
    assert ("models[0].name: 'global-mean' is bench's own model; mean-pkg:global-mean also provides one: "
            "write that name to run it") in ran.stderr
    assert {r["model_plugin"] for r in read_rows(tmp_path / "o" / "cells.jsonl")} == {"global-mean"}
