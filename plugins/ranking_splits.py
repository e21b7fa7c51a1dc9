"""Per-user random holdout: the split that ranking evaluations use most and bench lacked.

The other per-user splits ranking needs already exist in ``bench_plugins.splits`` and serve
ranking unchanged (they work on :class:`~benchmark.api.RatingData`, which the ranking task runs
on): ``leave-n-out`` (``order: random`` or ``time``) and ``temporal`` with ``per_user: true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.api import RATING, Fold, PluginInputError, RatingData, SplitSpec, hookimpl


def user_holdout(data: RatingData, seed: int = 0, test_size: float = 0.2) -> list[Fold]:
    """Hold out ``test_size`` of every user's ratings at random (rounded half up), keeping at
    least one in training: a user with one rating stays entirely in training."""
    if not isinstance(data, RatingData):
        raise PluginInputError("user-holdout splits need rating data")
    ratings = data.ratings
    positions = np.arange(len(ratings))
    key = np.random.default_rng(seed).permutation(len(ratings))
    frame = pd.DataFrame({"user": ratings["user"].to_numpy(), "key": key, "pos": positions})
    frame = frame.sort_values(["user", "key"], kind="stable")
    rank = frame.groupby("user", sort=False).cumcount().to_numpy()
    size = frame.groupby("user", sort=False)["pos"].transform("size").to_numpy()
    n_test = np.minimum(np.floor(size * test_size + 0.5), size - 1)
    is_test = rank < n_test
    pos = frame["pos"].to_numpy()
    return [Fold("user-holdout", np.sort(pos[~is_test]).astype(np.int64),
                 np.sort(pos[is_test]).astype(np.int64))]


@hookimpl
def bench_splits() -> list[SplitSpec]:
    return [SplitSpec("user-holdout", user_holdout,
                      {"test_size": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}},
                      summary="A random test_size of every user's ratings in test (test_size, seed)",
                      tasks=(RATING,))]
