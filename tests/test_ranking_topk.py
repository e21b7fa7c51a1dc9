"""Issue 27.4: the faster top-k and masking give exactly the lists of a stable sort of ``-scores``."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from benchmark import ranking
from benchmark.ranking import masked_scores, top_k


def stable_sort_top(scores: np.ndarray, k: int) -> np.ndarray:
    """The numpy reference: a stable sort of ``-scores``, -1 for excluded (``-inf``) items."""
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)
    order[np.take_along_axis(scores, order, axis=1) == -np.inf] = -1
    return order


def scores_of(kind: str, rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    if kind == "float32":
        return rng.standard_normal((n, m)).astype(np.float32)
    if kind == "ties":  # few distinct values: ties at every threshold
        return rng.integers(0, 1500, (n, m)).astype(np.float64)
    if kind == "seen":  # half the items excluded
        scores = rng.standard_normal((n, m))
        scores[rng.random((n, m)) < 0.5] = -np.inf
        return scores
    if kind == "cold":  # items without training interactions at the lowest finite value
        scores = np.round(rng.standard_normal((n, m)), 2)
        scores[:, rng.random(m) < 0.1] = np.finfo(np.float64).min
        return scores
    scores = rng.standard_normal((n, m))  # "few candidates": fewer than k finite scores in some rows
    scores[rng.random((n, m)) < 0.999] = -np.inf
    return scores


@pytest.mark.parametrize("kind", ["float32", "ties", "seen", "cold", "few candidates"])
def test_top_k_by_blocks_is_the_stable_sort(kind):
    rng = np.random.default_rng(len(kind))
    for _ in range(12):
        n, m = int(rng.integers(1, 25)), int(rng.integers(2000, 20000))
        k = int(rng.integers(1, m // 1024 + 2))  # blocks narrow the search when k is a few % of them
        scores = scores_of(kind, rng, n, m)
        assert ranking._top_k_blocks(scores, k) is not None or kind == "few candidates"
        assert np.array_equal(top_k(scores, k), stable_sort_top(scores, k)), (n, m, k)


def test_top_k_falls_back_to_partitions_where_blocks_narrow_nothing():
    scores = np.zeros((5, 5000))  # every block's maximum is the threshold
    scores[:, 4321] = 1.0
    assert ranking._top_k_blocks(scores, 10) is None
    assert np.array_equal(top_k(scores, 10), stable_sort_top(scores, 10))
    small = np.random.default_rng(0).standard_normal((4, 300))  # fewer blocks than k
    assert ranking._top_k_blocks(small, 100) is None
    assert np.array_equal(top_k(small, 100), stable_sort_top(small, 100))


def test_masked_scores_still_counts_non_finite_scores_and_accepts_an_overflowing_sum():
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 1, 0]], dtype=np.float32))
    bad = np.array([[1.0, np.nan, np.inf, 0.0], [0.0, 1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="score returned 2 non-finite values"):
        masked_scores(bad, np.array([0, 1]), seen, np.empty(0, np.int64))
    huge = np.full((2, 4), np.finfo(np.float32).max, dtype=np.float32)  # finite; their sum is not
    masked = masked_scores(huge, np.array([0, 1]), seen, np.empty(0, np.int64))
    assert masked[0, 0] == -np.inf and masked[1, 2] == -np.inf and np.isfinite(masked[0, 1:]).all()
