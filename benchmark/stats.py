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
* :func:`unit_bootstrap` — the paired bootstrap over users (or examples), from the per-unit
  parts the worker stores (contract 2). The only test for a single split (holdout, temporal,
  leave-n-out); it is *conditional on the fitted models*: it says whether B's predictions are
  better on this test data, not whether B's method would be better when refitted on other data.
  Over several folds the users are drawn once per resample and that draw is used in every fold
  (a cluster bootstrap: the same users recur in every fold of a k-fold split), and the verdict
  is the t-test over folds widened by the covariance the folds share through their users
  (:func:`_over_folds`); resampling each fold on its own, with no fold-level term, gave 9.2 % (the
  audit) to 18 % (``benchmarks/calibration.md`` §6.3) false verdicts on a seed-only null, since a
  seed's luck on a whole fold is invisible to any resampling of users. Over folds it is
  therefore about as powerful as the t-test over folds, not more: its use there is to stay
  valid when users' effects recur from fold to fold.

Edge cases return no p and a reason instead of a number: fewer than 2 folds, a non-finite
difference, zero variance of the differences (every Δ equal: the t statistic is undefined, and
"p = 0 at n = 2" would be a verdict from nothing).

:func:`holm` adjusts a family of p-values and gives each its Holm *step level*; the interval of
a row is computed at that level, which keeps it consistent with the verdict: a rejected row's CI
excludes 0, a row not rejected has a CI that contains 0. What that interval is, honestly: the
test's own interval at a level between ``alpha/m`` and ``alpha`` — never narrower than the per-pair
``1 − alpha`` interval (so each covers its own Δ at least ``1 − alpha`` of the time), never wider
than the Bonferroni-simultaneous one at ``alpha/m``; it is *not* a simultaneous band over the family.

A resampling test has a smallest attainable p (``floor``): 2/2^n for the sign flip, 1/B for the
bootstrap. Holm multiplies it by up to m, so :func:`unit_bootstrap` sizes B from the family
(:func:`resamples_for`), and a test whose floor still cannot reach ``alpha/m`` says so.

:func:`critical_difference` ranks models over several datasets: Friedman's test with the
Nemenyi critical difference and Wilcoxon–Holm pairwise tests (Demšar 2006), the data a
critical-difference diagram draws. Its p is exact (the rank permutations enumerated) or by
permutation where χ² is poor (few datasets), and no post-hoc claim is made below the number of
datasets at which any two configurations could differ (:func:`posthoc_datasets`).

The leaderboard's "vs #1" (every line against the best-looking one, with the studentized range
so that choosing #1 as the best does not inflate the "worse" marks) is :mod:`benchmark.best_line`.
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
MAX_RESAMPLES = 200_000  # the family-sized bootstrap's cap: Holm can reach alpha up to m = 10,000
TAIL = 20  # resamples expected beyond the smallest Holm level (alpha/m), so its tail is resolved
CHUNK_VALUES = 4_000_000  # resampled values held at once (per array): memory stays ~100 MB


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
    floor: float = 0.0  # the smallest p the test can give (resampling tests), 0 for the t-tests
    distinct: int | None = None  # distinct units (``n`` counts unit–fold pairs), when known
    # the Bayesian test's posterior (better, equivalent, worse) in the metric's direction
    probabilities: tuple[float, float, float] | None = None

    def ci(self, alpha: float) -> tuple[float, float] | None:
        if self.interval is None or (self.p is None and self.probabilities is None):
            return None
        return self.interval(alpha)


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

    test = Test("permutation", len(d), delta, p_at(0.0), interval=interval, floor=floor)
    if floor > 0.05:
        test.reason = f"with n = {len(d)} the smallest possible p is {floor:.4g}"
    return test


# --- Per-unit parts (contract 2) ---------------------------------------------------------------


@dataclass
class UnitFold:
    """One fold's per-unit parts, aligned: ``num_a``/``num_b`` over the same units, one ``den``
    (``ids``, when given, lets the distinct units be counted across folds)."""

    num_a: np.ndarray
    num_b: np.ndarray
    den: np.ndarray
    transform: str = "identity"
    ids: np.ndarray | None = None


def _value(num: np.ndarray, den: np.ndarray, transform: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean: np.ndarray = num.sum(axis=-1) / den.sum(axis=-1)
    value: np.ndarray = np.sqrt(mean) if transform == "sqrt" else mean
    return value


def resamples_for(family: int, alpha: float = 0.05) -> int:
    """Bootstrap resamples for a family of ``family`` tests: at least :data:`RESAMPLES`, and
    enough that the smallest Holm level ``alpha/m`` has :data:`TAIL` resamples beyond it (so
    ``m/B`` — the smallest Holm-adjusted p — is ``alpha/TAIL``), capped at :data:`MAX_RESAMPLES`."""
    return min(MAX_RESAMPLES, max(RESAMPLES, math.ceil(TAIL * max(family, 1) / alpha)))


def _draw(folds: Sequence[UnitFold], count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` bootstrap resamples of each fold's B − A (a ``count × folds`` array): per fold,
    units resampled with replacement, in chunks that hold at most :data:`CHUNK_VALUES` indices at
    once. Folds that name their units (``ids``) are resampled jointly (:func:`_draw_jointly`)."""
    if len(folds) > 1 and all(fold.ids is not None for fold in folds):
        return _draw_jointly(folds, count, rng)
    out = np.zeros((count, len(folds)))
    for column, fold in enumerate(folds):
        n = len(fold.den)
        step = max(1, CHUNK_VALUES // n)
        for start in range(0, count, step):
            index = rng.integers(0, n, size=(min(step, count - start), n))
            den = fold.den[index]
            out[start:start + len(index), column] = (_value(fold.num_b[index], den, fold.transform)
                                                     - _value(fold.num_a[index], den, fold.transform))
    return out


def _over_folds(observed: np.ndarray, per_fold: np.ndarray, joint: bool) -> tuple[float, float] | None:
    """``(variance, df)`` of the mean Δ over K folds: ``s²/K + max(0, c)`` with ``s²`` the
    variance of the folds' Δ and ``c`` the mean covariance *between* two folds' Δ* under the joint
    bootstrap (0 when the units are not named, so cannot be linked across folds); Satterthwaite's
    df ``V²·(K − 1)/(s²/K)²`` (∞ when ``s² = 0``). ``None`` when ``V`` is 0.

    Why: ``s²/K`` is the t-test over folds, which sees everything that varies from fold to fold —
    also what a fitted model does to a whole fold (a seed luckier on fold 3 shifts all its users),
    which no resampling of users can see: the bootstrap alone gave 18 % false verdicts on a
    seed-only null with that luck (``benchmarks/calibration.md`` §6.3). What it cannot see is the
    part of the users' effects that every fold shares (the same users, the same seed): it moves
    all folds alike. The joint bootstrap's covariance between folds measures exactly that part."""
    k = len(observed)
    finite = per_fold[np.all(np.isfinite(per_fold), axis=1)]
    shared = 0.0
    if joint and len(finite) > 1:
        covariance = np.cov(finite, rowvar=False)
        shared = max(0.0, (float(np.sum(covariance)) - float(np.trace(covariance))) / (k * (k - 1)))
    folds = float(np.var(observed, ddof=1)) / k
    variance = folds + shared
    if variance <= 0 or not math.isfinite(variance):
        return None
    return variance, (variance ** 2 * (k - 1) / folds ** 2 if folds > 0 else math.inf)


def _draw_jointly(folds: Sequence[UnitFold], count: int, rng: np.random.Generator) -> np.ndarray:
    """The cluster bootstrap over folds: the distinct units are drawn once per resample (with
    replacement) and each fold weighs its units by how often that one draw picked them — the same
    users in every fold where they appear. Resampling each fold on its own treats a user's five
    appearances as five independent users, though her errors (and B − A) recur from fold to
    fold: intervals up to 26 % too narrow and 9.2 % false verdicts on a seed-only null (issue 26;
    ``benchmarks/calibration.md``). A resample in which a fold drew none of its units is NaN
    (left out by the caller)."""
    universe, where = np.unique(np.concatenate([np.asarray(fold.ids, dtype=str) for fold in folds]),
                                return_inverse=True)
    size = len(universe)
    places = np.split(where, np.cumsum([len(fold.den) for fold in folds])[:-1])
    out = np.zeros((count, len(folds)))
    step = max(1, CHUNK_VALUES // size)
    for start in range(0, count, step):
        rows = min(step, count - start)
        index = rng.integers(0, size, size=(rows, size)) + size * np.arange(rows)[:, None]
        weights = np.bincount(index.ravel(), minlength=rows * size).reshape(rows, size).astype(float)
        for column, (fold, place) in enumerate(zip(folds, places)):
            w = weights[:, place]
            with np.errstate(divide="ignore", invalid="ignore"):
                den = w @ fold.den
                value_b, value_a = (w @ fold.num_b) / den, (w @ fold.num_a) / den
            if fold.transform == "sqrt":
                value_b, value_a = np.sqrt(value_b), np.sqrt(value_a)
            out[start:start + rows, column] = value_b - value_a
    return out


def _percentile_test(sample: np.ndarray, units: int, delta: float) -> Test:
    """p and interval from the bootstrap Δ*, consistent by construction: the interval at level
    ``alpha`` uses the order statistics ``ceil(alpha·B/2)`` from each end, so it excludes 0
    exactly when ``p = 2·min(#(Δ* ≤ 0), #(Δ* ≥ 0))/B < alpha``; below the floor ``1/B`` no level
    can be resolved and the interval is unbounded (as the sign flip's)."""
    ordered = np.sort(sample)
    count = len(ordered)
    floor = 1 / count
    tail = min(int(np.sum(ordered <= 0)), int(np.sum(ordered >= 0)))
    p = max(floor, min(1.0, 2 * tail / count))

    def interval(alpha: float) -> tuple[float, float]:
        if alpha <= floor:
            return -math.inf, math.inf
        k = min(count, math.ceil(alpha * count / 2)) - 1
        return float(ordered[k]), float(ordered[count - 1 - k])

    return Test("units", units, delta, p, interval=interval, floor=floor)


def _distinct(folds: Sequence[UnitFold]) -> int | None:
    """Distinct units over the folds (``None`` when a fold has no ids)."""
    seen: set[str] = set()
    for fold in folds:
        if fold.ids is None:
            return None
        seen.update(str(unit) for unit in fold.ids)
    return len(seen) if folds else None


def unit_bootstrap(folds: Sequence[UnitFold], resamples: int | None = None, seed: int = 0,
                   family: int = 1, alpha: float = 0.05) -> Test:
    """Paired bootstrap over units; Δ = mean over folds of the metric's ``B − A``.

    One fold: the interval is the percentile interval; ``p = 2·min(P*(Δ* ≤ 0), P*(Δ* ≥ 0))``
    (at least ``1/B``) is the smallest level at which that interval excludes 0 (so the two
    always agree). ``resamples`` fixes B; by default :data:`RESAMPLES` are drawn and, when that
    p is below ``alpha`` and the family of ``family`` tests needs a finer floor, the draws are
    extended to :func:`resamples_for` ``(family, alpha)``.

    Several folds: the units are drawn jointly (:func:`_draw_jointly`) and the test is Student's t
    with the variance of :func:`_over_folds` — the t-test over folds plus the users' effects that
    every fold shares, which the folds' spread cannot show (no floor: p and interval are exact
    functions of that variance and its Satterthwaite df)."""
    units = sum(len(f.den) for f in folds)
    distinct = _distinct(folds)
    if not folds or any(len(f.den) < 2 for f in folds):
        return Test("units", units, math.nan, reason="fewer than 2 units in a fold", distinct=distinct)
    for fold in folds:
        if not all(np.all(np.isfinite(a)) for a in (fold.num_a, fold.num_b, fold.den)):
            return Test("units", units, math.nan, reason="a non-finite per-unit value", distinct=distinct)
    observed = np.array([float(_value(f.num_b, f.den, f.transform) - _value(f.num_a, f.den, f.transform))
                         for f in folds])
    delta = float(np.mean(observed))
    if not math.isfinite(delta):
        return Test("units", units, delta, reason="a non-finite difference", distinct=distinct)
    rng = np.random.default_rng(seed)
    if len(folds) > 1:
        return _folds_test(folds, observed, _draw(folds, resamples or RESAMPLES, rng), units, distinct)
    sample = _draw(folds, resamples or RESAMPLES, rng)[:, 0]
    finite = sample[np.isfinite(sample)]
    if len(finite) == 0 or float(np.ptp(finite)) == 0.0:
        return Test("units", units, delta, reason="zero variance of Δ over the resamples", distinct=distinct)
    test = _percentile_test(finite, units, delta)
    wanted = resamples_for(family, alpha)
    if resamples is None and wanted > len(sample) and test.p is not None and test.p < alpha:
        sample = np.concatenate([sample, _draw(folds, wanted - len(sample), rng)[:, 0]])
        test = _percentile_test(sample[np.isfinite(sample)], units, delta)
    test.distinct = distinct
    return test


def _folds_test(folds: Sequence[UnitFold], observed: np.ndarray, per_fold: np.ndarray, units: int,
                distinct: int | None) -> Test:
    """Several folds: Student's t on the mean Δ with the variance and df of :func:`_over_folds`
    (the t-test over folds plus the users' effects every fold shares)."""
    from scipy.special import stdtr, stdtrit

    delta = float(np.mean(observed))
    joint = all(fold.ids is not None for fold in folds)
    found = _over_folds(observed, per_fold, joint)
    if found is None:
        return Test("units", units, delta, reason="zero variance of Δ over folds and resamples", distinct=distinct)
    variance, df = found
    se = math.sqrt(variance)
    p = float(2 * stdtr(df, -abs(delta) / se))

    def interval(alpha: float) -> tuple[float, float]:
        half = float(stdtrit(df, 1 - alpha / 2)) * se
        return delta - half, delta + half

    return Test("units", units, delta, p, interval=interval, distinct=distinct)


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
    friedman_reason: str = ""  # why friedman_p is None
    friedman_method: str = ""  # "exact", "permutation" or "iman-davenport" (FriedmanTest)
    friedman_floor: float = 0.0  # the permutation p's smallest value: printed "≤ floor"
    posthoc_reason: str = ""  # why no pair can be told apart (too few datasets): no cliques then

    def cliques(self, method: str = "nemenyi") -> list[list[str]]:
        """Maximal groups of models (in rank order) not significantly different from each other:
        within the Nemenyi CD, or with no Wilcoxon–Holm rejection between any two members. None
        when ``posthoc_reason`` says no pair could differ (a group of all would read as a finding)."""
        if self.posthoc_reason:
            return []
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
    """``scores[dataset][model]``: Friedman over the datasets every model has (:func:`friedman_test`:
    exact, permutation or Iman–Davenport), Nemenyi's CD (``q_alpha · sqrt(k(k+1)/(6N))``, q from
    the studentized range) and Wilcoxon–Holm pairs; ``posthoc_reason`` when there are too few
    datasets for any pair to differ (:func:`posthoc_datasets`).

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
        friedman = friedman_test(table, greater_is_better)
        out.friedman_p, out.friedman_method, out.friedman_floor = friedman.p, friedman.method, friedman.floor
        out.friedman_reason = friedman.reason
    else:
        out.friedman_reason = "Friedman's test needs 3 or more configurations; here 2 (see the pairwise row)"
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    out.cd = q * math.sqrt(k * (k + 1) / (6 * n))
    needed = posthoc_datasets(k, alpha)
    if n < needed:
        out.posthoc_reason = (f"with {n} datasets no two of {k} configurations can differ: the critical difference "
                              f"{out.cd:.2f} exceeds the largest possible gap of average ranks ({k - 1}); "
                              f"a post-hoc test needs {needed} datasets or more")
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


# --- Friedman's test where χ² is poor (issue 26 item 6) ----------------------------------------

EXACT_WORK = 400_000  # state × arrangement steps of the exact Friedman distribution (about 1 s)
FRIEDMAN_PERMUTATIONS = 20_000
IMAN_DAVENPORT_DATASETS = 10  # from here on the F approximation is good (Demšar 2006, §3.2.2)


@dataclass
class FriedmanTest:
    """Friedman's test of k configurations over n datasets: its χ² statistic (tie-corrected, as
    scipy's) and a p-value by ``method`` — ``exact`` (the permutation distribution of the ranks
    within each dataset, enumerated), ``permutation`` (20,000 random ones: ``floor`` = its
    smallest p) or ``iman-davenport`` (the F approximation, for 10 datasets or more)."""

    statistic: float
    p: float | None
    method: str
    floor: float = 0.0
    reason: str = ""


def _exact_rank_sum_tail(ranks: np.ndarray, observed: int) -> float | None:
    """``P(Σ_j R_j² ≥ observed)`` when each dataset's (doubled, integer) ranks are permuted
    uniformly and independently; ``None`` past :data:`EXACT_WORK`. The rank-sum vectors are kept
    sorted (the statistic and the set of arrangements are symmetric), which divides the states
    by up to k!."""
    states: dict[tuple[int, ...], float] = {tuple([0] * ranks.shape[1]): 1.0}
    work = 0
    for row in ranks:
        arrangements = sorted(set(itertools.permutations(int(r) for r in row)))
        weight = 1.0 / len(arrangements)
        work += len(states) * len(arrangements)
        if work > EXACT_WORK:
            return None
        following: dict[tuple[int, ...], float] = {}
        for state, probability in states.items():
            for arrangement in arrangements:
                key = tuple(sorted(a + b for a, b in zip(state, arrangement)))
                following[key] = following.get(key, 0.0) + probability * weight
        states = following
    return min(1.0, math.fsum(p for state, p in states.items() if sum(s * s for s in state) >= observed))


def friedman_test(table: np.ndarray, greater_is_better: bool, seed: int = 0) -> FriedmanTest:
    """Friedman's test on ``table[dataset, configuration]``: below 10 datasets exact where it
    can be enumerated, else by random permutations of the ranks within datasets; from 10
    datasets on Iman–Davenport's F. The χ² approximation is not used: with 2 datasets and 4 configurations
    it gave p 0.308 where the exact p is 0.458 (issue 26)."""
    from scipy.stats import rankdata
    from scipy.special import fdtrc

    n, k = table.shape
    ranks = rankdata(-table if greater_is_better else table, axis=1)
    sums = ranks.sum(axis=0)
    ties = sum(float(np.sum(counts ** 3 - counts)) for counts in
               (np.unique(row, return_counts=True)[1].astype(float) for row in ranks))
    correction = 1 - ties / (n * k * (k * k - 1))
    if correction <= 0:
        return FriedmanTest(math.nan, None, "exact", reason="every dataset ranks the models alike (ties)")
    statistic = float((12 / (n * k * (k + 1)) * float(np.sum(sums ** 2)) - 3 * n * (k + 1)) / correction)
    doubled = np.rint(2 * ranks).astype(int)
    observed = int(np.sum(doubled.sum(axis=0) ** 2))
    if n < IMAN_DAVENPORT_DATASETS and math.factorial(k) <= 720:
        exact = _exact_rank_sum_tail(doubled, observed)
        if exact is not None:
            return FriedmanTest(statistic, exact, "exact")
    if n < IMAN_DAVENPORT_DATASETS:
        rng = np.random.default_rng(seed)
        count = 0
        for start in range(0, FRIEDMAN_PERMUTATIONS, 1000):
            size = min(1000, FRIEDMAN_PERMUTATIONS - start)
            order = np.argsort(rng.random((size, n, k)), axis=2)
            shuffled = np.take_along_axis(np.broadcast_to(doubled, (size, n, k)), order, axis=2)
            count += int(np.sum(np.sum(shuffled.sum(axis=1) ** 2, axis=1) >= observed))
        floor = 1 / (FRIEDMAN_PERMUTATIONS + 1)
        return FriedmanTest(statistic, (count + 1) / (FRIEDMAN_PERMUTATIONS + 1), "permutation", floor)
    f = (n - 1) * statistic / (n * (k - 1) - statistic) if n * (k - 1) > statistic else math.inf
    p = 0.0 if math.isinf(f) else float(fdtrc(k - 1, (k - 1) * (n - 1), f))
    return FriedmanTest(statistic, p, "iman-davenport")


def posthoc_datasets(k: int, alpha: float = 0.05) -> int:
    """The fewest datasets at which Nemenyi's test can tell *any* two of ``k`` configurations
    apart: the largest possible gap of average ranks is ``k − 1`` (one always first, one always
    last), so the critical difference ``q·sqrt(k(k+1)/(6N))`` must not exceed it. Below it no
    post-hoc claim can be made (issue 26: 2 datasets, 4 configurations, CD 3.32 > 3)."""
    from scipy import stats

    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return max(2, math.ceil(q * q * k * (k + 1) / (6 * (k - 1) ** 2) - 1e-12))
