"""``benchmark.ranking.evaluate`` counts the sampled negatives it draws (issue 29.7's shortfall):
the ranking and next-item tasks record its counts instead of drawing them again in their heads."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from benchmark.api import Fold, RatingData
from benchmark.ranking import Interactions, SampledMetricsWarning, evaluate
from bench_plugins.next_item import run_next_item
from bench_plugins.ranking_models import MostPopular
from bench_plugins.ranking_task import run_ranking

ASKED = 12


@pytest.fixture(scope="module")
def world():
    """40 users x 20 items, each user touching 4 to 16 items (the busiest have fewer than 12
    untouched items to draw from); the last two interactions of each user in time are the test."""
    rng = np.random.default_rng(3)
    rows = []
    for user in range(40):
        items = rng.choice(20, int(rng.integers(4, 17)), replace=False)
        rows += [(user, int(item), float(rng.integers(3, 6)), t) for t, item in enumerate(items)]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    data = RatingData(frame, (1.0, 5.0))
    last = frame.groupby("user")["timestamp"].transform("max")
    test = np.flatnonzero(frame["timestamp"].to_numpy() >= last.to_numpy() - 1)
    train = np.setdiff1d(np.arange(len(frame)), test)
    return data, Fold("last-two", train, test)


def _drawn_per_user(lists) -> np.ndarray:
    """Every candidate is listed (depth >= items): the candidates besides the relevant ones."""
    return (lists.top >= 0).sum(axis=1) - lists.n_relevant()


def test_evaluate_counts_what_it_drew(world):
    data, fold = world
    train = Interactions.from_rows(data, fold.train, 4.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluation = evaluate(MostPopular().fit(train), train, data, fold.test, depth=20, negatives=ASKED, seed=1)
    drawn = _drawn_per_user(evaluation.lists)
    counts = evaluation.counts
    assert counts["n_sampled_negatives"] == ASKED
    assert counts["n_negatives_drawn_min"] == drawn.min() < ASKED
    assert counts["n_users_short_of_negatives"] == int((drawn < ASKED).sum()) > 0
    assert (drawn <= ASKED).all() and (drawn == ASKED).any()
    short = [str(w.message) for w in caught if issubclass(w.category, SampledMetricsWarning)
             and "had fewer than" in str(w.message)]
    assert short == [f"{counts['n_users_short_of_negatives']} user(s) had fewer than {ASKED} items to draw "
                     f"sampled negatives from (fewest drawn: {counts['n_negatives_drawn_min']})"]


def test_the_full_catalogue_draws_nothing(world):
    data, fold = world
    train = Interactions.from_rows(data, fold.train, 4.0)
    counts = evaluate(MostPopular().fit(train), train, data, fold.test).counts
    assert not {"n_sampled_negatives", "n_negatives_drawn_min", "n_users_short_of_negatives"} & set(counts)


@pytest.mark.parametrize("run, options", [(run_ranking, {"threshold": 4.0, "negatives": ASKED}),
                                          (run_next_item, {"negatives": ASKED})],
                         ids=["ranking", "next-item"])
def test_each_task_records_the_evaluators_count_and_warns_once(world, run, options):
    data, fold = world
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = run(MostPopular(), data, fold, options)
    drawn = _drawn_per_user(outcome.predictions.extra["ranking"])
    assert outcome.counts["n_negatives_drawn_min"] == drawn.min()
    assert outcome.counts["n_users_short_of_negatives"] == int((drawn < ASKED).sum()) > 0
    assert sum("had fewer than" in str(w.message) for w in caught) == 1  # counted once, warned once


def test_the_full_catalogue_draws_nothing_and_counts_no_draws(world):
    data, fold = world
    train = Interactions.from_rows(data, fold.train, 4.0)
    evaluation = evaluate(MostPopular().fit(train), train, data, fold.test, depth=20, negatives=0, seed=1)
    assert not {"n_negatives_drawn_min", "n_users_short_of_negatives"} & set(evaluation.counts)
    assert "n_sampled_negatives" not in evaluation.counts or evaluation.counts["n_sampled_negatives"] == 0
