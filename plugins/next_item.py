"""The ``next-item`` task: which item will each user interact with next?

A suite runs it on any rating dataset with timestamps by saying so on the entry::

    datasets:
      - name: movielens-100k
        task: next-item        # each user's last interaction held out (leave-n-out, n: 1, order: time)

**The split.** By default each user's last interaction by ``timestamp`` is held out: the
built-in ``leave-n-out`` split with ``{n: 1, order: time}`` (``n: 3`` holds out the last three).
**Ties in time** are broken by row position: of two interactions with the same timestamp, the
later row of the dataset is the later interaction (the rule of every time-ordered split of
bench, and of :meth:`~benchmark.ranking.Interactions.sequences`). A user with no more than
``n`` interactions stays whole in training (nothing to predict from). Any other split works if
its folds are sequential: every test interaction of a user comes after all their training ones
(in the same order); a fold that is not (``order: random``, ``kfold``, MovieLens' ``u1``..``u5``)
fails its cells with one line saying how many users it breaks the rule for.

**The cell.** The model fits on the training interactions (:class:`~benchmark.ranking.Interactions`,
``implicit``: ratings are ignored for relevance; ``train.sequences()`` gives each user's items in
time order). Every held-out interaction is relevant, whatever its rating. Each test user's
candidates are every item they did not interact with in training (the exclude-seen evaluator of
:mod:`benchmark.ranking`: items nobody interacted with in training rank last, ties by item id),
so a held-out item the user had already seen cannot be hit and the user is skipped and counted
(``n_users_no_relevant``, ``n_relevant_seen``). The ranking metric families read the lists:
``hitrate@k``, ``mrr@k``, ``ndcg@k``, ``recall@k``, ``precision@k``, ``map@k``, ``coverage@k``.

Task option: ``negatives`` (0: rank the full catalogue, the default; N > 0: rank each user's
held-out items among N sampled negatives, with the Krichene & Rendle warning).

Models: ``most-popular``, ``markov-chain`` (:mod:`bench_plugins.next_item_models`), and through
the task's adapters every ranking model (``ease``, ``item-knn``...) and every rating model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import (
    Fold, MetricSpec, Outcome, PluginInputError, Predictions, RatingData, TaskSpec, Timing, hookimpl,
)
from benchmark.ranking import Interactions, evaluate, fold_seed, universe

NEXT_ITEM = "next-item"
"""The task's name."""
OPTIONS: dict[str, Any] = {"negatives": 0}
CONSTRAINTS: dict[str, dict[str, Any]] = {
    "negatives": {"type": "integer", "minimum": 0,
                  "description": "0: rank the full catalogue; N > 0: rank the held-out items among N "
                                 "sampled negatives per user (Krichene & Rendle 2020: can reorder "
                                 "models)"},
}
DEFAULT_SPLIT: dict[str, Any] = {"method": "leave-n-out", "n": 1, "order": "time"}
DEFAULT_METRICS = ("ndcg@10", "hitrate@10", "mrr@10", "coverage@10")
RELEVANT = "every held-out interaction"
METRICS_SHARED = "tasks" in {f.name for f in dataclasses.fields(MetricSpec)}
"""Whether the core lets one metric name score several tasks (``MetricSpec.tasks``). The task
is registered only then: its metrics are the ranking task's (``ndcg@10``...), and where a metric
name means one metric of one task, no name is left for them. Without it bench has no next-item
task, and nothing declares one (``most-popular`` and ``markov-chain`` included)."""


class RankingOnNextItem:
    """The adapter of ranking models: they run on next-item unchanged (same ``fit(Interactions)``
    and ``score``), so the mixin adds nothing; it exists because an adapter is a mixin."""


# --- The fold must be sequential ----------------------------------------------------------------


def timestamps(data: RatingData) -> np.ndarray:
    """The ratings' timestamps as numbers that order like them (datetimes as int64), or a
    one-line error when there are none."""
    if "timestamp" not in data.ratings.columns:
        raise PluginInputError("the next-item task needs a 'timestamp' column; this dataset has none")
    values: np.ndarray = np.asarray(data.ratings["timestamp"].to_numpy())
    if values.dtype.kind == "M":
        return np.asarray(values.view(np.int64))
    if values.dtype.kind not in "iuf":
        raise PluginInputError(f"timestamps must be numbers or datetimes, not {values.dtype}")
    return values


def _extreme(users: np.ndarray, times: np.ndarray, rows: np.ndarray, n_users: int, latest: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per user, the latest (or earliest) (timestamp, row position) among ``rows``."""
    kind = np.finfo(times.dtype) if times.dtype.kind == "f" else np.iinfo(times.dtype)
    when = np.full(n_users, kind.min if latest else kind.max, dtype=times.dtype)
    pick = np.maximum if latest else np.minimum
    pick.at(when, users[rows], times[rows])
    at = times[rows] == when[users[rows]]
    row = np.full(n_users, -1 if latest else np.iinfo(np.int64).max, dtype=np.int64)
    pick.at(row, users[rows][at], rows[at])
    return when, row


def out_of_order(data: RatingData, fold: Fold) -> int:
    """How many test users have a test interaction that does not come after all their training
    ones (by timestamp, ties by row position): 0 for a sequential fold."""
    times = timestamps(data)
    space = universe(data)  # cached per dataset: the cell's interactions reuse it
    users, n_users = space.user_codes, len(space.users)
    train, test = np.asarray(fold.train, np.int64), np.asarray(fold.test, np.int64)
    last_t, last_row = _extreme(users, times, train, n_users, latest=True)
    first_t, first_row = _extreme(users, times, test, n_users, latest=False)
    both = np.zeros(n_users, dtype=bool)
    both[np.unique(users[test])] = True
    both &= last_row >= 0
    before = (first_t < last_t) | ((first_t == last_t) & (first_row < last_row))
    return int((before & both).sum())


# --- The cell -------------------------------------------------------------------------------------


def negatives_option(options: Mapping[str, Any]) -> int:
    negatives = options.get("negatives", OPTIONS["negatives"])
    if isinstance(negatives, bool) or not isinstance(negatives, int) or negatives < 0:
        raise PluginInputError(f"negatives: expected an integer >= 0, got {negatives!r}")
    return int(negatives)


def run_next_item(model: Any, data: RatingData, fold: Fold, options: Mapping[str, Any]) -> Outcome:
    """Check the fold is sequential, fit on its training interactions, rank every unseen item
    for each test user (every held-out interaction relevant)."""
    negatives = negatives_option(options)
    broken = out_of_order(data, fold)
    if broken:
        raise PluginInputError(
            f"fold {fold.name!r} is not sequential: {broken} test user(s) have a test interaction "
            f"before one of their training ones; next-item needs a time-ordered split "
            f"(leave-n-out with order: time, or temporal)")
    train = Interactions.from_rows(data, fold.train, implicit=True)
    with Timing() as fit_time:
        model.fit(train)
    with Timing() as predict_time:
        evaluation = evaluate(model, train, data, fold.test, negatives=negatives,
                              seed=fold_seed(fold.fingerprint))
    protocol = {key: value for key, value in evaluation.protocol.items() if key != "threshold"}
    protocol["relevant"] = RELEVANT
    lists = evaluation.lists  # its counts say what sampled negatives were drawn (n_negatives_drawn_min...)
    predictions = Predictions(NEXT_ITEM, users=lists.users, train=train,
                              info={**data.info, "ranking_protocol": protocol}, model=model,
                              options=dict(options), extra={"ranking": lists, "protocol": protocol})
    return Outcome(predictions, evaluation.counts, fit_time, predict_time)


# --- For the conformance kit ------------------------------------------------------------------


def tiny_data(seed: int = 0) -> RatingData:
    """30 users' time-stamped interactions with 20 items (ties in time included; item ``i19``
    only ever a last interaction, so never in training), fold set ``"given"``: the default split."""
    from bench_plugins.splits import leave_n_out

    rng = np.random.default_rng(seed)
    frames = []
    for user in range(30):
        n = int(rng.integers(4, 9))
        items = [f"i{i}" for i in rng.choice(19, n, replace=False)]
        times = np.sort(rng.integers(0, 40, n))
        if user % 5 == 0:
            items.append("i19")
            times = np.append(times, times[-1] + 1)
        frames.append(pd.DataFrame({"user": f"u{user}", "item": items,
                                    "rating": rng.integers(1, 6, len(items)).astype(np.float64),
                                    "timestamp": times.astype(np.int64)}))
    ratings = pd.concat(frames, ignore_index=True)
    data = RatingData(ratings, (1.0, 5.0), info={"name": "tiny-next-item"})
    data.folds = {"given": leave_n_out(data, n=1, order="time")}
    return data


def examples(noisy: bool = False, seed: int = 0) -> Predictions:
    """Ranked lists for the kit's metric checks, one relevant item per user."""
    from bench_plugins.ranking_task import example_lists

    lists: Predictions = example_lists(NEXT_ITEM, noisy, seed, most_relevant=1)
    return lists


def task_spec() -> TaskSpec:
    """The task's spec (what :func:`bench_tasks` registers)."""
    return TaskSpec(
        NEXT_ITEM, "benchmark.ranking:RankingModel", (RatingData,), run_next_item,
        default_metrics=DEFAULT_METRICS, primary_metric="ndcg@10", greater_is_better=True,
        options=OPTIONS, constraints=CONSTRAINTS, default_split=DEFAULT_SPLIT,
        tiny_data=tiny_data, examples=examples,
        adapters={"ranking": RankingOnNextItem,
                  "rating": "bench_plugins.ranking_models:RatingAsRanking"},
        summary="Next-item prediction: each user's last interaction by time held out, every "
                "unseen item ranked (ties in time: the later row is later)")


@hookimpl
def bench_tasks() -> list[TaskSpec]:
    return [task_spec()] if METRICS_SHARED else []
