r"""Stratified parallel SGD for ``fast-svd`` and ``fast-svdpp`` with ``threads: N > 1``.

No two threads ever write the same parameter, so there are no locks and no lost updates, and
the numbers do not depend on the threads' timing.

**The grid** (DSGD: Gemulla, Nijkamp, Haas, Sismanis 2011, *Large-scale matrix factorization
with distributed stochastic gradient descent*, KDD; LIBMF: Chin, Zhuang, Juan, Lin 2015, *A fast
parallel stochastic gradient method for matrix factorization in shared memory systems*, ACM TIST
6(1)). The items are dealt into N *column groups* (in an order shuffled by the model's seed, cut
at equal running counts of ratings); the users, in Surprise's order (inner id), are cut into
``rounds × N`` *row groups* of about equal ratings, consecutive users each. Block (g, c) holds
the ratings of row group g's users for column group c's items. An epoch runs the rounds in
order; round ρ takes row groups ρN … ρN + N - 1, one per thread, and runs N *waves*: in wave w
thread t works on block (ρN + t, (t + s_ρw) mod N), with (s_ρ0 … s_ρ,N-1) a permutation drawn
from the seed for each round of each epoch. The N blocks of a wave (a DSGD *stratum*) share no
row group and no column group, so each p_u, b_u, q_i, b_i is written by one thread in a wave,
and the threads wait for each other at the wave's end. Which thread runs a block, or when,
cannot change a number: the same seed and the same ``threads`` give the same parameters bit for
bit, however loaded the machine and however many cores numba really has (``threads`` above the
cores still builds the grid of ``threads``). One caveat, numba's: in fast mode a process that
compiles the grid's (fastmath, parallel) epochs — in :mod:`bench_plugins.fast_mf_kernels`, beside
the serial ones, sharing their per-user steps — and one that loads them from numba's disk cache
differ in the last bits (3e-16 after 20 epochs here); exact mode is bit for bit either way. SVD
runs one round per epoch (N waves, so N waits for the slowest thread); SVD++ 16 to 64 (:func:`rounds_for`), for its implicit terms (below).

**How the order of updates differs from Surprise's.** Surprise (and ``threads: 1``) visits the
users by inner id, each user's ratings in row order, and updates after every rating. Here the
users still come in that order, round by round, but the N row groups of a round run side by
side, and each user's ratings are visited in N runs (one per column group, in the wave order),
each run in row order. Each rating's update is Surprise's, after every rating; only the order of
the ratings differs, and the factors start from the same draw as ``threads: 1`` (the grid's
shuffle is drawn after them).

Another order is another SGD path, and one order is special: each user's ratings sorted by item,
as ml-latest-small and the larger MovieLens releases ship (bench's splits keep a dataset's
order). The serial loop then runs the same ascending cycle every epoch, and pays for it: on
ml-latest-small (5 folds) fast-svd's RMSE is 0.0034 and fast-svdpp's 0.0066 worse than on the same
rows with each user's ratings shuffled (``python benchmarks/dsgd_order.py``). The grid splits each
user's cycle into N runs in a wave order that changes every round, which undoes part of that:
2 threads fit 0.0029 (SVD) and 0.0032 (SVD++) *better* than 1 there, 4 threads 0.0037 and 0.0045.
Wherever a user's ratings come in no particular order (users' rows shuffled, all rows shuffled,
MovieLens 100k's u1-u5), ``threads: N`` is within 0.002 of ``threads: 1`` — within 0.0006 in every
fold measured — and it is never the worse fit (``tests/test_fast_mf.py``). Staleness (below) is
not the cause: 64 rounds instead of 16 move SVD++ by 0.0002 on the sorted 2M synthetic set of
``benchmarks/dsgd.py``, nor is the wave order's change from epoch to epoch (the same order every
epoch: within 0.00012).

**SVD++'s implicit terms.** y_j is indexed by the items the user rated, which lie in every column
group: a thread on block (g, c) that read z_u = |I_u|^-½ Σ_{j∈I_u} y_j from the y_j and wrote
every y_j of its users would cross into the columns of the other threads. So no y_j is read or
written during the waves. The O(k) reformulation of ``bench_plugins.fast_mf`` makes the implicit
terms per-user state: z_u, and the affine map y ← A_u y + B_u that u's ratings apply to each of
its y_j (A_u a scalar, B_u a k-vector), both owned by u's row group as p_u is, and updated in O(k)
per rating, exactly as the serial kernel updates them along a user's ratings. Each round is then:

1. *refresh* (each thread its row group, at the start of the first wave, when no y_j is being
   written): z_u = |I_u|^-½ Σ_{j∈I_u} y_j from the current y_j, A_u = 1, B_u = 0 — as the serial
   kernel does when it reaches a user;
2. *waves*: the SGD above, each rating also moving z_u and composing (A_u, B_u);
3. *apply* (one thread per column group): y_j ← A_u y_j + B_u for each rater u of j in the round,
   raters by inner id — as the serial kernel does when it leaves a user, in Surprise's order.

The departure from Surprise's mathematics: a user's z_u does not see the y_j changes made by the
other users of its round (Surprise's loop sees those of every user before it); they reach the
users of the following rounds. This staleness is a share 1/rounds of the users, and it matters:
run in Surprise's order with the z_u refreshed 1, 4, 8 or 16 times an epoch, SVD++'s RMSE on u1
(seed 0) is 0.048, 0.003, 0.001, 0.0003 above the serial fit's, and on the 2M synthetic set of
``benchmarks/dsgd.py`` (100 factors) 0.07 above at 4, 0.028 at 8, within 0.0004 at 16 and more.
Hence 16 rounds at least, more (up to 64) where the blocks stay large; data where a round's users
rate the same items far more densely than these may want more. The cost is the serial
reformulated kernel's: one z_u and one write of each y_j per user per epoch.

**Waiting.** The threads wait for each other at the end of each wave (SVD: N waits an epoch;
SVD++: (N + 1) × rounds), so a thread that the operating system deschedules — on a machine busy
with other work — holds the others up. On two quiet cores, 2M ratings, 100 factors: 2.0× (SVD)
and 2.1× (SVD++) faster than one thread for 0.93× and 0.91× its CPU time, the grid's own work
no more than the serial fit's (``benchmarks/fast_mf.md``). numba's OpenMP threads spin a while
before they sleep; on a shared machine ``OMP_WAIT_POLICY=passive`` in the environment stops that
spinning (this module does not set it: it would change every OpenMP library in the process).

**Cache lines.** The grid numbers the items so that each column group is a run of consecutive
rows (:class:`Grid`): the b_i, q_i and y_j that two threads write then never share a cache line
(but at the runs' ends). With the items shuffled in place, every rating's b_i update would fight
over a line with the other threads'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench_plugins.fast_mf_kernels import GRID, kernel, tiny_training

MIN_ROUNDS, MAX_ROUNDS = 16, 64  # SVD++'s rounds per epoch: its z_u miss a 1/rounds share of the y changes
MIN_BLOCK = 32_768  # ratings a block holds at least when rounds are above 16 (a wave's work against its barrier)
Array = np.ndarray


# --- Kernels -------------------------------------------------------------------------------------
# The epochs over the grid (``grid:svd``, ``grid:svdpp``) and the block layout are in
# bench_plugins.fast_mf_kernels, beside the serial epochs whose update per rating they share.

def usable_threads(threads: int) -> int:
    """Set numba's thread count for this thread's parallel kernels: ``threads``, at most numba's
    pool (the machine's cores unless NUMBA_NUM_THREADS says otherwise); the count set."""
    import numba

    count = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    numba.set_num_threads(count)
    return int(count)


# --- The grid ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """The training ratings laid out block by block for ``threads`` threads and ``rounds`` rounds.

    Block b = g × threads + c holds row group g's ratings of column group c's items: positions
    ``block_ptr[b]:block_ptr[b + 1]`` of ``users``, ``items``, ``ratings`` (users by inner id,
    each user's ratings in row order). Row group g is the users ``row_bounds[g]:row_bounds[g + 1]``.

    Items have the grid's own numbering, in which each column group is a run of consecutive
    numbers: grid item r is the model's item ``item_order[r]``. So the rows of q_i, b_i, y_j that
    two threads write never share a cache line (but at the runs' ends); the model's per-item
    arrays go in with :meth:`to_grid` and come back with :meth:`from_grid`, the same numbers.
    """

    threads: int
    rounds: int
    users: Array       # int32, per rating, block by block
    items: Array       # int32, grid numbering
    ratings: Array     # float64
    block_ptr: Array   # int64, rounds × threads² + 1
    row_bounds: Array  # int64, rounds × threads + 1
    item_order: Array  # int64, the model's item of each grid item
    user_items: Array  # int32, the training items grouped by user (the model's order), grid numbering

    def to_grid(self, values: Array) -> Array:
        """A per-item array (b_i, q_i, y_j) in the grid's numbering: a copy."""
        ordered: Array = values[self.item_order]
        return ordered

    def from_grid(self, values: Array, out: Array) -> None:
        """Write the grid-numbered per-item array ``values`` back into the model's ``out``."""
        out[self.item_order] = values

    def layout(self) -> tuple[Array, Array, Array, Array]:
        """The epoch kernels' leading arguments."""
        return self.users, self.items, self.ratings, self.block_ptr

    def shifts(self, rng: np.random.RandomState) -> Array:
        """An epoch's wave order: for each round a permutation of the N column shifts, from ``rng``."""
        return np.argsort(rng.random_sample((self.rounds, self.threads)), axis=1, kind="stable").astype(np.int64)


def rounds_for(n_ratings: int, threads: int) -> int:
    """SVD++'s rounds per epoch: as many as keep blocks of ``MIN_BLOCK`` ratings, within [16, 64]
    (more rounds, fresher z_u; fewer, fewer waits at the end of a wave)."""
    return int(min(MAX_ROUNDS, max(MIN_ROUNDS, n_ratings // (threads * threads * MIN_BLOCK))))


def balanced_groups(counts: Array, parts: int, order: Array) -> Array:
    """Group (0 … parts - 1) of each entry: the entries taken in ``order`` and cut where the
    running count of ratings (at each entry's middle) crosses a multiple of total / parts, so
    groups follow ``order`` and hold about equal ratings."""
    taken = counts[order].astype(np.float64)
    middle = np.cumsum(taken) - taken / 2
    total = float(taken.sum())
    group = np.empty(len(counts), dtype=np.int64)
    share = (middle * parts / total).astype(np.int64) if total > 0 else np.zeros(len(order), np.int64)
    group[order] = np.minimum(share, parts - 1)
    return group


def build_grid(data: dict[str, Array], n_items: int, threads: int, rounds: int,
               rng: np.random.RandomState) -> Grid:
    """The grid of ``threads`` and ``rounds`` over the training ratings ``data`` (indptr, items,
    ratings grouped by user in inner-id order), the items shuffled into column groups by ``rng``."""
    indptr, items = data["indptr"], data["items"]
    n, rounds = int(threads), int(rounds)
    n_users = len(indptr) - 1
    user_group = balanced_groups(np.diff(indptr), rounds * n, np.arange(n_users))
    item_group = balanced_groups(np.bincount(items, minlength=n_items), n, rng.permutation(n_items))
    item_order = np.argsort(item_group, kind="stable")  # column groups in turn, items by id within one
    number = np.empty(n_items, dtype=np.int64)
    number[item_order] = np.arange(n_items)
    user_items = number[items].astype(np.int32)
    block_ptr, users, items_b, ratings = kernel("block_layout")(indptr, user_items, data["ratings"], user_group,
                                                                item_group[item_order], n, rounds * n * n)
    row_bounds = np.searchsorted(user_group, np.arange(rounds * n + 1)).astype(np.int64)
    return Grid(n, rounds, users, items_b, ratings, block_ptr, row_bounds, item_order, user_items)


def warm_up(model: str, fast: bool) -> None:
    """Compile (or load from numba's disk cache) the grid builder and ``model``'s epoch over the
    grid (``svd`` or ``svdpp``) on a two-by-two input."""
    data = tiny_training()
    grid = build_grid(data, 2, 2, 1, np.random.RandomState(0))
    head = (*grid.layout(), grid.shifts(np.random.RandomState(0)), grid.threads)
    terms = (0.0, np.zeros(2), np.zeros(2), np.zeros((2, 2)), np.zeros((2, 2)))
    if model == "svd":
        kernel(f"{GRID}svd", fast)(*head, *terms, True, *(0.0,) * 8)
    else:
        per_user = (np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), np.ones(2))  # y_j, z, shift, scale
        kernel(f"{GRID}svdpp", fast)(*head, grid.row_bounds, data["indptr"], grid.user_items, np.ones(2), *terms,
                              *per_user, *(0.0,) * 10)
