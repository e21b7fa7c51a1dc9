"""benchmark.stats: each test's p-value and interval, its edge cases, Holm's step levels and the
ranking over datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchmark import stats


def test_paired_t_is_students_t_over_the_differences():
    d = [0.01, -0.002, 0.004, 0.006, 0.003]
    result = stats.paired_t(d)
    assert result.p == pytest.approx(scipy_stats.ttest_1samp(d, 0).pvalue)
    low, high = result.ci(0.05)
    half = scipy_stats.t.ppf(0.975, 4) * np.std(d, ddof=1) / math.sqrt(5)
    assert (low, high) == pytest.approx((np.mean(d) - half, np.mean(d) + half))


def test_nadeau_bengio_inflates_the_variance_by_the_test_train_ratio():
    d = np.random.default_rng(1).normal(0.001, 0.002, size=25)
    plain, corrected = stats.paired_t(d), stats.nadeau_bengio(d, 0.25)
    assert corrected.p > plain.p
    t = np.mean(d) / (np.std(d, ddof=1) * math.sqrt(1 / 25 + 0.25))
    assert corrected.p == pytest.approx(2 * scipy_stats.t.sf(abs(t), 24))
    assert stats.nadeau_bengio(d, None).reason == "n_train/n_test not stored with the cells"


@pytest.mark.parametrize("diffs, reason", [
    ([0.01], "n = 1: a test needs at least 2 folds"),
    ([], "n = 0: a test needs at least 2 folds"),
    ([0.0, 0.0, 0.0], "zero variance of Δ (A and B are identical on every fold)"),
    ([0.01, 0.01], "zero variance of Δ (every fold has the same Δ)"),
    ([0.1 + 0.2 - 0.3, 0.3 - 0.2 - 0.1 + 2 * (0.1 + 0.2 - 0.3)], None),  # tiny but real
    ([0.01, math.nan, 0.02], "a non-finite difference"),
    ([0.01, math.inf], "a non-finite difference"),
])
@pytest.mark.parametrize("test", ["t", "nb", "permutation"])
def test_edge_cases_give_a_reason_not_a_p(diffs, reason, test):
    result = {"t": stats.paired_t, "nb": lambda d: stats.nadeau_bengio(d, 0.25),
              "permutation": stats.sign_flip}[test](diffs)
    if reason is None:
        return
    assert result.p is None and result.ci(0.05) is None and result.reason == reason


def test_float_rounding_is_zero_variance():
    a = np.array([0.94, 0.95, 0.96])
    assert stats.paired_t((a + 0.01) - a).reason.startswith("zero variance")


def test_sign_flip_is_exact_and_says_when_it_cannot_reject():
    five = [0.01, 0.02, 0.015, 0.03, 0.012]
    result = stats.sign_flip(five)
    assert result.p == pytest.approx(2 / 32)
    assert "smallest possible p is 0.0625" in result.reason
    assert result.ci(0.05) == (-math.inf, math.inf)
    eight = [0.01, 0.02, 0.015, 0.03, 0.012, -0.004, 0.02, 0.01]
    result = stats.sign_flip(eight)
    # one negative of eight, the smallest in size: 2 of 256 sign vectors as extreme on each side
    assert result.p == pytest.approx(4 / 256)
    low, high = result.ci(0.05)
    assert 0 < low < np.mean(eight) < high


def test_unit_bootstrap_matches_the_metric_and_finds_a_real_difference():
    rng = np.random.default_rng(3)
    den = rng.integers(1, 40, size=500).astype(float)
    num_a = rng.gamma(2, 0.45, size=500) * den
    num_b = num_a * (1 - 0.03 + 0.01 * rng.standard_normal(500))
    result = stats.unit_bootstrap([stats.UnitFold(num_a, num_b, den, "sqrt")])
    exact = math.sqrt(num_b.sum() / den.sum()) - math.sqrt(num_a.sum() / den.sum())
    assert result.delta == pytest.approx(exact) and result.n == 500
    low, high = result.ci(0.05)
    assert low < exact < high < 0 and result.p < 0.01
    same = stats.unit_bootstrap([stats.UnitFold(num_a, num_a, den, "sqrt")])
    assert same.p is None and same.reason.startswith("zero variance")


@pytest.mark.parametrize("seed", range(20))
def test_the_interval_agrees_with_the_verdict_at_every_holm_level(seed):
    """Random families of rows: after Holm, a row is significant exactly when its interval at its
    step level excludes 0 — for every test."""
    rng = np.random.default_rng(seed)
    alpha = [0.05, 0.1, 0.01][seed % 3]
    family = [rng.normal(rng.choice([0, 0.002, 0.004]), 0.002, size=rng.integers(3, 12)) for _ in range(6)]
    for test in (stats.paired_t, lambda d: stats.nadeau_bengio(d, 0.25), stats.sign_flip):
        results = [test(d) for d in family]
        for result, (p_adjusted, level) in zip(results, stats.holm([r.p for r in results], alpha)):
            low, high = result.ci(level)
            significant = result.p < level
            assert significant == (p_adjusted < alpha)
            if math.isfinite(low) and math.isfinite(high):
                assert significant == (low > 0 or high < 0), (result, level)


def test_holm_levels():
    out = stats.holm([0.001, 0.04, 0.012, None], 0.05)
    assert [p for p, _ in out] == pytest.approx([0.003, 0.04, 0.024, None])
    # 0.001 < 0.05/3, 0.012 < 0.05/2, 0.04 < 0.05/1: all three rejected, each at its step level
    assert [level for _, level in out] == pytest.approx([0.05 / 3, 0.05, 0.05 / 2, 0.05])
    out = stats.holm([0.001, 0.04, 0.03], 0.05)
    # 0.03 > 0.05/2 stops the steps: the two not rejected get the level 0.05/2
    assert [level for _, level in out] == pytest.approx([0.05 / 3, 0.025, 0.025])


def test_critical_difference_over_datasets():
    """Demšar's example shape: 4 models on 6 datasets; one clearly best, two tied."""
    scores = {f"d{i}": {"a": 0.90 + 0.01 * i, "b": 0.95 + 0.01 * i + 0.001 * (i % 2),
                        "c": 0.95 + 0.01 * i + 0.001 * ((i + 1) % 2), "d": 1.0 + 0.01 * i} for i in range(6)}
    cd = stats.critical_difference(scores, greater_is_better=False)
    assert cd.average_ranks == {"a": 1.0, "b": 2.5, "c": 2.5, "d": 4.0}
    assert cd.friedman_p is not None and cd.friedman_p < 0.01
    q = scipy_stats.studentized_range.ppf(0.95, 4, np.inf) / math.sqrt(2)
    assert cd.cd == pytest.approx(q * math.sqrt(4 * 5 / 36)) and cd.cd == pytest.approx(1.915, abs=1e-3)
    # ranks 1, 2.5, 2.5, 4 with CD 1.9: a and d differ, every other pair is within the CD
    assert cd.cliques() == [["a", "b", "c"], ["b", "c", "d"]] or cd.cliques() == [["a", "c", "b"], ["c", "b", "d"]]
    assert set(cd.wilcoxon_holm) == {("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")}
    lonely = stats.critical_difference({"d0": {"a": 1.0, "b": 2.0}}, greater_is_better=False)
    assert lonely.cd is None and "a ranking needs 2" in lonely.reason


def test_critical_difference_without_the_pairwise_tests_is_the_same_but_for_them():
    scores = {f"d{i}": {"a": 0.90 + 0.01 * i, "b": 0.95 + 0.01 * i + 0.001 * (i % 2),
                        "c": 0.95 + 0.01 * i + 0.001 * ((i + 1) % 2), "d": 1.0 + 0.01 * i} for i in range(6)}
    full = stats.critical_difference(scores, greater_is_better=False)
    ranks_only = stats.critical_difference(scores, greater_is_better=False, pairwise=False)
    assert ranks_only.wilcoxon_holm == {} and full.wilcoxon_holm
    assert (ranks_only.models, ranks_only.datasets, ranks_only.average_ranks, ranks_only.friedman_p,
            ranks_only.cd, ranks_only.reason) == (full.models, full.datasets, full.average_ranks,
                                                  full.friedman_p, full.cd, full.reason)
    assert ranks_only.cliques("nemenyi") == full.cliques("nemenyi")


def test_nemenyi_cliques_are_the_maximal_runs_within_the_cd():
    """The two-pointer grouping against the definition: from each model in rank order, the longest
    run whose every two members are within the CD, kept unless inside an earlier run."""
    import random

    def by_definition(ranks: list[float], cd: float) -> list[list[int]]:
        groups: list[list[int]] = []
        for i in range(len(ranks)):
            j = i
            while j + 1 < len(ranks) and all(abs(ranks[k] - ranks[j + 1]) < cd for k in range(i, j + 1)):
                j += 1
            if j > i and not any(set(range(i, j + 1)) <= set(g) for g in groups):
                groups.append(list(range(i, j + 1)))
        return groups

    rng = random.Random(7)
    for _ in range(300):
        k = rng.randint(1, 12)
        ranks = sorted(rng.choice([rng.uniform(1, k), float(rng.randint(1, k))]) for _ in range(k))
        cd = rng.uniform(0.1, 3)
        assert stats.nemenyi_groups(ranks, cd) == by_definition(ranks, cd)
        models = [f"m{i:02d}" for i in range(k)]
        result = stats.CriticalDifference(models, ["x", "y"], dict(zip(models, ranks)), None, cd, 0.05)
        assert result.cliques("nemenyi") == [[models[i] for i in g] for g in by_definition(ranks, cd)]
    no_cd = stats.CriticalDifference(["a", "b"], [], {"a": math.nan, "b": math.nan}, None, None, 0.05)
    assert no_cd.cliques("nemenyi") == []


def _clear_fold(units: int = 300, seed: int = 3) -> stats.UnitFold:
    """One fold where B is clearly better on almost every resample (every Δ* < 0)."""
    rng = np.random.default_rng(seed)
    den = rng.integers(1, 40, size=units).astype(float)
    num_a = rng.gamma(2, 0.45, size=units) * den
    return stats.UnitFold(num_a, num_a * (0.85 + 0.01 * rng.standard_normal(units)), den, "sqrt")


def test_a_large_family_can_reach_significance_with_the_bootstrap():
    """210 pairs (21 configurations, --all): with a fixed 4,000 resamples the smallest Holm p
    was 210/4000 = 0.0525, so nothing could ever be significant. B is sized from the family."""
    assert stats.resamples_for(1) == stats.RESAMPLES
    assert stats.resamples_for(210) * 0.05 / 210 >= stats.TAIL
    assert stats.resamples_for(10**6) == stats.MAX_RESAMPLES
    result = stats.unit_bootstrap([_clear_fold()], family=210)
    p_adjusted, level = stats.holm([result.p] + [0.5] * 209)[0]
    assert p_adjusted is not None and p_adjusted < 0.05 and result.p < level
    low, high = result.ci(level)
    assert low < result.delta < high < 0


@pytest.mark.parametrize("resamples", [1000, 4000])
def test_the_bootstrap_interval_contains_0_when_the_floor_forbids_rejection(resamples):
    """The repro: every Δ* < 0 but at a level below 1/B the p (floored at 1/B) cannot reject;
    the interval must not exclude 0 then (it printed [−0.22, −0.13] beside 'no difference')."""
    result = stats.unit_bootstrap([_clear_fold()], resamples=resamples)
    assert result.p == pytest.approx(1 / resamples) and result.floor == pytest.approx(1 / resamples)
    level = 0.05 / 210
    low, high = result.ci(level)
    assert (result.p < level) == (low > 0 or high < 0)


@pytest.mark.parametrize("seed", range(8))
def test_the_bootstrap_interval_agrees_with_the_verdict_at_every_holm_level(seed):
    rng = np.random.default_rng(seed)
    alpha = [0.05, 0.1, 0.01][seed % 3]
    folds = [_clear_fold(60, int(rng.integers(1000))) for _ in range(6)]
    for fold, shift in zip(folds, rng.choice([0.0, 0.1, 0.15], size=6)):
        fold.num_b = fold.num_a * (1 - shift + 0.2 * rng.standard_normal(len(fold.den)))
    results = [stats.unit_bootstrap([f], resamples=500) for f in folds]
    for result, (p_adjusted, level) in zip(results, stats.holm([r.p for r in results], alpha)):
        low, high = result.ci(level)
        assert (result.p < level) == (p_adjusted < alpha) == (low > 0 or high < 0), (result, level)


def test_the_bootstrap_draws_in_bounded_chunks(monkeypatch):
    monkeypatch.setattr(stats, "CHUNK_VALUES", 1000)  # 3 resamples of 300 units per chunk
    small = stats.unit_bootstrap([_clear_fold()], resamples=50)
    assert small.p == pytest.approx(1 / 50)


def test_distinct_units_are_counted_across_folds():
    fold = _clear_fold(50)
    fold.ids = np.arange(50).astype(str)
    result = stats.unit_bootstrap([fold, fold], resamples=100)
    assert result.n == 100 and result.distinct == 50


def test_friedman_says_why_it_has_no_p_with_two_models():
    scores = {"d1": {"x": 1.0, "y": 2.0}, "d2": {"x": 1.5, "y": 2.5}, "d3": {"x": 1.2, "y": 0.9}}
    cd = stats.critical_difference(scores, greater_is_better=False)
    assert cd.friedman_p is None and "3 or more configurations" in cd.friedman_reason
