"""The leaderboard's "vs #1", honestly: every ranked line against the best-looking one, adjusted
for #1 having been *chosen* as the best (issue 26 item 4).

#1 is the maximum of k noisy means, so a paired test per line against it — even Holm-adjusted —
marked truly equal lines worse in 7–15 % of worlds of 5–20 lines. :func:`compare_with_best` uses
Tukey's studentized range on the lines × folds layout of fold means, stepped down; the
distribution is computed here (:func:`studentized_range_sf`, vectorised, without importing
``scipy.stats``: a leaderboard of 5,000 lines asks for 4,999 values). Calibrated in
``benchmarks/calibration.md`` sections 6–6b (``benchmarks/calibration_best.py``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    out: np.ndarray = ndtr(x)
    return out


def _range_cdf_known_variance(w: np.ndarray, k: int) -> np.ndarray:
    """``P(range of k standard normals ≤ w)`` per ``w``: ``k ∫ φ(z) (Φ(z) − Φ(z − w))^(k−1) dz``
    on a uniform grid (step 0.02 over ±9: the integrand is smooth; agrees with scipy to 1e-5)."""
    z = np.linspace(-9.0, 9.0, 901)
    density = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    out = np.empty(len(w))
    for start in range(0, len(w), 256):
        part = w[start:start + 256, None]
        spread = np.clip(_normal_cdf(z[None, :]) - _normal_cdf(z[None, :] - part), 0.0, 1.0)
        out[start:start + 256] = k * np.trapezoid(density[None, :] * spread ** (k - 1), z, axis=1)
    clipped: np.ndarray = np.clip(out, 0.0, 1.0)
    return clipped


@functools.lru_cache(maxsize=16)
def _range_table(k: int) -> tuple[np.ndarray, np.ndarray]:
    """The known-variance range distribution of ``k`` means on ranges 0…20 (step 0.01)."""
    grid = np.linspace(0.0, 20.0, 2001)
    return grid, _range_cdf_known_variance(grid, k)


@functools.lru_cache(maxsize=16)
def _scale_density(df: float) -> tuple[np.ndarray, np.ndarray]:
    """A grid of ``u = s/σ`` and its density ``2 (df/2)^(df/2) / Γ(df/2) · u^(df−1) exp(−df u²/2)``,
    normalised on the grid."""
    from scipy.special import gammaln

    u = np.linspace(1e-6, 1 + 12 / math.sqrt(df) + 6 / df, 1500)
    log_density = (math.log(2) + (df / 2) * math.log(df / 2) - gammaln(df / 2)
                   + (df - 1) * np.log(u) - df * u * u / 2)
    weight = np.exp(log_density)
    return u, weight / np.trapezoid(weight, u)


def studentized_range_sf(q: Sequence[float] | np.ndarray, k: int, df: float) -> np.ndarray:
    """``P(Q ≥ q)`` of the studentized range of ``k`` means with ``df`` degrees of freedom for
    the variance (``df = inf``: known variance). What ``scipy.stats.studentized_range.sf``
    gives, but vectorised and without importing ``scipy.stats`` (a leaderboard of 5,000 lines
    asks for 4,999 values): the known-variance range distribution is tabulated once on a grid of
    ranges, and integrated against the density of ``s/σ`` (``sqrt(χ²_df/df)``)."""
    values = np.asarray(q, dtype=float)
    if k < 2:
        raise ValueError("the studentized range needs 2 or more means")
    grid, table = _range_table(k)
    if not math.isfinite(df) or df > 1e5:
        cdf = np.interp(values, grid, table, right=1.0)
    else:
        u, weight = _scale_density(float(df))
        flat = values.ravel()
        cdf = np.empty(len(flat))
        for start in range(0, len(flat), 512):
            part = flat[start:start + 512, None] * u[None, :]
            cdf[start:start + 512] = np.trapezoid(weight[None, :] * np.interp(part, grid, table, right=1.0), u,
                                                  axis=1)
        cdf = cdf.reshape(values.shape)
    sf: np.ndarray = np.clip(1.0 - cdf, 0.0, 1.0)
    return sf


RANGE_P_FLOOR = 1e-4  # below it the quadrature of studentized_range_sf is not resolved: "p ≤ 1e-4"


@dataclass
class BestComparison:
    """Each line against the best-looking one (#1), adjusted for #1 having been *chosen* as the
    best (see :func:`compare_with_best`). ``p[i]`` is ``None`` for #1 itself; ``s`` the pooled
    residual s.d. of the whole lines × folds layout, ``df`` its degrees of freedom; ``se[i]`` the
    standard error of line i's difference from #1 and ``critical[i]`` the smallest |Δ_i| that is
    significant at ``alpha``, both at the step that decided line i."""

    p: list[float | None]
    delta: list[float]  # line − #1 (in the metric's own units)
    s: float
    df: int
    se: list[float]
    critical: list[float]
    method: str  # "tukey" or "tukey-nb" (folds of several partitions)
    reason: str = ""
    floor: float = 0.0  # p is never given below it: "≤ floor" (RANGE_P_FLOOR)


def compare_with_best(fold_means: Sequence[Sequence[float]], greater_is_better: bool,
                      test_train_ratio: float | None = None, alpha: float = 0.05,
                      best: int | None = None) -> BestComparison:
    """Every line against the best-looking line (or row ``best``, when given: the leaderboard's
    #1), in a lines × folds layout (each row a line's fold means on the same folds).

    Why not a paired test per line: #1 is the *maximum* of k noisy means, so "#1 − line i" is
    biased away from 0 and a per-line test (even Holm-adjusted) marks truly equal lines worse
    than #1 far too often (issue 26: 7 %, 12 %, 15 % of worlds with 5, 10, 20 equal lines). The
    largest gap from #1 *is* the range of the k means, so the yardstick is the studentized range
    (Tukey): line i is worse than #1 when ``√2·|Δ_i| / se_i`` exceeds the range's ``1 − alpha``
    quantile for k means. Guarantee (Tukey's): whatever the true means, the chance of marking any
    line worse than #1 when it is not truly worse is at most ``alpha`` — exactly ``alpha`` when
    all lines are equal — under a normal two-way model (line + fold + noise of one variance).
    Hsu's MCB, with the one-sided Dunnett quantile, guarantees only that *the* true best is not
    marked, which let some line be marked in 20–50 % of worlds of 5–20 equal lines
    (``benchmarks/calibration.md`` section 6).

    ``s`` pools the residual of the two-way layout (fold difficulty shared by every line
    cancels), ``df = (k − 1)(n − 1)``: with 5 folds this many degrees of freedom is where the
    power comes from. Lines are not equally noisy, though, and a noisy line near the top judged by
    the others' pooled noise is marked too easily (15 % of worlds of 20 equal lines whose noise
    s.d. spread 4×). So ``se_i`` is the larger of the pooled ``s·sqrt(2/n)`` and the pair's own
    ``sd(line − #1)/√n``: the measured rates are then 3–5 % (7.5 % in that stress world), at
    some power (section 6b). Folds of several partitions (repeated CV: ``test_train_ratio``
    given) share training data; the Nadeau–Bengio factor ``sqrt(1 + n·n_test/n_train)`` widens
    each ``se_i`` as in :func:`benchmark.stats.nadeau_bengio`. With two lines this is exactly the paired t (or
    the Nadeau–Bengio t).

    **Step-down.** A line far worse than the rest (a global mean among matrix factorisations)
    inflates the pooled residual for every pair. So the lines marked worse are set aside and the
    test is repeated on those left (fewer lines: a smaller range quantile; their own residual),
    until a step marks none — as Holm's step-down does for one family. A false mark needs, at the
    step of the first one, every truly best line still present, so that step's range quantile
    is at least the one for those lines alone: the guarantee is kept. A line's p is the p of the
    step that marked it (or of the last step), never below that of a line marked earlier, so
    ``p < alpha`` exactly when it is marked."""
    y = np.asarray(fold_means, dtype=float)
    k, n = y.shape if y.ndim == 2 else (len(y), 0)
    sign = 1.0 if greater_is_better else -1.0
    means = y.mean(axis=1) if n else np.full(k, math.nan)
    if best is None:
        best = int(np.argmax(sign * means)) if k else 0
    delta = [float(m - means[best]) for m in means]
    empty = BestComparison([None] * k, delta, math.nan, 0, [math.nan] * k, [math.nan] * k, "tukey")
    if k < 2:
        empty.reason = "one line"
        return empty
    if n < 2:
        empty.reason = f"n = {n}: a test needs at least 2 folds"
        return empty
    if not np.all(np.isfinite(y)):
        empty.reason = "a non-finite fold mean"
        return empty
    residual = y - means[:, None] - y.mean(axis=0)[None, :] + y.mean()
    df = (k - 1) * (n - 1)
    s = math.sqrt(float(np.sum(residual ** 2)) / df)
    scale = float(np.max(np.abs(y - y.mean(axis=0)[None, :]))) or 1.0
    if s <= 1e-9 * scale:
        empty.reason = "zero variance of the fold differences"
        empty.s, empty.df = s, df
        return empty
    factor = 1.0
    method = "tukey"
    if test_train_ratio is not None:
        if not math.isfinite(test_train_ratio) or test_train_ratio <= 0:
            empty.reason = "n_train/n_test not stored with the cells"
            return empty
        factor, method = math.sqrt(1 + n * test_train_ratio), "tukey-nb"
    out = BestComparison([None] * k, delta, s, df, [math.nan] * k, [math.nan] * k, method, floor=RANGE_P_FLOOR)
    active, earlier = list(range(k)), 0.0
    while len(active) > 1:
        step = _range_step(y[active], active.index(best), factor, alpha)
        if step is None:  # the lines left differ by a constant on every fold: their last verdicts stand
            break
        marked = []
        for position, line in enumerate(active):
            if line == best:
                continue
            p, out.se[line], out.critical[line] = step[0][position], step[1][position], step[2][position]
            out.p[line] = max(p, earlier)  # monotone: never below a line marked at an earlier step
            if p < alpha:
                marked.append(line)
        if not marked:
            break
        earlier = max(earlier, *(out.p[line] or 0.0 for line in marked))
        active = [line for line in active if line not in marked]
    return out


def _range_step(y: np.ndarray, best: int, factor: float,
                alpha: float) -> tuple[list[float], list[float], list[float]] | None:
    """One step of :func:`compare_with_best` on the lines ``y`` (rows): per line ``(p, se,
    critical)`` against row ``best``; ``None`` when the two-way residual is zero."""
    k, n = y.shape
    residual = y - y.mean(axis=1)[:, None] - y.mean(axis=0)[None, :] + y.mean()
    df = (k - 1) * (n - 1)
    s = math.sqrt(float(np.sum(residual ** 2)) / df)
    scale = float(np.max(np.abs(y - y.mean(axis=0)[None, :]))) or 1.0
    if s <= 1e-9 * scale:
        return None
    own = np.std(y - y[best][None, :], axis=1, ddof=1) / math.sqrt(n)
    se = [max(s * math.sqrt(2 / n), float(own[i])) * factor for i in range(k)]
    delta = y.mean(axis=1) - y[best].mean()
    sf = studentized_range_sf(np.array([math.sqrt(2) * abs(d) / e for d, e in zip(delta, se)]), k, df)
    quantile = _range_quantile(1 - alpha, k, df)
    return ([max(RANGE_P_FLOOR, float(v)) for v in sf], se, [quantile * e / math.sqrt(2) for e in se])


@functools.lru_cache(maxsize=64)
def _range_quantile(level: float, k: int, df: float) -> float:
    """The studentized range's ``level`` quantile, by bisection on :func:`studentized_range_sf`."""
    low, high = 0.0, 40.0
    for _ in range(60):
        middle = (low + high) / 2
        if float(studentized_range_sf([middle], k, df)[0]) > 1 - level:
            low = middle
        else:
            high = middle
    return (low + high) / 2
