"""The ``ranking`` (top-N) task, registered through ``bench_tasks`` like any third-party task.

A suite runs it on any rating dataset by saying so on the entry::

    datasets:
      - name: movielens-100k
        task: ranking          # relevance = test rating >= threshold
        threshold: 4           # the default, on a 5-star scale
        split: {method: predefined, name: u, folds: [u1]}

Task options of a dataset entry: ``threshold`` (a test interaction is relevant when its rating
is at least this; ignored for implicit data, ``info["implicit"]``, where every interaction is
relevant) and ``negatives`` (0, the default, ranks the full catalogue; N > 0 ranks each user's
relevant items among N sampled negatives, with a warning: see ``ranking_core``).

A cell: the training ratings become :class:`~benchmark.ranking.Interactions` over every
user and item of the dataset, the model fits on them (``fit_seconds``), then every test user with
a relevant item gets a ranked list of depth 100 (``predict_seconds``), which the ``@k`` metrics
read from ``Predictions.extra["ranking"]``. The cell's counts say how many users were evaluated,
skipped for lack of a relevant test item, or had no training interaction; and how many items had
none (they rank last).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from benchmark.api import (
    Fold, Outcome, Predictions, RatingData, TaskSpec, Timing, hookimpl,
)
from benchmark.ranking import Interactions, RankedLists, evaluate, fold_seed
from bench_plugins.ranking_core import OPTIONS, RANKING, check_options

CONSTRAINTS: dict[str, dict[str, Any]] = {
    "threshold": {"type": "number",
                  "description": "a test interaction is relevant when its rating is at least this "
                                 "(ignored for implicit data)"},
    "negatives": {"type": "integer", "minimum": 0,
                  "description": "0: rank the full catalogue; N > 0: rank relevant items among N "
                                   "sampled negatives per user (Krichene & Rendle 2020: can reorder "
                                   "models)"},
}
DEFAULT_METRICS = ("ndcg@10", "recall@20", "precision@10", "map@10", "mrr@10", "hitrate@10",
                   "coverage@10")


def run_ranking(model: Any, data: RatingData, fold: Fold, options: Mapping[str, Any]) -> Outcome:
    """Fit on the fold's training interactions, rank the catalogue for every evaluated test user."""
    threshold, negatives = check_options(options)
    train = Interactions.from_rows(data, fold.train, threshold)
    with Timing() as fit_time:
        model.fit(train)
    with Timing() as predict_time:
        evaluation = evaluate(model, train, data, fold.test, negatives=negatives,
                              seed=fold_seed(fold.fingerprint))
    lists = evaluation.lists
    info = {**data.info, "ranking_protocol": evaluation.protocol}
    predictions = Predictions(RANKING, users=lists.users, train=train, info=info, model=model,
                              options=dict(options),
                              extra={"ranking": lists, "protocol": evaluation.protocol})
    return Outcome(predictions, evaluation.counts, fit_time, predict_time)


def examples(noisy: bool = False, seed: int = 0) -> Predictions:
    """Ranked lists for the kit's metric checks: perfect (every user's relevant items first, then
    the others at random) or noisy (one random order for everyone, as a model that ignores the
    user: lower accuracy and lower coverage)."""
    return example_lists(RANKING, noisy, seed)


def example_lists(task: str, noisy: bool, seed: int, most_relevant: int = 7) -> Predictions:
    """:func:`examples` for ``task``: 20 users with 1 to ``most_relevant`` relevant items each
    among 50 (the ``next-item`` task's have exactly one)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    n_users, n_items, depth = 20, 50, 20
    relevant = [np.sort(rng.choice(n_items, rng.integers(1, most_relevant + 1), replace=False))
                for _ in range(n_users)]
    top = np.empty((n_users, depth), dtype=np.int64)
    everyone = rng.permutation(n_items)
    for u, items in enumerate(relevant):
        others = rng.permutation(np.setdiff1d(np.arange(n_items), items))
        ranked = everyone if noisy else np.concatenate([items, others])
        top[u] = ranked[:depth]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in relevant])])
    matrix = sp.csr_matrix((np.ones(indptr[-1], bool), np.concatenate(relevant), indptr),
                           shape=(n_users, n_items))
    lists = RankedLists(np.arange(n_users), top, matrix, n_items)
    return Predictions(task, users=lists.users, extra={"ranking": lists})


@hookimpl
def bench_tasks() -> list[TaskSpec]:
    return [TaskSpec(
        RANKING, "benchmark.ranking:RankingModel", (RatingData,), run_ranking,
        default_metrics=DEFAULT_METRICS, primary_metric="ndcg@10", greater_is_better=True,
        options=OPTIONS, constraints=CONSTRAINTS, examples=examples,
        adapters={"rating": "bench_plugins.ranking_models:RatingAsRanking"},
        summary="Top-N recommendation: rank every unseen item for each test user "
                "(relevance: test rating >= threshold)")]
