"""The conformance kit (benchmark.testing): every built-in plugin passes it, and it catches
each kind of contract violation with one clear line."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.api import (
    RATING, DatasetSpec, MetricSpec, ModelSpec, RatingData, RatingModel,
)
from benchmark.registry import build_registry
from benchmark.testing import (
    PASSED, SKIPPED, assert_conforms, check_dataset, check_metric, check_model,
    check_split, check_task,
)
from tests.conftest import ROOT, SHARED_DATA

# --- Every built-in plugin conforms ----------------------------------------------------------

FAST_PARAMS = {  # the kit fits twice; keep the slow models tiny
    "autorec": {"hidden": 8, "epochs": 3},
    "svdpp": {"n_epochs": 2},
    "fast-svd": {"n_epochs": 3},
    "fast-svdpp": {"n_epochs": 2},
    "autoencoder": {"epochs": 1, "encoding_dim": 4, "batch_size": 16},
}
LOCAL = all((SHARED_DATA / name).is_file() for name in ("ml-100k/u.data", "mnist/mnist.npz"))
NO_LOCAL_COPY = f"no local copy under {SHARED_DATA} (set BENCH_TEST_DATA)"
DATASET_OPTIONS: dict[str, dict | str] = {  # options, or why the dataset cannot run here
    "movielens-latest-small": {},
    "synthetic-ratings": {"n_users": 300, "n_items": 200},
    "digits": {},
    "ratings-file": {"path": str(ROOT / "plugins" / "data" / "ml-latest-small" / "ratings.csv.gz"),
                     "columns": {"user": "userId", "item": "movieId"}, "scale": [0.5, 5.0]},
    "movielens-100k": {"data_dir": str(SHARED_DATA)} if LOCAL else NO_LOCAL_COPY,
    "mnist": {"data_dir": str(SHARED_DATA), "limit": 500, "test_limit": 100} if LOCAL else NO_LOCAL_COPY,
    **{f"movielens-{size}": f"downloads ml-{size} (no local copy here)"
       for size in ("1m", "10m", "20m", "25m", "32m")},
}
REGISTRY = build_registry()
BUILT_IN = [entry for entry in REGISTRY.all() if entry.provider.distribution == "bench-harness"]




def test_every_built_in_plugin_loads():
    broken = [f"{p.provider.plugin}: {p.reason}" for p in REGISTRY.problems
              if p.provider.distribution == "bench-harness"]
    assert not broken
    assert {e.kind for e in BUILT_IN} == {"task", "model", "dataset", "split", "metric"}
    assert {e.name for e in BUILT_IN if e.kind == "task"} >= {"rating", "reconstruction"}


@pytest.mark.parametrize("entry", BUILT_IN, ids=lambda e: f"{e.kind}:{e.name}")
def test_built_in_plugin_conforms(entry):
    if entry.missing:
        pytest.skip(f"optional library not installed: pip install {' '.join(entry.missing)}")
    if entry.kind == "model":
        report = check_model(entry.spec, params=FAST_PARAMS.get(entry.name))
    elif entry.kind == "dataset":
        options = DATASET_OPTIONS.get(entry.name, {})
        if isinstance(options, str):
            pytest.skip(options)
        report = check_dataset(entry.spec, **options)
    elif entry.kind == "split":
        report = check_split(entry.spec)
    elif entry.kind == "task":
        report = check_task(entry.spec)
    else:
        report = check_metric(entry.spec)
    assert_conforms(report)
    assert report.passed, report
    if entry.kind == "model":  # every task was run through fit and predict
        for task in entry.spec.tasks:
            assert report.status("same seed, same predictions", task) == PASSED, report


# --- The kit catches violations ----------------------------------------------------------


class Good(RatingModel):
    """Item means; the template predict gives unknown pairs the training mean.

    :param shrinkage: pseudo-ratings at the global mean.
    """

    def __init__(self, shrinkage: float = 1.0):
        self.shrinkage = shrinkage

    def fit(self, train: RatingData) -> Good:
        u, i = self.index_training(train)
        ratings = train.ratings["rating"].to_numpy()
        sums = np.bincount(i, ratings, len(self.items_)) + self.shrinkage * self.mean_
        self.item_means_ = sums / (np.bincount(i, minlength=len(self.items_)) + self.shrinkage)
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.item_means_[i]


class FitReturnsNone(Good):
    def fit(self, train):
        super().fit(train)


class TakesKwargs(Good):
    def __init__(self, shrinkage: float = 1.0, **options):
        self.shrinkage = shrinkage


class NotDeterministic(Good):
    def __init__(self, shrinkage: float = 1.0, random_state: int | None = None):
        self.shrinkage, self.random_state = shrinkage, random_state

    def fit(self, train):
        super().fit(train)
        self.item_means_ = self.item_means_ + np.random.default_rng().normal(0, 0.1, len(self.item_means_))
        return self


class ReturnsNaN(Good):
    def estimate(self, u, i):
        return np.where(u % 2 == 0, np.nan, self.item_means_[i])


class Unpicklable(Good):
    def fit(self, train):
        super().fit(train)
        self.round_ = lambda x: np.round(x, 2)
        return self


class CrashesOnUnknownUsers(Good):
    """Looks every user up in a dict: unknown users raise KeyError."""

    def fit(self, train):
        super().fit(train)
        self.user_means_ = train.ratings.groupby("user")["rating"].mean().to_dict()
        return self

    def predict(self, users, items):
        return np.array([self.user_means_[user] for user in users])


class WorksInInit(Good):
    def __init__(self, shrinkage: float = 1.0):
        self.shrinkage = shrinkage
        self.item_means_ = np.zeros(0)


@pytest.mark.parametrize("model, failing, line", [
    (FitReturnsNone, {"fit returns self"},
     "check 'fit returns self' (rating): fit returned None, not self"),
    (TakesKwargs, {"__init__ takes keyword parameters with defaults"},
     "TakesKwargs.__init__ takes **options; list every parameter explicitly"),
    (NotDeterministic, {"same seed, same predictions"},
     "two fits with random_state=0 predict differently: 60 of 60 values differ"),
    (ReturnsNaN, {"predictions have the right shape and are finite"},
     "of 60 predictions are NaN or infinite"),
    (Unpicklable, {"picklable after fit, predicts identically"},
     "raised AttributeError: Can't"),
    (CrashesOnUnknownUsers, {"unknown users and items get a number"},
     "predict raised KeyError: np.int64(9001) on test pairs with an unknown user or item"),
    (WorksInInit, {"__init__ only stores parameters"},
     "__init__ set learned attribute(s) item_means_ (fit sets those)"),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_the_kit_catches_a_violation(model, failing, line):
    report = check_model(model)
    assert {c.name for c in report.failed} == failing, report
    assert any(line in v for v in report.violations()), report.violations()
    with pytest.raises(AssertionError) as raised:
        assert_conforms(model)
    assert line in str(raised.value) and f"model {model.__qualname__} breaks the bench contract" \
        in str(raised.value)


def test_a_good_model_passes_and_nan_stops_the_checks_that_need_predictions():
    report = assert_conforms(ModelSpec("good", {RATING: Good}))
    assert not report.skipped and len(report.passed) == 19  # 17th: writes the methods its base leaves to it; 18th, 19th: warm_up
    nan = check_model(ReturnsNaN)
    assert nan.status("same seed, same predictions") == SKIPPED
    assert "needs 'predictions have the right shape and are finite', which failed" in str(nan)


def test_wrong_tasks_bad_constraints_and_unknown_params_are_reported():
    spec = ModelSpec("odd", {"no-such-task": Good, RATING: Good})
    assert check_model(spec).violations()[0].startswith(
        "check 'declares tasks': declares unknown task(s) ['no-such-task']; known: next-item, ranking, rating, reconstruction")

    class BadConstraints(Good):
        constraints = {"shrinkage": {"minimum": 2}, "shrinkge": {"type": "nonsense"}}

    described = [v for v in check_model(BadConstraints).violations() if "parameters are described" in v]
    assert described == ["check 'parameters are described' (rating): constraints name no parameter "
                         "'shrinkge' (did you mean 'shrinkage'?); constraint of 'shrinkge' is not JSON "
                         "Schema: 'nonsense' is not valid under any of the given schemas; default 1.0 "
                         "of 'shrinkage' breaks its schema: 1.0 is less than the minimum of 2"]
    with pytest.raises(ValueError, match="Good has no parameter 'shrinkge'; did you mean 'shrinkage'"):
        check_model(Good, params={"shrinkge": 2})


def test_the_kit_catches_broken_datasets_and_metrics():
    counter = iter(range(100))

    def unstable() -> RatingData:  # another shuffle on every load
        import pandas as pd
        rng = np.random.default_rng(next(counter))
        return RatingData(pd.DataFrame({"user": rng.integers(0, 9, 50), "item": rng.integers(0, 9, 50),
                                        "rating": rng.integers(1, 6, 50).astype(float)}), (1.0, 5.0))

    report = check_dataset(DatasetSpec("unstable", unstable, "reconstruction"))
    assert report.violations() == [
        "check 'loads data of its task': the loader returned RatingData (rating), but the dataset "
        "declares 'reconstruction'"]
    report = check_dataset(unstable)
    assert [c.name for c in report.failed] == ["checksum is stable across two loads"]

    upside_down = MetricSpec("rmse-up", lambda t, p: float(np.sqrt(np.mean((t - p) ** 2))), RATING,
                             greater_is_better=True)
    assert [c.name for c in check_metric(upside_down).failed] == \
        ["perfect predictions score at least as well as noisy ones"]


class FitRaises(RatingModel):
    def __init__(self, a: int = 1):
        self.a = a

    def fit(self, train):
        raise RuntimeError("the fit went wrong")

    def predict(self, users, items):
        return np.zeros(len(users))


def test_a_check_that_raises_says_where_the_plugin_raised():
    [line] = [v for v in check_model(FitRaises).violations() if "fit returns self" in v]
    assert line.startswith("check 'fit returns self' (rating): raised RuntimeError: the fit went wrong (at "
                           "test_conformance.py:")
    assert line.endswith(" in fit)")
