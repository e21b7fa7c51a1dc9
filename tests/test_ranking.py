"""The ranking task's protocol and models, as specifications.

Candidates are every item a user did not rate in training; an item nobody rated in training
ranks last; ties rank by item id; relevance is test rating >= threshold; users without a relevant
test item are skipped and counted; scores are computed in batches of bounded size.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from benchmark import adapters
from benchmark.api import Fold, MissingDependency, RatingData, RatingModel
from bench_plugins.baselines import BiasBaseline
from bench_plugins.ranking_core import (
    RANKING, Interactions, RankingModel, SampledMetricsWarning, check_options, evaluate, top_k,
)
from bench_plugins.ranking_models import EASE, ItemKNN, MostPopular, RatingAsRanking
from bench_plugins.ranking_splits import user_holdout
from bench_plugins.ranking_task import examples, run_ranking


def rating_ranker(rating_class: type[RatingModel]) -> type[RankingModel]:
    """The class bench builds for ``rating_class`` on the ranking task."""
    reference = adapters.declare(rating_class.__name__, RANKING, rating_class, RatingAsRanking,
                                 RankingModel)
    return getattr(adapters, reference.partition(":")[2])


def ratings(rows: list[tuple[int, int, float]]) -> RatingData:
    return RatingData(pd.DataFrame(rows, columns=["user", "item", "rating"]), (1.0, 5.0))


class Fixed(RankingModel):
    """Scores given as a table: row = user position, column = item position."""

    def __init__(self, table: object = None):
        self.table = table

    def fit(self, train: Interactions) -> Fixed:
        self.train_ = train
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.table, dtype=np.float64)[users]


# --- top_k ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_top_k_is_a_stable_sort_of_the_scores_with_ties_by_position(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(30, 50)).astype(np.float64)  # many ties
    scores[rng.random(scores.shape) < 0.2] = -np.inf  # excluded items
    scores[rng.random(scores.shape) < 0.1] = np.finfo(np.float64).min  # items ranked last
    for k in (1, 5, 20, 50, 60):
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        expected = np.where(np.take_along_axis(scores, expected, 1) == -np.inf, -1, expected)
        got = top_k(scores.copy(), k)
        np.testing.assert_array_equal(got[:, :expected.shape[1]], expected)


def test_top_k_pads_with_minus_one_past_the_candidates():
    scores = np.array([[3.0, -np.inf, 1.0, -np.inf]])
    np.testing.assert_array_equal(top_k(scores, 4), [[0, 2, -1, -1]])


# --- the protocol --------------------------------------------------------------------------

# users 10, 11, 12, 13; items 100..104. Training rows first, then test rows.
TRAIN = [(10, 100, 5.0), (10, 101, 3.0), (11, 100, 4.0), (11, 102, 2.0), (12, 103, 5.0),
         (10, 103, 1.0)]
TEST = [(10, 102, 5.0), (10, 104, 4.0),   # user 10: two relevant items, 104 never rated in training
        (11, 101, 2.0),                   # user 11: nothing relevant -> skipped
        (13, 100, 4.5)]                   # user 13: no training interaction -> evaluated, counted


def protocol_data() -> tuple[RatingData, Fold]:
    data = ratings(TRAIN + TEST)
    return data, Fold("f", np.arange(len(TRAIN)), np.arange(len(TRAIN), len(TRAIN) + len(TEST)))


def test_seen_items_are_never_candidates_and_cold_items_rank_last():
    data, fold = protocol_data()
    train = Interactions.from_rows(data, fold.train)
    # the model prefers the items user 10 already rated, and item 104 (never rated in training)
    table = np.tile([9.0, 8.0, 1.0, 7.0, 99.0], (4, 1))
    lists = evaluate(Fixed(table).fit(train), train, data, fold.test).lists
    row = list(lists.users).index(10)
    # user 10 rated 100, 101, 103: candidates 102 and 104; 104 has no training rating: last
    assert list(lists.top[row, :3]) == [2, 4, -1]


def test_users_without_a_relevant_item_are_skipped_and_counted():
    data, fold = protocol_data()
    train = Interactions.from_rows(data, fold.train)
    evaluation = evaluate(MostPopular().fit(train), train, data, fold.test)
    assert sorted(evaluation.lists.users) == [10, 13]
    assert evaluation.counts["n_test_users"] == 3
    assert evaluation.counts["n_users_evaluated"] == 2
    assert evaluation.counts["n_users_no_relevant"] == 1  # user 11
    assert evaluation.counts["n_users_no_train"] == 1  # user 13
    assert evaluation.counts["n_items_no_train"] == 1  # item 104
    assert evaluation.counts["n_relevant"] == 3


def test_the_threshold_decides_relevance():
    data, fold = protocol_data()
    train = Interactions.from_rows(data, fold.train, threshold=5.0)
    evaluation = evaluate(MostPopular().fit(train), train, data, fold.test)
    assert list(evaluation.lists.users) == [10]  # only (10, 102, 5.0) reaches 5
    train = Interactions.from_rows(data, fold.train, threshold=2.0)
    assert evaluate(MostPopular().fit(train), train, data, fold.test).counts["n_users_no_relevant"] == 0


def test_implicit_data_makes_every_test_interaction_relevant():
    data, fold = protocol_data()
    data.info["implicit"] = True
    train = Interactions.from_rows(data, fold.train, threshold=5.0)
    assert evaluate(MostPopular().fit(train), train, data, fold.test).counts["n_users_evaluated"] == 3


def test_a_fold_without_any_relevant_item_is_one_clear_error():
    data, fold = protocol_data()
    train = Interactions.from_rows(data, fold.train, threshold=6.0)
    with pytest.raises(ValueError, match="no test user has a relevant item.*threshold"):
        evaluate(MostPopular().fit(train), train, data, fold.test)


def test_batches_of_any_size_give_the_same_lists(monkeypatch):
    from benchmark import ranking

    data = synthetic(seed=1)
    fold = user_holdout(data, seed=0, test_size=0.3)[0]
    train = Interactions.from_rows(data, fold.train, threshold=3.0)
    model = ItemKNN(k=5).fit(train)
    whole = evaluate(model, train, data, fold.test, depth=15).lists.top
    for budget in (1, train.n_items * 3 + 1):  # one user at a time; three and a bit
        monkeypatch.setattr(ranking, "BATCH_ELEMENTS", budget)
        np.testing.assert_array_equal(evaluate(model, train, data, fold.test, depth=15).lists.top, whole)


def test_sampled_negatives_warn_and_rank_relevant_items_among_n_negatives():
    data = synthetic(seed=2)
    fold = user_holdout(data, seed=0, test_size=0.3)[0]
    train = Interactions.from_rows(data, fold.train, threshold=3.0)
    with pytest.warns(SampledMetricsWarning, match="Krichene & Rendle"):
        evaluation = evaluate(MostPopular().fit(train), train, data, fold.test, depth=200,
                              negatives=7, seed=3)
    lists = evaluation.lists
    listed = (lists.top >= 0).sum(axis=1)
    np.testing.assert_array_equal(listed, lists.n_relevant() + 7)
    assert evaluation.protocol["candidates"] == "relevant + 7 sampled negatives"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # full ranking: no warning
        evaluate(MostPopular().fit(train), train, data, fold.test)


def test_a_model_that_ranks_itself_is_asked_for_lists_and_checked():
    data, fold = protocol_data()
    train = Interactions.from_rows(data, fold.train)

    class Ranks(Fixed):
        def recommend(self, users, k, exclude=None):
            return np.tile(np.arange(k), (len(users), 1)) if isinstance(self.table, str) else \
                super().recommend(users, k, exclude)

    lists = evaluate(Ranks(np.tile([9.0, 8.0, 1.0, 7.0, 99.0], (4, 1))).fit(train), train, data,
                     fold.test).lists
    assert list(lists.top[list(lists.users).index(10), :2]) == [2, 4]
    with pytest.raises(ValueError, match="rated in training"):  # item 100 is user 10's
        evaluate(Ranks("cheat").fit(train), train, data, fold.test)


def test_task_options_are_checked():
    assert check_options({}) == (4.0, 0)
    assert check_options({"threshold": 3, "negatives": 100}) == (3.0, 100)
    for bad in ({"threshold": "4"}, {"threshold": True}, {"negatives": -1}, {"negatives": 1.5}):
        with pytest.raises(ValueError):
            check_options(bad)


# --- models --------------------------------------------------------------------------------


def synthetic(seed: int = 0, users: int = 40, items: int = 30) -> RatingData:
    from bench_plugins.synthetic import load_synthetic

    return load_synthetic(n_users=users, n_items=items, density=0.3, seed=seed)


def test_most_popular_counts_ratings_of_any_value_and_breaks_ties_by_item_id():
    rows = [(1, 30, 1.0), (2, 30, 1.0), (1, 20, 5.0), (2, 20, 5.0), (3, 10, 2.0), (4, 10, 2.0),
            (3, 40, 5.0), (5, 50, 5.0), (6, 60, 1.0)]
    data = ratings(rows)
    train = Interactions.from_rows(data, np.arange(len(rows)))
    model = MostPopular().fit(train)
    top = top_k(model.score(np.array([0])).copy(), 6)[0]
    # items 10, 20, 30 have two ratings each (whatever their value), then 40, 50, 60 one each
    assert [train.items[i] for i in top] == [10, 20, 30, 40, 50, 60]


def test_ease_is_steck_closed_form():
    data = synthetic(seed=3)
    train = Interactions.from_rows(data, np.arange(len(data)))
    model = EASE(l2=7.0).fit(train)
    X = train.binary(np.float64).toarray()
    active = X.sum(axis=0) > 0
    Xa = X[:, active]
    P = np.linalg.inv(Xa.T @ Xa + 7.0 * np.eye(Xa.shape[1]))
    B = np.eye(len(P)) - P / np.diag(P)[None, :]  # B = I - P diagMat(1 / diag(P))
    np.testing.assert_allclose(np.diag(B), 0.0, atol=1e-12)
    np.testing.assert_allclose(model.B_, B, rtol=1e-8, atol=1e-10)
    users = np.arange(5)
    np.testing.assert_allclose(model.score(users)[:, active], Xa[users] @ B, rtol=1e-8, atol=1e-10)


def test_item_knn_matches_a_dense_computation():
    data = synthetic(seed=4)
    train = Interactions.from_rows(data, np.arange(len(data)))
    model = ItemKNN(k=4, shrinkage=2.0).fit(train)
    X = train.binary(np.float64).toarray()
    norms = np.sqrt((X ** 2).sum(axis=0))
    S = (X.T @ X) / (np.outer(norms, norms) + 2.0 + 1e-12)
    np.fill_diagonal(S, 0.0)
    W = np.zeros_like(S)
    for j in range(S.shape[1]):  # each item keeps its 4 most similar items
        best = np.argsort(-S[:, j], kind="stable")[:4]
        W[best, j] = S[best, j]
    np.testing.assert_allclose(model.score(np.arange(10)), X[:10] @ W, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("template", [True, False])
def test_a_rating_model_ranks_by_its_predicted_ratings(template):
    data = synthetic(seed=5)
    fold = user_holdout(data, seed=0, test_size=0.2)[0]
    train = Interactions.from_rows(data, fold.train)
    ranker = rating_ranker(BiasBaseline)(reg_u=5.0)
    assert ranker.get_params() == {"n_epochs": 10, "reg_u": 5.0, "reg_i": 10.0}
    ranker.fit(train)
    assert ranker.by_position_  # BiasBaseline uses the template predict
    ranker.by_position_ = template  # both paths: estimate by position, or the model's own predict
    users = np.arange(7)
    expected = ranker.predict(np.repeat(train.users[users], train.n_items),
                                     np.tile(train.items, len(users)))
    np.testing.assert_allclose(ranker.score(users), expected.reshape(len(users), -1), rtol=1e-12)


def test_the_rating_adapter_keeps_the_rating_models_parameters():
    ranker_class = rating_ranker(BiasBaseline)
    assert ranker_class is rating_ranker(BiasBaseline)  # one class per rating model
    assert issubclass(ranker_class, RankingModel) and issubclass(ranker_class, BiasBaseline)
    assert ranker_class.param_defaults() == BiasBaseline.param_defaults()
    assert ranker_class.constraints == BiasBaseline.constraints
    assert isinstance(ranker_class().clone(), ranker_class)


def test_implicit_models_fit_and_score():
    pytest.importorskip("implicit", reason="implicit is not installed (pip install implicit)")
    from bench_plugins.ranking_models import ImplicitALS, ImplicitBPR

    data = synthetic(seed=6)
    train = Interactions.from_rows(data, np.arange(len(data)))
    for model in (ImplicitALS(factors=4, iterations=2, random_state=0),
                  ImplicitBPR(factors=4, iterations=2, random_state=0)):
        scores = model.fit(train).score(np.arange(3))
        assert scores.shape == (3, train.n_items) and np.isfinite(scores).all()
    first = ImplicitBPR(factors=4, iterations=3, random_state=1).fit(train).score(np.arange(3))
    again = ImplicitBPR(factors=4, iterations=3, random_state=1).fit(train).score(np.arange(3))
    np.testing.assert_array_equal(first, again)  # one thread: reproducible


def test_implicit_models_report_a_missing_library(monkeypatch):
    import sys

    from bench_plugins.ranking_models import ImplicitALS

    monkeypatch.setitem(sys.modules, "implicit", None)
    data = synthetic(seed=7)
    with pytest.raises(MissingDependency, match="pip install implicit"):
        ImplicitALS().fit(Interactions.from_rows(data, np.arange(len(data))))


# --- the runner and the splits -------------------------------------------------------------


def test_the_runner_fits_ranks_and_counts():
    from benchmark.testing import tiny_ratings

    data = tiny_ratings(0).everything  # ids are not positions
    fold = data.folds["given"][0]
    outcome = run_ranking(MostPopular(), data, fold, {"threshold": 3.0, "negatives": 0})
    lists = outcome.predictions.extra["ranking"]
    assert outcome.predictions.task == "ranking" and lists.depth == 22  # 20 items, 2 only in test
    assert outcome.counts["n_items_no_train"] == 2
    assert outcome.counts["n_users_evaluated"] == len(lists.users) > 0
    assert outcome.predictions.info["ranking_protocol"]["threshold"] == 3.0


def test_examples_are_perfect_or_noisy():
    from bench_plugins.ranking_metrics import AtK

    perfect, noisy = examples(False, 0), examples(True, 0)
    assert float(AtK("ndcg", 10)(perfect)) == pytest.approx(1.0)
    assert float(AtK("ndcg", 10)(noisy)) < 0.9


def test_user_holdout_holds_out_a_fraction_of_every_user_and_keeps_one_in_training():
    rows = [(u, i, 3.0) for u in range(1, 6) for i in range(u * 2)] + [(9, 0, 4.0)]
    data = ratings(rows)
    fold = user_holdout(data, seed=0, test_size=0.25)[0]
    frame = data.ratings
    for user, group in frame.groupby("user"):
        size = len(group)
        in_test = np.isin(group.index, fold.test).sum()
        assert in_test == min(int(np.floor(size * 0.25 + 0.5)), size - 1), user
    assert fold.fingerprint == user_holdout(data, seed=0, test_size=0.25)[0].fingerprint
    assert fold.fingerprint != user_holdout(data, seed=1, test_size=0.25)[0].fingerprint
    assert sorted(np.concatenate([fold.train, fold.test])) == list(range(len(rows)))


def test_a_repeated_training_pair_counts_once_with_its_last_rating():
    data = ratings([(1, 7, 5.0), (2, 7, 3.0), (1, 7, 2.0)])
    train = Interactions.from_rows(data, np.arange(3))
    assert train.matrix.toarray().tolist() == [[2.0], [3.0]]
    assert train.item_counts().tolist() == [2]
