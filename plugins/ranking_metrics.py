"""Top-N metrics with a declared cut-off: ``ndcg@10``, ``recall@20``, ``precision@10``, ``map@10``,
``mrr@10``, ``hitrate@10``, ``coverage@10``.

Definitions (issue 15; binary relevance, averages over the evaluated users — those with at least
one relevant test item; ``rel_i`` is 1 when the item at rank ``i`` is relevant, ``R`` the
user's relevant items):

* ``ndcg@k`` = DCG / IDCG with DCG = sum_{i<=k} rel_i / log2(i + 1) and IDCG the DCG of
  ``min(|R|, k)`` hits at the top;
* ``recall@k`` = hits / |R| (not ``min(|R|, k)``: a user with more relevant items than k cannot
  reach 1, as the issue defines it);
* ``precision@k`` = hits / k (k even when a user has fewer than k candidates);
* ``map@k`` = mean of AP@k = sum_{i<=k} precision@i * rel_i / min(|R|, k) (RecBole's and
  Elliot's normalisation; trec_eval divides by |R|);
* ``mrr@k`` = 1 / rank of the first relevant item within k, else 0;
* ``hitrate@k`` = 1 when any of the first k is relevant;
* ``coverage@k`` = distinct items in the evaluated users' top-k lists / items of the dataset
  (a catalogue property: one value, no per-user parts).

The same names score the ``next-item`` task's lists (with one held-out item per user, ``hitrate@k``
equals ``recall@k`` there, ``mrr@k`` is 1 / rank of the held-out item within k): the specs declare
both tasks (:data:`SCORED_TASKS`).

Per-user values travel as ``PerUnit(unit="user", ids, num=value, den=1)`` so that ``bench
compare`` pairs two models on the same users. Every metric reads the lists the ranking task
computed (``predictions.extra["ranking"]``, a :class:`~benchmark.ranking.RankedLists`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from benchmark.api import MetricSpec, PerUnit, hookimpl
from benchmark.ranking import RankedLists
from bench_plugins.next_item import METRICS_SHARED, NEXT_ITEM
from bench_plugins.ranking_core import RANKING

VERSION = "1"
KINDS: dict[str, str] = {
    "ndcg": "Normalised discounted cumulative gain (log2 discount, ideal over min(|relevant|, k))",
    "recall": "Relevant items in the top k / relevant items of the user",
    "precision": "Relevant items in the top k / k",
    "map": "Mean average precision at k (AP normalised by min(|relevant|, k))",
    "mrr": "Mean reciprocal rank of the first relevant item within k",
    "hitrate": "Fraction of users with a relevant item in the top k",
    "coverage": "Distinct items recommended in the top k of any user / items of the dataset",
}
CUTOFFS = (1, 3, 5, 10, 20, 50, 100)
"""The cut-offs registered by name (``ndcg@1`` ... ``ndcg@100``); :func:`metric_spec` builds any
other (see the module docstring of ``ranking_task`` for how a suite reaches it)."""
_NAME = re.compile(r"^(?P<kind>[a-z]+)@(?P<k>[1-9][0-9]{0,5})$")


def parse(name: str) -> tuple[str, int] | None:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; None when ``name`` is not a ranking metric name."""
    match = _NAME.match(name)
    if not match or match["kind"] not in KINDS:
        return None
    return match["kind"], int(match["k"])


# --- Per-user values, from hits ------------------------------------------------------------


def discounts(k: int) -> np.ndarray:
    """1 / log2(rank + 1) for ranks 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def ndcg(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    gains = discounts(k)
    ideal = np.concatenate([[0.0], np.cumsum(gains)])[np.minimum(n_relevant, k)]
    return np.asarray((hits @ gains) / ideal)


def recall(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    return np.asarray(hits.sum(axis=1) / n_relevant)


def precision(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    return np.asarray(hits.sum(axis=1) / hits.shape[1])


def average_precision(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    at_rank = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return np.asarray((at_rank * hits).sum(axis=1) / np.minimum(n_relevant, k))


def reciprocal_rank(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    first = np.argmax(hits, axis=1)
    return np.asarray(np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0), dtype=np.float64)


def hit(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    return np.asarray(hits.any(axis=1), dtype=np.float64)


PER_USER = {"ndcg": ndcg, "recall": recall, "precision": precision, "map": average_precision,
            "mrr": reciprocal_rank, "hitrate": hit}


def coverage(top: np.ndarray, n_items: int) -> float:
    listed = top[top >= 0]
    return float(len(np.unique(listed)) / n_items) if n_items else 0.0


# --- As bench metrics ----------------------------------------------------------------------


def ranked_lists(predictions: Any) -> Any:
    extra = getattr(predictions, "extra", None) or {}
    lists = extra.get("ranking")
    if lists is None:
        raise ValueError("ranking metrics need the ranked lists of the ranking task "
                         "(predictions.extra['ranking'])")
    return lists


class AtK:
    """The metric ``kind@k`` as a ``context=True`` metric function: per-user values as PerUnit."""

    def __init__(self, kind: str, k: int):
        self.kind, self.k = kind, int(k)
        self.__name__ = f"{kind}_at_{k}"
        self.__qualname__ = self.__name__
        self.__doc__ = KINDS[kind]

    def __call__(self, predictions: Any) -> Any:
        lists = ranked_lists(predictions)
        if self.kind == "coverage":
            return coverage(lists.lists(self.k), lists.n_items)
        hits = lists.hits(self.k).astype(np.float64)
        values = PER_USER[self.kind](hits, lists.n_relevant())
        return per_user(lists, values)

    def __repr__(self) -> str:
        return f"AtK({self.kind!r}, {self.k})"


def per_user(lists: RankedLists, values: np.ndarray) -> PerUnit:
    """A PerUnit over the evaluated users (num = value, den = 1), its value the plain mean."""
    ids, order = lists.sorted_ids
    return PerUnit("user", ids, np.asarray(values, np.float64)[order], np.ones(len(values)),
                   "identity", exact=float(np.mean(values)))


def metric_spec(name: str) -> MetricSpec | None:
    """The MetricSpec of any ``kind@k`` name (``ndcg@37``), None for another name."""
    parsed = parse(name)
    if parsed is None:
        return None
    kind, k = parsed
    return MetricSpec(name, AtK(kind, k), RANKING, greater_is_better=True, context=True,
                      summary=f"{KINDS[kind]} (k = {k}; any k: {kind}@N)", version=VERSION,
                      family=metric_spec, **SHARED)


SCORED_TASKS = (RANKING, NEXT_ITEM)
"""The tasks whose ranked lists these metrics score: ``ranking`` and ``next-item``."""
SHARED: dict[str, Any] = {"tasks": SCORED_TASKS} if METRICS_SHARED else {}
"""How the specs declare :data:`SCORED_TASKS`: ``MetricSpec.tasks``, where the core has it (a
metric name means one metric of one task otherwise, and the names cannot be shared)."""


@hookimpl
def bench_metrics() -> list[MetricSpec]:
    specs = [metric_spec(f"{kind}@{k}") for kind in KINDS for k in CUTOFFS]
    return [spec for spec in specs if spec is not None]
