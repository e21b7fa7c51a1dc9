"""Issue 26 items 4 and 6, as specifications: the leaderboard's "vs #1" knows #1 was chosen as
the best (studentized range), Friedman's p is exact where χ² is poor, no post-hoc claim below
the datasets at which any pair could differ, and the compact letter display is correct.
Each number is checked against an independent computation (scipy, brute force)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchmark import best_line, stats
from benchmark.compare.letters import compact_letters


@pytest.mark.parametrize("k, df", [(2, 4), (5, 16), (10, 36), (20, 76), (3, math.inf), (50, 196)])
def test_the_studentized_range_tail_is_scipys(k, df):
    q = np.array([0.3, 1.0, 2.5, 4.0, 5.5, 7.0])
    expected = scipy_stats.studentized_range.sf(q, k, df)
    assert np.allclose(best_line.studentized_range_sf(q, k, df), expected, atol=2e-5, rtol=1e-3)


def test_with_two_lines_the_best_comparison_is_the_paired_t():
    rng = np.random.default_rng(3)
    a = 1 + 0.01 * np.arange(6) + rng.normal(0, 0.002, 6)
    b = a + 0.002 + rng.normal(0, 0.002, 6)
    result = best_line.compare_with_best([a, b], greater_is_better=False)
    assert result.p[0] is None and result.p[1] == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue, rel=1e-4)
    ratio = 0.25
    nb = best_line.compare_with_best([a, b], False, test_train_ratio=ratio)
    assert nb.method == "tukey-nb" and nb.p[1] == pytest.approx(stats.nadeau_bengio(b - a, ratio).p, rel=1e-4)


def test_every_line_against_the_best_is_tukeys_range_statistic_on_the_two_way_residual():
    """By hand: the two-way ANOVA residual mean square (df (k−1)(n−1)); each line's standard
    error the larger of the pooled one and its own paired one; p from scipy's studentized range."""
    rng = np.random.default_rng(7)
    k, n = 6, 5
    noisy = np.array([1, 1, 1, 1, 1, 4.0])[:, None]  # the last line much noisier than the rest
    layout = (0.9 + rng.normal(0, 0.004, n)[None, :] + noisy * rng.normal(0, 0.002, (k, n))
              + 0.001 * np.arange(k)[:, None])
    result = best_line.compare_with_best(layout, greater_is_better=True)
    means = layout.mean(axis=1)
    best = int(np.argmax(means))
    grand = layout.mean()
    ss = sum((layout[i, f] - means[i] - layout[:, f].mean() + grand) ** 2 for i in range(k) for f in range(n))
    df = (k - 1) * (n - 1)
    s = math.sqrt(ss / df)
    assert result.df == df and result.s == pytest.approx(s)
    pooled_se = s * math.sqrt(2 / n)
    quantile = scipy_stats.studentized_range.ppf(0.95, k, df)
    for i in range(k):
        if i == best:
            assert result.p[i] is None
            continue
        own_se = float(np.std(layout[i] - layout[best], ddof=1)) / math.sqrt(n)
        se = max(pooled_se, own_se)
        assert result.se[i] == pytest.approx(se)
        q = math.sqrt(2) * (means[best] - means[i]) / se
        assert result.p[i] == pytest.approx(max(best_line.RANGE_P_FLOOR, scipy_stats.studentized_range.sf(q, k, df)),
                                            abs=2e-5)
        assert result.critical[i] == pytest.approx(quantile * se / math.sqrt(2), rel=1e-3)
    assert result.se[k - 1] > pooled_se, "the noisy line is judged by its own noise"


def test_no_verdict_without_variance_folds_or_finite_values():
    assert best_line.compare_with_best([[1, 2, 3], [2, 3, 4]], False).reason == "zero variance of the fold differences"
    assert best_line.compare_with_best([[1.0], [2.0]], False).reason.startswith("n = 1")
    assert best_line.compare_with_best([[1, math.nan], [2, 3]], False).reason == "a non-finite fold mean"
    assert best_line.compare_with_best([[1, 2], [2, 1]], False, test_train_ratio=math.nan).reason.startswith("n_train")


def test_with_all_lines_equal_a_worse_mark_is_rare_where_per_line_tests_were_not():
    """The issue's measure in miniature: 10 equal lines, 5 folds with shared difficulty; the
    Holm-adjusted per-line paired t marks some line worse than #1 in about 12 % of worlds."""
    rng = np.random.default_rng(26)
    worlds, k, n = 400, 10, 5
    tukey = holm = 0
    for _ in range(worlds):
        layout = rng.normal(0, 0.004, n)[None, :] + rng.normal(0, 0.002, (k, n))
        result = best_line.compare_with_best(layout, greater_is_better=True)
        tukey += any(p is not None and p < 0.05 for p in result.p)
        best = int(np.argmax(layout.mean(axis=1)))
        per_line = [stats.paired_t(layout[i] - layout[best]).p for i in range(k) if i != best]
        holm += any(p is not None and p < 0.05 for p, _ in stats.holm(per_line))
    assert tukey / worlds <= 0.08 and holm / worlds >= 0.08


# --- Friedman ----------------------------------------------------------------------------------


def brute_force_friedman(table: np.ndarray) -> float:
    """P(Σ R_j² ≥ observed) over every arrangement of every dataset's ranks (k!^n of them)."""
    ranks = scipy_stats.rankdata(table, axis=1)
    observed = float(np.sum(ranks.sum(axis=0) ** 2))
    hits = total = 0
    for arrangement in itertools.product(*[list(itertools.permutations(row)) for row in ranks]):
        total += 1
        hits += float(np.sum(np.sum(arrangement, axis=0) ** 2)) >= observed - 1e-9
    return hits / total


def test_the_issues_example_exact_friedman_p():
    """2 datasets, 4 configurations ranked 1234 and 3214: χ² says 0.308, the exact p is 0.458."""
    table = np.array([[1, 2, 3, 4], [3, 2, 1, 4]], dtype=float)
    result = stats.friedman_test(table, greater_is_better=False)
    assert result.method == "exact" and result.p == pytest.approx(0.4583333, abs=1e-6)
    chi2 = scipy_stats.friedmanchisquare(*table.T)
    assert result.statistic == pytest.approx(chi2.statistic) and chi2.pvalue == pytest.approx(0.308, abs=1e-3)


@pytest.mark.parametrize("n, k, seed", [(2, 4, 0), (3, 4, 1), (4, 3, 2), (5, 3, 3), (3, 3, 4)])
def test_the_exact_friedman_p_is_the_brute_force_enumeration(n, k, seed):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(n, k)).round(1)
    table[0, 1] = table[0, 0]  # a tie: mid-ranks permute as a multiset
    result = stats.friedman_test(table, greater_is_better=False)
    assert result.method == "exact" and result.p == pytest.approx(brute_force_friedman(table), abs=1e-12)
    assert result.statistic == pytest.approx(scipy_stats.friedmanchisquare(*table.T).statistic)


def test_friedman_past_enumeration_permutes_or_uses_iman_davenport():
    rng = np.random.default_rng(5)
    few = rng.normal(size=(5, 9))
    result = stats.friedman_test(few, greater_is_better=False)
    assert result.method == "permutation" and result.floor == pytest.approx(1 / 20_001)
    assert result.p == pytest.approx(scipy_stats.friedmanchisquare(*few.T).pvalue, abs=0.05)
    many = rng.normal(size=(30, 12)) + 0.3 * np.arange(12)
    result = stats.friedman_test(many, greater_is_better=False)
    chi2 = result.statistic
    f = 29 * chi2 / (30 * 11 - chi2)
    assert result.method == "iman-davenport"
    assert result.p == pytest.approx(scipy_stats.f.sf(f, 11, 11 * 29), rel=1e-9)


def test_no_post_hoc_claim_below_the_datasets_at_which_any_pair_could_differ():
    """k configurations: the largest gap of average ranks is k − 1; Nemenyi's CD must not exceed it."""
    for k in (3, 4, 5, 10):
        needed = stats.posthoc_datasets(k)
        q = scipy_stats.studentized_range.ppf(0.95, k, np.inf) / math.sqrt(2)
        assert q * math.sqrt(k * (k + 1) / (6 * needed)) <= k - 1 < q * math.sqrt(k * (k + 1) / (6 * (needed - 1)))
    scores = {"d1": {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, "d2": {"a": 3.0, "b": 2.0, "c": 1.0, "d": 4.0}}
    result = stats.critical_difference(scores, greater_is_better=False)
    assert result.cd == pytest.approx(3.32, abs=0.01) and result.friedman_p == pytest.approx(0.4583333, abs=1e-6)
    assert "no two of 4 configurations can differ" in result.posthoc_reason
    assert "needs 3 datasets" in result.posthoc_reason
    assert result.cliques() == [] and result.cliques("wilcoxon") == []


# --- Compact letter display --------------------------------------------------------------------


def shares(letters: dict[str, str], a: str, b: str) -> bool:
    return bool(set(_split(letters[a])) & set(_split(letters[b])))


def _split(text: str) -> list[str]:
    out: list[str] = []
    for char in text:
        if char.isdigit() and out:
            out[-1] += char
        else:
            out.append(char)
    return out


def test_compact_letters_textbook_example():
    """a≠c, a≠d, b≠d: {a, b} share one letter, {b, c} another, {c, d} a third."""
    letters = compact_letters(["a", "b", "c", "d"], [("a", "c"), ("a", "d"), ("b", "d")])
    assert letters == {"a": "a", "b": "ab", "c": "bc", "d": "c"}
    assert compact_letters(["x", "y"], []) == {"x": "a", "y": "a"}
    assert compact_letters(["x", "y"], [("y", "x")]) == {"x": "a", "y": "b"}


def test_compact_letters_share_a_letter_exactly_when_not_different():
    rng = np.random.default_rng(11)
    for _ in range(200):
        k = int(rng.integers(2, 9))
        names = [f"m{i}" for i in range(k)]
        pairs = [(a, b) for a, b in itertools.combinations(names, 2) if rng.random() < 0.4]
        letters = compact_letters(names, pairs)
        different = {frozenset(pair) for pair in pairs}
        for a, b in itertools.combinations(names, 2):
            assert shares(letters, a, b) == (frozenset((a, b)) not in different), (pairs, letters)
    many = [f"m{i}" for i in range(30)]  # every pair different: 30 letters, past z
    letters = compact_letters(many, list(itertools.combinations(many, 2)))
    assert len(set(letters.values())) == 30 and letters["m26"] == "a1"


def step_down_by_hand(layout: np.ndarray, alpha: float = 0.05) -> list[float | None]:
    """compare_with_best written again with scipy's studentized range, lowest mean best."""
    k, n = layout.shape
    best = int(np.argmin(layout.mean(axis=1)))
    active, earlier, out = list(range(k)), 0.0, [None] * k
    while len(active) > 1:
        rest = layout[active]
        means = rest.mean(axis=1)
        residual = rest - means[:, None] - rest.mean(axis=0)[None, :] + rest.mean()
        df = (len(active) - 1) * (n - 1)
        s = math.sqrt(float(np.sum(residual ** 2)) / df)
        marked = []
        for line in active:
            if line == best:
                continue
            se = max(s * math.sqrt(2 / n), float(np.std(layout[line] - layout[best], ddof=1)) / math.sqrt(n))
            q = math.sqrt(2) * (layout[line].mean() - layout[best].mean()) / se
            p = max(best_line.RANGE_P_FLOOR, float(scipy_stats.studentized_range.sf(q, len(active), df)))
            out[line] = max(p, earlier)
            if p < alpha:
                marked.append(line)
        if not marked:
            break
        earlier = max([earlier] + [out[line] for line in marked])
        active = [line for line in active if line not in marked]
    return out


def test_a_line_far_worse_is_set_aside_before_the_close_ones_are_judged():
    """Step-down: the far line is marked at the first step, then the close lines are tested
    again without it (its noise no longer pooled, a smaller range quantile); the p-values are
    those of an independent implementation with scipy."""
    rng = np.random.default_rng(12)
    n = 5
    fold = rng.normal(0, 0.004, n)
    close = [0.86 + fold + rng.normal(0, 0.0006, n) + shift for shift in (0.0, 0.001, 0.0035)]
    far = 1.04 + fold + rng.normal(0, 0.006, n)
    layout = np.array(close + [far])
    result = best_line.compare_with_best(layout, greater_is_better=False)
    assert result.p[3] == best_line.RANGE_P_FLOOR, "the far line goes at the first step"
    by_hand = step_down_by_hand(layout)
    assert result.p[0] is None and np.allclose(result.p[1:], by_hand[1:], atol=2e-5)
    assert result.p[2] < 0.05, "marked once the far line no longer inflates the pooled noise"
    rest = layout[:3]
    residual = rest - rest.mean(axis=1)[:, None] - rest.mean(axis=0)[None, :] + rest.mean()
    with_far = layout - layout.mean(axis=1)[:, None] - layout.mean(axis=0)[None, :] + layout.mean()
    assert np.sum(with_far ** 2) / 12 > 4 * np.sum(residual ** 2) / 8, "(the far line's noise dominated the pool)"


@pytest.mark.parametrize("seed", range(6))
def test_the_step_down_is_the_independent_one_on_random_tables(seed):
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(3, 8))
    layout = (rng.normal(0, 0.004, 5)[None, :] + rng.normal(0, 0.002, (k, 5)) * rng.uniform(0.5, 3, (k, 1))
              + rng.choice([0.0, 0.003, 0.02], size=(k, 1)))
    result = best_line.compare_with_best(layout, greater_is_better=False)
    by_hand = step_down_by_hand(layout)
    for got, expected in zip(result.p, by_hand):
        assert (got is None and expected is None) or got == pytest.approx(expected, abs=2e-5)
