"""What a comparison is made of: the paired folds, one row per (dataset, configuration, metric)
with its test and verdict, the cells that found no partner, and the whole comparison.

Built by :func:`benchmark.compare.pairing.pair`, tested by :func:`benchmark.compare.decide`,
shown by :mod:`benchmark.compare.output`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from benchmark import stats
from benchmark.resultset import StoredResult

BETTER, WORSE, SAME, NONE = "better", "worse", "no significant difference", "no verdict"
EQUIVALENT, UNDECIDED = "practically equivalent", "undecided"
"""The Bayesian test's own verdicts (``--test bayes --rope R``): a probability of at least
``1 − alpha`` that B is within the ROPE of A, or no region reaching it."""
NOTHING = "nothing to compare: no result row in A or B (a tune: search's trials are not results)"
"""What a comparison with no row and no unpaired cell says, instead of both "no paired cells"
and "every cell was paired" (a run stopped during its trials has no result row yet)."""


@dataclass
class Fold:
    """One paired fold: the seed means of the metric in A and in B."""

    where: tuple[Any, ...]  # (dataset checksum, split fingerprint, fold)
    partition: str  # split method and parameters: several = repeated CV
    a: float
    b: float
    seeds: int  # seeds averaged (the larger side)
    ratio: float | None  # n_test / n_train
    cells_a: list[StoredResult] = field(default_factory=list)
    cells_b: list[StoredResult] = field(default_factory=list)


@dataclass
class Row:
    """One comparison: (dataset, configuration or pair of configurations, metric)."""

    dataset: str
    task: str
    model: str  # label (B's when both have one; "X → Y" for two configurations)
    config_id: str
    metric: str
    greater_is_better: bool
    a_label: str = "A"
    b_label: str = "B"
    folds: list[Fold] = field(default_factory=list)
    result: stats.Test | None = None
    p_adjusted: float | None = None
    level: float = 0.05  # the level of the interval (Holm step level, or alpha)
    ci: tuple[float, float] | None = None
    verdict: str = NONE
    reason: str = ""
    changed: tuple[str, ...] = ()  # parameters that differ (a configuration paired by model)
    over: str = "fold"  # what n counts: folds, or datasets (the Bayesian signed-rank row)
    rope: float | None = None  # --test bayes: the region of practical equivalence

    @property
    def n(self) -> int:
        return len(self.folds)

    @property
    def mean_a(self) -> float:
        return math.fsum(f.a for f in self.folds) / self.n if self.folds else math.nan

    @property
    def mean_b(self) -> float:
        return math.fsum(f.b for f in self.folds) / self.n if self.folds else math.nan

    @property
    def delta(self) -> float:
        if self.result is not None and self.result.test == "units":
            return self.result.delta
        return math.fsum(f.b - f.a for f in self.folds) / self.n if self.folds else math.nan

    @property
    def relative(self) -> float | None:
        return self.delta / abs(self.mean_a) if self.mean_a and math.isfinite(self.mean_a) else None

    @property
    def p(self) -> float | None:
        return None if self.result is None else self.result.p

    @property
    def test(self) -> str:
        return "" if self.result is None else self.result.test

    @property
    def seeds(self) -> tuple[int, int]:
        counts = [f.seeds for f in self.folds] or [0]
        return min(counts), max(counts)

    def _seed_label(self) -> str:
        """``3 seeds averaged``, ``3 vs 2 seeds averaged`` (A vs B), ``1–3 …`` over folds; "" for 1."""
        def span(counts: list[int]) -> str:
            return f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}–{max(counts)}"

        a, b = [len(f.cells_a) or f.seeds for f in self.folds], [len(f.cells_b) or f.seeds for f in self.folds]
        if not self.folds or max(a + b) <= 1:
            return ""
        return f"{span(a) if span(a) == span(b) else f'{span(a)} vs {span(b)}'} seeds averaged"

    def size(self) -> str:
        """``5 folds (10 seeds averaged)``, ``1 fold, 943 users``, ``5 folds, 610 users (3,050
        user–fold pairs)``, ``4 datasets``."""
        folds = f"{self.n} {self.over}{'s' if self.n != 1 else ''}"
        if self.over != "fold":
            return folds
        if seeds := self._seed_label():
            folds += f" ({seeds})"
        result = self.result
        if self.test == "units" and result is not None and result.n > 0:
            pairs = f"{result.n:,} {self.unit}–fold pairs"
            if self.n == 1:
                folds += f", {result.n:,} {self.unit}s"
            elif result.distinct is not None:
                folds += f", {result.distinct:,} {self.unit}s ({pairs})"
            else:
                folds += f", {pairs}"
        return folds

    @property
    def unit(self) -> str:
        for fold in self.folds:
            for cell in fold.cells_a:
                unit = (cell.units or {}).get("unit")
                if unit:
                    return str(unit)
        return "unit"

    def worse_by(self) -> float:
        """How much worse B is than A, in the metric's units (negative when B is better)."""
        return -self.delta if self.greater_is_better else self.delta

    @property
    def probabilities(self) -> tuple[float, float, float] | None:
        """``(better, equivalent, worse)``: the Bayesian test's posterior probabilities of B
        against A in the metric's direction (``None`` for the other tests)."""
        return None if self.result is None else self.result.probabilities

    def worst_worsening(self, alpha: float) -> float | None:
        """The one-sided ``1 − alpha`` upper bound of how much worse B is than A (the bound of
        the two-sided ``1 − 2·alpha`` interval on the worse side); ``None`` without an interval.
        Below a margin T it shows non-inferiority: B is no worse than A by T or more."""
        if self.result is None or self.p is None and self.result.probabilities is None:
            return None
        interval = self.result.ci(2 * alpha)
        if interval is None:
            return None
        low, high = interval
        return -low if self.greater_is_better else high

    def worsening_bound(self) -> float | None:
        """The CI's bound of the worsening nearest to no change: B is worse than A by at least
        this much at the row's confidence level (``None`` without an interval)."""
        if self.ci is None:
            return None
        low, high = self.ci
        return -high if self.greater_is_better else low


@dataclass
class Unpaired:
    side: str  # "A" or "B"
    dataset: str
    model: str
    fold: Any
    seed: Any
    reason: str
    lacks_value: bool = False  # a cell of A with a finite value whose place in B failed, is NaN/inf or absent


@dataclass
class Comparison:
    a_name: str
    b_name: str
    rows: list[Row]
    unpaired: list[Unpaired]
    version_changes: list[str]
    alpha: float
    by: str  # config, label, rows, all, baseline
    holm: bool
    ignore_seed: bool = False
    test: str = "auto"
    ranking: dict[tuple[str, str], stats.CriticalDifference] = field(default_factory=dict)
    rope: float | None = None  # --test bayes: the region of practical equivalence
    hints: list[str] = field(default_factory=list)  # how to pair what did not pair
    warnings: list[str] = field(default_factory=list)  # a forced test that does not fit the design

    def regressions(self, threshold: float | None = None) -> list[Row]:
        """Rows significantly worse; with ``threshold``: rows whose CI says B is worse by more
        than ``threshold`` (the bound of the worsening nearest to no change passes it)."""
        if threshold is None:
            return [row for row in self.rows if row.verdict == WORSE]
        return [row for row in self.rows
                if (bound := row.worsening_bound()) is not None and bound > threshold]

    def not_shown_safe(self, margin: float) -> list[tuple[Row, str]]:
        """Non-inferiority at margin T (``--fail-on-regression T``): every row whose one-sided
        ``1 − alpha`` bound of the worsening (:meth:`Row.worst_worsening`) does not stay below
        ``margin``, with why. All rows must pass, each at alpha: an intersection–union test, so
        the gate's error stays at alpha without a multiplicity adjustment. A row whose every
        fold has the same Δ (no interval) passes when that Δ is below the margin. The Bayesian
        summary over datasets is not gated (its datasets' rows are)."""
        out = []
        for row in (r for r in self.rows if r.over == "fold"):
            bound = row.worst_worsening(self.alpha)
            if bound is None:
                if row.reason.startswith("zero variance") and math.isfinite(row.delta):
                    if row.worse_by() >= margin:
                        out.append((row, f"worse by {row.worse_by():.4g} on every fold"))
                    continue
                out.append((row, f"not tested ({row.reason or 'no interval'}): non-inferiority not shown"))
            elif not bound < margin:
                out.append((row, f"could be worse by up to {bound:.4g} at {1 - self.alpha:.0%} one-sided"))
        return out

    def lacking(self) -> list[Unpaired]:
        """Cells of A with a finite value whose place in B failed, is NaN/inf or is absent."""
        return [u for u in self.unpaired if u.lacks_value]

    def tested(self) -> list[Row]:
        return [row for row in self.rows if row.p is not None]


def is_empty(comparison: Comparison) -> bool:
    """No row and no unpaired cell: neither side had a result to pair (:data:`NOTHING`)."""
    return not comparison.rows and not comparison.unpaired
