"""Per-user random holdout: the split that ranking evaluations use most and bench lacked.

The other per-user splits ranking needs already exist in ``bench_plugins.splits`` and serve
ranking unchanged (they work on :class:`~benchmark.api.RatingData`, which the ranking task runs
on): ``leave-n-out`` (``order: random`` or ``time``) and ``temporal`` with ``per_user: true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.api import RATING, Fold, RatingData, SplitSpec, hookimpl
from bench_plugins.splits import FRACTION, per_user_test_counts, rating_frame


def user_holdout(data: RatingData, seed: int = 0, test_size: float = 0.2) -> list[Fold]:
    """Hold out ``test_size`` of every user's ratings at random (rounded half up), keeping at
    least one in training: a user with one rating stays entirely in training."""
    codes, _ = pd.factorize(rating_frame(data, "user-holdout", need_time=False)["user"])
    key = np.random.default_rng(seed).permutation(len(codes))
    order = np.lexsort((key, codes))  # by user, then in random order within the user
    sizes = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    grouped = codes[order]
    rank = np.arange(len(order)) - starts[grouped]  # each rating's place in its user's order
    n_test = np.minimum(per_user_test_counts(sizes, test_size), sizes - 1)
    is_test = np.zeros(len(codes), dtype=bool)
    is_test[order] = rank < n_test[grouped]
    rows = np.arange(len(codes), dtype=np.int64)
    return [Fold("user-holdout", rows[~is_test], rows[is_test])]


@hookimpl
def bench_splits() -> list[SplitSpec]:
    return [SplitSpec("user-holdout", user_holdout,
                      {"test_size": FRACTION},
                      summary="A random test_size of every user's ratings in test (test_size, seed)",
                      tasks=(RATING,))]
