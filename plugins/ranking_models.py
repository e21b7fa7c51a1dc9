"""Built-in models of the ``ranking`` task, and the adapter that lets every rating model rank.

* ``most-popular``: items by their number of training ratings (any value); ties by item id
  (the harness's tie rule). It serves the ``next-item`` task too (the same class: popular items
  the user has not seen).
* ``item-knn``: item-based neighbourhood on binary interactions: cosine similarity
  ``x_i . x_j / (|x_i| |x_j| + shrinkage)``, each candidate item keeps its ``k`` most similar
  items, a user's score for ``i`` is the sum of ``i``'s similarities to the items they rated.
* ``ease``: Steck (2019), "Embarrassingly Shallow Autoencoders for Sparse Data", closed form
  ``B = I - P diagMat(1 / diag(P))`` with ``P = (X^T X + l2 I)^-1`` (diagonal of B zero); dense in
  the items with a training interaction, so it refuses catalogues whose Gram matrix would not
  fit in memory.
* ``implicit-als`` / ``implicit-bpr``: the ``implicit`` library's ALS (Hu, Koren & Volinsky
  2008) and BPR (Rendle et al. 2009) on binary interactions (extra ``bench-harness[implicit]``;
  imported inside ``fit``, so a missing library is reported as a missing dependency).
* :class:`RatingAsRanking`: the ranking task's adapter, through which every rating model (svd,
  svdpp, fast-svd, fast-svdpp, autorec, truncated-svd, pca...) also runs on ranking datasets
  under its own name and parameters, ranking by its predicted ratings of every (user, item) pair,
  predicted in vectorised batches.

Implicit models train on every training interaction whatever its rating (as most-popular
counts them); relevance in test uses the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from benchmark.api import ModelSpec, PluginInputError, RatingModel, hookimpl, require
from benchmark.ranking import Interactions, RankingModel, rank_users
from bench_plugins.next_item import METRICS_SHARED, NEXT_ITEM
from bench_plugins.ranking_core import RANKING
from bench_plugins.sklearn_models import physical_memory_bytes

IMPLICIT = {"implicit": "implicit"}
PAIRS_PER_CALL = 1 << 18
"""(user, item) pairs a rating model predicts at once through the adapter: bounds its memory
(fast-svd gathers both factor rows of every pair: 1M pairs x 100 factors took 1.4 GB on ml-100k,
256k pairs take a quarter of it, for the same time)."""


_WARMED: set[type[RankingModel]] = set()
"""The classes :func:`warm_once` has warmed in this process."""


WARM_SHAPE = (400, 300)
"""Users and items of the problem :func:`warm_once` fits: large enough that LAPACK takes its
blocked path (OpenBLAS allocates its level-3 buffers on the first such call) and the ranking its
batched one, small enough to take milliseconds."""


def warm_once(model_class: type[RankingModel], **params: Any) -> None:
    """Fit ``model_class(**params)`` on a small random problem and rank its users, once per
    process: the first calls into SciPy's sparse products and LAPACK (code loaded, OpenBLAS's
    buffers allocated) and the ranking path (masking, top-k) happen here, before a cell's clock
    starts (``Model.warm_up``), not in its fit."""
    if model_class in _WARMED:
        return
    rng = np.random.default_rng(0)
    small = Interactions.from_matrix((rng.random(WARM_SHAPE) < 0.05).astype(np.float32))
    model = model_class(**params).fit(small)
    rank_users(model, np.arange(small.n_users), small.matrix, np.empty(0, dtype=np.int64), 10)
    _WARMED.add(model_class)


class MostPopular(RankingModel):
    """Ranks items by their number of training ratings (any value); ties by item id."""

    def fit(self, train: Interactions) -> MostPopular:
        self.train_ = train
        self.counts_ = train.item_counts().astype(np.float64)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(users), len(self.counts_)))


class ItemKNN(RankingModel):
    """Item-based k nearest neighbours on binary interactions, cosine similarity with shrinkage.

    :param k: neighbours kept per item (its most similar items).
    :param shrinkage: added to the denominator of the cosine, damping pairs of rarely rated items.
    """

    constraints = {"k": {"minimum": 1}, "shrinkage": {"minimum": 0}}
    block: ClassVar[int] = 1024  # similarity columns computed at once (bounds memory)

    def __init__(self, k: int = 50, shrinkage: float = 10.0):
        self.k, self.shrinkage = k, shrinkage

    @classmethod
    def warm_up(cls, params: Mapping[str, Any]) -> None:
        """SciPy's sparse products and the ranking path, once per process (:func:`warm_once`)."""
        warm_once(cls, k=2)

    def fit(self, train: Interactions) -> ItemKNN:
        import scipy.sparse as sp

        self.train_ = train
        self.X_ = train.binary(np.float64)
        X = self.X_.tocsc()
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
        n_items = X.shape[1]
        k = min(int(self.k), max(n_items - 1, 0))
        rows, cols, values = [], [], []
        XT = X.T.tocsr()
        for start in range(0, n_items, self.block):
            stop = min(start + self.block, n_items)
            dots = np.asarray((XT @ X[:, start:stop]).todense())  # (items x block)
            sims = dots / (norms[:, None] * norms[None, start:stop] + self.shrinkage + 1e-12)
            sims[np.arange(start, stop), np.arange(stop - start)] = 0.0  # no self-similarity
            if k == 0:
                continue
            best = np.argpartition(-sims, k - 1, axis=0)[:k]  # each column's k most similar
            picked = np.take_along_axis(sims, best, axis=0)
            keep = picked > 0
            rows.append(best[keep])
            cols.append(np.broadcast_to(np.arange(start, stop), best.shape)[keep])
            values.append(picked[keep])
        if rows:
            self.similarity_ = sp.csr_matrix(
                (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                shape=(n_items, n_items))
        else:
            self.similarity_ = sp.csr_matrix((n_items, n_items))
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.X_[users] @ self.similarity_).toarray())

    def info(self) -> dict[str, Any]:
        return {"similarities": int(self.similarity_.nnz)}


class EASE(RankingModel):
    """Steck's EASE: a closed-form item-item linear model with a zero diagonal.

    :param l2: L2 regularisation lambda added to the Gram matrix's diagonal.
    """

    constraints = {"l2": {"exclusiveMinimum": 0}}

    def __init__(self, l2: float = 500.0):
        self.l2 = l2

    @classmethod
    def warm_up(cls, params: Mapping[str, Any]) -> None:
        """SciPy's sparse products, LAPACK's Cholesky and the ranking path, once per process
        (:func:`warm_once`): a worker's first EASE fit at ml-100k then costs what its next does."""
        warm_once(cls, l2=1.0)

    def fit(self, train: Interactions) -> EASE:
        from scipy.linalg import lapack

        self.train_ = train
        X = train.binary(np.float64)
        self.active_ = np.flatnonzero(train.item_counts() > 0)  # an item never rated in training scores 0
        n = len(self.active_)
        if 3 * 8 * n * n > physical_memory_bytes():
            raise PluginInputError(f"ease needs a dense {n} x {n} matrix ({8 * n * n / 2**30:.1f} GiB), "
                                   f"more than a third of this machine's memory")
        Xa = X[:, self.active_]
        gram = np.asarray((Xa.T @ Xa).todense(), dtype=np.float64)
        gram[np.diag_indices(n)] += self.l2
        factor, info = lapack.dpotrf(gram, lower=False, overwrite_a=True)
        if info != 0:
            raise PluginInputError(f"ease: the Gram matrix is not positive definite (LAPACK info {info})")
        P, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
        if info != 0:
            raise PluginInputError(f"ease: inversion failed (LAPACK info {info})")
        P = np.triu(P) + np.triu(P, 1).T  # dpotri fills the upper triangle only
        diagonal = np.diag(P).copy()
        P /= -diagonal[None, :]  # B = I - P / diag(P): B_ij = -P_ij / P_jj off the diagonal
        P[np.diag_indices(n)] = 0.0
        self.B_ = P
        self.X_ = Xa.tocsr()
        self.n_items_ = X.shape[1]
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        scores = np.zeros((len(users), self.n_items_))
        scores[:, self.active_] = self.X_[users] @ self.B_
        return scores


class _ImplicitFactors(RankingModel):
    """Shared by ALS and BPR: fit ``implicit`` on binary interactions, score by dot products."""

    requires = IMPLICIT
    algorithm: ClassVar[str] = ""
    factors: int
    iterations: int
    random_state: int | None

    def _build(self, implicit: Any) -> Any:
        raise NotImplementedError

    def fit(self, train: Interactions) -> _ImplicitFactors:
        implicit = require("implicit", IMPLICIT["implicit"])
        require("implicit.cpu", IMPLICIT["implicit"])
        from threadpoolctl import threadpool_limits

        self.train_ = train
        with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, not BLAS's
            model = self._build(implicit)
            model.fit(train.binary(np.float32), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.user_factors_[users] @ self.item_factors_.T)


class ImplicitALS(_ImplicitFactors):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) from the ``implicit`` library.

    :param factors: latent factors.
    :param regularization: L2 regularisation of the factors.
    :param alpha: confidence weight of an observed interaction (c = 1 + alpha).
    :param iterations: ALS sweeps.
    :param random_state: seed of the initial factors (the suite seed unless set).
    """

    constraints = {"factors": {"minimum": 1}, "iterations": {"minimum": 1},
                   "regularization": {"minimum": 0}, "alpha": {"minimum": 0}}

    def __init__(self, factors: int = 64, regularization: float = 0.01, alpha: float = 1.0,
                 iterations: int = 15, random_state: int | None = None):
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.random_state = iterations, random_state

    def _build(self, implicit: Any) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                       alpha=self.alpha, iterations=self.iterations,
                                       random_state=self.random_state)


class ImplicitBPR(_ImplicitFactors):
    """Bayesian personalised ranking (Rendle et al. 2009) from the ``implicit`` library.

    :param factors: latent factors (implicit adds one for the item bias).
    :param learning_rate: SGD step.
    :param regularization: L2 regularisation.
    :param iterations: epochs over the interactions.
    :param random_state: seed of the initial factors and sampling (the suite seed unless set).
    :param num_threads: SGD threads; 1 (the default) is reproducible, more threads update the
        factors concurrently (Hogwild) and the result then varies from run to run.
    """

    constraints = {"factors": {"minimum": 1}, "iterations": {"minimum": 1},
                   "learning_rate": {"exclusiveMinimum": 0}, "regularization": {"minimum": 0},
                   "num_threads": {"minimum": 0}}

    def __init__(self, factors: int = 64, learning_rate: float = 0.01, regularization: float = 0.01,
                 iterations: int = 100, random_state: int | None = None, num_threads: int = 1):
        self.factors, self.learning_rate, self.regularization = factors, learning_rate, regularization
        self.iterations, self.random_state, self.num_threads = iterations, random_state, num_threads

    def _build(self, implicit: Any) -> Any:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                           regularization=self.regularization,
                                           iterations=self.iterations,
                                           random_state=self.random_state,
                                           num_threads=self.num_threads)


# --- Every rating model as a ranking model --------------------------------------------------


class RatingAsRanking:
    """The ranking task's adapter of rating models (``TaskSpec.adapters["rating"]``).

    bench builds ``type("svd@ranking", (RatingAsRanking, SVD, RankingModel), {})`` for every
    model with a rating class (:mod:`benchmark.adapters`): the rating model's parameters and
    ``prepare``/``info`` unchanged, this mixin's ``fit`` (the rating model's ``fit`` on the
    training ratings) and ``score``: every (user, item) pair of a batch predicted at once, in
    chunks of :data:`PAIRS_PER_CALL`. For a model using :class:`~benchmark.api.RatingModel`'s
    template ``predict``, the pairs go straight to its vectorised ``estimate``/``fallback`` by
    position (raw ids mapped once per fit); otherwise to its own ``predict``. A plain mixin: it
    must not derive from ``Model`` (the adapted class gets that from the rating model).
    """

    train_: Interactions

    def fit(self, train: Interactions) -> Any:
        self.train_ = train
        fitted = super().fit(train.ratings)  # type: ignore[misc]  # the rating model's fit
        self.by_position_ = (getattr(type(self), "predict") is RatingModel.predict
                             and hasattr(self, "users_") and hasattr(self, "items_"))
        if self.by_position_:
            self.user_map_ = self.users_.get_indexer(train.users)  # type: ignore[attr-defined]
            self.item_map_ = self.items_.get_indexer(train.items)  # type: ignore[attr-defined]
        return self if fitted is None else fitted

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)
        n_items = self.train_.n_items
        out = np.empty((len(users), n_items), dtype=np.float64)
        per_call = max(1, PAIRS_PER_CALL // max(n_items, 1))
        for start in range(0, len(users), per_call):
            batch = users[start:start + per_call]
            out[start:start + len(batch)] = self._pairs(batch).reshape(len(batch), n_items)
        return out

    def _pairs(self, users: np.ndarray) -> np.ndarray:
        model: Any = self
        n_items = self.train_.n_items
        if self.by_position_:
            u = np.repeat(self.user_map_[users], n_items)
            i = np.tile(self.item_map_, len(users))
            known = (u >= 0) & (i >= 0)
            values = np.asarray(model.fallback(u, i), dtype=np.float64).copy()
            if known.any():
                values[known] = model.estimate(u[known], i[known])
            return values
        raw_users = np.repeat(self.train_.users.to_numpy()[users], n_items)
        raw_items = np.tile(self.train_.items.to_numpy(), len(users))
        return np.asarray(model.predict(raw_users, raw_items), dtype=np.float64)


POPULAR_TASKS: dict[str, Any] = {RANKING: MostPopular, **({NEXT_ITEM: MostPopular} if METRICS_SHARED else {})}
"""most-popular serves ranking and next-item (where bench has that task: METRICS_SHARED)."""


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [
        ModelSpec("most-popular", POPULAR_TASKS,
                  summary="Items by number of training ratings (any value), ties by item id"),
        ModelSpec("item-knn", {RANKING: ItemKNN},
                  summary="Item-based kNN, cosine with shrinkage, k neighbours per item"),
        ModelSpec("ease", {RANKING: EASE}, summary="EASE (Steck 2019): closed-form item-item model"),
        ModelSpec("implicit-als", {RANKING: ImplicitALS}, IMPLICIT,
                  summary="Implicit-feedback ALS (Hu et al. 2008) from the implicit library"),
        ModelSpec("implicit-bpr", {RANKING: ImplicitBPR}, IMPLICIT,
                  summary="Bayesian personalised ranking (Rendle et al. 2009) from implicit"),
    ]
