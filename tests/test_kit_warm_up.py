"""The conformance kit calls ``Model.warm_up(params)`` (contract 1.5) as a worker does: once,
with the parameters the model is built with, before ``prepare`` and ``fit``; a model fitted after
it must predict as one fitted without it; a warm-up that raises is one sentence naming the model
and the method. A 1.0 model (no warm_up of its own) passes as before."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from benchmark.api import RATING, ModelSpec, RatingModel
from benchmark.ranking import RankingModel
from benchmark.testing import PASSED, SKIPPED, assert_conforms, check_model

WARM = "warm_up(params) runs"
SAME = "same predictions with and without warm_up"


class ItemMeans(RatingModel):
    """Item means with shrinkage; a seeded jitter so that the seed matters.

    :param shrinkage: pseudo-ratings at the global mean.
    :param random_state: seed of the jitter.
    """

    events: ClassVar[list[tuple[str, Any]]] = []

    def __init__(self, shrinkage: float = 1.0, random_state: int | None = None):
        self.shrinkage, self.random_state = shrinkage, random_state

    @classmethod
    def warm_up(cls, params):
        cls.events.append(("warm_up", dict(params)))

    def prepare(self):
        self.events.append(("prepare", id(self)))

    def fit(self, train):
        self.events.append(("fit", id(self)))
        u, i = self.index_training(train)
        ratings = train.ratings["rating"].to_numpy()
        sums = np.bincount(i, ratings, len(self.items_)) + self.shrinkage * self.mean_
        jitter = np.random.default_rng(self.random_state).normal(0, 1e-3, len(self.items_))
        self.item_means_ = sums / (np.bincount(i, minlength=len(self.items_)) + self.shrinkage) + jitter
        return self

    def estimate(self, users, items):
        return self.item_means_[items]


class Float32Once(ItemMeans):
    """Its warm-up switches the class to a float32 kernel: fits after it round differently."""

    kernel: ClassVar[Any] = np.float64

    @classmethod
    def warm_up(cls, params):
        cls.kernel = np.float32

    def fit(self, train):
        super().fit(train)
        self.item_means_ = self.item_means_.astype(self.kernel).astype(np.float64)
        return self


class NoDevice(ItemMeans):
    @classmethod
    def warm_up(cls, params):
        raise RuntimeError("no GPU in this process")


class Plain(ItemMeans):
    """Written for contract 1.0: no warm_up of its own (Model's, which does nothing)."""

    warm_up = RatingModel.warm_up
    prepare = RatingModel.prepare


def test_warm_up_is_called_once_with_the_built_params_before_prepare_and_fit():
    ItemMeans.events.clear()
    report = check_model(ItemMeans, params={"shrinkage": 2.0})
    assert report.ok and not report.skipped, report
    assert report.status(WARM) == PASSED and report.status(SAME) == PASSED
    warmed = [n for n, (event, _) in enumerate(ItemMeans.events) if event == "warm_up"]
    assert len(warmed) == 1
    assert ItemMeans.events[warmed[0]][1] == {"shrinkage": 2.0, "random_state": 0}  # defaults, given, kit's seed
    before = ItemMeans.events[:warmed[0]]  # the twin fitted without warm_up, for the comparison
    after = ItemMeans.events[warmed[0] + 1:]
    assert [event for event, _ in before] == ["prepare", "fit"]
    assert [event for event, _ in after[:2]] == ["prepare", "fit"]  # the checked model, after warm_up
    assert after[0][1] != before[0][1]  # not the twin


def test_a_warm_up_that_changes_what_fit_learns_fails_in_one_line():
    Float32Once.kernel = np.float64
    report = check_model(Float32Once)
    assert [c.name for c in report.failed] == [SAME], report
    (line,) = report.violations()
    assert line.startswith(f"check '{SAME}' (rating): fitted after warm_up(params), the model predicts "
                           "differently than without it: "), line
    assert "values differ (by up to " in line


def test_a_warm_up_that_raises_is_one_sentence_naming_the_model_and_the_method():
    report = check_model(NoDevice)
    assert [c.name for c in report.failed] == [WARM], report
    (line,) = report.violations()
    assert line.startswith(f"check '{WARM}' (rating): NoDevice.warm_up(params) raised RuntimeError: "
                           "no GPU in this process (at test_kit_warm_up.py:"), line
    assert line.endswith(" in warm_up)") and "\n" not in line
    assert report.status(SAME) == SKIPPED  # nothing to compare; the other checks still ran
    assert report.status("same seed, same predictions") == PASSED
    with pytest.raises(AssertionError) as raised:
        assert_conforms(ModelSpec("no-device", {RATING: NoDevice}))
    assert "model 'no-device' breaks the bench contract" in str(raised.value)
    assert "NoDevice.warm_up(params) raised RuntimeError: no GPU in this process" in str(raised.value)


def test_a_model_without_its_own_warm_up_passes_as_before():
    report = check_model(Plain)
    assert report.ok and not report.skipped, report
    assert report.status(WARM) == PASSED and report.status(SAME) == PASSED


class Popular(RankingModel):
    """Most popular items, ties broken by a seeded jitter; through the ranking task's runner.

    :param random_state: seed of the jitter.
    """

    boost: ClassVar[float] = 0.0

    def __init__(self, random_state: int | None = None):
        self.random_state = random_state

    def fit(self, train):
        counts = train.item_counts().astype(np.float64)
        jitter = np.random.default_rng(self.random_state).random(len(counts))
        self.scores_ = counts + jitter - self.boost * np.arange(len(counts))
        return self

    def score(self, users):
        return np.tile(self.scores_, (len(users), 1))


class ReversedAfterWarmUp(Popular):
    @classmethod
    def warm_up(cls, params):
        cls.boost = 100.0  # from now on, the later items rank last: other lists


def test_through_a_tasks_runner_a_warm_up_that_changes_the_lists_fails():
    ReversedAfterWarmUp.boost = 0.0
    report = check_model(ReversedAfterWarmUp, "ranking")
    assert [c.name for c in report.failed] == [SAME], report
    assert report.violations()[0].startswith(
        f"check '{SAME}' (ranking): fitted after warm_up(params), the model predicts differently than "
        "without it: extra['ranking'] ranked lists")
    assert check_model(Popular, "ranking").ok
