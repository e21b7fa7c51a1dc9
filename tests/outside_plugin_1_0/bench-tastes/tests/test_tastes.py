"""bench-tastes' own tests: the bench conformance kit over every module, then what is special
about our models, dataset and reports."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bench_tastes import data, metrics, models, report
from benchmark.api import RATING, Predictions, RatingData
from benchmark.testing import (
    assert_conforms, check_dataset, check_metric, check_model, check_plugin, check_split,
)

# One map for the whole package, given to every module: the kit fits each model twice, so the
# factorisation is kept small, and the dataset is checked with the options we publish.
PARAMS = {"als-mf": {"factors": 3, "epochs": 4}, "tastes-item-mean": {"shrinkage": 2.0}}
OPTIONS = {"tastes": {"min_ratings": 2}}


# --- The bench contract ----------------------------------------------------------------------


@pytest.mark.parametrize("module", [models, data, metrics, report], ids=lambda m: m.__name__)
def test_every_module_conforms_to_the_bench_contract(module):
    assert_conforms(module, params=PARAMS, options=OPTIONS)


def test_the_models_module_passes_every_check():
    found = check_plugin(models, params=PARAMS)
    assert found.ok, found
    assert not found.skipped, found
    assert found.status("same seed, same predictions") == "passed"


def test_als_mf_with_its_own_seed_predicts_the_same_twice():
    found = check_model(models.AlsMF, params={"factors": 2, "epochs": 3, "random_state": 7})
    assert found.ok, found
    assert found.status("same seed, same predictions", "rating") == "passed"


def test_a_lazy_reference_is_checked_like_the_class():
    assert_conforms("bench_tastes.models:RandomGuess", task=RATING)


def test_the_dataset_conforms_with_its_shipped_file_and_with_a_copy(tmp_path):
    spec, = data.bench_datasets()
    assert_conforms(spec)
    copy = tmp_path / "mine.csv"
    copy.write_text(data.EMBEDDED.read_text())
    found = check_dataset(spec, path=str(copy), min_ratings=3)
    assert found.ok, found
    assert found.status("checksum is stable across two loads") == "passed"


def test_the_bare_loader_conforms():
    assert check_dataset(data.load_tastes).ok


def test_the_split_conforms_with_other_parameters():
    spec, = data.bench_splits()
    assert_conforms(spec)
    found = check_split(spec, fraction=0.5)
    assert found.ok and found.passed, found


def test_each_metric_points_the_right_way():
    for spec in metrics.bench_metrics():
        found = check_metric(spec)
        assert found.ok, found
        assert found.status("perfect predictions score at least as well as noisy ones") == "passed"


class Forgetful(models.ItemMean):
    def fit(self, train):
        super().fit(train)  # forgets to return self


def test_the_kit_would_catch_a_fit_that_forgets_return_self():
    with pytest.raises(AssertionError, match="fit returns self"):
        assert_conforms(Forgetful)
    found = check_model(Forgetful)
    assert [c.name for c in found.failed] == ["fit returns self"]
    assert found.violations() == ["check 'fit returns self' (rating): fit returned None, not self"]


# --- What is ours ----------------------------------------------------------------------------


def _last_tastings():
    tastes = data.load_tastes()
    fold, = tastes.folds["last"]
    test = tastes.ratings.iloc[fold.test]
    return tastes, tastes.subset(fold.train), test


def test_each_taster_has_one_last_tasting_in_test():
    tastes, train, test = _last_tastings()
    assert len(tastes) == 150 and test["user"].is_unique
    assert len(train) + len(test) == len(tastes)


def test_als_mf_beats_the_random_guess():
    _, train, test = _last_tastings()
    users, items, truth = test["user"].to_numpy(), test["item"].to_numpy(), test["rating"].to_numpy()

    def rmse(model) -> float:
        return float(np.sqrt(np.mean((model.fit(train).predict(users, items) - truth) ** 2)))

    assert rmse(models.AlsMF(factors=2, epochs=5, random_state=0)) < rmse(models.RandomGuess(seed=0))


def test_a_new_taster_gets_the_dish_mean():
    train = RatingData(pd.DataFrame({"user": ["a", "b", "a"], "item": ["soup", "soup", "tart"],
                                     "rating": [5.0, 3.0, 1.0]}), (1.0, 5.0))
    model = models.ItemMean(shrinkage=0.0).fit(train)
    np.testing.assert_allclose(model.predict(np.array(["new", "new"]), np.array(["soup", "pie"])),
                               [4.0, 3.0])


def test_the_artifact_lists_every_test_taster_worst_first(tmp_path):
    tastes, train, test = _last_tastings()
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    model = models.ItemMean().fit(train)
    predictions = Predictions(RATING, test["rating"].to_numpy(), model.predict(users, items), users, items,
                              train, tastes.info)
    names = report.bench_cell_artifacts(cell=SimpleNamespace(task=RATING), model=model,
                                        predictions=predictions, directory=tmp_path)
    assert names == ["taster-errors.csv"]
    lines = (tmp_path / "taster-errors.csv").read_text().splitlines()
    assert lines[0] == "user,count,mean" and len(lines) == 1 + len(set(users))
    assert report.bench_cell_artifacts(cell=SimpleNamespace(task="reconstruction"), model=model,
                                       predictions=predictions, directory=tmp_path) is None


def test_finished_cells_are_logged_when_asked(tmp_path, monkeypatch):
    log = tmp_path / "tastes.jsonl"
    result = SimpleNamespace(run_id="r1", model="als-mf", status="ok", metrics={"rmse": 0.9})
    report.bench_cell_finished(result=result)
    assert not log.exists()
    monkeypatch.setenv("TASTES_LOG", str(log))
    report.bench_cell_finished(result=result)
    assert json.loads(log.read_text()) == {"run": "r1", "model": "als-mf", "status": "ok",
                                           "metrics": {"rmse": 0.9}}
