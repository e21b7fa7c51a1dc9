"""The statistical tests behind ``bench compare``: each gives a p-value *and the interval that
belongs to it*, so the printed CI and the verdict can never disagree.

Why these tests (the unit is the fold; seeds were averaged within it before anything here):

* :func:`paired_t` — Student's paired t over the fold differences. The default for one
  partition into folds: it answers "on *these* folds, is B's mean different from A's beyond the
  seed-to-seed and fold-to-fold noise?" and its 95 % CI covers the mean difference over these
  folds (``benchmarks/calibration.md``: 4–6 % false verdicts with 1, 5 and 10 seeds).
* :func:`nadeau_bengio` — the corrected resampled t-test (Nadeau & Bengio 2003; Bouckaert &
  Frank 2004): the variance of the mean of J fold differences is ``(1/J + n_test/n_train)·s²``
  instead of ``s²/J``, because folds that share training data are correlated. The default when
  the folds come from several partitions (repeated CV: split seeds differ), where the plain t
  over J = k·r folds is far too confident (coverage 88 % instead of 95 % in issue 14's measure).
* :func:`sign_flip` — the exact paired permutation (sign-flip) test: no normality assumed;
  exact enumeration up to 2^16 sign vectors, else 20 000 random ones (seeded). Its interval is
  the set of shifts it does not reject (test inversion). With n folds its smallest two-sided p is
  2/2^n — with 5 folds 0.0625, so it can never reject at 0.05; the result says so.
* :func:`unit_bootstrap` — the paired bootstrap over users (or examples) within each fold, from
  the per-unit parts the worker stores (contract 2). The only test for a single split (holdout,
  temporal, leave-n-out), and the most powerful one everywhere; it is *conditional on the fitted
  models*: it says whether B's predictions are better on this test data, not whether B's method
  would be better when refitted on other data.

Edge cases return no p and a reason instead of a number: fewer than 2 folds, a non-finite
difference, zero variance of the differences (every Δ equal: the t statistic is undefined, and
"p = 0 at n = 2" would be a verdict from nothing).

:func:`holm` adjusts a family of p-values and gives each its Holm *step level*; the interval of
a row is computed at that level, which keeps it consistent with the verdict: a rejected row's CI
excludes 0, a row not rejected has a CI that contains 0.

:func:`critical_difference` ranks models over several datasets: Friedman's test with the
Nemenyi critical difference and Wilcoxon–Holm pairwise tests (Demšar 2006), the data a
critical-difference diagram draws.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import numpy as np

TESTS = ("t", "nb", "permutation", "units")
EXACT_FLIPS = 16
RANDOM_FLIPS = 20_000
RESAMPLES = 4_000


@dataclass
class Test:
    """A test's outcome: Δ, p (``None`` with ``reason`` when none can be given) and the interval
    at any level (``ci(alpha)``, the ``1 − alpha`` interval the same test gives)."""

    test: str
    n: int
    delta: float
    p: float | None = None
    reason: str = ""
    interval: Callable[[float], tuple[float, float]] | None = field(default=None, repr=False)

    def ci(self, alpha: float) -> tuple[float, float] | None:
        return None if self.interval is None or self.p is None else self.interval(alpha)


def _degenerate(name: str, diffs: np.ndarray) -> Test | None:
    n = len(diffs)
    delta = float(np.mean(diffs)) if n else math.nan
    if n and not np.all(np.isfinite(diffs)):
        return Test(name, n, delta, reason="a non-finite difference")
    if n < 2:
        return Test(name, n, delta, reason=f"n = {n}: a test needs at least 2 folds")
    if float(np.ptp(diffs)) <= 1e-9 * float(np.max(np.abs(diffs))):  # equal up to float rounding
        what = "A and B are identical on every fold" if delta == 0 else "every fold has the same Δ"
        return Test(name, n, delta, reason=f"zero variance of Δ ({what})")
    return None


def _t_test(name: str, diffs: np.ndarray, se: float, df: int) -> Test:
    # Student's t from scipy.special (what scipy.stats.t calls: sf(x) = stdtr(df, -x), ppf =
    # stdtrit): importing scipy.stats costs ~0.3 s, a third of a finished suite's rerun
    from scipy.special import stdtr, stdtrit

    delta = float(np.mean(diffs))
    t = delta / se
    p = float(2 * stdtr(df, -abs(t)))

    def interval(alpha: float) -> tuple[float, float]:
        half = float(stdtrit(df, 1 - alpha / 2)) * se
        return delta - half, delta + half

    return Test(name, len(diffs), delta, p, interval=interval)


def paired_t(diffs: Sequence[float]) -> Test:
    """Student's paired t over fold differences (``B − A``)."""
    d = np.asarray(diffs, dtype=float)
    bad = _degenerate("t", d)
    if bad:
        return bad
    return _t_test("t", d, float(np.std(d, ddof=1)) / math.sqrt(len(d)), len(d) - 1)


def nadeau_bengio(diffs: Sequence[float], test_train_ratio: float | None) -> Test:
    """The corrected resampled t-test: ``se = s · sqrt(1/J + n_test/n_train)``, ``df = J − 1``."""
    d = np.asarray(diffs, dtype=float)
    bad = _degenerate("nb", d)
    if bad:
        return bad
    if test_train_ratio is None or not math.isfinite(test_train_ratio) or test_train_ratio <= 0:
        return Test("nb", len(d), float(np.mean(d)), reason="n_train/n_test not stored with the cells")
    se = float(np.std(d, ddof=1)) * math.sqrt(1 / len(d) + test_train_ratio)
    return _t_test("nb", d, se, len(d) - 1)


def _signs(n: int) -> np.ndarray:
    if n <= EXACT_FLIPS:
        return 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)
    rng = np.random.default_rng(0)
    return np.vstack([np.ones(n), rng.choice([-1.0, 1.0], size=(RANDOM_FLIPS - 1, n))])


def sign_flip(diffs: Sequence[float]) -> Test:
    """The paired permutation test: ``p = P(|mean(±d)| ≥ |mean(d)|)`` over sign vectors."""
    d = np.asarray(diffs, dtype=float)
    bad = _degenerate("permutation", d)
    if bad:
        return bad
    signs = _signs(len(d))
    delta = float(np.mean(d))
    scale = float(np.max(np.abs(d))) or 1.0

    def p_at(shift: float) -> float:
        centred = d - shift
        observed = abs(float(np.mean(centred)))
        means = np.abs(signs @ centred) / len(d)
        return float(np.mean(means >= observed - 1e-12 * scale))

    floor = 2 / len(signs) if len(d) <= EXACT_FLIPS else 1 / len(signs)

    def interval(alpha: float) -> tuple[float, float]:
        if floor > alpha:  # no shift is ever rejected
            return -math.inf, math.inf
        span = float(np.ptp(d)) + scale

        def bound(direction: float) -> float:
            inside, outside = delta, delta + direction * span
            while p_at(outside) > alpha:
                outside = delta + 2 * (outside - delta)
            for _ in range(50):
                middle = (inside + outside) / 2
                if p_at(middle) > alpha:
                    inside = middle
                else:
                    outside = middle
            return inside

        return bound(-1.0), bound(1.0)

    test = Test("permutation", len(d), delta, p_at(0.0), interval=interval)
    if floor > 0.05:
        test.reason = f"with n = {len(d)} the smallest possible p is {floor:.4g}"
    return test


# --- Per-unit parts (contract 2) ---------------------------------------------------------------


@dataclass
class UnitFold:
    """One fold's per-unit parts, aligned: ``num_a``/``num_b`` over the same units, one ``den``."""

    num_a: np.ndarray
    num_b: np.ndarray
    den: np.ndarray
    transform: str = "identity"


def _value(num: np.ndarray, den: np.ndarray, transform: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = num.sum(axis=-1) / den.sum(axis=-1)
    return np.sqrt(mean) if transform == "sqrt" else mean


def unit_bootstrap(folds: Sequence[UnitFold], resamples: int | None = None, seed: int = 0) -> Test:
    """Paired bootstrap over units within each fold; Δ = mean over folds of the metric's
    ``B − A``. The interval is the percentile interval; ``p = 2·min(P*(Δ* ≤ 0), P*(Δ* ≥ 0))``
    is the smallest level at which that interval excludes 0 (so the two always agree)."""
    resamples = resamples or RESAMPLES
    units = sum(len(f.den) for f in folds)
    if not folds or any(len(f.den) < 2 for f in folds):
        return Test("units", units, math.nan, reason="fewer than 2 units in a fold")
    rng = np.random.default_rng(seed)
    observed, draws = [], []
    for fold in folds:
        arrays = (fold.num_a, fold.num_b, fold.den)
        if not all(np.all(np.isfinite(a)) for a in arrays):
            return Test("units", units, math.nan, reason="a non-finite per-unit value")
        observed.append(float(_value(fold.num_b, fold.den, fold.transform) - _value(fold.num_a, fold.den, fold.transform)))
        index = rng.integers(0, len(fold.den), size=(resamples, len(fold.den)))
        den = fold.den[index]
        draws.append(_value(fold.num_b[index], den, fold.transform) - _value(fold.num_a[index], den, fold.transform))
    delta = float(np.mean(observed))
    sample = np.mean(np.vstack(draws), axis=0)
    sample = sample[np.isfinite(sample)]
    if not math.isfinite(delta):
        return Test("units", units, delta, reason="a non-finite difference")
    if float(np.ptp(sample)) == 0.0:
        return Test("units", units, delta, reason="zero variance of Δ over the resamples")
    p = min(1.0, 2 * min(float(np.mean(sample <= 0)), float(np.mean(sample >= 0))))
    p = max(p, 1 / len(sample))

    def interval(alpha: float) -> tuple[float, float]:
        low, high = np.quantile(sample, [alpha / 2, 1 - alpha / 2])
        return float(low), float(high)

    return Test("units", units, delta, p, interval=interval)


# --- Families ----------------------------------------------------------------------------------


def holm(pvalues: Sequence[float | None], alpha: float = 0.05) -> list[tuple[float | None, float]]:
    """Holm's step-down adjustment: per p-value, ``(adjusted p, level)``.

    ``level`` is the level at which the row's interval is drawn: ``alpha/(m − j + 1)`` for the
    j-th smallest p when every smaller one was rejected, else ``alpha/(m − r)`` with r rows
    rejected — so a rejected row's interval excludes 0 and the others' contain it. ``None``
    entries stay ``None`` (level ``alpha``)."""
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(present)
    out: list[tuple[float | None, float]] = [(None, alpha)] * len(pvalues)
    running, rejecting, rejected = 0.0, True, 0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        level = alpha / (m - rank)
        if rejecting and p < level:
            rejected += 1
        else:
            rejecting = False
        out[index] = (running, level)
    for rank, (p, index) in enumerate(present):
        if rank >= rejected:
            out[index] = (out[index][0], alpha / (m - rejected))
    return out


# --- Several datasets (Demšar 2006) ------------------------------------------------------------


@dataclass
class CriticalDifference:
    """Models ranked over datasets: what a critical-difference diagram draws."""

    models: list[str]
    datasets: list[str]
    average_ranks: dict[str, float]
    friedman_p: float | None
    cd: float | None  # Nemenyi critical difference of average ranks at alpha
    alpha: float
    # (a, b) -> Holm-adjusted Wilcoxon signed-rank p over the datasets
    wilcoxon_holm: dict[tuple[str, str], float | None] = field(default_factory=dict)
    reason: str = ""

    def cliques(self, method: str = "nemenyi") -> list[list[str]]:
        """Maximal groups of models (in rank order) not significantly different from each other:
        within the Nemenyi CD, or with no Wilcoxon–Holm rejection between any two members."""
        order = sorted(self.models, key=lambda m: self.average_ranks[m])
        if method == "nemenyi":
            if self.cd is None:
                return []
            return [[order[i] for i in group]
                    for group in nemenyi_groups([self.average_ranks[m] for m in order], self.cd)]

        def tied(a: str, b: str) -> bool:
            p = self.wilcoxon_holm.get((a, b), self.wilcoxon_holm.get((b, a)))
            return p is None or p >= self.alpha

        groups: list[list[str]] = []
        for i in range(len(order)):
            j = i
            while j + 1 < len(order) and all(tied(order[k], order[j + 1]) for k in range(i, j + 1)):
                j += 1
            group = order[i:j + 1]
            if len(group) > 1 and not any(set(group) <= set(g) for g in groups):
                groups.append(group)
        return groups


def nemenyi_groups(ranks: Sequence[float], cd: float) -> list[list[int]]:
    """Maximal runs of positions (``ranks`` sorted, best first) whose average ranks lie within
    ``cd`` of each other: what :meth:`CriticalDifference.cliques` gives for ``"nemenyi"``, with two
    pointers instead of testing every member against every other (linear, not cubic)."""
    groups: list[list[int]] = []
    end = 0
    for start in range(len(ranks)):
        end = max(end, start)
        while end + 1 < len(ranks) and ranks[end + 1] - ranks[start] < cd:
            end += 1
        if end > start and (not groups or groups[-1][-1] < end):
            groups.append(list(range(start, end + 1)))
    return groups


def critical_difference(scores: Mapping[str, Mapping[str, float]], greater_is_better: bool,
                        alpha: float = 0.05, pairwise: bool = True) -> CriticalDifference:
    """``scores[dataset][model]``: Friedman over the datasets every model has, Nemenyi's CD
    (``q_alpha · sqrt(k(k+1)/(6N))``, q from the studentized range) and Wilcoxon–Holm pairs.

    ``pairwise=False`` leaves out the Wilcoxon–Holm pairs (``wilcoxon_holm`` stays empty): they
    are k² tests (260 models: 34,000 tests, about a minute), the rest is linear in the models."""
    from scipy import stats

    models = sorted({m for row in scores.values() for m in row})
    datasets = [d for d in scores if all(m in scores[d] and math.isfinite(scores[d][m]) for m in models)]
    ranks: dict[str, float] = {m: math.nan for m in models}
    out = CriticalDifference(models, datasets, ranks, None, None, alpha)
    k, n = len(models), len(datasets)
    if k < 2 or n < 2:
        out.reason = f"{n} dataset(s) with every one of {k} model(s): a ranking needs 2 of each"
        return out
    table = np.array([[scores[d][m] for m in models] for d in datasets])
    per_dataset = stats.rankdata(-table if greater_is_better else table, axis=1)
    out.average_ranks = {m: float(r) for m, r in zip(models, per_dataset.mean(axis=0))}
    if k >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            friedman = stats.friedmanchisquare(*table.T)
        out.friedman_p = None if math.isnan(friedman.pvalue) else float(friedman.pvalue)
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    out.cd = q * math.sqrt(k * (k + 1) / (6 * n))
    if not pairwise:
        return out
    pairs = list(itertools.combinations(models, 2))
    raw: list[float | None] = []
    for a, b in pairs:
        d = table[:, models.index(b)] - table[:, models.index(a)]
        if np.all(d == 0):
            raw.append(None)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw.append(float(stats.wilcoxon(d).pvalue))
    out.wilcoxon_holm = {pair: adjusted for pair, (adjusted, _) in zip(pairs, holm(raw, alpha))}
    return out
