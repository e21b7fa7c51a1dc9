"""Several datasets: the configurations of a task ranked over datasets (Friedman's test,
Nemenyi's critical difference; Demšar 2006, JMLR 7:1–30), as ``bench report`` draws them.

The numbers come from :func:`benchmark.stats.critical_difference`, the same as
``bench compare --all``: Friedman's p exact (or by permutation) where χ² is poor, and no diagram
below the number of datasets at which any two configurations could differ (it would draw one
bar over all of them, which is no finding): the reason says so instead (issue 26).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.leaderboard.lines import Line
from benchmark.leaderboard.marks import p_text

PAIRWISE_LIMIT = 40  # configurations up to which the Wilcoxon-Holm pairs are computed too


@dataclass
class Friedman:
    """One task's configurations ranked over datasets (from :func:`benchmark.stats.critical_difference`:
    Friedman's test, Nemenyi's critical difference, Demšar 2006), as the diagram draws it: two
    configurations whose average ranks differ by less than ``cd`` are not significantly
    different at ``alpha``."""

    task: str
    metric: str
    datasets: list[str]
    labels: list[str]  # configurations, best average rank first
    ranks: list[float]
    p: float | None  # Friedman's
    cd: float
    alpha: float
    groups: list[list[int]]  # Nemenyi cliques, as positions in ``labels``
    method: str = ""  # how Friedman's p was computed: "exact", "permutation", "iman-davenport"

    def cliques(self, limit: int | None = None) -> list[tuple[int, int]]:
        """The bars of the diagram: ``(first, last)`` positions of each clique within ``limit``."""
        count = len(self.labels) if limit is None else min(limit, len(self.labels))
        out: list[tuple[int, int]] = []
        for group in self.groups:
            inside = [i for i in group if i < count]
            if len(inside) > 1 and not any(a <= inside[0] and inside[-1] <= b for a, b in out):
                out.append((inside[0], inside[-1]))
        return out


def friedman(lines: Sequence[Line], metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool],
             alpha: float = 0.05) -> tuple[list[Friedman], list[str]]:
    """Per task, the Friedman/Nemenyi analysis over the datasets where its configurations are
    ranked (complete lines of each dataset's main group), on the configurations ranked on every
    such dataset. Returns the analyses and, for tasks with several datasets where none could be
    made, the reason."""
    from benchmark import stats

    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for line in lines:
        if line.rank is not None and line.group == 0 and line.complete:
            by_task.setdefault(line.task, {}).setdefault(line.dataset, {})[line.config_id] = line
    out, reasons = [], []
    for task, datasets in by_task.items():
        if len(datasets) < 2:
            continue
        metric = next(iter(metrics.get(task) or []), None)
        if metric is None:
            continue
        common = set.intersection(*(set(configs) for configs in datasets.values()))
        if len(common) < 3:
            reasons.append(f"{task}: {len(common)} configuration(s) ranked on all {len(datasets)} datasets; "
                           "a critical-difference diagram needs 3 or more")
            continue
        scores = {dataset: {config: configs[config].mean(metric) for config in common}
                  for dataset, configs in datasets.items()}
        greater = greater_is_better.get(metric, False)
        # the Wilcoxon test of every pair is k² tests (260 configurations: 34,000 tests, 58 s); above
        # PAIRWISE_LIMIT the ranks, Friedman and Nemenyi alone (linear)
        result = stats.critical_difference(scores, greater, alpha, pairwise=len(common) <= PAIRWISE_LIMIT)
        if result.cd is None or result.reason:
            reasons.append(f"{task}: {result.reason or 'no critical difference'}")
            continue
        if result.posthoc_reason:  # a diagram would draw one bar over all: no finding, so none
            friedman_p = "" if result.friedman_p is None else \
                f"Friedman p = {p_text(result.friedman_p, result.friedman_floor)} ({result.friedman_method}); "
            reasons.append(f"{task} on {len(result.datasets)} datasets: {friedman_p}{result.posthoc_reason}, "
                           "so no critical-difference diagram")
            continue
        label_of = {config: line.model for configs in datasets.values() for config, line in configs.items()}
        order = sorted(result.models, key=lambda c: (result.average_ranks[c], label_of[c]))
        ranks = [result.average_ranks[c] for c in order]
        groups = stats.nemenyi_groups(ranks, result.cd)
        out.append(Friedman(task, metric, result.datasets, [label_of[c] for c in order],
                            ranks, result.friedman_p, result.cd, alpha, groups, result.friedman_method))
    return out, reasons
