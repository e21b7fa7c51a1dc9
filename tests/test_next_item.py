"""The ``next-item`` task (issue 28): its split, its sequential check, ``markov-chain``,
``most-popular`` on it, the ranking metrics on its lists, a suite run end to end, the kit.

Numbers are checked against independent computations (pandas for the split, plain Python for
the Markov chain's counts, a full numpy sort for the metrics), never against bench itself.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from benchmark.api import Fold, PluginInputError, RatingData
from benchmark.ranking import Interactions
from benchmark.testing import assert_conforms, check_model, check_plugin, check_task
from bench_plugins import next_item, next_item_models, ranking_metrics
from bench_plugins.movielens import load_latest_small
from bench_plugins.next_item import NEXT_ITEM, out_of_order, run_next_item
from bench_plugins.next_item_models import MarkovChain
from bench_plugins.ranking_metrics import AtK
from bench_plugins.ranking_models import MostPopular
from bench_plugins.splits import leave_n_out, temporal
from tests.conftest import run_bench

SHARED_METRICS = ("the core's MetricSpec has no 'tasks' (requested): the ranking metric names cannot "
                  "serve next-item, and bench registers no next-item task")
needs_shared_metrics = pytest.mark.skipif(not next_item.METRICS_SHARED, reason=SHARED_METRICS)


def frame(rows: list[tuple[str, str, int]], rating: float = 3.0) -> RatingData:
    """Ratings from (user, item, timestamp) triples, in this row order."""
    users, items, times = zip(*rows)
    return RatingData(pd.DataFrame({"user": users, "item": items, "rating": rating,
                                    "timestamp": np.asarray(times, dtype=np.int64)}), (1.0, 5.0))


def default_split(data: RatingData, n: int = 1) -> Fold:
    spec = next_item.DEFAULT_SPLIT
    assert spec == {"method": "leave-n-out", "n": 1, "order": "time"}
    (fold,) = leave_n_out(data, n=n, order="time")
    return fold


def last_rows_by_pandas(ratings: pd.DataFrame, n: int = 1) -> np.ndarray:
    """Each user's n latest rows by (timestamp, row position), users with more than n rows."""
    table = ratings.assign(pos=np.arange(len(ratings)))
    latest = table.sort_values(["timestamp", "pos"]).groupby("user").tail(n)
    sizes = table.groupby("user").size()
    return np.sort(latest[latest["user"].map(sizes) > n]["pos"].to_numpy())


# --- The split ------------------------------------------------------------------------------


def test_the_split_holds_out_each_users_last_interaction_ties_to_the_later_row():
    data = frame([("a", "x", 5), ("a", "y", 9), ("a", "z", 9),   # a: y and z tie; z is the later row
                  ("b", "x", 7), ("b", "y", 2),                     # b: x is last although first in the file
                  ("c", "x", 1),                                     # c: one interaction, stays in training
                  ("a", "w", 3)])
    fold = default_split(data)
    assert fold.test.tolist() == [2, 3]
    assert fold.train.tolist() == [0, 1, 4, 5, 6]


def test_on_ml_latest_small_exactly_the_last_per_user_is_held_out_and_leave_n_out_the_last_n():
    data = load_latest_small()
    fold = default_split(data)
    assert fold.test.tolist() == last_rows_by_pandas(data.ratings).tolist()
    assert len(fold.test) == data.ratings["user"].nunique()  # every user has more than one rating
    (three,) = leave_n_out(data, n=3, order="time")
    assert three.test.tolist() == last_rows_by_pandas(data.ratings, 3).tolist()


def test_on_ml100k_with_its_same_second_ties_the_later_row_is_held_out(shared_data):
    from bench_plugins.movielens import load_release

    data = load_release("movielens-100k", str(shared_data), download=False)
    ratings = data.ratings
    at_last = ratings["timestamp"] == ratings.groupby("user")["timestamp"].transform("max")
    tied_users = int((at_last.groupby(ratings["user"]).sum() > 1).sum())
    assert tied_users > 400  # the rule decides for 415 of 943 users
    fold = default_split(data)
    assert fold.test.tolist() == last_rows_by_pandas(ratings).tolist()
    assert out_of_order(data, fold) == 0


def test_a_fold_that_is_not_sequential_is_refused_with_one_line():
    data = load_latest_small()
    (random,) = leave_n_out(data, n=1, order="random", seed=0)
    with pytest.raises(PluginInputError, match=r"fold 'leave-1-out' is not sequential: \d+ test user"):
        run_next_item(MostPopular(), data, random, {"negatives": 0})
    (newest,) = temporal(data, test_size=0.1)
    assert out_of_order(data, newest) == 0  # the newest tenth overall is after everyone's training


def test_a_tie_across_train_and_test_is_ordered_by_row_position():
    data = frame([("a", "x", 4), ("a", "y", 4), ("a", "z", 4)])
    assert out_of_order(data, Fold("f", np.array([0, 1]), np.array([2]))) == 0
    assert out_of_order(data, Fold("f", np.array([0, 2]), np.array([1]))) == 1


def test_data_without_timestamps_is_refused():
    data = RatingData(pd.DataFrame({"user": ["a", "a"], "item": ["x", "y"], "rating": [1.0, 2.0]}),
                      (1.0, 5.0))
    with pytest.raises(PluginInputError, match="needs a 'timestamp' column"):
        run_next_item(MostPopular(), data, Fold("f", np.array([0]), np.array([1])), {})


# --- Sequences and the Markov chain -------------------------------------------------------


SEQUENCES = {  # user -> items in time order; timestamps below shuffle the rows of the file
    "u1": ["a", "b", "c", "a", "b"],
    "u2": ["b", "c", "b", "d"],
    "u3": ["c"],
    "u4": ["a", "b", "e"],
}


def hand_made() -> RatingData:
    rows = [(user, item, 10 * step) for user, items in SEQUENCES.items() for step, item in enumerate(items)]
    order = np.random.default_rng(3).permutation(len(rows))
    return frame([rows[i] for i in order])


def test_sequences_are_each_users_items_in_time_order():
    data = hand_made()
    train = Interactions.from_rows(data, np.arange(len(data)))
    sequences = train.sequences()
    for position, user in enumerate(train.users):
        assert [train.items[i] for i in sequences.of(position)] == SEQUENCES[user]
    assert [train.items[i] for i in sequences.last_items()] == [s[-1] for s in SEQUENCES.values()]


def test_markov_chain_scores_equal_counts_of_transitions_from_the_last_item():
    data = hand_made()
    train = Interactions.from_rows(data, np.arange(len(data)), implicit=True)
    model = MarkovChain().fit(train)
    # independently: count consecutive pairs in plain Python, popularity = distinct users per item
    pairs = Counter((s[i], s[i + 1]) for s in SEQUENCES.values() for i in range(len(s) - 1))
    popularity = Counter(item for s in SEQUENCES.values() for item in set(s))
    items = list(train.items)
    weight = max(popularity.values()) + 1
    expected = np.array([[pairs[(SEQUENCES[u][-1], i)] * weight + popularity[i] for i in items]
                         for u in train.users], dtype=np.float64)
    np.testing.assert_array_equal(model.score(np.arange(train.n_users)), expected)
    # u1's last item is b: b -> c once, so c first; u2's last item d was never followed: popularity
    assert pairs[("b", "c")] == 2 and expected[0, items.index("c")] == 2 * weight + 3


def test_markov_chain_falls_back_to_popularity_for_a_user_without_training_items():
    data = hand_made()
    rows = np.flatnonzero(data.ratings["user"].to_numpy() != "u3")  # u3 only in test
    train = Interactions.from_rows(data, rows, implicit=True)
    model = MarkovChain().fit(train)
    u3 = train.users.get_loc("u3")
    np.testing.assert_array_equal(model.score(np.array([u3]))[0], train.item_counts())


# --- The metrics against a direct numpy computation -----------------------------------------


def direct_ranks(model, train: Interactions, data: RatingData, fold: Fold) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, 1-based rank of the held-out item) for every evaluated user, by a full sort of
    the model's scores: seen items dropped, items without training interactions last, ties by id."""
    test = data.ratings.iloc[fold.test]
    users = train.users.get_indexer(test["user"])
    held = train.items.get_indexer(test["item"])
    scores = np.asarray(model.score(users), dtype=np.float64)
    cold = train.item_counts() == 0
    seen = train.matrix[users].toarray() != 0
    ranks, ids = [], []
    for row, (user, item) in enumerate(zip(users, held)):
        if seen[row, item]:
            continue  # held-out item seen in training: never a candidate, user skipped
        key = np.where(seen[row], np.inf, np.where(cold, 1.0, 0.0))  # seen out, cold after the rest
        score = np.where(cold, 0.0, -scores[row])  # cold items: by id alone
        order = np.lexsort((np.arange(train.n_items), score, key))
        ranks.append(int(np.flatnonzero(order == item)[0]) + 1)
        ids.append(str(train.users[user]))
    return np.asarray(ids), np.asarray(ranks)


@pytest.mark.parametrize("model", [MostPopular(), MarkovChain()], ids=["most-popular", "markov-chain"])
def test_hitrate_mrr_ndcg_equal_a_direct_numpy_computation(model):
    data = load_latest_small()
    fold = default_split(data)
    outcome = run_next_item(model, data, fold, {"negatives": 0})
    ids, ranks = direct_ranks(outcome.predictions.model, outcome.predictions.train, data, fold)
    assert outcome.counts["n_users_evaluated"] == len(ranks) == 610
    for k in (1, 10, 20):
        hit = float(np.mean(ranks <= k))
        mrr = float(np.mean(np.where(ranks <= k, 1.0 / ranks, 0.0)))
        ndcg = float(np.mean(np.where(ranks <= k, 1.0 / np.log2(ranks + 1), 0.0)))
        assert float(AtK("hitrate", k)(outcome.predictions)) == pytest.approx(hit, abs=1e-12)
        assert float(AtK("mrr", k)(outcome.predictions)) == pytest.approx(mrr, abs=1e-12)
        assert float(AtK("ndcg", k)(outcome.predictions)) == pytest.approx(ndcg, abs=1e-12)
    per_user = AtK("hitrate", 10)(outcome.predictions)
    order = np.argsort(ids, kind="stable")
    np.testing.assert_array_equal(per_user.ids, ids[order])
    np.testing.assert_array_equal(per_user.num, (ranks <= 10).astype(float)[order])


def test_every_held_out_interaction_is_relevant_whatever_its_rating():
    data = frame([("a", "x", 1), ("a", "y", 2), ("b", "y", 1), ("b", "x", 2)], rating=1.0)
    outcome = run_next_item(MostPopular(), data, default_split(data), {})
    assert outcome.counts["n_users_evaluated"] == 2 and outcome.counts["n_relevant"] == 2
    protocol = outcome.predictions.extra["protocol"]
    assert protocol["relevant"] == "every held-out interaction" and "threshold" not in protocol
    assert outcome.predictions.task == NEXT_ITEM


# --- The task as a suite ------------------------------------------------------------------

SUITE = """
name: next-item-small
seed: 0
datasets:
  - {name: movielens-latest-small, task: next-item}
models: [most-popular, markov-chain]
metrics: [hitrate@10, mrr@10, ndcg@10]
"""


@needs_shared_metrics
def test_a_next_item_suite_runs_end_to_end_and_stores_rows(tmp_path, write_suite):
    result = run_bench("run", str(write_suite(SUITE)), "--out", str(tmp_path / "out"),
                       "--executor", "inline")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "out" / "cells.jsonl").read_text().splitlines()]
    by_model = {row["model"]: row for row in rows}
    assert set(by_model) == {"most-popular", "markov-chain"}
    for row in rows:
        assert row["task"] == NEXT_ITEM and row["status"] == "ok"
        assert row["counts"]["n_users_evaluated"] == 610
        assert set(row["metrics"]) == {"hitrate@10", "mrr@10", "ndcg@10"}
    data = load_latest_small()
    fold = default_split(data)
    for name, model in (("most-popular", MostPopular()), ("markov-chain", MarkovChain())):
        outcome = run_next_item(model, data, fold, {})
        _, ranks = direct_ranks(outcome.predictions.model, outcome.predictions.train, data, fold)
        assert by_model[name]["metrics"]["hitrate@10"] == pytest.approx(float(np.mean(ranks <= 10)), abs=1e-12)
    assert by_model["markov-chain"]["metrics"]["ndcg@10"] > by_model["most-popular"]["metrics"]["ndcg@10"]


@needs_shared_metrics
def test_the_task_gets_its_default_split_and_metrics(tmp_path, write_suite):
    from benchmark.suite import load_suite

    path = write_suite("name: s\ndatasets: [{name: movielens-latest-small, task: next-item}]\n"
                       "models: [most-popular]\n")
    suite, _ = load_suite(path)
    (dataset,) = suite.datasets
    assert dataset.split.method == "leave-n-out" and dataset.split.params == {"n": 1, "order": "time"}
    assert suite.metrics[NEXT_ITEM] == next_item.DEFAULT_METRICS


@needs_shared_metrics
def test_a_suite_with_ranking_and_next_item_keeps_each_tasks_default_metrics(tmp_path, write_suite):
    from benchmark.suite import load_suite
    from bench_plugins.ranking_task import DEFAULT_METRICS as RANKING_DEFAULTS

    path = write_suite("name: s\ndatasets:\n  - {name: movielens-latest-small, task: next-item}\n"
                       "  - {name: movielens-latest-small, task: ranking, label: r}\nmodels: [most-popular]\n")
    suite, _ = load_suite(path)
    assert suite.metrics[NEXT_ITEM] == next_item.DEFAULT_METRICS
    assert suite.metrics["ranking"] == RANKING_DEFAULTS


# --- The conformance kit ------------------------------------------------------------------


def test_the_task_conforms():
    report = assert_conforms(check_task(next_item.task_spec()))
    assert report.status("examples for metrics are Predictions of the task") == "passed"


def test_the_markov_chain_conforms_on_the_task():
    (spec,) = next_item_models.model_specs()
    report = assert_conforms(check_model(spec, tasks=[next_item.task_spec()]))
    assert report.status("same seed, same predictions", NEXT_ITEM) == "passed"


@needs_shared_metrics
def test_the_plugin_modules_conform():
    assert_conforms(check_plugin(next_item))
    assert_conforms(check_plugin(next_item_models))


@needs_shared_metrics
def test_the_ranking_metrics_conform_on_both_tasks():
    assert_conforms(ranking_metrics)
    for spec in ranking_metrics.bench_metrics():
        assert tuple(spec.tasks) == ranking_metrics.SCORED_TASKS


@needs_shared_metrics
def test_most_popular_serves_next_item_with_the_same_class():
    from bench_plugins.ranking_models import bench_models

    spec = next(s for s in bench_models() if s.name == "most-popular")
    assert spec.classes[NEXT_ITEM] is spec.classes["ranking"] is MostPopular


def test_leave_three_out_makes_three_relevant_items_per_user():
    data = load_latest_small()
    (three,) = leave_n_out(data, n=3, order="time")
    assert out_of_order(data, three) == 0
    outcome = run_next_item(MarkovChain(), data, three, {})
    counts = outcome.counts
    assert counts["n_relevant"] + counts["n_relevant_seen"] == 3 * counts["n_test_users"] == 3 * 610
    lists = outcome.predictions.extra["ranking"]
    assert lists.n_relevant().max() == 3
