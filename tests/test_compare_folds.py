"""Per-user tests over several folds and forced fold tests on repeated CV (issue 26, item 5).

The same users recur in every fold of a k-fold split, so the bootstrap draws user ids once per
resample and uses that draw in every fold (a cluster bootstrap); the verdict is the t-test over
folds (which sees what a fitted model does to a whole fold) widened by the covariance the folds
share through their users (which it cannot see). A t or permutation test forced on
repeated CV warns and says why Nadeau–Bengio is the valid one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark import stats
from tests.test_compare import bench_cli, seeded_run


def _fold(rng: np.random.Generator, users: int = 300, shift: float = 0.0) -> stats.UnitFold:
    den = rng.integers(1, 40, size=users).astype(float)
    num_a = rng.gamma(2.0, 0.45, size=users) * den
    num_b = num_a * (1 + 0.05 * rng.standard_normal(users)) + shift * den
    return stats.UnitFold(num_a, num_b, den, "identity", np.arange(users).astype(str))


def _width(test: stats.Test) -> float:
    low, high = test.ci(0.05)
    return high - low


def test_users_recurring_in_every_fold_are_resampled_jointly():
    """Five folds that are the same users with the same errors carry no more information than
    one, and nothing varies between them: the users' shared part — the covariance of the joint
    draw between folds — is the whole variance, as wide as the one fold's bootstrap. Without ids
    the users cannot be linked across folds and identical folds leave nothing to test."""
    one = _fold(np.random.default_rng(3))
    joint = stats.unit_bootstrap([one] * 5, resamples=4000)
    alone = stats.unit_bootstrap([one], resamples=4000)
    assert joint.delta == pytest.approx(alone.delta)
    assert _width(joint) / _width(alone) == pytest.approx(1.0, abs=0.08)
    assert joint.distinct == 300 and joint.n == 1500
    unnamed = stats.unit_bootstrap([stats.UnitFold(one.num_a, one.num_b, one.den) for _ in range(5)], resamples=4000)
    assert unnamed.p is None and unnamed.reason == "zero variance of Δ over folds and resamples"


def test_a_fold_level_shift_is_the_t_test_over_folds():
    """Each fold moves every user by the same c_f and nothing else varies: users explain none of
    it (every resample of a fold gives its c_f), and the test is the t-test over the five folds'
    Δ — scipy's p and interval."""
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(5)
    shifts = [0.01, -0.004, 0.007, 0.002, 0.012]
    base = _fold(rng)
    folds = [stats.UnitFold(base.num_a, base.num_a + c * base.den, base.den, "identity", base.ids) for c in shifts]
    test = stats.unit_bootstrap(folds, resamples=2000)
    expected = scipy_stats.ttest_1samp(shifts, 0)
    assert test.delta == pytest.approx(np.mean(shifts))
    assert test.p == pytest.approx(expected.pvalue, rel=1e-9)
    low, high = expected.confidence_interval(0.95)
    assert test.ci(0.05) == pytest.approx((low, high), rel=1e-9)


def test_users_shared_by_the_folds_widen_the_t_test_by_their_covariance():
    """Five different folds of the same users: the variance is s²/K plus the mean covariance
    between two folds' Δ* of the same joint draws (recomputed here), df by Satterthwaite."""
    from scipy.special import stdtr

    rng = np.random.default_rng(11)
    common = _fold(rng)
    persistent = 0.03 * rng.standard_normal(300)  # each user's B − A, the same in every fold
    folds = [stats.UnitFold(common.num_a, common.num_a * (1.01 + persistent + 0.005 * rng.standard_normal(300)),
                            common.den, "identity", common.ids) for _ in range(5)]
    test = stats.unit_bootstrap(folds, resamples=3000, seed=4)
    draws = stats._draw(folds, 3000, np.random.default_rng(4))
    covariance = np.cov(draws, rowvar=False)
    shared = (covariance.sum() - np.trace(covariance)) / 20
    observed = np.array([(f.num_b.sum() - f.num_a.sum()) / f.den.sum() for f in folds])
    spread = observed.var(ddof=1) / 5
    assert shared > spread > 0, "the users' shared part dominates here"
    variance = spread + shared
    df = variance ** 2 * 4 / spread ** 2
    assert test.p == pytest.approx(2 * stdtr(df, -abs(observed.mean()) / np.sqrt(variance)), rel=1e-9)


def test_one_fold_keeps_the_plain_user_bootstrap():
    fold = _fold(np.random.default_rng(8), shift=0.02)
    test = stats.unit_bootstrap([fold], resamples=2000)
    rng = np.random.default_rng(0)  # the draws the per-fold bootstrap makes, recomputed
    index = rng.integers(0, len(fold.den), size=(2000, len(fold.den)))
    sample = (fold.num_b[index].sum(1) - fold.num_a[index].sum(1)) / fold.den[index].sum(1)
    assert test.ci(0.05) == pytest.approx(tuple(np.sort(sample)[[49, 1950]]), rel=1e-12)


@pytest.mark.parametrize("forced", ["t", "permutation"])
def test_forced_fold_tests_on_repeated_cv_warn_why_nadeau_bengio(tmp_path, forced):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94, split_seeds=True, seeds=range(3))
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.939 + 0.001 * ((fold + seed) % 3 - 1), split_seeds=True,
                   seeds=range(3))
    code, out, _ = bench_cli("compare", str(a), str(b), "--test", forced)
    assert code == 0
    assert f"warning: --test {forced} on repeated CV (folds from several partitions)" in out
    assert "the Nadeau–Bengio test (--test nb, what auto picks here)" in out and "s²·(1/J + n_test/n_train)" in out
    code, out, err = bench_cli("compare", str(a), str(b), "--test", forced, "--format", "json")
    assert json.loads(out)[0]["test"] == forced and "bench: warning: --test" in err
    for quiet in ("auto", "nb"):
        _, out, _ = bench_cli("compare", str(a), str(b), "--test", quiet)
        assert "warning" not in out
