r"""Fast SVD and SVD++: Surprise's algorithms, compiled with numba, with an exact mode.

``fast-svd`` is Funk's biased matrix factorisation as Surprise's ``SVD`` trains it; ``fast-svdpp``
is Koren's SVD++ as Surprise's ``SVDpp`` trains it. Parameters, defaults, initialisation, the
order of the SGD updates and the handling of unknown users and items are Surprise's.

**The model** (Koren 2008, *Factorization meets the neighborhood: a multifaceted collaborative
filtering model*, KDD, section 4, eq. 15; Surprise ``prediction_algorithms/
matrix_factorization.pyx``)::

    SVD:    r̂_ui = μ + b_u + b_i + q_i·p_u                       (biased=False: q_i·p_u)
    SVD++:  r̂_ui = μ + b_u + b_i + q_i·(p_u + |I_u|^-½ Σ_{j∈I_u} y_j)

where I_u are the items u rated in training. For each epoch and each training rating (u, i, r),
in Surprise's order — ``trainset.all_ratings()``: users by inner id (first appearance in the
training rows), each user's ratings in row order — with e = r - r̂_ui and z_u = |I_u|^-½ Σ y_j::

    b_u += lr_bu (e - reg_bu b_u)          b_i += lr_bi (e - reg_bi b_i)
    p_u += lr_pu (e q_i - reg_pu p_u)      q_i += lr_qi (e (p_u + z_u) - reg_qi q_i)   (old p_u, q_i)
    y_j += lr_yj (e |I_u|^-½ q_i - reg_yj y_j)   for every j ∈ I_u                       (SVD++)

μ is the training mean (0 when ``biased=False``), biases start at 0, and the factors are drawn
as Surprise draws them: ``rng = numpy.random.RandomState(random_state)`` (numpy's global
generator when ``None``), then ``p = rng.normal(init_mean, init_std_dev, (n_users, k))``, then
``q`` for the items, then (SVD++) ``y``.

**The exact O(k) reformulation of SVD++.** Surprise recomputes z_u (|I_u| k operations) and
updates every y_j, j ∈ I_u (|I_u| k more) for each rating, so an epoch costs Σ_u |I_u|² k. But
all y_j of the user receive the *same* affine map per rating,
``y ← a y + lr_yj c`` with ``a = 1 - lr_yj reg_yj`` and ``c = e |I_u|^-½ q_i``, so

* their scaled sum follows in O(k): ``z_u ← z_u + lr_yj (e q_i - reg_yj z_u)`` (because
  |I_u| · |I_u|^-½ · |I_u|^-½ = 1), and
* after m ratings each of them is ``y_j = A y_j⁰ + B`` with ``A ← a A`` and ``B ← a B + lr_yj c``,
  a scalar and a k-vector carried along the user's block of ratings; the y_j are written once,
  when the block ends.

This needs the ratings grouped by user — which Surprise's ``all_ratings()`` order is — and gives
the same mathematics at O(k) per rating plus O(|I_u| k) per user block: O(R k) per epoch. The
numbers differ from Surprise's only by floating-point rounding (RMSE equal to ~1e-15 on
MovieLens 100k). A user who rated the same item twice (duplicate training pairs) breaks the
"same map for every y_j" premise, so such data falls back to the literal loop.

**Modes.** ``mode="exact"`` keeps IEEE arithmetic in Surprise's order (no fastmath): SVD gives
bit-identical parameters, SVD++ Surprise's numbers to rounding. ``mode="fast"`` (the default)
lets LLVM reorder floating-point work (``fastmath``: vectorised dot products and updates); the
training order and the mathematics are unchanged, so RMSE stays within ±0.001 of Surprise.

**Predictions** are Surprise's ``estimate``, vectorised: with a known user and item, the formula
above; otherwise (biased) μ plus the bias of whichever of the user and item is known, and
(``biased=False``, where Surprise raises ``PredictionImpossible``) the training mean, Surprise's
``default_prediction()``.

**Threads.** ``threads: 1`` (the default) is the serial loop above, bit for bit. With
``threads: N`` above 1 the fit is stratified parallel SGD (DSGD, Gemulla et al. 2011; LIBMF's
blocks, Chin et al. 2015) in :mod:`bench_plugins.fast_mf_parallel`: the ratings in a grid of user
groups × N item groups, the N threads working at once only on blocks that share no user and no
item, so no two threads ever write the same p_u, b_u, q_i, b_i (nor, for SVD++, the same z_u or
y_j: the y_j are written in passes of their own, see that module). Each rating's update is
Surprise's; the ratings come in another order (each user's split by item group), and within a
round SVD++'s z_u do not see the other users' y_j changes. The same seed and the same ``threads``
give the same numbers bit for bit, whatever the threads' timing (but for a last-bit difference,
in fast mode, between a process that compiled the kernels and one that loaded them from numba's
cache: see that module). RMSE within 0.002 of ``threads: 1`` wherever a user's ratings come in
no particular order; where they come sorted by item (ml-latest-small as shipped: bench's splits keep
a dataset's order), the serial loop's fixed ascending cycle costs it 0.003-0.007 RMSE, which
threads partly undo, so ``threads: N`` then fits *better*, by up to 0.005 (``tests/test_fast_mf.py``;
figures in ``benchmarks/fast_mf.md``, ``python benchmarks/dsgd_order.py``). SVD++ on data with repeated (user, item) pairs runs the serial
literal loop whatever ``threads`` says. The engine counts a cell's ``threads`` against ``--jobs``.

numba is imported in :meth:`prepare` (which compiles the kernels on a tiny input, cached on
disk, before the harness starts the fit clock; ``compile_seconds`` in ``info()``); this module
imports without it. The harness calls :meth:`_FastMF.warm_up` (contract 1.5) before a cell's time
limit starts, which compiles the same kernels there: a cold cache's compilation (seconds) is the
row's ``warmup_seconds``, never a timeout, and the cell's ``prepare`` finds them compiled. The kernels are module-level functions compiled once per process, so a
model pickles as plain numpy state and runs in worker processes.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from bench_plugins import fast_mf_kernels, fast_mf_parallel
from benchmark.api import (RATING, ModelSpec, PluginInputError, RatingData, RatingModel, hookimpl, positions_in,
                           report_progress)

NUMBA = {"numba": "numba"}
MODES = ("fast", "exact")
_CHUNK = 1 << 20  # ratings per vectorised step
_GATHER_BYTES = 64 << 20  # q_i and p_u rows gathered at once to predict (k = 100: 41,943 pairs;
# SVD++ adds p_u + z_u's two more, so up to 128 MB)


# --- Kernels -------------------------------------------------------------------------------------
# In bench_plugins.fast_mf_kernels (plain Python, compiled by its kernel() on first use, once per
# process), with those of ``threads`` above 1: both run the same update per rating.


# --- Models --------------------------------------------------------------------------------------

def _positions_in_order(index: Any, ids: Any, order: np.ndarray) -> np.ndarray:
    """``positions_in(index, ids.take(order), np.int32)``, the column gathered a chunk at a time."""
    positions = np.empty(len(order), dtype=np.int32)
    for start in range(0, len(order), _CHUNK):
        positions[start:start + _CHUNK] = index.get_indexer(ids.take(order[start:start + _CHUNK]))
    return positions


class _FastMF(RatingModel):
    """Shared by both models: indexing in Surprise's order, the RNG, compilation, prediction."""

    requires = NUMBA
    constraints = {"n_factors": {"minimum": 1}, "n_epochs": {"minimum": 0},
                   "init_std_dev": {"minimum": 0}, "mode": {"enum": list(MODES)},
                   "threads": {"minimum": 1},
                   # the ranges Surprise's SVD declares: a rate > 0, a regularisation >= 0 (None: the _all one)
                   **{f"lr_{name}": {"exclusiveMinimum": 0} for name in ("all", "bu", "bi", "pu", "qi")},
                   **{f"reg_{name}": {"minimum": 0} for name in ("all", "bu", "bi", "pu", "qi")}}
    n_factors: int
    n_epochs: int
    init_mean: float
    init_std_dev: float
    threads: int
    grid_: dict[str, int] | None = None  # the parallel fit's grid (threads, rounds); None: serial
    biased: bool = True
    _rates: tuple[str, ...] = ()
    mode: str
    random_state: int | np.random.RandomState | None
    pu_: np.ndarray
    qi_: np.ndarray
    bu_: np.ndarray
    bi_: np.ndarray

    def _store(self, arguments: Mapping[str, Any]) -> None:
        """``__init__``'s whole work (scikit-learn's rule): each parameter kept under its own name,
        nothing checked; ``arguments`` is ``__init__``'s ``locals()``."""
        self.set_params(**{name: arguments[name] for name in self.param_defaults()})

    def _initial_terms(self, rng: np.random.RandomState, implicit: bool) -> tuple[np.ndarray, ...]:
        """Surprise's start: b_u and b_i at 0; p_u, q_i, then (``implicit``: SVD++) y_j drawn from
        N(init_mean, init_std_dev), in that order, from ``rng``."""
        rows = (len(self.users_), len(self.items_), len(self.items_))[:3 if implicit else 2]
        factors = [rng.normal(self.init_mean, self.init_std_dev, (n, self.n_factors)) for n in rows]
        return (np.zeros(len(self.users_)), np.zeros(len(self.items_)), *factors)

    def _rate(self, kind: str, term: str) -> float:
        """``lr_bu`` etc. if set, else ``lr_all`` (Surprise's precedence)."""
        own = getattr(self, f"{kind}_{term}")
        return float(own if own is not None else getattr(self, f"{kind}_all"))

    def _learning(self) -> tuple[float, ...]:
        """The learning rates then the regularisation terms, in the kernels' argument order."""
        return tuple(self._rate(kind, term) for kind in ("lr", "reg") for term in self._rates)

    def _check_mode(self) -> bool:
        if self.mode not in MODES:
            raise PluginInputError(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        return self.mode == "fast"

    def _kernel_names(self) -> list[tuple[str, bool]]:
        raise NotImplementedError

    @classmethod
    def warm_up(cls, params: Mapping[str, Any]) -> None:
        """Compile (or load from numba's disk cache) the kernels a model with ``params`` runs (its
        ``mode``; serial, or the grid's for ``threads`` above 1) before the cell's clock starts:
        on a cold cache that takes seconds, which never count against ``--timeout``. A kernel
        compiled in this process is kept (:func:`bench_plugins.fast_mf_kernels.kernel`), so a later
        call only runs the kernels once on the two-by-two input (microseconds). A bad ``mode`` is
        left for the fit to report."""
        known = cls.param_defaults()
        model = cls(**{name: value for name, value in params.items() if name in known})
        try:
            model.prepare()
        except PluginInputError:
            pass

    def prepare(self) -> None:
        """Import numba and compile (or load from its on-disk cache) the kernels of this mode."""
        started = time.perf_counter()
        for name, fast in self._kernel_names():
            self._warm_up(name, fast)
        self.compile_seconds_ = time.perf_counter() - started

    def _warm_up(self, name: str, fast: bool) -> None:
        if name.startswith(fast_mf_kernels.GRID):
            fast_mf_parallel.warm_up(name[len(fast_mf_kernels.GRID):], fast)
            return
        kernel, data = fast_mf_kernels.kernel(name, fast), fast_mf_kernels.tiny_training()
        if name == "has_repeats":
            kernel(data["indptr"], data["items"], 2)
        elif name == "user_implicit":
            kernel(data["indptr"], data["items"], np.zeros((2, 2)))
        else:
            factors = [np.zeros((2, 2)) for _ in range(3 if name.startswith("svdpp") else 2)]
            flags = () if name.startswith("svdpp") else (True,)
            kernel(data["indptr"], data["items"], data["ratings"], 0.0, np.zeros(2), np.zeros(2),
                   *factors, *flags, *(0.0,) * (2 * len(self._rates)))

    def _index(self, train: RatingData) -> dict[str, Any]:
        """Training positions grouped by user as ``trainset.all_ratings()`` yields them.

        Positions are found a chunk at a time as int32 (the kernels' type), never as full int64
        arrays: the working set is the kernels' own arrays (12 bytes a rating) and the order."""
        frame = train.ratings
        items: np.ndarray | None = None
        if self.own_index_training():  # a subclass's own (contract 1.1)
            users, items = self.index_training(train)
        else:
            self.learn_ids(train)
            users = positions_in(self.users_, frame["user"], np.int32)
        order = np.argsort(users, kind="stable")
        indptr = np.zeros(len(self.users_) + 1, dtype=np.int64)
        for start in range(0, len(users), _CHUNK):
            indptr[1:] += np.bincount(users[start:start + _CHUNK], minlength=len(self.users_))
        np.cumsum(indptr, out=indptr)
        del users
        ratings = frame["rating"].to_numpy(dtype=np.float64)[order]
        self.mean_ = float(np.mean(ratings)) if len(ratings) else 0.0  # Trainset.global_mean
        return {"indptr": indptr, "ratings": ratings,
                "items": (_positions_in_order(self.items_, frame["item"], order) if items is None
                          else np.asarray(items)[order].astype(np.int32))}

    def _rng(self) -> np.random.RandomState:
        """Surprise's ``get_rng``: a seed, a RandomState, or numpy's global generator (None)."""
        if self.random_state is None:
            return np.random.mtrand._rand
        if isinstance(self.random_state, np.random.RandomState):
            return self.random_state
        return np.random.RandomState(self.random_state)

    def _epoch_name(self, name: str) -> str:
        """The kernel(s) of epoch ``name`` (``svd``, ``svdpp``) that this model's ``threads`` runs:
        the serial one, or (``grid:`` + name) the stratified parallel ones."""
        return f"{fast_mf_kernels.GRID}{name}" if self.threads > 1 else name

    def _grid(self, data: dict[str, Any], rounds: int, rng: np.random.RandomState) -> fast_mf_parallel.Grid:
        """The stratified grid of ``threads`` and ``rounds`` over the training ratings (its
        shuffle drawn from ``rng`` after the factors), and numba's thread count set for the fit."""
        grid = fast_mf_parallel.build_grid(data, len(self.items_), int(self.threads), rounds, rng)
        fast_mf_parallel.usable_threads(grid.threads)
        self.grid_ = {"threads": grid.threads, "rounds": grid.rounds}
        return grid

    def _start(self, train: RatingData) -> tuple[bool, dict[str, Any], np.random.RandomState]:
        fast = self._check_mode()
        if getattr(self, "compile_seconds_", None) is None:
            self.prepare()
        self.grid_ = None
        return fast, self._index(train), self._rng()

    def _run_epochs(self, epoch: Callable[[], object]) -> None:
        for done in range(1, self.n_epochs + 1):
            epoch()
            report_progress(done, self.n_epochs)

    def _user_factors(self, u: np.ndarray) -> np.ndarray:
        factors: np.ndarray = self.pu_[u]
        return factors

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Known users and items: (μ + b_u + b_i +) q_i · (p_u [+ z_u]), in chunks of pairs."""
        dot = np.empty(len(u), dtype=np.float64)
        step = max(1, _GATHER_BYTES // (16 * self.qi_.shape[1]))  # two gathered factor rows a pair
        for start in range(0, len(u), step):
            part = slice(start, start + step)
            dot[part] = np.einsum("ij,ij->i", self.qi_[i[part]], self._user_factors(u[part]))
        if not self.biased:
            return dot
        biased: np.ndarray = self.mean_ + self.bu_[u] + self.bi_[i] + dot
        return biased

    def fallback(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """An unknown user or item: μ plus the known bias (biased), else the training mean."""
        if not self.biased:
            return super().fallback(u, i)
        known_u, known_i = u >= 0, i >= 0
        return (self.mean_ + np.where(known_u, self.bu_[np.where(known_u, u, 0)], 0.0)
                + np.where(known_i, self.bi_[np.where(known_i, i, 0)], 0.0))

    def info(self) -> dict[str, Any]:
        return {"mode": self.mode, "compile_seconds": getattr(self, "compile_seconds_", None),
                "n_users": len(self.users_), "n_items": len(self.items_), "threads": self.threads,
                "grid": self.grid_}


_TERM_SYMBOLS = {"bu": "b_u", "bi": "b_i", "pu": "p_u", "qi": "q_i", "yj": "y_j"}
_SHARED_PARAMS = """\
:param n_epochs: passes of SGD over the training ratings.
:param init_mean: mean of the normal distribution the factors start from.
:param init_std_dev: standard deviation of that distribution.
:param lr_all: learning rate of every term without its own.
:param reg_all: regularisation of every term without its own.
{per_term}
:param random_state: seed of ``numpy.random.RandomState`` for the factors (None: numpy's global one).
:param mode: ``"fast"`` (fastmath, RMSE within ±0.001 of Surprise) or ``"exact"`` (Surprise's numbers).
:param threads: cores for the fit; above 1, stratified parallel SGD (blocks sharing no user, no item): not
    Surprise's order, but the same numbers for the same seed and threads."""

_Model = TypeVar("_Model", bound=type[_FastMF])


def _shared_params(cls: _Model) -> _Model:
    """Append to a model's docstring the ``:param`` lines both models share (Surprise's SGD
    settings; a learning rate and a regularisation per term of ``cls._rates``, falling back on the
    ``_all`` ones), where ``bench plugins`` and ``bench schema`` read a parameter's doc."""
    per_term = [f":param {kind}_{term}: {what} of {_TERM_SYMBOLS[term]} (default ``{kind}_all``)."
                for kind, what in (("lr", "learning rate"), ("reg", "regularisation")) for term in cls._rates]
    cls.__doc__ = inspect.cleandoc(cls.__doc__ or "") + "\n" + _SHARED_PARAMS.format(per_term="\n".join(per_term))
    return cls


@_shared_params
class FastSVD(_FastMF):
    """Surprise's SVD (biased matrix factorisation by SGD), compiled with numba.

    :param n_factors: number of factors k (Surprise: 100).
    :param biased: learn μ, b_u and b_i; ``False`` predicts q_i·p_u alone (PMF).
    """

    _rates = ("bu", "bi", "pu", "qi")

    def __init__(self, n_factors: int = 100, n_epochs: int = 20, biased: bool = True,
                 init_mean: float = 0.0, init_std_dev: float = 0.1, lr_all: float = 0.005,
                 reg_all: float = 0.02, lr_bu: float | None = None, lr_bi: float | None = None,
                 lr_pu: float | None = None, lr_qi: float | None = None,
                 reg_bu: float | None = None, reg_bi: float | None = None,
                 reg_pu: float | None = None, reg_qi: float | None = None,
                 random_state: int | None = None, mode: str = "fast", threads: int = 1):
        self._store(locals())

    def _kernel_names(self) -> list[tuple[str, bool]]:
        return [(self._epoch_name("svd"), self._check_mode())]

    def fit(self, train: RatingData) -> FastSVD:
        fast, data, rng = self._start(train)
        bu, bi, pu, qi = self._initial_terms(rng, implicit=False)
        mu, flags = self.mean_ if self.biased else 0.0, (bool(self.biased), *self._learning())
        if self.threads > 1:
            grid = self._grid(data, 1, rng)  # one round: SVD has no per-user state to refresh
            data.clear()  # the grid holds its own copy of the ratings
            epoch = fast_mf_kernels.kernel(self._epoch_name("svd"), fast)
            grid_bi, grid_qi = grid.to_grid(bi), grid.to_grid(qi)
            self._run_epochs(lambda: epoch(*grid.layout(), grid.shifts(rng), grid.threads, mu, bu, grid_bi, pu,
                                           grid_qi, *flags))
            grid.from_grid(grid_bi, bi)
            grid.from_grid(grid_qi, qi)
        else:
            serial = fast_mf_kernels.kernel("svd", fast)
            self._run_epochs(lambda: serial(data["indptr"], data["items"], data["ratings"], mu, bu, bi, pu, qi,
                                            *flags))
        self.pu_, self.qi_, self.bu_, self.bi_ = pu, qi, bu, bi
        return self


@_shared_params
class FastSVDpp(_FastMF):
    """Surprise's SVD++ (SVD with implicit feedback), compiled with numba, O(k) per rating.

    :param n_factors: number of factors k (Surprise: 20).
    """

    _rates = ("bu", "bi", "pu", "qi", "yj")
    constraints = {**_FastMF.constraints, "lr_yj": {"exclusiveMinimum": 0}, "reg_yj": {"minimum": 0}}

    def __init__(self, n_factors: int = 20, n_epochs: int = 20, init_mean: float = 0.0,
                 init_std_dev: float = 0.1, lr_all: float = 0.007, reg_all: float = 0.02,
                 lr_bu: float | None = None, lr_bi: float | None = None,
                 lr_pu: float | None = None, lr_qi: float | None = None,
                 lr_yj: float | None = None, reg_bu: float | None = None,
                 reg_bi: float | None = None, reg_pu: float | None = None,
                 reg_qi: float | None = None, reg_yj: float | None = None,
                 random_state: int | None = None, mode: str = "fast", threads: int = 1):
        self._store(locals())

    def _kernel_names(self) -> list[tuple[str, bool]]:
        return [(self._epoch_name("svdpp"), self._check_mode()),
                ("svdpp_literal", False), ("user_implicit", False), ("has_repeats", False)]

    def fit(self, train: RatingData) -> FastSVDpp:
        fast, data, rng = self._start(train)
        bu, bi, pu, qi, yj = self._initial_terms(rng, implicit=True)
        indptr, items = data["indptr"], data["items"]
        terms, learning = (self.mean_, bu, bi, pu, qi), self._learning()
        # A user who rated an item twice breaks the reformulation's premise: use the literal loop
        # (serial, whatever ``threads`` says).
        self.literal_ = bool(fast_mf_kernels.kernel("has_repeats")(indptr, items, len(self.items_)))
        if self.threads > 1 and not self.literal_:
            self._fit_grid(data, fast, rng, (*terms, yj), learning)
        else:
            epoch = (fast_mf_kernels.kernel("svdpp_literal") if self.literal_
                     else fast_mf_kernels.kernel("svdpp", fast))
            self._run_epochs(lambda: epoch(indptr, items, data["ratings"], *terms, yj, *learning))
        self.pu_, self.qi_, self.yj_, self.bu_, self.bi_ = pu, qi, yj, bu, bi
        self.implicit_ = fast_mf_kernels.kernel("user_implicit")(indptr, items, yj)
        return self

    def _fit_grid(self, data: dict[str, Any], fast: bool, rng: np.random.RandomState,
                  terms: tuple[Any, ...], learning: tuple[float, ...]) -> None:
        """The SVD++ epochs over the grid (``terms``: μ, b_u, b_i, p_u, q_i, y_j, trained in place):
        round by round, each z_u refreshed from the y_j, the waves, each user's map applied to its y_j."""
        mu, bu, bi, pu, qi, yj = terms
        grid = self._grid(data, fast_mf_parallel.rounds_for(len(data["items"]), int(self.threads)), rng)
        per_item = [grid.to_grid(values) for values in (bi, qi, yj)]
        per_user = (np.zeros_like(pu), np.zeros_like(pu), np.ones(len(pu)))  # z_u, B_u, A_u
        indptr = data["indptr"]
        users = (grid.row_bounds, indptr, grid.user_items, np.sqrt(np.diff(indptr)).astype(np.float64))
        kernel = fast_mf_kernels.kernel(self._epoch_name("svdpp"), fast)
        self._run_epochs(lambda: kernel(*grid.layout(), grid.shifts(rng), grid.threads, *users, mu, bu,
                                        per_item[0], pu, per_item[1], per_item[2], *per_user, *learning))
        for values, out in zip(per_item, (bi, qi, yj)):
            grid.from_grid(values, out)

    def _user_factors(self, u: np.ndarray) -> np.ndarray:
        factors: np.ndarray = self.pu_[u] + self.implicit_[u]
        return factors

    def info(self) -> dict[str, Any]:
        return {**super().info(), "kernel": "literal" if self.literal_ else "reformulated"}


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [
        ModelSpec("fast-svd", {RATING: FastSVD}, NUMBA,
                  summary="Surprise's SVD in numba: its numbers (exact mode) or ~5x faster (fast mode)"),
        ModelSpec("fast-svdpp", {RATING: FastSVDpp}, NUMBA,
                  summary="Surprise's SVD++ in numba, O(k) per rating: ~150x faster, same numbers"),
    ]
