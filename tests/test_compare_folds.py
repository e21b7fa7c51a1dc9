"""Per-user tests over several folds and forced fold tests on repeated CV (issue 26, item 5).

The same users recur in every fold of a k-fold split, so the bootstrap draws user ids once per
resample and uses that draw in every fold (a cluster bootstrap); what a fitted model does to a
whole fold (a luckier seed) is added as the folds' own spread. A t or permutation test forced on
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
    one: the joint bootstrap's interval is as wide as the one fold's; resampling each fold on its
    own (the old way, ids unknown) made it about √5 narrower."""
    one = _fold(np.random.default_rng(3))
    same = [one] * 5
    joint = stats.unit_bootstrap(same, resamples=4000)
    alone = stats.unit_bootstrap([one], resamples=4000)
    independent = stats.unit_bootstrap([stats.UnitFold(one.num_a, one.num_b, one.den) for _ in range(5)],
                                       resamples=4000)
    assert joint.delta == pytest.approx(alone.delta)
    assert _width(joint) / _width(alone) == pytest.approx(1.0, abs=0.08)
    assert _width(independent) / _width(alone) == pytest.approx(1 / np.sqrt(5), abs=0.06)
    assert joint.distinct == 300 and joint.n == 1500


def test_a_fold_level_shift_widens_the_interval_to_the_t_test_over_folds():
    """Each fold moves every user by the same c_f and nothing else varies: users explain none of
    it, and the interval is the t interval over the five folds' Δ (scipy), up to Monte Carlo."""
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(5)
    shifts = [0.01, -0.004, 0.007, 0.002, 0.012]
    base = _fold(rng)
    folds = [stats.UnitFold(base.num_a, base.num_a + c * base.den, base.den, "identity", base.ids) for c in shifts]
    test = stats.unit_bootstrap(folds, resamples=40_000)
    expected = scipy_stats.ttest_1samp(shifts, 0).confidence_interval(0.95)
    assert test.delta == pytest.approx(np.mean(shifts))
    assert test.ci(0.05) == pytest.approx((expected.low, expected.high), rel=0.04)
    assert test.p == pytest.approx(scipy_stats.ttest_1samp(shifts, 0).pvalue, abs=0.01)


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
