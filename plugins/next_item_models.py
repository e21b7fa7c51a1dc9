"""Built-in models of the ``next-item`` task beyond the ranking ones.

* ``markov-chain``: a first-order Markov chain over items. From each user's training items in
  time order (:meth:`~benchmark.ranking.Interactions.sequences`: by timestamp, ties by row
  position, repeats kept) it counts every transition ``a -> b`` between consecutive items. A
  user's score for item ``i`` is the count of ``last -> i``, ``last`` being the user's most
  recent training item; popularity (training interactions of ``i``) breaks ties and is the whole
  score for a user without a training item, or whose last item was never followed. Written as
  one number: ``count(last -> i) * (max popularity + 1) + popularity(i)``, exact in float64
  (integers below 2^53), so the ranking is by count, then popularity, then item id.

``most-popular`` (:mod:`bench_plugins.ranking_models`) serves both ranking and next-item: items
by training popularity, each user's seen items excluded by the evaluator. Every other ranking
model runs on next-item through the task's adapter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.api import ModelSpec, hookimpl
from benchmark.ranking import Interactions, RankingModel
from bench_plugins.next_item import METRICS_SHARED, NEXT_ITEM


class MarkovChain(RankingModel):
    """First-order item transitions from each user's time-ordered training items; popularity
    breaks ties and stands in where the user's last item has no recorded successor."""

    def fit(self, train: Interactions) -> MarkovChain:
        import scipy.sparse as sp

        self.train_ = train
        sequences = train.sequences()
        previous, following = sequences.transitions()
        n_items = train.n_items
        counts = sp.coo_matrix((np.ones(len(previous)), (previous, following)),
                               shape=(n_items, n_items)).tocsr()  # repeated pairs summed
        counts.sum_duplicates()
        self.transitions_ = counts
        self.last_ = sequences.last_items()
        self.popularity_ = train.item_counts().astype(np.float64)
        self.weight_ = float(self.popularity_.max() + 1) if n_items else 1.0
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)
        scores = np.tile(self.popularity_, (len(users), 1))
        last = self.last_[users]
        known = np.flatnonzero(last >= 0)
        if len(known):
            scores[known] += self.transitions_[last[known]].toarray() * self.weight_
        return scores

    def info(self) -> dict[str, Any]:
        return {"transitions": int(self.transitions_.sum()),
                "distinct_transitions": int(self.transitions_.nnz)}


def model_specs() -> list[ModelSpec]:
    """The specs of this module's models (what :func:`bench_models` registers)."""
    return [ModelSpec("markov-chain", {NEXT_ITEM: MarkovChain},
                      summary="First-order item transitions from the user's last training item, "
                              "popularity breaking ties")]


@hookimpl
def bench_models() -> list[ModelSpec]:
    return model_specs() if METRICS_SHARED else []  # no next-item task to declare otherwise
