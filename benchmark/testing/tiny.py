"""The kit's tiny data: generated ratings and a matrix with a fold set ``"given"``, a task's
own ``tiny_data``, and perfect or noisy predictions to score metrics with.

Ids are not positions (users 10, 13, ...; items 500, 507, ...), and some test pairs have an
unknown user or item: the mistakes a model makes on real data show here in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from benchmark._internal import resolve
from benchmark.api import RATING, RECONSTRUCTION, Fold, MatrixData, Predictions, RatingData, TaskSpec
from benchmark.testing.common import SEED
from benchmark.testing.report import Skip


@dataclass(frozen=True)
class TinyRatings:
    """Training ratings and test pairs: ``known`` pairs, then pairs with an unknown user or item."""

    train: RatingData
    users: np.ndarray      # test pairs: known ones first
    items: np.ndarray
    ratings: np.ndarray    # true ratings of the known test pairs
    n_known: int
    everything: RatingData  # train and known test rows, with the fold set "given"


def tiny_ratings(seed: int = SEED) -> TinyRatings:
    """30 users × 20 items, 200 training ratings on a 1-5 scale, 60 known test pairs and 6
    with an unknown user, item or both. ``everything`` (what a task's runner gets) also tests
    4 rows with two items and a user that no training rating has. Ids are not positions (users 10, 13, ...; items
    500, 507, ...), so a model that indexes arrays by raw id fails."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 30, 20
    user_ids, item_ids = 10 + 3 * np.arange(n_users), 500 + 7 * np.arange(n_items)
    cover = [(u, u % n_items) for u in range(n_users)]  # every user and item in training
    others = [(u, i) for u in range(n_users) for i in range(n_items) if (u, i) not in set(cover)]
    drawn = rng.permutation(len(others))[:230]
    pairs = np.array(cover + [others[k] for k in drawn])
    u, i = pairs[:, 0], pairs[:, 1]
    taste = rng.normal(0, 1, (n_users, 2)) @ rng.normal(0, 1, (2, n_items))
    value = 3 + 0.8 * taste[u, i] + rng.normal(0, 0.5, len(u))
    frame = pd.DataFrame({"user": user_ids[u], "item": item_ids[i],
                          "rating": np.clip(np.round(value), 1, 5).astype(np.float64),
                          "timestamp": 1_000_000_000 + rng.permutation(len(u)).astype(np.int64)})
    train_rows, test_rows = np.arange(200), np.arange(200, 260)
    test = frame.iloc[test_rows]
    # the data a task's runner gets (ranking...) also tests items and a user unseen in training:
    # a real fold has them, and a model that scores them NaN fails every real cell
    unseen = pd.DataFrame({"user": [user_ids[1], user_ids[2], user_ids[4], 9004],
                           "item": [9911, 9912, 9911, item_ids[3]], "rating": [5.0, 4.0, 5.0, 5.0],
                           "timestamp": 1_000_000_000 + len(u) + np.arange(4, dtype=np.int64)})
    everything = RatingData(pd.concat([frame, unseen], ignore_index=True), (1.0, 5.0),
                            folds={"given": [Fold("given", train_rows, np.arange(200, len(frame) + 4))]},
                            info={"source": "benchmark.testing"})
    unknown_users = np.array([9001, 9001, user_ids[0], user_ids[3], 9002, 9003])
    unknown_items = np.array([item_ids[0], item_ids[5], 9901, 9902, 9902, 9903])
    return TinyRatings(everything.subset(train_rows),
                       np.concatenate([test["user"].to_numpy(), unknown_users]),
                       np.concatenate([test["item"].to_numpy(), unknown_items]),
                       test["rating"].to_numpy(np.float64), len(test), everything)


def tiny_matrix(seed: int = SEED) -> MatrixData:
    """40 rows × 16 features in (0, 1), float32, of rank-3 structure plus noise; the fold set
    ``"given"`` tests on the last 10 rows."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (40, 3)) @ rng.normal(0, 1, (3, 16)) + rng.normal(0, 0.3, (40, 16))
    X = (1 / (1 + np.exp(-logits))).astype(np.float32)
    return MatrixData(X, folds={"given": [Fold("given", np.arange(30), np.arange(30, 40))]},
                      info={"source": "benchmark.testing"})


def tiny_data(task: TaskSpec, seed: int = SEED) -> Any:
    """Tiny data a model of ``task`` runs on, with a fold set ``"given"``: the task's own
    ``tiny_data``, else the kit's ratings or matrix when the task runs on those."""
    if task.tiny_data is not None:
        return resolve(task.tiny_data)(seed)
    if task.serves(RatingData):
        return tiny_ratings(seed).everything
    if task.serves(MatrixData):
        return tiny_matrix(seed)
    raise Skip(f"task {task.name!r} runs on {', '.join(k.__name__ for k in task.data_types)} and "
               f"gives no tiny_data for the kit")


def tiny_predictions(task: TaskSpec, noisy: bool) -> Predictions:
    """Perfect or noisy predictions of ``task``: its ``examples``, else the kit's own for
    bench's rating and reconstruction tasks."""
    if task.examples is not None:
        return cast(Predictions, resolve(task.examples)(noisy, SEED))
    rng = np.random.default_rng(SEED + 1)
    if task.name not in (RATING, RECONSTRUCTION):
        raise Skip(f"task {task.name!r} gives no examples for the kit to score")
    if task.name == RATING:
        tiny = tiny_ratings()
        n = tiny.n_known
        truth = tiny.ratings
        guess = np.clip(truth + rng.normal(0, 1.0, n), 1, 5) if noisy else truth.copy()
        return Predictions(RATING, truth, guess, tiny.users[:n], tiny.items[:n], tiny.train,
                           tiny.everything.info)
    matrix = tiny_matrix()
    truth = matrix.X[30:].astype(np.float64)
    guess = np.clip(truth + rng.normal(0, 0.2, truth.shape), 0, 1) if noisy else truth.copy()
    return Predictions(RECONSTRUCTION, truth, guess, train=matrix.X[:30], info=matrix.info)

