"""Issue 28, items 4 and 5: bench checks what any task's runner returns before a metric reads it,
refuses at check time a model class that writes neither ``predict`` nor ``estimate``, verifies a
dataset's pinned file hashes whenever the data is loaded, and the conformance kit agrees with
the registry (unusable tasks), ranks items unseen in training and compares two same-seed fits.

Read as a specification: each test names what a user or plugin author sees.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from benchmark import testing
from benchmark.api import RATING, MetricSpec, ModelSpec, Predictions, RatingData, RatingModel, TaskSpec
from benchmark.methods import missing_methods, required_methods
from benchmark.outputs import predictions_problem
from benchmark.ranking import RankedLists, RankingModel
from benchmark.registry import build_registry
from benchmark.store import read_rows
from tests.conftest import run_bench
from tests.test_check_all import errors_of

SUITE = """\
name: outputs
split: {method: holdout}
datasets: [DATASETS]
models: [MODELS]
"""
SYNTHETIC = "{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.3}}"


def write_suite(tmp_path: Path, models: str, datasets: str = SYNTHETIC, extra: str = "") -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace("DATASETS", datasets).replace("MODELS", models) + extra)
    return path


# --- 5. a model that writes neither predict nor estimate ----------------------------------------

MISSPELT = """\
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Misspelt(RatingModel):
    def fit(self, train):
        self.index_training(train)
        return self

    def estimat(self, u, i):
        return np.full(len(u), 3.0)

@hookimpl
def bench_models():
    return [ModelSpec("misspelt", {RATING: Misspelt})]
"""


def test_bench_check_refuses_a_misspelt_estimate_naming_the_method_and_the_near_name(tmp_path):
    (tmp_path / "misspelt.py").write_text(MISSPELT)
    path = write_suite(tmp_path, "misspelt", extra="plugins: [misspelt.py]\n")
    [error] = errors_of(run_bench("check", str(path)))
    assert "model 'misspelt' is unusable: Misspelt defines neither 'estimate' nor 'predict'; " \
           "'estimat' is no method bench calls: did you mean 'estimate'?" in error
    listed = run_bench("plugins", "-p", str(tmp_path / "misspelt.py"))
    assert "defines neither 'estimate' nor 'predict'" in listed.stdout


def test_the_methods_a_model_writes_come_from_its_base_class_source():
    assert [(r.name, r.choices()) for r in required_methods(RatingModel)] == \
        [("fit", ["fit"]), ("estimate", ["estimate", "predict"])]
    assert [(r.name, r.choices()) for r in required_methods(RankingModel)] == \
        [("fit", ["fit"]), ("score", ["score", "recommend"])]

    class Predicts(RatingModel):  # the template is overridden: estimate is not needed
        def fit(self, train):
            return self

        def predict(self, users, items):
            return np.zeros(len(users))

    class NoFit(RankingModel):
        def recommend(self, users, k, exclude=None):
            return np.zeros((len(users), k), dtype=int)

    assert missing_methods(Predicts, RatingModel) == []
    assert missing_methods(NoFit, RankingModel) == ["NoFit does not define 'fit' (RankingModel leaves it to the model)"]


def test_every_installed_model_writes_its_methods():
    registry = build_registry()
    for entry in registry.entries["model"].values():
        assert not entry.unusable or "defines neither" not in entry.unusable, entry.unusable


def test_at_run_time_a_missing_method_is_named_not_an_empty_not_implemented_error(tmp_path):
    """A model that slipped past the check (built by hand here) fails its cell with the sentence."""
    from benchmark.execute import run_task
    from benchmark.api import Fold

    class Half(RatingModel):
        def fit(self, train):
            self.index_training(train)
            return self

    registry = build_registry()
    data = testing.tiny_ratings().everything
    fold = data.folds["given"][0]
    with pytest.raises(NotImplementedError) as raised:
        run_task(registry.get("task", RATING), Half(), data, Fold("f", fold.train, fold.test), {})
    assert str(raised.value) == ("Half defines neither 'estimate' nor 'predict' "
                                 "(RatingModel leaves it to the model)")


# --- 4. the core checks every task's outputs ---------------------------------------------------

NAN_TASK = """\
import numpy as np
from benchmark.api import (MetricSpec, ModelSpec, Outcome, Predictions, RatingData, RatingModel,
                           TaskSpec, hookimpl)

class Mean(RatingModel):
    def fit(self, train):
        self.index_training(train)
        return self

    def estimate(self, u, i):
        return np.full(len(u), self.mean_)

def run(model, data, fold, options):
    test = data.subset(fold.test).ratings
    model.fit(data.subset(fold.train))
    y_pred = PREDICTION
    return Outcome(Predictions("nan-task", test["rating"].to_numpy(float), y_pred))

def hit_at_1(y_true, y_pred):   # as a hand-written ranking metric: NaN > x is never true...
    return float(np.mean(~(y_pred < y_true.max())))

@hookimpl
def bench_tasks():
    return [TaskSpec("nan-task", RatingModel, (RatingData,), run, default_metrics=("hit-1",),
                     greater_is_better=True)]

@hookimpl
def bench_metrics():
    return [MetricSpec("hit-1", hit_at_1, "nan-task", greater_is_better=True)]

@hookimpl
def bench_models():
    return [ModelSpec("mean", {"nan-task": Mean})]
"""


@pytest.mark.parametrize("prediction, error", [
    ("np.full(len(test), np.nan)", "predictions are NaN or infinite"),
    ("np.zeros((len(test), 1))", "returned predictions of shape ("),
])
def test_a_new_tasks_nan_or_misshapen_predictions_fail_the_cell_before_any_metric(tmp_path, prediction, error):
    (tmp_path / "nantask.py").write_text(NAN_TASK.replace("PREDICTION", prediction))
    datasets = SYNTHETIC.replace("}}", "}, task: nan-task}")
    path = write_suite(tmp_path, "mean", datasets, extra="plugins: [nantask.py]\n")
    ran = run_bench("run", str(path), "--out", str(tmp_path / "o"), "--executor", "inline")
    assert ran.returncode == 1, ran.stderr
    [row] = read_rows(tmp_path / "o" / "cells.jsonl")
    assert row["status"] == "error" and row["metrics"] == {}
    assert row["error"].startswith("ValueError: the runner of task 'nan-task'") and error in row["error"]


def test_ranked_lists_outside_the_catalogue_are_refused():
    import scipy.sparse as sp

    relevant = sp.csr_matrix(np.eye(2, 5, dtype=bool))
    good = RankedLists(np.array([7, 8]), np.array([[0, 1], [2, -1]]), relevant, 5)
    bad = RankedLists(np.array([7, 8]), np.array([[0, 9], [2, -1]]), relevant, 5)
    one_list = RankedLists(np.array([7, 8]), np.array([[0, 1]]), relevant, 5)
    assert predictions_problem(Predictions("t", extra={"ranking": good})) == ""
    assert "item positions [9] outside 0..4" in predictions_problem(Predictions("t", extra={"ranking": bad}))
    assert "shape (1, 2), expected (2, depth)" in predictions_problem(Predictions("t", extra={"ranking": one_list}))


# --- 4. the kit agrees with the registry ---------------------------------------------------------


def _task(**kwargs):
    return TaskSpec("odd-task", RatingModel, (RatingData,), "bench_plugins.tasks:run_rating", **kwargs)


def test_a_task_whose_default_metric_does_not_exist_is_unusable_for_registry_and_kit_alike(tmp_path):
    plugin = tmp_path / "oddtask.py"
    plugin.write_text("from benchmark.api import RatingData, RatingModel, TaskSpec, hookimpl\n"
                      "@hookimpl\ndef bench_tasks():\n"
                      "    return [TaskSpec('odd-task', RatingModel, (RatingData,), "
                      "'bench_plugins.tasks:run_rating', default_metrics=('no-such-metric',))]\n")
    registry = build_registry([(plugin, "")])
    reason = "default metric 'no-such-metric' is provided by no installed plugin"
    assert registry.find("task", "odd-task").unusable == reason
    report = testing.check_task(_task(default_metrics=("no-such-metric",)))
    assert [c.detail for c in report.checks if c.name == "usable as the registry judges it"] == [reason]
    assert not report.ok


def test_a_task_naming_another_tasks_primary_metric_fails_the_kit():
    report = testing.check_task(_task(default_metrics=("ndcg@10",)))
    assert any("primary metric 'ndcg@10' is a metric of task 'ranking'" in v for v in report.violations())
    own = MetricSpec("odd-error", "bench_plugins.metrics:rmse", "odd-task")
    assert testing.check_task(_task(default_metrics=("odd-error",)), metrics=[own]).ok


# --- 4. the kit's ranking data and its same-seed check ------------------------------------------


class NanForUnseen(RankingModel):
    """Popularity, NaN for items without a training interaction (as a LensKit model did)."""

    def fit(self, train):
        self.train_ = train
        self.counts_ = np.asarray(train.item_counts(), dtype=float)
        return self

    def score(self, users):
        scores = np.where(self.counts_ > 0, self.counts_, np.nan)
        return np.tile(scores, (len(users), 1))


class Restless(RankingModel):
    """Scores drawn from a generator nobody seeded: two fits with the same seed differ."""

    def fit(self, train):
        self.train_ = train
        return self

    def score(self, users):
        return np.random.default_rng().random((len(users), self.train_.n_items))


def _violations(model_class) -> list[str]:
    return testing.check_model(ModelSpec("m", {"ranking": model_class})).violations()


def test_the_kits_ranking_data_has_items_unseen_in_training():
    assert any("score returned" in v and "non-finite" in v for v in _violations(NanForUnseen))


def test_the_kit_fails_a_model_whose_same_seed_fits_rank_differently():
    assert any("two fits with the same seed predict differently: extra['ranking'] ranked lists" in v
               for v in _violations(Restless))


# --- 4. a dataset's pinned file hash is verified whenever the data is loaded --------------------

PINNED = """\
import pandas as pd
from pathlib import Path
from benchmark.api import RATING, DatasetSpec, RatingData, hookimpl
from benchmark.datafiles import DataFile, DatasetFiles, declare_files

def files():
    return DatasetFiles((DataFile("pinned/ratings.csv", ("HASH",)),))

def load(data_dir=None):   # reads its file and checks nothing, as many loaders do
    frame = pd.read_csv(Path(data_dir) / "pinned" / "ratings.csv")
    return RatingData(frame, (1.0, 5.0))

@hookimpl
def bench_datasets():
    return [DatasetSpec("pinned", declare_files(load, files), RATING)]
"""


def test_a_pinned_file_that_changed_is_refused_when_bench_loads_it(tmp_path):
    rows = [f"{u},{i},{1 + (u * i) % 5}" for u in range(12) for i in range(8) if (u + i) % 3]
    text = "user,item,rating\n" + "\n".join(rows) + "\n"
    data = tmp_path / "data" / "pinned"
    data.mkdir(parents=True)
    (data / "ratings.csv").write_text(text)
    pinned = hashlib.sha256(text.encode()).hexdigest()
    (tmp_path / "pinnedplugin.py").write_text(PINNED.replace("HASH", pinned))
    path = write_suite(tmp_path, "global-mean", "pinned",
                       extra="plugins: [pinnedplugin.py]\ndata_dir: data\nmetrics: [rmse]\n")
    ran = run_bench("run", str(path), "--out", str(tmp_path / "o"), "--executor", "inline")
    assert ran.returncode == 0, ran.stderr
    (data / "ratings.csv").write_text(text + "99,99,5\n")  # one rating added to the pinned file
    changed = hashlib.sha256((data / "ratings.csv").read_bytes()).hexdigest()
    ran = run_bench("run", str(path), "--out", str(tmp_path / "o2"), "--executor", "inline")
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert f"has sha256 {changed}, expected {pinned}" in ran.stderr
    assert str(data / "ratings.csv") in ran.stderr
    assert not (tmp_path / "o2" / "cells.jsonl").exists() or not read_rows(tmp_path / "o2" / "cells.jsonl")
    assert len(ran.stderr.strip().splitlines()) == 1


class _Columns(RatingModel):
    """Returns one column per pair: shape (n, 1) where the template expects (n,)."""

    def fit(self, train):
        self.index_training(train)
        return self

    def estimate(self, u, i):
        return np.zeros((len(u), 1))


@pytest.mark.parametrize("unknown", [False, True], ids=["all-known", "some-unknown"])
def test_a_misshapen_estimate_reads_as_the_kits_sentence_not_numpys_indexing_error(unknown):
    import pandas as pd

    train = pd.DataFrame({"user": [1, 1, 2], "item": [10, 11, 10], "rating": [4.0, 3.0, 5.0]})
    model = _Columns().fit(RatingData(train, scale=(1.0, 5.0)))
    users = np.array([1, 2, 3 if unknown else 1])
    items = np.array([10, 11, 10])
    with pytest.raises(ValueError, match=r"estimate returned shape \(\d, 1\), expected \(\d,\)"):
        model.predict(users, items)
