"""Tasks are plugins: a third-party package adds one (examples/bench-like-dislike) without
touching bench, and bench's own two go through the same hook.

Read as a specification: what a suite may say about a dataset's task, what a row records, and
what a task plugin sees.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from benchmark.api import RATING, RECONSTRUCTION, Predictions, RatingData, TaskSpec
from benchmark.registry import build_registry
from benchmark.store import read_rows
from tests.conftest import ROOT, run_bench

EXAMPLE = ROOT / "examples" / "bench-like-dislike"


@pytest.fixture(scope="module")
def like_dislike(tmp_path_factory) -> dict[str, str]:
    """The example package pip-installed into a folder of its own; the env that makes it visible."""
    site = tmp_path_factory.mktemp("site")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(EXAMPLE)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def one_error_line(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# --- bench's own tasks go through the hook --------------------------------------------------


def test_rating_and_reconstruction_are_registered_through_the_hook():
    registry = build_registry()
    tasks = registry.tasks()
    assert {RATING, RECONSTRUCTION} <= set(tasks)
    entry = registry.get("task", RATING)
    assert entry.provider.plugin == "tasks" and entry.provider.distribution == "bench-harness"
    assert tasks[RATING].primary == "rmse" and tasks[RECONSTRUCTION].primary == "mse"
    assert registry.serving(RATING)[0] == RATING
    assert not registry.problems


def test_a_task_from_a_local_file_serves_rating_datasets_and_accepts_their_splits(tmp_path):
    plugin = tmp_path / "mytask.py"
    plugin.write_text(
        "from benchmark.api import RatingData, RatingModel, TaskSpec, hookimpl\n"
        "@hookimpl\ndef bench_tasks():\n"
        "    return [TaskSpec('my-task', RatingModel, (RatingData,), 'bench_plugins.tasks:run_rating',\n"
        "                     splits=('holdout', 'leave-n-out'))]\n")
    registry = build_registry([(plugin, "")])
    assert registry.serving(RATING) == [RATING, "next-item", "ranking", "my-task"]
    splits = {name: registry.split_accepts(registry.get("split", name).spec, "my-task")
              for name in ("holdout", "leave-n-out", "kfold")}
    assert splits == {"holdout": True, "leave-n-out": True, "kfold": False}  # kfold: the task says no
    assert not registry.split_accepts(registry.get("split", "leave-n-out").spec, RECONSTRUCTION)


# --- A third-party task, installed as a user would ------------------------------------------


def test_an_installed_task_is_listed_shown_and_in_the_schema(like_dislike):
    listed = run_bench("plugins", env=like_dislike)
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if l.startswith("like-dislike "))
    assert " task " in line and "bench-like-dislike 1.0.0" in line and " yes " in line
    assert "unusable plugins" not in listed.stdout
    shown = run_bench("plugins", "like-dislike", env=like_dislike)
    assert shown.returncode == 0, shown.stderr
    assert "models derive from LikeModel; data: RatingData" in shown.stdout
    threshold = next(l for l in shown.stdout.splitlines() if l.startswith("threshold"))
    assert threshold.split()[:3] == ["threshold", "number", "4.0"]
    assert "a rating at least this high is a like" in threshold
    schema = json.loads(run_bench("schema", env=like_dislike).stdout)
    entry = schema["properties"]["datasets"]["items"]["oneOf"][1]
    assert "like-dislike" in entry["properties"]["task"]["enum"]
    assert entry["x-tasks"]["like-dislike"]["options"]["threshold"]["default"] == 4.0


def test_an_installed_task_runs_end_to_end_beside_the_rating_task(like_dislike, tmp_path):
    out = tmp_path / "out"
    result = run_bench("run", str(EXAMPLE / "suite.yaml"), "--out", str(out), env=like_dislike)
    assert result.returncode == 0, result.stderr
    rows = {(r["dataset"], r["model"]): r for r in read_rows(out / "cells.jsonl")}
    assert set(rows) == {("movielens-latest-small", "global-mean"), ("ml-likes", "global-like-rate"),
                         ("ml-likes", "item-like-rate(shrinkage=5.0)")}
    likes = rows["ml-likes", "item-like-rate(shrinkage=5.0)"]
    assert likes["status"] == "ok" and likes["task"] == "like-dislike" and not likes["metric_errors"]
    assert likes["task_options"] == {"threshold": 4.0}
    assert set(likes["metrics"]) == {"log-loss", "accuracy"}
    assert likes["metrics"]["log-loss"] < rows["ml-likes", "global-like-rate"]["metrics"]["log-loss"]
    assert likes["metric_info"]["accuracy"] == {"greater_is_better": True, "task": "like-dislike",
                                                "plugin": "like-dislike", "distribution": "bench-like-dislike",
                                                "version": "1"}
    assert likes["plugin"]["distribution"] == "bench-like-dislike"
    # per-user log-loss was stored for paired tests, and adds up to the row's value
    assert likes["units"]["unit"] == "user" and likes["units"]["transforms"] == {"log-loss": "identity"}
    with np.load(out / likes["units"]["file"]) as parts:
        assert parts["ids"].dtype.kind == "U"
        value = parts["log-loss.num"].sum() / parts["log-loss.den"].sum()
    assert value == pytest.approx(likes["metrics"]["log-loss"], rel=1e-12)
    rating = rows["movielens-latest-small", "global-mean"]
    assert set(rating["metrics"]) == {"rmse"} and rating["task_options"] == {}


def test_a_task_option_is_part_of_the_experiment(like_dislike, tmp_path):
    suite = tmp_path / "suite.yaml"
    text = ("name: likes\nsplit: {method: holdout}\nmodels: [global-like-rate]\n"
            "datasets: [{name: synthetic-ratings, task: like-dislike, threshold: THRESHOLD,\n"
            "            options: {n_users: 40, n_items: 30, density: 0.3}}]\n")
    ids = {}
    for threshold in ("4.0", "3.0"):
        suite.write_text(text.replace("THRESHOLD", threshold))
        result = run_bench("run", str(suite), "--out", str(tmp_path / threshold), env=like_dislike)
        assert result.returncode == 0, result.stderr
        [row] = read_rows(tmp_path / threshold / "cells.jsonl")
        ids[threshold] = (row["cell_id"], row["metrics"]["accuracy"])
    assert ids["4.0"][0] != ids["3.0"][0]  # another threshold is another experiment


@pytest.mark.parametrize("entry, message", [
    ("{name: synthetic-ratings, task: reconstruction}",
     "datasets[0].task: dataset 'synthetic-ratings' holds 'rating' data, which task 'reconstruction' "
     "does not run on; it serves rating, next-item, ranking, like-dislike"),
    ("{name: synthetic-ratings, task: like-dislike, treshold: 3}",
     "datasets[0].treshold: unknown key 'treshold'; did you mean 'threshold'?"),
    ("{name: synthetic-ratings, task: like-dislike, threshold: high}",
     "datasets[0].threshold: expected a number (default 4.0), got a string \"high\""),
    ("{name: synthetic-ratings, task: like-dislke}",
     "datasets[0].task: unknown task 'like-dislke'; did you mean 'like-dislike'?"),
    ("{name: digits, task: like-dislike}",
     "dataset 'digits' holds 'reconstruction' data, which task 'like-dislike' does not run on; "
     "it serves reconstruction"),
])
def test_a_dataset_entry_with_a_task_it_cannot_serve_is_one_line(like_dislike, tmp_path, entry, message):
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: bad\nmodels: [global-like-rate]\ndatasets: [{entry}]\n")
    line = one_error_line(run_bench("run", str(suite), "--out", str(tmp_path / "o"), env=like_dislike))
    assert message in line, line


def test_the_packages_own_tests_pass_against_the_installed_copy(like_dislike, tmp_path):
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), str(EXAMPLE / "tests")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, **like_dislike})
    assert own.returncode == 0, own.stdout + own.stderr
    assert re.search(r"\b[4-9]\d passed, 1 skipped", own.stdout), own.stdout  # one case per check


# --- What a task's metrics see ----------------------------------------------------------------


def test_metrics_get_the_fitted_model_and_the_task_options(tmp_path):
    plugin = tmp_path / "peek.py"
    plugin.write_text(
        "from benchmark.api import RATING, MetricSpec, hookimpl\n"
        "def n_items(p):\n"
        "    return float(len(p.model.items_)) + 0 * len(p.options)\n"
        "@hookimpl\ndef bench_metrics():\n"
        "    return [MetricSpec('catalogue', n_items, RATING, greater_is_better=True, context=True)]\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: peek\nplugins: [peek.py]\nsplit: {method: holdout}\nmodels: [bias-baseline]\n"
                     "datasets: [{name: synthetic-ratings, options: {n_users: 40, n_items: 30, density: 0.3}}]\n"
                     "metrics: [rmse, catalogue]\n")
    result = run_bench("run", str(suite), "--out", str(tmp_path / "out"), "--executor", "inline")
    assert result.returncode == 0, result.stderr
    [row] = read_rows(tmp_path / "out" / "cells.jsonl")
    assert 20 <= row["metrics"]["catalogue"] <= 30, row


def test_task_spec_serves_by_data_class():
    class Ratings2(RatingData):
        pass

    spec = TaskSpec("t", "benchmark.api:RatingModel", (RatingData,), "bench_plugins.tasks:run_rating")
    assert spec.serves(RatingData) and spec.serves(Ratings2) and not spec.serves(np.ndarray)
    assert spec.primary == "" and TaskSpec("u", object, (RatingData,), print, ("a", "b")).primary == "a"
    assert Predictions("t").y_true.shape == (0,) and Predictions("t").extra == {}


# --- Adapters: models of one task run as another ----------------------------------------------

ADAPTED_TASK = '''
import numpy as np
from benchmark.api import (MetricSpec, Model, Outcome, Predictions, RatingData, TaskSpec, Timing,
                           check_shape_finite, hookimpl)

class Scorer(Model):
    """Scores (user, item) pairs; higher means more relevant."""
    def fit(self, train):
        raise NotImplementedError
    def score_pairs(self, users, items):
        raise NotImplementedError

class RatingAsScorer:
    """A rating model scores a pair by its predicted rating (a plain mixin)."""
    def score_pairs(self, users, items):
        return self.predict(users, items)

def run(model, data, fold, options):
    train, test = data.subset(fold.train), data.ratings.iloc[fold.test]
    with Timing() as fit_time:
        model.fit(train)
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    with Timing() as predict_time:
        scores = check_shape_finite(model.score_pairs(users, items), (len(test),), "score_pairs")
    return Outcome(Predictions("scored", test["rating"].to_numpy(float), scores, users, items, train),
                   {}, fit_time, predict_time)

def top_half_hits(y_true, y_pred):
    top = y_pred >= np.median(y_pred)
    return float(np.mean(y_true[top] >= 4))

@hookimpl
def bench_tasks():
    return [TaskSpec("scored", Scorer, (RatingData,), run, default_metrics=("top-half-hits",),
                     greater_is_better=True, adapters={"rating": RatingAsScorer})]

@hookimpl
def bench_metrics():
    return [MetricSpec("top-half-hits", top_half_hits, "scored", greater_is_better=True)]
'''


def test_a_tasks_adapter_lets_every_rating_model_run_on_it(tmp_path):
    from benchmark.testing import check_model

    (tmp_path / "scored.py").write_text(ADAPTED_TASK)
    registry = build_registry([(tmp_path / "scored.py", "")])
    entry = registry.get("model", "bias-baseline")
    assert entry.tasks == ("rating", "next-item", "ranking", "scored") and not registry.problems
    report = check_model(entry.spec, "scored", tasks=registry.tasks())
    assert report.ok and report.status("picklable after fit", "scored") == "passed", report

    suite = tmp_path / "suite.yaml"
    suite.write_text("name: adapted\nplugins: [scored.py]\nsplit: {method: holdout}\n"
                     "models: [global-mean, bias-baseline]\n"
                     "datasets: [{name: synthetic-ratings, task: scored, options: {n_users: 40, n_items: 30, "
                     "density: 0.3}}]\n")
    result = run_bench("run", str(suite), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rows = {r["model"]: r for r in read_rows(tmp_path / "out" / "cells.jsonl")}
    assert set(rows) == {"global-mean", "bias-baseline"}
    assert all(r["task"] == "scored" and r["status"] == "ok" and "top-half-hits" in r["metrics"]
               for r in rows.values()), rows
    shown = run_bench("plugins", "-p", str(tmp_path / "scored.py"), "bias-baseline")
    assert "parameters (scored)" in shown.stdout and "reg_u " in shown.stdout.split("parameters (scored)")[1]


def test_a_task_contradicting_its_primary_metrics_direction_is_unusable(tmp_path):
    (tmp_path / "scored.py").write_text(ADAPTED_TASK.replace("greater_is_better=True, adapters",
                                                             "greater_is_better=False, adapters"))
    registry = build_registry([(tmp_path / "scored.py", "")])
    assert "says its primary metric 'top-half-hits' is lower is better; the metric says otherwise" in \
        registry.entries["task"]["scored"].unusable
