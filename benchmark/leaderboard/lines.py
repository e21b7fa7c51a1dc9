"""A leaderboard line: one (dataset, model configuration, split protocol), its results aggregated.

A *configuration* is its ``config_id`` (model plugin + resolved parameters, seed excluded), not
its label: two seeds of a configuration are one line; the label shown is the latest one given.
**The fold is the unit**: a line keeps each metric's finite values per fold (the fold is
identified by its fingerprint) and every statistic is taken on the fold means (seeds averaged
within a fold first); ± is the standard deviation *over folds*, the seed spread the pooled
within-fold s.d. :mod:`benchmark.leaderboard` fills lines from rows, :mod:`benchmark.leaderboard.ranking`
ranks them, :mod:`benchmark.leaderboard.tables` shows them.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmark.cells import stable_hash
from benchmark.resultset import SearchCount

NONE = "—"
NOT_STARTED = "no results yet"  # the note of a planned configuration with no stored row


@dataclass
class Line:
    dataset: str
    task: str
    model: str
    params: dict[str, Any]  # without the seed-driven random_state
    config_id: str = ""
    dataset_checksum: str = ""
    split: str = ""
    protocol: str = ""  # split method + parameters other than its seed
    # metric -> fold key (fingerprint) -> finite values over seeds
    fold_values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    fit_seconds: list[float] = field(default_factory=list)
    predict_seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    fold_keys: set[str] = field(default_factory=set)  # fold fingerprints with an ok cell: the units
    fold_set: set[str] = field(default_factory=set)  # fold positions with an ok cell
    seed_set: set[Any] = field(default_factory=set)  # seeds with an ok cell
    fingerprints: set[str] = field(default_factory=set)  # of every cell's fold, failed ones too
    runs: list[str] = field(default_factory=list)
    cells: int = 0  # ok cells
    failed: int = 0
    error: str = ""
    refused: int = 0  # metric values refused (non-finite, not a number, a metric error)
    refused_reason: str = ""
    rank: int | None = None
    group: int = 0  # 0: the dataset's main comparison group; n > 0: other splits or data
    note: str = ""
    expected_folds: int = 0  # folds of the line's comparison group
    complete: bool = True
    # against #1: "not significantly different", "worse", "identical", "untested: reason"; "" for
    # #1 and unranked lines (benchmark.leaderboard.ranking)
    tie: str = ""
    p_vs_first: float | None = None  # adjusted for #1 being chosen as the best (studentized range)
    p_floor: float = 0.0  # the smallest p the test resolves: p_vs_first at it is printed "≤ p"
    tie_test: str = ""  # "t" or "nb" (repeated CV: the Nadeau–Bengio factor): the test behind ``tie``
    test_train: list[float] = field(default_factory=list)  # n_test / n_train of the ok cells
    alias: str = ""
    tuned: str = ""  # how a tuned line was tuned (benchmark.resultset.tuning_note); "" if it was not
    searches: SearchCount = field(default_factory=SearchCount)  # a tuned line's searches (its refits), counted
    scored: dict[str, set[tuple[str, Any]]] = field(default_factory=dict)  # metric -> (fold, seed) with a value
    planned: set[tuple[str, Any]] = field(default_factory=set)  # (fold, seed) the runner planned (Plan)
    # an unranked line missing some of #1's folds: metric -> its mean put on #1's folds (#1's mean
    # + the mean difference on the shared folds; benchmark.leaderboard.marks), and how many shared
    on_first_folds: dict[str, float] = field(default_factory=dict)
    shared_folds: int = 0
    warning: str = ""  # what its cells' counts warn of (fewer sampled negatives than asked): the legend says it

    @property
    def folds(self) -> int:
        """Fold positions with a result (fold 3 of 5 under three split seeds counts once)."""
        return len(self.fold_set)

    @property
    def units(self) -> int:
        """Distinct folds (fingerprints) with a result: several per position under repeated CV."""
        return len(self.fold_keys)

    def folds_shown(self) -> str:
        return str(self.folds) if self.units == self.folds else f"{self.units} ({self.folds} per split)"

    @property
    def seeds(self) -> int:
        return len(self.seed_set)

    @property
    def split_fingerprint(self) -> str:
        """A short hash of all this line's fold fingerprints (order-independent)."""
        return stable_hash(sorted(self.fingerprints), 8) if self.fingerprints else ""

    def fold_means(self, metric: str) -> dict[str, float]:
        """``{fold: mean over its seeds}`` of ``metric``: the unit every statistic is taken on."""
        return {fold: math.fsum(values) / len(values)
                for fold, values in (self.fold_values.get(metric) or {}).items() if values}

    def mean(self, metric: str) -> float | None:
        means = list(self.fold_means(metric).values())
        return math.fsum(means) / len(means) if means else None

    def std(self, metric: str) -> float | None:
        """Sample standard deviation over fold means; ``None`` with fewer than two folds."""
        means = list(self.fold_means(metric).values())
        return statistics.stdev(means) if len(means) > 1 else None

    def seed_std(self, metric: str) -> float | None:
        """Pooled within-fold standard deviation over seeds; ``None`` without a fold of two seeds."""
        pooled, dof = 0.0, 0
        for values in (self.fold_values.get(metric) or {}).values():
            if len(values) > 1:
                pooled += statistics.variance(values) * (len(values) - 1)
                dof += len(values) - 1
        return math.sqrt(pooled / dof) if dof else None


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else ``None``: a value
    that is not is refused, never averaged."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def protocol(split: Any, split_params: Any) -> str:
    """The split protocol as a key: its method and its parameters other than the seed (lines of
    several split seeds share it; a different protocol is a different line)."""
    params = {k: v for k, v in split_params.items() if k != "seed"} if isinstance(split_params, Mapping) else {}
    return json.dumps([split, params], sort_keys=True, default=str)


def by_table(lines: Iterable[Line]) -> dict[tuple[str, str], list[Line]]:
    """``{(dataset label, task): lines}`` in first-seen order: one table, one ranking each.

    A dataset label alone is not enough: two runs may use one label for a rating and a ranking
    task, whose lines share no metric and must not be ranked or shown together."""
    out: dict[tuple[str, str], list[Line]] = {}
    for line in lines:
        out.setdefault((line.dataset, line.task), []).append(line)
    return out
