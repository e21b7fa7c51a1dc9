"""Top-N ranking for plugins: the model base, the training interactions and the evaluator.

Public and stable (part of the plugin contract, like :mod:`benchmark.api`; minor versions only
add): a plugin that ranks items imports :class:`RankingModel`, :class:`Interactions` and
:func:`evaluate` from here. bench's own ``ranking`` and ``next-item`` tasks are built on exactly
these names (``bench_plugins.ranking_core`` re-exports them for older imports). The names in
``__all__`` are the contract; anything else here may change.

**Protocol** (issue 15). Every user and item of the *dataset* has a position (ids sorted, so
position order is id order). For each test user, every item not rated in training is a
candidate; an item with no training interaction at all ranks after every other candidate;
ties rank by item id. Relevance comes from the test interactions with rating >= ``threshold``
(every test interaction when the interactions are implicit: ``Interactions.implicit`` or the
dataset's ``info["implicit"]``). A test user with no relevant item is skipped and counted; a
user with no training interaction is evaluated (the model scores them like anyone else) and
counted.

**Bounded memory.** The scores of all users never exist at once: users are scored
:data:`BATCH_ELEMENTS` cells at a time (16M, i.e. 64 MB of float32 scores plus masks, ~280
users of the ml-25m shape per batch), seen items are excluded by scattering ``-inf`` through
the training CSR's rows, and the top ``depth`` per row is found among the items of the blocks
whose maxima are among the row's ``depth`` largest (:func:`top_k`: O(items) per user, no sort
and no partition of the whole row), then only those candidates are sorted. Only the (users x
depth) lists are kept. ``benchmarks/ranking_scale.md`` has the measured time and peak memory.

**Sampled negatives** only with ``negatives`` > 0: each evaluated user's candidates are their
relevant test items plus N random items they never interacted with. Sampled metrics are not
consistent with full-ranking ones and can reorder models (Krichene & Rendle, "On Sampled
Metrics for Item Recommendation", KDD 2020), so a warning says so.

This module imports numpy, pandas and :mod:`benchmark.api`; SciPy is imported inside the
functions that build matrices, so that importing it (as plugin modules do at start-up) stays
cheap.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchmark.api import Model, PluginInputError, RatingData

__all__ = [
    "RankingModel",
    "Interactions",
    "Sequences",
    "evaluate",
    "Evaluation",
    "RankedLists",
    "relevance",
    "rank_users",
    "masked_scores",
    "top_k",
    "batches",
    "universe",
    "Universe",
    "fold_seed",
    "SampledMetricsWarning",
    "KRICHENE_RENDLE",
    "BATCH_ELEMENTS",
    "DEPTH",
    "DEFAULT_THRESHOLD",
]

BATCH_ELEMENTS = 1 << 24
"""Scores computed at once (users per batch = this // items): bounds the evaluation's memory."""
DEPTH = 100
"""Length of the ranked lists computed for every evaluated user; a metric at a larger k
computes deeper lists again on demand."""
DEFAULT_THRESHOLD = 4.0
"""A test interaction is relevant when its rating is at least this (5-star scales)."""
if TYPE_CHECKING:
    import scipy.sparse as sp

KRICHENE_RENDLE = ("sampled metrics are not consistent with full-ranking metrics and can reorder "
                   "models (Krichene & Rendle, On Sampled Metrics for Item Recommendation, KDD 2020)")


class SampledMetricsWarning(UserWarning):
    """Ranking metrics computed over sampled negatives instead of the full catalogue."""


# --- Positions of users and items ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Universe:
    """Every user and item of a dataset with its position, and each rating's positions."""

    users: pd.Index
    items: pd.Index
    user_codes: np.ndarray
    item_codes: np.ndarray


_UNIVERSES: weakref.WeakKeyDictionary[RatingData, Universe] = weakref.WeakKeyDictionary()


def universe(data: RatingData) -> Universe:
    """The dataset's users and items, sorted by id (cached per data object: folds share it)."""
    found = _UNIVERSES.get(data)
    if found is None:
        user_codes, users = _factorize(data.ratings["user"])
        item_codes, items = _factorize(data.ratings["item"])
        found = Universe(users, items, user_codes, item_codes)
        _UNIVERSES[data] = found
    return found


def _factorize(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:  # ids of mixed types cannot be sorted: first-appearance order
        codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.int64), pd.Index(uniques)


# --- What a ranking model fits on ---------------------------------------------------------


@dataclass(eq=False)
class Interactions:
    """The training side of a ranking cell, over the positions of the whole dataset.

    ``matrix`` is the (users x items) CSR of training ratings (a repeated pair keeps its last
    rating); ``users``/``items`` map positions to raw ids. Items that appear only in test have
    empty columns, users only in test empty rows. ``ratings`` is the training :class:`RatingData`
    (the ``rows`` of ``source``, built on first use: rating models fit on it through the
    ranking task's adapter). ``sequences()`` gives each user's training items in time order
    (for sequential models). ``implicit`` means every interaction counts, whatever its rating:
    every test interaction is then relevant.
    """

    matrix: sp.csr_matrix
    users: pd.Index
    items: pd.Index
    threshold: float
    implicit: bool = False
    source: RatingData | None = field(default=None, repr=False)
    rows: np.ndarray | None = field(default=None, repr=False)
    _ratings: RatingData | None = field(default=None, repr=False)
    _space: Universe | None = field(default=None, repr=False)
    _sequences: Sequences | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what is rebuilt on demand (the dataset's positions, the sequences)."""
        return {**self.__dict__, "_space": None, "_sequences": None}

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def ratings(self) -> RatingData:
        if self._ratings is None:
            if self.source is None or self.rows is None:
                raise PluginInputError("these interactions carry no training ratings")
            self._ratings = self.source.subset(self.rows)
        return self._ratings

    def binary(self, dtype: Any = np.float32) -> sp.csr_matrix:
        """1 for every training interaction, whatever its rating (implicit feedback)."""
        ones = self.matrix.copy().astype(dtype)
        ones.data[:] = 1
        return ones

    def item_counts(self) -> np.ndarray:
        """Number of training interactions of each item (any rating)."""
        return np.bincount(self.matrix.indices, minlength=self.n_items).astype(np.int64)

    def sequences(self) -> Sequences:
        """Each user's training items in time order: by ``timestamp``, ties by row position
        (the later row is the later interaction), repeats kept. Built once, on first use;
        a ``PluginInputError`` when the training ratings have no ``timestamp`` column."""
        if self._sequences is None:
            if self.source is None or self.rows is None:
                raise PluginInputError("these interactions carry no training ratings to order by time")
            ratings = self.source.ratings
            if "timestamp" not in ratings.columns:
                raise PluginInputError("sequences need a 'timestamp' column; this dataset has none")
            if self._space is None:
                self._space = universe(self.source)
            rows = self.rows
            users = self._space.user_codes[rows]
            order = np.lexsort((rows, ratings["timestamp"].to_numpy()[rows], users))
            indptr = np.zeros(self.n_users + 1, dtype=np.int64)
            np.cumsum(np.bincount(users, minlength=self.n_users), out=indptr[1:])
            self._sequences = Sequences(indptr, self._space.item_codes[rows][order])
        return self._sequences

    @classmethod
    def from_rows(cls, data: RatingData, rows: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                  implicit: bool | None = None) -> Interactions:
        """The training interactions of ``data`` at row positions ``rows``; ``implicit``
        (default: the dataset's ``info["implicit"]``) makes every test interaction relevant."""
        space = universe(data)
        rows = np.asarray(rows, dtype=np.int64)
        ratings = data.ratings["rating"].to_numpy(np.float32)[rows]
        matrix = _csr(space.user_codes[rows], space.item_codes[rows], ratings,
                      (len(space.users), len(space.items)))
        if implicit is None:
            implicit = bool(data.info.get("implicit", False))
        return cls(matrix, space.users, space.items, float(threshold), bool(implicit),
                   RatingData(data.ratings, data.scale, info=data.info), rows,  # no folds: picklable
                   _space=space)

    @classmethod
    def from_matrix(cls, matrix: Any, threshold: float = DEFAULT_THRESHOLD) -> Interactions:
        """Interactions from a (users x items) matrix, ids = positions (tests, examples)."""
        import scipy.sparse as sp

        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        return cls(matrix, pd.RangeIndex(matrix.shape[0]), pd.RangeIndex(matrix.shape[1]),
                   float(threshold))


@dataclass(frozen=True, eq=False)
class Sequences:
    """Users' item sequences in time order, in CSR layout: user ``u``'s items (positions) are
    ``items[indptr[u]:indptr[u + 1]]``, oldest first (:meth:`Interactions.sequences`)."""

    indptr: np.ndarray
    items: np.ndarray

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def of(self, user: int) -> np.ndarray:
        """User position ``user``'s items, oldest first."""
        return self.items[self.indptr[user]:self.indptr[user + 1]]

    def last_items(self) -> np.ndarray:
        """Each user's most recent item position; -1 for a user without any."""
        lengths = np.diff(self.indptr)
        last = np.full(len(lengths), -1, dtype=np.int64)
        has = lengths > 0
        last[has] = self.items[self.indptr[1:][has] - 1]
        return last

    def transitions(self) -> tuple[np.ndarray, np.ndarray]:
        """Every consecutive pair within a user's sequence: ``(previous, next)`` item positions
        (a user's last item and the next user's first are not a pair)."""
        if len(self.items) < 2:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        within = np.ones(len(self.items) - 1, dtype=bool)
        starts = self.indptr[1:-1]
        within[starts[(starts > 0) & (starts < len(self.items))] - 1] = False
        return self.items[:-1][within], self.items[1:][within]


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
         ) -> sp.csr_matrix:
    """A CSR with sorted indices; a repeated (row, col) keeps its last value, not their sum."""
    import scipy.sparse as sp

    codes = np.asarray(rows, dtype=np.int64) * shape[1] + np.asarray(cols, dtype=np.int64)
    order = np.argsort(codes, kind="stable")  # a radix sort of integers; repeats keep row order
    codes, values = codes[order], np.asarray(values)[order]
    if len(codes) > 1:
        last = np.ones(len(codes), dtype=bool)
        last[:-1] = codes[1:] != codes[:-1]
        codes, values = codes[last], values[last]
    rows, cols = codes // shape[1], codes % shape[1]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((values, cols.astype(np.int32), indptr), shape=shape)


# --- The model interface ------------------------------------------------------------------


class RankingModel(Model):
    """A model of the ``ranking`` task: fit on :class:`Interactions`, score items for users.

    Subclasses write ``fit(train)`` (returning ``self``) and ``score(users)``: for a batch of
    user *positions* (rows of ``train.matrix``), an ``(len(users), train.n_items)`` array where
    higher means recommended earlier. The harness excludes each user's training items, ranks
    items without any training interaction last, breaks ties by item id and asks for batches
    small enough to bound memory, so ``score`` never sees all users at once. A model that can
    rank faster itself may also override :meth:`recommend`.
    """

    def fit(self, train: Interactions) -> RankingModel:
        raise NotImplementedError

    def score(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, users: np.ndarray, k: int, exclude: sp.csr_matrix | None = None
                  ) -> np.ndarray:
        """The ``k`` best item positions for each of ``users`` (-1 past the candidates),
        excluding the items of ``exclude``'s rows (default: the training interactions)."""
        train: Interactions = getattr(self, "train_")
        seen = train.matrix if exclude is None else exclude
        return top_k(masked_scores(self.score(users), users, seen, _cold_items(train)), k)


def _cold_items(train: Interactions) -> np.ndarray:
    return np.flatnonzero(train.item_counts() == 0)


# --- Ranking ------------------------------------------------------------------------------


def masked_scores(raw: Any, users: np.ndarray, seen: sp.csr_matrix, cold_items: np.ndarray
                  ) -> np.ndarray:
    """A batch's scores as floats, checked, with seen items at ``-inf`` and items without a
    training interaction just above them (lowest finite value: after every real candidate)."""
    scores = np.asarray(raw)
    if scores.dtype.kind != "f":
        scores = scores.astype(np.float64)
    expected = (len(users), seen.shape[1])
    if scores.shape != expected:
        raise ValueError(f"score returned shape {scores.shape}, expected {expected}")
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(scores, axis=None)  # one pass, no mask: NaN and inf propagate
    if not np.isfinite(total):
        bad = int((~np.isfinite(scores)).sum())  # 0 when only the sum overflowed
        if bad:
            raise ValueError(f"score returned {bad} non-finite values")
    if scores.base is not None or not scores.flags.writeable or not scores.flags.c_contiguous:
        scores = np.array(scores, order="C")  # never write into a model's own array (a view)
    if len(cold_items):
        scores[:, cold_items] = np.finfo(scores.dtype).min
    rows = seen[np.asarray(users)]
    scores[np.repeat(np.arange(len(users)), np.diff(rows.indptr)), rows.indices] = -np.inf
    return scores


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Row-wise positions of the ``k`` highest scores, best first, ties by lower position;
    ``-1`` where a row has fewer than ``k`` scores above ``-inf`` (excluded items).

    Exactly what a stable sort of ``-scores`` would give. The candidates are found without
    partitioning whole rows (:func:`_top_k_blocks`: the row's blocks of :data:`_BLOCK` items
    whose maxima are among its ``k`` largest hold its ``k`` best); where that narrows nothing
    (many equal scores), a partition of each row (:func:`_top_k_partition`).
    """
    n, m = scores.shape
    k = min(int(k), m)
    if n == 0 or k <= 0:
        return np.full((n, max(int(k), 0)), -1, dtype=np.int64)
    ranked = _top_k_blocks(scores, k)
    return ranked if ranked is not None else _top_k_partition(scores, k)


_BLOCK = 128
"""Items per block in :func:`_top_k_blocks`."""


def _top_k_blocks(scores: np.ndarray, k: int) -> np.ndarray | None:
    """:func:`top_k` from each row's candidates; ``None`` when they are too many to be worth it.

    The maxima of a row's blocks of ``_BLOCK`` items (the last block shorter) give a threshold:
    the k-th largest maximum ``t`` is at most the row's k-th largest score (k blocks each hold a
    score >= t), so every one of the row's k best is >= t and lies in a block whose maximum is
    >= t. Only those blocks (about k of a row's 462 at 59,047 items) are read again; their
    scores >= t are the candidates, ordered by (row, -score, position) -- the stable sort's
    order -- and the first k of each row kept. At the ml-25m shape this reads each score twice
    (the maxima, the comparison with ``t``) instead of partitioning a copy of every row
    (``benchmarks/ranking_scale.md``)."""
    n, m = scores.shape
    full = m // _BLOCK
    if full + (m % _BLOCK > 0) <= k:
        return None
    blocks = scores[:, :full * _BLOCK].reshape(n, full, _BLOCK)
    maxima = np.maximum.reduceat(scores, np.arange(0, m, _BLOCK), axis=1)  # the last: the shorter tail
    threshold = np.partition(maxima, maxima.shape[1] - k, axis=1)[:, maxima.shape[1] - k]
    chosen = np.flatnonzero(maxima >= threshold[:, None])
    if len(chosen) * _BLOCK > scores.size // 4:  # many equal maxima: partition rows instead
        return None
    width = maxima.shape[1]
    rows, block = chosen // width, chosen % width
    whole = block < full
    values = blocks[rows[whole], block[whole]]  # (chosen full blocks, _BLOCK)
    hits = np.flatnonzero(values >= threshold[rows[whole], None])
    cand_rows = rows[whole][hits // _BLOCK]
    cand_cols = block[whole][hits // _BLOCK] * _BLOCK + hits % _BLOCK
    cand_values = values.reshape(-1)[hits]
    tail = rows[~whole]  # rows whose last, shorter block is chosen
    if len(tail):
        part = scores[tail, full * _BLOCK:]
        tail_hits = np.flatnonzero(part >= threshold[tail, None])
        width_tail = part.shape[1]
        cand_rows = np.concatenate([cand_rows, tail[tail_hits // width_tail]])
        cand_cols = np.concatenate([cand_cols, full * _BLOCK + tail_hits % width_tail])
        cand_values = np.concatenate([cand_values, part.reshape(-1)[tail_hits]])
    if len(cand_rows) > 8 * n * k:  # ties at the threshold: sorting them costs more than partitions
        return None
    order = np.lexsort((cand_cols, -cand_values, cand_rows))
    cand_rows, cand_cols, cand_values = cand_rows[order], cand_cols[order], cand_values[order]
    starts = np.searchsorted(cand_rows, np.arange(n))
    rank = np.arange(len(cand_rows)) - starts[cand_rows]
    keep = rank < k
    ranked = np.empty((n, k), dtype=np.int64)
    ranked[cand_rows[keep], rank[keep]] = np.where(cand_values[keep] == -np.inf, -1, cand_cols[keep])
    return ranked


def _top_k_partition(scores: np.ndarray, k: int) -> np.ndarray:
    """:func:`top_k` by a partition of each row (``0 < k <= m``).

    A partition finds each row's k-th largest value; everything above it is taken, and of the
    values equal to it the lowest positions fill the rest (a cumulative count, only for rows
    where that tie overflows), so the result is exactly what a stable sort of ``-scores`` would
    give, at the cost of a partition.
    """
    n, m = scores.shape
    kth = np.partition(scores, m - k, axis=1)[:, m - k]
    take = scores >= kth[:, None]
    counts = take.sum(axis=1)
    overflow = np.flatnonzero(counts > k)
    if len(overflow):
        part = scores[overflow]
        equal = part == kth[overflow, None]
        above = counts[overflow] - equal.sum(axis=1)
        keep = equal & (np.cumsum(equal, axis=1) <= (k - above)[:, None])
        take[overflow] = (part > kth[overflow, None]) | keep
    columns = (np.flatnonzero(take) % m).reshape(n, k)  # 10x faster than np.nonzero(take)[1]
    values = np.take_along_axis(scores, columns, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    ranked = np.take_along_axis(columns, order, axis=1).astype(np.int64)
    ranked[np.take_along_axis(values, order, axis=1) == -np.inf] = -1
    return ranked


def batches(n_rows: int, n_items: int, budget: int = BATCH_ELEMENTS) -> list[slice]:
    """Slices of rows such that one batch of scores holds at most ``budget`` values."""
    size = max(1, budget // max(n_items, 1))
    return [slice(start, min(start + size, n_rows)) for start in range(0, n_rows, size)]


def rank_users(model: RankingModel, users: np.ndarray, exclude: sp.csr_matrix,
               cold_items: np.ndarray, depth: int, budget: int = BATCH_ELEMENTS) -> np.ndarray:
    """The top ``depth`` candidates of every user position in ``users``, batch by batch.

    A model that overrides :meth:`RankingModel.recommend` ranks its batches itself (it then
    answers for excluding ``exclude``'s items and for the tie and cold-item rules); its lists
    are checked for shape and range, and an excluded item in them fails the cell.
    """
    n_items = exclude.shape[1]
    depth = min(depth, n_items)
    out = np.empty((len(users), depth), dtype=np.int64)
    own = getattr(type(model), "recommend", RankingModel.recommend) is not RankingModel.recommend
    for part in batches(len(users), n_items, budget):
        batch = users[part]
        if own:
            out[part] = _checked_lists(model.recommend(batch, depth, exclude), batch, exclude, depth)
        else:
            out[part] = top_k(masked_scores(model.score(batch), batch, exclude, cold_items), depth)
    return out


def _checked_lists(raw: Any, users: np.ndarray, exclude: sp.csr_matrix, depth: int) -> np.ndarray:
    lists = np.asarray(raw)
    if lists.shape != (len(users), depth) or lists.dtype.kind not in "iu":
        raise ValueError(f"recommend returned {lists.dtype} shape {lists.shape}, expected integers "
                         f"of shape {(len(users), depth)}")
    if ((lists < -1) | (lists >= exclude.shape[1])).any():
        raise ValueError("recommend returned item positions outside the catalogue")
    rows = exclude[users]
    listed = np.repeat(np.arange(len(users)), depth) * exclude.shape[1] + lists.ravel()
    banned = np.repeat(np.arange(len(users)), np.diff(rows.indptr)) * exclude.shape[1] + rows.indices
    if np.isin(listed[lists.ravel() >= 0], banned).any():
        raise ValueError("recommend listed an item the user rated in training (excluded)")
    return lists.astype(np.int64)


# --- The evaluated users and their ranked lists -------------------------------------------


@dataclass(eq=False)
class RankedLists:
    """What ranking metrics read: for each evaluated user, the ranked list and the relevant items.

    ``top`` is (users x depth) item positions, best first, ``-1`` past the candidates;
    ``relevant`` the (users x items) CSR of relevant test items (sorted indices). ``deeper(k)``
    ranks again to a depth ``k`` when a metric asks for more than ``depth``.
    """

    users: np.ndarray
    top: np.ndarray
    relevant: sp.csr_matrix
    n_items: int
    deeper: Callable[[int], np.ndarray] | None = None
    sampled: int = 0
    _codes: np.ndarray | None = field(default=None, repr=False)

    @property
    def depth(self) -> int:
        return int(self.top.shape[1])

    @functools.cached_property
    def sorted_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """The evaluated users' ids as strings, sorted (how the units file aligns ids), and the
        order that sorts them: computed once, for every per-user metric of the cell."""
        ids = np.asarray([str(u) for u in self.users])
        order = np.argsort(ids, kind="stable")
        return ids[order], order

    def lists(self, k: int) -> np.ndarray:
        """(users x k) ranked item positions (``-1`` past the candidates)."""
        if k > self.depth and self.deeper is not None and self.depth < self.n_items:
            self.top = self.deeper(k)
        top = self.top[:, :k]
        if top.shape[1] < k:  # fewer items than k: pad
            top = np.hstack([top, np.full((len(top), k - top.shape[1]), -1, dtype=top.dtype)])
        return top

    def n_relevant(self) -> np.ndarray:
        indptr: np.ndarray = np.asarray(self.relevant.indptr)
        return np.diff(indptr).astype(np.int64)

    def hits(self, k: int) -> np.ndarray:
        """(users x k) booleans: whether the item at each rank is relevant."""
        top = self.lists(k)
        if self._codes is None:  # relevant pairs as sorted row * n_items + item codes
            rows = np.repeat(np.arange(self.relevant.shape[0], dtype=np.int64),
                             np.diff(self.relevant.indptr))
            self._codes = rows * self.n_items + self.relevant.indices.astype(np.int64)
        query = np.arange(len(top), dtype=np.int64)[:, None] * self.n_items + top
        found = np.searchsorted(self._codes, query)
        found = np.minimum(found, max(len(self._codes) - 1, 0))
        hit = (self._codes[found] == query) if len(self._codes) else np.zeros(top.shape, bool)
        return hit & (top >= 0)


@dataclass
class Evaluation:
    """The result of ranking one fold: the lists, the counts, the protocol actually used."""

    lists: RankedLists
    counts: dict[str, int]
    protocol: dict[str, Any]


def relevance(data: RatingData, rows: np.ndarray, threshold: float, implicit: bool = False
              ) -> sp.csr_matrix:
    """(users x items) booleans: the test interactions at ``rows`` that count as relevant
    (every one when ``implicit`` or the dataset's ``info["implicit"]``)."""
    space = universe(data)
    rows = np.asarray(rows, dtype=np.int64)
    if implicit or data.info.get("implicit", False):
        chosen = rows
    else:
        chosen = rows[data.ratings["rating"].to_numpy()[rows] >= threshold]
    return _csr(space.user_codes[chosen], space.item_codes[chosen], np.ones(len(chosen), bool),
                (len(space.users), len(space.items)))


def evaluate(model: RankingModel, train: Interactions, data: RatingData, test_rows: np.ndarray,
             depth: int = DEPTH, negatives: int = 0, seed: int = 0) -> Evaluation:
    """Rank the candidates of every test user with a relevant item; count who was skipped.

    Users are scored :data:`BATCH_ELEMENTS` scores at a time (read when called: a benchmark
    script may set it); the lists do not depend on it. With ``negatives`` > 0 the counts say
    what was asked (``n_sampled_negatives``) and what was drawn: a user with fewer items they
    never interacted with (in training or test) gets fewer, so ``n_negatives_drawn_min`` is the
    fewest a user got and ``n_users_short_of_negatives`` how many got fewer than asked (then a
    :class:`SampledMetricsWarning` says so too)."""
    space = universe(data)
    test_rows = np.asarray(test_rows, dtype=np.int64)
    relevant = relevance(data, test_rows, train.threshold, train.implicit)
    seen = train.matrix
    overlap = relevant.multiply(seen.astype(bool)).tocsr()
    n_relevant_seen = int(overlap.nnz)
    if n_relevant_seen:  # rated in training too: never a candidate, so never relevant
        relevant = (relevant.astype(np.int8) - overlap.astype(np.int8)).tocsr()
        relevant.eliminate_zeros()
        relevant = relevant.astype(bool)
    test_users = np.unique(space.user_codes[test_rows])
    per_user = np.diff(relevant.indptr)
    evaluated = test_users[per_user[test_users] > 0]
    train_per_user = np.diff(seen.indptr)
    cold = _cold_items(train)
    counts = {"n_test_users": int(len(test_users)),
              "n_users_evaluated": int(len(evaluated)),
              "n_users_no_relevant": int(len(test_users) - len(evaluated)),
              "n_users_no_train": int((train_per_user[evaluated] == 0).sum()),
              "n_items": int(train.n_items),
              "n_items_no_train": int(len(cold)),
              "n_relevant": int(per_user[evaluated].sum()),
              "n_relevant_seen": n_relevant_seen}
    if not len(evaluated):
        if train.implicit or data.info.get("implicit", False):
            raise PluginInputError(f"no test user has a test item they did not interact with in "
                                   f"training; {len(test_users)} test users were skipped")
        raise PluginInputError(
            f"no test user has a relevant item (rating >= {train.threshold:g}); "
            f"{len(test_users)} test users were skipped: lower the dataset entry's threshold")
    protocol: dict[str, Any] = {"candidates": "full", "threshold": train.threshold,
                                "implicit": train.implicit}
    exclude = seen
    if negatives > 0:
        warnings.warn(f"ranking over {negatives} sampled negatives per user: {KRICHENE_RENDLE}",
                      SampledMetricsWarning, stacklevel=2)
        exclude, drawn = _sampled_exclusion(evaluated, relevant, seen, test_rows, space, negatives, seed)
        protocol = {**protocol, "candidates": f"relevant + {negatives} sampled negatives",
                    "warning": KRICHENE_RENDLE}
        counts.update(_drawn_counts(drawn, negatives))

    def deeper(k: int) -> np.ndarray:
        return rank_users(model, evaluated, exclude, cold, k, BATCH_ELEMENTS)

    top = deeper(depth)
    relevant_rows = relevant[evaluated].tocsr()
    relevant_rows.sort_indices()
    lists = RankedLists(space.users[evaluated].to_numpy(), top, relevant_rows, train.n_items,
                        deeper, negatives)
    return Evaluation(lists, counts, protocol)


def _drawn_counts(drawn: np.ndarray, negatives: int) -> dict[str, int]:
    """The counts of sampled negatives: asked, the fewest drawn for a user, the users short of
    them (warned of: ``bench run`` shows it on the cell's line)."""
    short = int((drawn < negatives).sum())
    fewest = int(drawn.min()) if len(drawn) else 0
    if short:
        warnings.warn(f"{short} user(s) had fewer than {negatives} items to draw sampled negatives from "
                      f"(fewest drawn: {fewest})", SampledMetricsWarning, stacklevel=3)
    return {"n_sampled_negatives": int(negatives), "n_negatives_drawn_min": fewest,
            "n_users_short_of_negatives": short}


def _sampled_exclusion(evaluated: np.ndarray, relevant: sp.csr_matrix, seen: sp.csr_matrix,
                       test_rows: np.ndarray, space: Universe, negatives: int, seed: int
                       ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Per evaluated user, everything except their relevant items and ``negatives`` items drawn
    (seeded, without replacement) among the items they never interacted with; and how many were
    drawn for each (fewer than ``negatives`` for a user with fewer such items)."""
    n_users, n_items = seen.shape
    test = _csr(space.user_codes[test_rows], space.item_codes[test_rows],
                np.ones(len(test_rows), np.float32), (n_users, n_items))
    touched = (seen.astype(bool) + test.astype(bool)).tocsr()
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    everything = np.arange(n_items)
    counts = np.zeros(len(evaluated), dtype=np.int64)
    for position, user in enumerate(evaluated):
        untouched = np.setdiff1d(everything, touched.indices[touched.indptr[user]:touched.indptr[user + 1]],
                                 assume_unique=True)
        drawn = rng.choice(untouched, min(negatives, len(untouched)), replace=False)
        counts[position] = len(drawn)
        keep = np.union1d(drawn, relevant.indices[relevant.indptr[user]:relevant.indptr[user + 1]])
        excluded = np.setdiff1d(everything, keep, assume_unique=True)
        rows.append(np.full(len(excluded), user))
        cols.append(excluded)
    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    col = np.concatenate(cols) if cols else np.empty(0, np.int64)
    return _csr(row, col, np.ones(len(row), np.float32), (n_users, n_items)), counts


def fold_seed(fingerprint: str) -> int:
    """A seed for sampled negatives derived from the fold (same fold, same negatives)."""
    return int(fingerprint[:12], 16) if fingerprint else 0
