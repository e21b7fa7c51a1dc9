"""Bayesian answers with a region of practical equivalence: ``bench compare --test bayes --rope R``.

A p-value says whether a difference is distinguishable from none; the question a user asks is
usually "how probable is it that B is better, practically the same, or worse?". With a ROPE R
(the largest difference that does not matter, in the metric's units) both tests here give the
posterior probabilities of ``B − A < −R``, ``|B − A| ≤ R`` and ``B − A > R``, turned into
``(better, equivalent, worse)`` in the metric's direction.

* :func:`correlated_t` — the correlated Bayesian t-test over folds (Corani & Benavoli 2015): the
  posterior of the mean difference is a Student t with ``n − 1`` degrees of freedom, location the
  mean of the fold differences and scale ``s · sqrt(1/n + ρ/(1 − ρ))`` where
  ``ρ = n_test/(n_train + n_test)`` is the correlation of folds that share training data — so
  ``ρ/(1 − ρ) = n_test/n_train``, the ratio the Nadeau–Bengio test uses (its credible interval
  *is* the Nadeau–Bengio interval). ``baycomp.CorrelatedTTest`` derives ρ from the number of
  folds (1/k); bench uses the cells' stored ``n_test``/``n_train``, which for k-fold CV is the
  same 1/(k − 1) up to the rounding of the fold sizes.
* :func:`signed_rank` — the Bayesian signed-rank test over datasets (Benavoli et al. 2017, a
  Dirichlet process with a pseudo-observation at 0 of weight 0.5): one mean difference per
  dataset, Monte Carlo over 50,000 Dirichlet draws with a fixed seed, probabilities counted as
  the share of draws in which each region has the largest mass — the procedure and random
  stream of ``baycomp.SignedRankTest``, vectorised.

Both are implemented with numpy/scipy (no runtime dependency on ``baycomp``, which imports
matplotlib and loops in Python over the draws); ``tests/test_bayes.py`` checks them equal to
``baycomp`` on the same differences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from benchmark.stats import Test

SAMPLES = 50_000  # Dirichlet draws of the signed-rank test (baycomp's default)
PRIOR = 0.5  # weight of the pseudo-observation at 0 (baycomp's and the paper's default)


def _directed(left: float, rope: float, right: float, greater_is_better: bool) -> tuple[float, float, float]:
    """``(better, equivalent, worse)`` of B against A from the regions of ``B − A``."""
    return (right, rope, left) if greater_is_better else (left, rope, right)


def _differences(diffs: Sequence[float]) -> tuple[np.ndarray, int, float]:
    """The differences as an array, their count and their mean (NaN when there are none)."""
    d = np.asarray(diffs, dtype=float)
    return d, len(d), float(np.mean(d)) if len(d) else math.nan


def _unusable(d: np.ndarray, delta: float, too_few: str) -> Test | None:
    """The reason-only result when the differences cannot be tested (non-finite, fewer than 2)."""
    if len(d) and not np.all(np.isfinite(d)):
        return Test("bayes", len(d), delta, reason="a non-finite difference")
    return Test("bayes", len(d), delta, reason=too_few) if len(d) < 2 else None


def correlated_t(diffs: Sequence[float], test_train_ratio: float | None, rope: float,
                 greater_is_better: bool) -> Test:
    """The correlated Bayesian t-test over fold differences ``B − A``; the interval at ``alpha``
    is the central ``1 − alpha`` credible interval of the mean difference."""
    from scipy.special import stdtr, stdtrit

    d, n, delta = _differences(diffs)
    unusable = _unusable(d, delta, f"n = {n}: the correlated t-test needs at least 2 folds")
    if unusable is not None:
        return unusable
    if float(np.ptp(d)) <= 1e-9 * float(np.max(np.abs(d))):
        what = "A and B are identical on every fold" if delta == 0 else "every fold has the same Δ"
        return Test("bayes", n, delta, reason=f"zero variance of Δ ({what})")
    if test_train_ratio is None or not math.isfinite(test_train_ratio) or test_train_ratio <= 0:
        return Test("bayes", n, delta, reason="n_train/n_test not stored with the cells (ρ unknown)")
    scale = float(np.std(d, ddof=1)) * math.sqrt(1 / n + test_train_ratio)
    df = n - 1
    if rope > 0:
        left = float(stdtr(df, (-rope - delta) / scale))
        right = 1 - float(stdtr(df, (rope - delta) / scale))
    else:
        right = 1 - float(stdtr(df, -delta / scale))
        left = 1 - right
    inside = max(0.0, 1 - left - right)

    def interval(alpha: float) -> tuple[float, float]:
        half = float(stdtrit(df, 1 - alpha / 2)) * scale
        return delta - half, delta + half

    return Test("bayes", n, delta, interval=interval,
                probabilities=_directed(left, inside, right, greater_is_better))


def signed_rank_regions(diffs: Sequence[float], rope: float, samples: int = SAMPLES,
                        seed: int = 0) -> tuple[float, float, float]:
    """``(P(left), P(rope), P(right))`` of ``B − A`` over datasets: the share of posterior
    draws in which each region has the largest mass (baycomp's ``SignedRankTest(x, y, rope,
    random_state=seed).probs()``; without a ROPE the middle region is empty)."""
    diff = np.concatenate(([0.0], np.asarray(diffs, dtype=float)))
    sums = diff[:, None] + diff[None, :]
    weights = np.ones(len(diff))
    weights[0] = PRIOR
    draws = np.random.RandomState(seed).dirichlet(weights, samples)

    def mass(region: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.einsum("ij,jk,ik->i", draws, region, draws)
        return out

    def heaviside(values: np.ndarray, threshold: float) -> np.ndarray:
        out: np.ndarray = (values > threshold).astype(float) + 0.5 * (values == threshold).astype(float)
        return out

    table = np.zeros((samples, 3))
    if rope > 0:
        table[:, 0] = mass(heaviside(-sums, 2 * rope))
        table[:, 2] = mass(heaviside(sums, 2 * rope))
        table[:, 1] = 1 - table[:, 0] - table[:, 2]
    else:
        table[:, 2] = mass(heaviside(sums, 0))
        table[:, 0] = 1 - table[:, 2]
    left, inside, right = np.bincount(np.argmax(table, axis=1), minlength=3) / samples
    return float(left), float(inside), float(right)


def signed_rank(diffs: Sequence[float], rope: float, greater_is_better: bool, samples: int = SAMPLES,
                seed: int = 0) -> Test:
    """The Bayesian signed-rank test over one mean difference ``B − A`` per dataset."""
    d, n, delta = _differences(diffs)
    unusable = _unusable(d, delta, f"{n} dataset(s): the signed-rank test needs 2 or more")
    if unusable is not None:
        return unusable
    left, inside, right = signed_rank_regions(d.tolist(), rope, samples, seed)
    return Test("bayes", n, delta, probabilities=_directed(left, inside, right, greater_is_better))
