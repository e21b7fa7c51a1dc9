r"""The numba kernels of ``fast-svd`` and ``fast-svdpp``: the serial epochs of
:mod:`bench_plugins.fast_mf`, the epochs over the grid of :mod:`bench_plugins.fast_mf_parallel`, and
the updates they share.

**One update, two schedules.** The serial loop and the grid visit the ratings in other orders,
but each rating's update is the same: SVD's in :func:`_svd_ratings`, SVD++'s (with z_u and the
user's map y ← scale·y + shift of the O(k) reformulation) in :func:`_svdpp_ratings`, the start
and end of a user's block in :func:`_open_user` and :func:`_apply_map`. The epochs only schedule
them: a user's block at a time serially, a user's run of ratings at a time in a grid block (where
the users come one after another). The literal loop of repeated pairs is the serial epoch with
blocks of one rating.

**Inlined, so free.** numba inlines the steps into each epoch (``register_jitable(inline="always")``:
the step's typed IR goes into the caller before lowering), so an epoch compiles as if the step
were written in its loop: the caller's fastmath flag applies to the step's arithmetic as to its
own, and the exact kernels keep Surprise's IEEE order bit for bit (``tests/test_fast_mf.py``). Two
costs of numba 0.68 shape them. It counts references to each array an inlined function receives,
an atomic increment and decrement per call: per rating that took fast-svd's serial epoch 13-40 %
longer, per run of a user's ratings nothing measurable (500k ratings, k = 100), so a step takes
a run. And it warns (``NumbaIRAssumptionWarning``) when one kernel inlines the same function
twice, so each kernel calls each step once (the grid's apply pass writes its one line itself).

**Why one module.** numba's disk cache (``cache=True``) notices a change to the file that holds a
cached function, not to a function it calls from another file (numba's documentation, "Cache
invalidation"): with the steps elsewhere, editing one would leave the cached epochs running the
old one. Here every kernel that inlines a step lives in the step's file.

**Importable without numba.** The kernels are plain Python until :func:`kernel` imports numba,
registers the steps and compiles the kernel asked for, once per process. The epochs are built by
factories whose closure holds ``fast``: numba's disk cache is keyed by bytecode and closure values,
not by compile flags, so this keeps the fastmath and IEEE variants' entries apart (the epochs
return it only to reference it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray
Kernel = Callable[..., Any]
Terms = tuple[Array, Array, Array, Array]  # b_u, b_i, p_u, q_i
GRID = "grid:"  # a kernel name's prefix: the epoch over the grid (numba's parallel=True)


# --- The steps (inlined into every epoch; a run of one user's ratings each: see the docstring) ---

def _svd_ratings(u: int, items: Array, ratings: Array, run: tuple[int, int], mu: float, terms: Terms,
                 biased: bool, rates: tuple[float, ...]) -> None:
    """Surprise's SVD update for each rating ``run[0] … run[1] - 1`` of user u in turn: e = r - r̂_ui,
    then b_u, b_i (``biased``), p_u and q_i, each from the old p_u and q_i. ``rates``: lr_bu, lr_bi,
    lr_pu, lr_qi, reg_bu … reg_qi."""
    bu, bi, pu, qi = terms
    lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi = rates
    n_factors = pu.shape[1]
    for k in range(run[0], run[1]):
        i = items[k]
        dot = 0.0
        for f in range(n_factors):
            dot += qi[i, f] * pu[u, f]
        err = ratings[k] - (mu + bu[u] + bi[i] + dot)
        if biased:
            bu[u] += lr_bu * (err - reg_bu * bu[u])
            bi[i] += lr_bi * (err - reg_bi * bi[i])
        for f in range(n_factors):
            puf = pu[u, f]
            qif = qi[i, f]
            pu[u, f] += lr_pu * (err * qif - reg_pu * puf)
            qi[i, f] += lr_qi * (err * puf - reg_qi * qif)


def _svdpp_ratings(u: int, items: Array, ratings: Array, run: tuple[int, int], mu: float, terms: Terms,
                   implicit: tuple[Array, Array, float, float], rates: tuple[float, ...]) -> float:
    """SVD++'s update in the O(k) form (``fast_mf``'s docstring) for each rating ``run[0] … run[1] - 1``
    of user u in turn: e with z_u for |I_u|^-½ Σ y_j; b_u, b_i, p_u as SVD's, q_i with p_u + z_u;
    z_u moved as the y_j move; the user's map y ← scale·y + shift composed with the rating's
    affine step. ``implicit``: z_u and shift (u's rows, updated in place), scale, |I_u|^½; returns
    the new scale. ``rates``: lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu … reg_yj."""
    bu, bi, pu, qi = terms
    z, shift, scale, sqrt_iu = implicit
    lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj = rates
    decay = 1.0 - lr_yj * reg_yj
    n_factors = pu.shape[1]
    for k in range(run[0], run[1]):
        i = items[k]
        dot = 0.0
        for f in range(n_factors):
            dot += qi[i, f] * (pu[u, f] + z[f])
        err = ratings[k] - (mu + bu[u] + bi[i] + dot)
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
        for f in range(n_factors):
            puf = pu[u, f]
            qif = qi[i, f]
            zf = z[f]
            pu[u, f] += lr_pu * (err * qif - reg_pu * puf)
            qi[i, f] += lr_qi * (err * (puf + zf) - reg_qi * qif)
            z[f] += lr_yj * (err * qif - reg_yj * zf)
            shift[f] = decay * shift[f] + lr_yj * (err * qif / sqrt_iu)
        scale *= decay
    return scale


def _open_user(z: Array, shift: Array, yj: Array, user_items: Array, sqrt_iu: float) -> float:
    """Start a user's block of SVD++ ratings: z_u = |I_u|^-½ Σ_{j∈I_u} y_j from the current y_j
    (``user_items``: I_u in the user's order), the map the identity; returns its scale, 1."""
    z[:] = 0.0
    for j in user_items:
        for f in range(z.shape[0]):
            z[f] += yj[j, f] / sqrt_iu
    shift[:] = 0.0
    return 1.0


def _apply_map(yj: Array, user_items: Array, scale: float, shift: Array) -> None:
    """Close a user's block: y_j ← scale·y_j + shift for each j of ``user_items`` in turn (an item
    listed twice, twice)."""
    for j in user_items:
        for f in range(shift.shape[0]):
            yj[j, f] = scale * yj[j, f] + shift[f]


def _run_end(users: Array, start: int, end: int) -> int:
    """The end of the run of user ``users[start]``'s ratings that starts at ``start`` (a grid block
    holds its users' ratings user by user)."""
    k = start + 1
    while k < end and users[k] == users[start]:
        k += 1
    return k


_STEPS = (_svd_ratings, _svdpp_ratings, _open_user, _apply_map, _run_end)


# --- Serial epochs: users by inner id, each user's ratings in order -----------------------------

def _make_svd_epoch(fast: bool) -> Kernel:
    def svd_epoch(indptr: Array, items: Array, ratings: Array, mu: float, bu: Array, bi: Array,
                  pu: Array, qi: Array, biased: bool, lr_bu: float, lr_bi: float, lr_pu: float,
                  lr_qi: float, reg_bu: float, reg_bi: float, reg_pu: float, reg_qi: float) -> bool:
        """One epoch of Surprise's SVD SGD: users by inner id, each user's ratings in order."""
        terms = (bu, bi, pu, qi)
        rates = (lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi)
        for u in range(len(indptr) - 1):
            _svd_ratings(u, items, ratings, (indptr[u], indptr[u + 1]), mu, terms, biased, rates)
        return fast

    return svd_epoch


def _make_svdpp_epoch(fast: bool) -> Kernel:
    def svdpp_epoch(indptr: Array, items: Array, ratings: Array, mu: float, bu: Array, bi: Array,
                    pu: Array, qi: Array, yj: Array, lr_bu: float, lr_bi: float, lr_pu: float,
                    lr_qi: float, lr_yj: float, reg_bu: float, reg_bi: float, reg_pu: float,
                    reg_qi: float, reg_yj: float) -> bool:
        """One epoch of SVD++, reformulated to O(k) per rating (see ``fast_mf``'s docstring), users
        by inner id, each user's ratings in order: z_u from the y_j, the ratings, the map applied."""
        terms = (bu, bi, pu, qi)
        rates = (lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj)
        z = np.zeros(pu.shape[1])      # |I_u|^-½ Σ_j y_j, kept current
        shift = np.zeros(pu.shape[1])  # y_j = scale * y_j(block start) + shift
        for u in range(len(indptr) - 1):
            start, end = indptr[u], indptr[u + 1]
            sqrt_iu = np.sqrt(end - start)
            scale = _open_user(z, shift, yj, items[start:end], sqrt_iu)
            scale = _svdpp_ratings(u, items, ratings, (start, end), mu, terms, (z, shift, scale, sqrt_iu), rates)
            _apply_map(yj, items[start:end], scale, shift)  # bring the user's y_j up to date, once
        return fast

    return svdpp_epoch


def _svdpp_epoch_literal(indptr: Array, items: Array, ratings: Array, mu: float, bu: Array,
                         bi: Array, pu: Array, qi: Array, yj: Array, lr_bu: float, lr_bi: float,
                         lr_pu: float, lr_qi: float, lr_yj: float, reg_bu: float, reg_bi: float,
                         reg_pu: float, reg_qi: float, reg_yj: float) -> None:
    """One epoch of SVD++ as Surprise's loop, O(|I_u| k) per rating: the reformulated epoch with a
    block of one rating. Before each rating z_u is summed afresh from the y_j (an item the user
    rated twice counts twice, as in Surprise), and after it each entry of I_u takes the rating's
    map (such an item twice, as Surprise's loop moves it once per entry). Surprise's mathematics;
    the y_j's arithmetic is the map's, a·y + b for y + lr (c - reg y), so its numbers to rounding."""
    terms = (bu, bi, pu, qi)
    rates = (lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj)
    z, shift = np.zeros(pu.shape[1]), np.zeros(pu.shape[1])
    for u in range(len(indptr) - 1):
        start, end = indptr[u], indptr[u + 1]
        sqrt_iu = np.sqrt(end - start)
        for k in range(start, end):
            scale = _open_user(z, shift, yj, items[start:end], sqrt_iu)
            scale = _svdpp_ratings(u, items, ratings, (k, k + 1), mu, terms, (z, shift, scale, sqrt_iu), rates)
            _apply_map(yj, items[start:end], scale, shift)


def _user_implicit(indptr: Array, items: Array, yj: Array) -> Array:
    """|I_u|^-½ Σ_{j∈I_u} y_j per user, summed then scaled as Surprise's ``estimate``."""
    out = np.zeros((len(indptr) - 1, yj.shape[1]))
    for u in range(len(indptr) - 1):
        for k in range(indptr[u], indptr[u + 1]):
            for f in range(yj.shape[1]):
                out[u, f] += yj[items[k], f]
        if indptr[u + 1] > indptr[u]:
            out[u] /= np.sqrt(indptr[u + 1] - indptr[u])
    return out


def _has_repeats(indptr: Array, items: Array, n_items: int) -> bool:
    """Whether some user rated some item more than once."""
    seen = np.full(n_items, -1, dtype=np.int64)
    for u in range(len(indptr) - 1):
        for k in range(indptr[u], indptr[u + 1]):
            if seen[items[k]] == u:
                return True
            seen[items[k]] = u
    return False


# --- Epochs over the grid (fast_mf_parallel): rounds in order, waves of ``threads`` blocks ------

def _make_svd_grid_epoch(fast: bool) -> Kernel:
    from numba import prange

    def svd_grid_epoch(users: Array, items: Array, ratings: Array, block_ptr: Array, shifts: Array,
                       threads: int, mu: float, bu: Array, bi: Array, pu: Array, qi: Array,
                       biased: bool, lr_bu: float, lr_bi: float, lr_pu: float, lr_qi: float,
                       reg_bu: float, reg_bi: float, reg_pu: float, reg_qi: float) -> bool:
        """One epoch of SVD's SGD over the grid: rounds in order, waves of ``threads`` blocks at once."""
        terms = (bu, bi, pu, qi)
        rates = (lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi)
        n = threads
        for rho in range(shifts.shape[0]):
            for w in range(n):
                for t in prange(n):
                    b = (rho * n + t) * n + (t + shifts[rho, w]) % n
                    k = block_ptr[b]
                    while k < block_ptr[b + 1]:  # the block's users in turn
                        run = (k, _run_end(users, k, block_ptr[b + 1]))
                        _svd_ratings(users[k], items, ratings, run, mu, terms, biased, rates)
                        k = run[1]
        return fast

    return svd_grid_epoch


def _make_svdpp_grid_epoch(fast: bool) -> Kernel:
    from numba import prange

    def svdpp_grid_epoch(users: Array, items: Array, ratings: Array, block_ptr: Array, shifts: Array,
                         threads: int, row_bounds: Array, indptr: Array, user_items: Array,
                         sqrt_iu: Array, mu: float, bu: Array, bi: Array, pu: Array, qi: Array,
                         yj: Array, z: Array, shift: Array, scale: Array,
                         lr_bu: float, lr_bi: float, lr_pu: float, lr_qi: float, lr_yj: float,
                         reg_bu: float, reg_bi: float, reg_pu: float, reg_qi: float,
                         reg_yj: float) -> bool:
        """One epoch of SVD++ over the grid: per round, refresh the round's z_u from the y_j, run
        its waves (z_u and each user's map y ← scale_u y + shift_u follow every rating), then
        apply the maps to the y_j (``user_items``/``indptr``: each user's items, as the serial kernel)."""
        terms = (bu, bi, pu, qi)
        rates = (lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj)
        n = threads
        for rho in range(shifts.shape[0]):
            for w in range(n):  # waves
                for t in prange(n):
                    if w == 0:  # refresh the row group's z_u from the y_j (no y_j is written in a wave)
                        g = rho * n + t
                        for u in range(row_bounds[g], row_bounds[g + 1]):
                            scale[u] = _open_user(z[u], shift[u], yj, user_items[indptr[u]:indptr[u + 1]],
                                                  sqrt_iu[u])
                    b = (rho * n + t) * n + (t + shifts[rho, w]) % n
                    k = block_ptr[b]
                    while k < block_ptr[b + 1]:  # the block's users in turn
                        u, run = users[k], (k, _run_end(users, k, block_ptr[b + 1]))
                        implicit = (z[u], shift[u], scale[u], sqrt_iu[u])
                        scale[u] = _svdpp_ratings(u, items, ratings, run, mu, terms, implicit, rates)
                        k = run[1]
            for c in prange(n):  # apply: each y_j takes its raters' maps, by inner id
                for t in range(n):
                    b = (rho * n + t) * n + c
                    for k in range(block_ptr[b], block_ptr[b + 1]):  # rating by rating (no run to find)
                        u = users[k]
                        j = items[k]
                        for f in range(yj.shape[1]):
                            yj[j, f] = scale[u] * yj[j, f] + shift[u, f]
        return fast

    return svdpp_grid_epoch


def _block_layout(indptr: Array, items: Array, ratings: Array, user_group: Array, item_group: Array,
                  columns: int, n_blocks: int) -> tuple[Array, Array, Array, Array]:
    """The ratings (grouped by user, as the serial kernels take them) reordered block by block,
    stably: (block bounds, users, items, ratings), block = row group × columns + column group."""
    block_ptr = np.zeros(n_blocks + 1, dtype=np.int64)
    for u in range(len(indptr) - 1):
        row = user_group[u] * columns
        for k in range(indptr[u], indptr[u + 1]):
            block_ptr[row + item_group[items[k]] + 1] += 1
    for b in range(n_blocks):
        block_ptr[b + 1] += block_ptr[b]
    fill = block_ptr[:-1].copy()
    out_users = np.empty(len(items), dtype=np.int32)
    out_items = np.empty(len(items), dtype=np.int32)
    out_ratings = np.empty(len(items), dtype=np.float64)
    for u in range(len(indptr) - 1):
        row = user_group[u] * columns
        for k in range(indptr[u], indptr[u + 1]):
            b = row + item_group[items[k]]
            at = fill[b]
            fill[b] = at + 1
            out_users[at] = u
            out_items[at] = items[k]
            out_ratings[at] = ratings[k]
    return block_ptr, out_users, out_items, out_ratings


# --- Compilation --------------------------------------------------------------------------------

_EPOCHS: dict[str, Callable[[bool], Kernel]] = {
    "svd": _make_svd_epoch, "svdpp": _make_svdpp_epoch,
    f"{GRID}svd": _make_svd_grid_epoch, f"{GRID}svdpp": _make_svdpp_grid_epoch}
_HELPERS: dict[str, Kernel] = {"svdpp_literal": _svdpp_epoch_literal, "user_implicit": _user_implicit,
                               "has_repeats": _has_repeats, "block_layout": _block_layout}
_COMPILED: dict[tuple[str, bool], Any] = {}
_REGISTERED: list[Kernel] = []  # the steps numba knows (once per process: a second registration would be ambiguous)


def _register_steps() -> None:
    """Make the steps known to numba, inlined into whichever kernel calls them."""
    from numba.extending import register_jitable

    for step in _STEPS:
        if step not in _REGISTERED:
            register_jitable(inline="always")(step)
            _REGISTERED.append(step)


def kernel(name: str, fast: bool = False) -> Any:
    """The numba dispatcher of kernel ``name``, built once per process: an epoch (``svd``,
    ``svdpp``, serial; ``grid:svd``, ``grid:svdpp``, over the grid, parallel), fastmath when
    ``fast``; or a helper (``svdpp_literal``, ``user_implicit``, ``has_repeats``, ``block_layout``),
    always IEEE: without a factory's closure its fastmath variant would share the IEEE one's entry
    in numba's disk cache."""
    fast = fast and name in _EPOCHS
    key = (name, fast)
    if key not in _COMPILED:
        import numba

        _register_steps()
        function = _EPOCHS[name](fast) if name in _EPOCHS else _HELPERS[name]
        _COMPILED[key] = numba.njit(cache=True, fastmath=fast, nogil=True, parallel=name.startswith(GRID))(
            function)
    return _COMPILED[key]


def tiny_training() -> dict[str, Array]:
    """Two users, two items, three ratings, grouped by user: enough to compile every kernel for the
    types of a real fit."""
    return {"indptr": np.array([0, 2, 3], dtype=np.int64), "items": np.array([0, 1, 0], dtype=np.int32),
            "ratings": np.array([1.0, 2.0, 3.0])}
