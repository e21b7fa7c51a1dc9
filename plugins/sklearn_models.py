"""PCA and TruncatedSVD from scikit-learn, on both tasks.

* ``reconstruction``: project rows onto ``n_components`` and back.
* ``rating``: the user × item matrix, missing entries filled with the baseline estimates,
  approximated at rank ``n_components``; predictions are read at the requested pairs.
  TruncatedSVD works on the sparse residual matrix (ratings minus baseline, zero where
  missing: the same as filling with the baseline) and never builds a dense matrix. PCA must
  centre the columns, so it densifies, and refuses when that would not fit in memory.

scikit-learn is imported inside ``fit``.
"""

from __future__ import annotations

import os

import numpy as np

from benchmark.api import (
    RATING, RECONSTRUCTION, ModelSpec, PluginInputError, RatingData,
    ReconstructionModel, hookimpl,
)
from bench_plugins.baselines import BaselineFallback

SKLEARN = {"sklearn": "scikit-learn"}


def physical_memory_bytes() -> int:
    """This machine's physical memory (also ``ease``'s limit, in ``ranking_models``)."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


N_COMPONENTS = {"n_components": {"minimum": 1}}
N_ITER = {"n_iter": {"minimum": 1}}


class PCAReconstruction(ReconstructionModel):
    """Rank-k PCA projection of the rows and back.

    :param n_components: principal components kept.
    :param random_state: seed of the randomised solver (the suite seed unless set).
    """

    requires = SKLEARN
    constraints = N_COMPONENTS

    def __init__(self, n_components: int = 10, random_state: int | None = None):
        self.n_components, self.random_state = n_components, random_state

    def fit(self, X: np.ndarray) -> PCAReconstruction:
        from sklearn.decomposition import PCA

        self.pca_ = PCA(self.n_components, random_state=self.random_state).fit(X)
        return self

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        return self.pca_.inverse_transform(self.pca_.transform(X))

    def info(self) -> dict:
        return {"explained_variance_ratio": float(self.pca_.explained_variance_ratio_.sum())}


class TruncatedSVDReconstruction(ReconstructionModel):
    """Rank-k truncated SVD of the rows (no centring) and back.

    :param n_components: singular vectors kept.
    :param n_iter: power iterations of the randomised solver.
    :param random_state: seed of the randomised solver (the suite seed unless set).
    """

    requires = SKLEARN
    constraints = {**N_COMPONENTS, **N_ITER}

    def __init__(self, n_components: int = 10, n_iter: int = 5, random_state: int | None = None):
        self.n_components, self.n_iter, self.random_state = n_components, n_iter, random_state

    def fit(self, X: np.ndarray) -> TruncatedSVDReconstruction:
        from sklearn.decomposition import TruncatedSVD

        self.svd_ = TruncatedSVD(self.n_components, n_iter=self.n_iter,
                                 random_state=self.random_state).fit(X)
        return self

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        return self.svd_.inverse_transform(self.svd_.transform(X))

    def info(self) -> dict:
        return {"explained_variance_ratio": float(self.svd_.explained_variance_ratio_.sum())}


class _LowRankRating(BaselineFallback):
    """Baseline where the user or item is unknown (the template), the low-rank value elsewhere."""

    requires = SKLEARN

    def _fit_biases(self, train: RatingData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u, i = self.fit_baseline(train)
        residual = train.ratings["rating"].to_numpy(np.float64) - self.biases_.estimate(u, i)
        return u, i, residual


class TruncatedSVDRating(_LowRankRating):
    """Rank-k truncated SVD of the sparse residuals (ratings minus the baseline).

    :param n_components: singular vectors kept.
    :param n_iter: power iterations of the randomised solver.
    :param random_state: seed of the randomised solver (the suite seed unless set).
    """

    constraints = {**N_COMPONENTS, **N_ITER}

    def __init__(self, n_components: int = 10, n_iter: int = 5, random_state: int | None = None):
        self.n_components, self.n_iter, self.random_state = n_components, n_iter, random_state

    def fit(self, train: RatingData) -> TruncatedSVDRating:
        from scipy.sparse import csr_matrix
        from sklearn.decomposition import TruncatedSVD

        u, i, residual = self._fit_biases(train)
        shape = (len(self.users_), len(self.items_))
        if self.n_components >= min(shape):
            raise PluginInputError(f"n_components={self.n_components} must be below min{shape}")
        matrix = csr_matrix((residual, (u, i)), shape=shape)
        svd = TruncatedSVD(self.n_components, n_iter=self.n_iter, random_state=self.random_state)
        self.user_factors_ = svd.fit_transform(matrix)  # U·Σ
        self.item_factors_ = svd.components_.T  # V
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        base = self.biases_.estimate(u, i)
        return base + np.einsum("ij,ij->i", self.user_factors_[u], self.item_factors_[i])


class PCARating(_LowRankRating):
    """Rank-k PCA of the dense baseline-filled user × item matrix.

    :param n_components: principal components kept.
    :param random_state: seed of the randomised solver (the suite seed unless set).
    :param max_memory_gb: refuse when the dense matrices need more (default: half the RAM).
    """

    constraints = {**N_COMPONENTS, "max_memory_gb": {"exclusiveMinimum": 0}}

    def __init__(self, n_components: int = 10, random_state: int | None = None,
                 max_memory_gb: float | None = None):
        self.n_components, self.random_state = n_components, random_state
        self.max_memory_gb = max_memory_gb

    def fit(self, train: RatingData) -> PCARating:
        from sklearn.decomposition import PCA

        n_users = int(train.ratings["user"].nunique())
        n_items = int(train.ratings["item"].nunique())
        # the filled matrix, PCA's centred copy and the reconstruction: three float64 copies
        needed_gb = 3 * n_users * n_items * 8 / 2**30
        limit = self.max_memory_gb if self.max_memory_gb is not None else physical_memory_bytes() / 2**30 / 2
        if needed_gb > limit:
            raise PluginInputError(
                f"pca on ratings needs a dense {n_users:,} x {n_items:,} matrix, about "
                f"{needed_gb:,.2f} GB, above the {limit:,.2f} GB limit (max_memory_gb); "
                f"use truncated-svd, which works on the sparse matrix")
        u, i, residual = self._fit_biases(train)
        filled = np.zeros((n_users, n_items))
        filled[u, i] = residual  # baseline-filled matrix, minus the baseline
        pca = PCA(self.n_components, random_state=self.random_state)
        self.approximation_ = pca.inverse_transform(pca.fit_transform(filled))
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.biases_.estimate(u, i) + self.approximation_[u, i]


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [
        ModelSpec("pca", {RATING: PCARating, RECONSTRUCTION: PCAReconstruction}, SKLEARN,
                  summary="scikit-learn PCA: rank-k reconstruction / baseline-filled rating matrix"),
        ModelSpec("truncated-svd", {RATING: TruncatedSVDRating, RECONSTRUCTION: TruncatedSVDReconstruction},
                  SKLEARN, summary="scikit-learn TruncatedSVD: rank-k, sparse for ratings"),
    ]
