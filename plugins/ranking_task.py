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

**Ranked lists kept for other tools.** :func:`bench_cell_artifacts` stores, for every cell whose
predictions carry :class:`~benchmark.ranking.RankedLists` (``ranking``, ``next-item``, and any
task built on :mod:`benchmark.ranking`), the lists to the largest cut-off of the cell's metrics
and the relevant items they were scored against, as ``artifacts/<cell id>/rankings.npz``
(:data:`RANKINGS_FILE`; written whole or not at all, like every artifact). ``bench results RUN
--rankings DIR`` turns it into TREC run and qrels files (:mod:`benchmark.trec`) without a refit.
A tuning trial stores none (it is scored on an inner split nobody exports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.api import (
    Cell, Fold, Model, Outcome, Predictions, RatingData, TaskSpec, Timing, hookimpl,
)
from benchmark.ranking import DEPTH, Interactions, RankedLists, evaluate, fold_seed
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
    lists = evaluation.lists  # its counts say what sampled negatives were drawn (n_negatives_drawn_min...)
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


# --- The ranked lists, stored for export -------------------------------------------------------

RANKINGS_FILE = "rankings.npz"
"""The artifact holding a cell's ranked lists (format ``bench-rankings-1``, read by
:func:`benchmark.trec.read_rankings`): ``users`` (the evaluated users' ids as text, in evaluation
order), ``items`` (every item id of the dataset as text, by position), ``top`` ((users x k) item
positions, best first, ``-1`` past the candidates), ``relevant_indptr``/``relevant_items`` (each
user's relevant item positions, CSR layout) and ``k``."""
RANKINGS_FORMAT = "bench-rankings-1"
_CUTOFF = re.compile(r"@([1-9][0-9]*)$")


def largest_cutoff(metrics: Sequence[str], default: int = DEPTH) -> int:
    """The largest ``k`` of the ``@k`` metric names (``ndcg@10``, ``recall@20`` -> 20), else
    ``default``: how deep the stored lists go."""
    cutoffs = [int(found.group(1)) for found in map(_CUTOFF.search, metrics) if found]
    return max(cutoffs, default=default)


def save_rankings(path: Path, lists: RankedLists, items: Sequence[Any], k: int) -> None:
    """Write ``lists`` to depth ``k`` (item ids from ``items``, by position) to ``path``."""
    top = lists.lists(k)  # ranks deeper than the evaluation's depth when k asks for it
    relevant = lists.relevant.tocsr()
    relevant.sort_indices()
    positions = np.int32 if len(items) < 2**31 else np.int64
    with open(path, "wb") as stream:  # not compressed: zlib took 10 s at ml-25m's shape, this 0.8 s
        np.savez(
            stream, format=np.asarray(RANKINGS_FORMAT), k=np.asarray(k, np.int64),
            users=np.asarray(lists.users).astype(str), items=np.asarray(items).astype(str),
            top=top.astype(positions), relevant_indptr=np.asarray(relevant.indptr, np.int64),
            relevant_items=np.asarray(relevant.indices, positions))


@hookimpl
def bench_cell_artifacts(cell: Cell, model: Model, predictions: Predictions, directory: Path) -> list[str] | None:
    """Store the cell's ranked lists (:data:`RANKINGS_FILE`) when its predictions carry them."""
    lists = predictions.extra.get("ranking") if isinstance(predictions.extra, Mapping) else None
    train = predictions.train
    if not isinstance(lists, RankedLists) or not isinstance(train, Interactions):
        return None
    if getattr(cell.tuning, "role", None) == "trial":  # scored on an inner split: nothing to export
        return None
    save_rankings(Path(directory) / RANKINGS_FILE, lists, train.items, largest_cutoff(cell.metrics, lists.depth))
    return [RANKINGS_FILE]


@hookimpl
def bench_tasks() -> list[TaskSpec]:
    return [TaskSpec(
        RANKING, "benchmark.ranking:RankingModel", (RatingData,), run_ranking,
        default_metrics=DEFAULT_METRICS, primary_metric="ndcg@10", greater_is_better=True,
        options=OPTIONS, constraints=CONSTRAINTS, examples=examples,
        adapters={"rating": "bench_plugins.ranking_models:RatingAsRanking"},
        summary="Top-N recommendation: rank every unseen item for each test user "
                "(relevance: test rating >= threshold)")]
