"""Checks of a metric: a finite number, the same for the same predictions, perfect predictions
scoring at least as well as noisy ones (``greater_is_better`` points the right way), and a
:class:`~benchmark.api.PerUnit` value whose parts add up to it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchmark._internal import resolve
from benchmark.api import MetricSpec, PerUnit, Predictions
from benchmark.testing.common import Tasks, installed_tasks, known_names
from benchmark.testing.report import FAILED, PASSED, Check, Report, Skip, Step, run_steps
from benchmark.testing.tiny import tiny_predictions


def check_metric(metric: MetricSpec, *, tasks: Tasks = None) -> Report:
    """Score tiny perfect and noisy predictions of the metric's task (a :class:`Predictions`
    with test users, items and training data when ``context=True``; a task of a plugin gives
    them as ``TaskSpec.examples``). ``tasks`` adds tasks that are not installed."""
    report = Report(f"metric {metric.name!r}")
    known = installed_tasks(tasks)
    unknown = [task for task in metric.scored_tasks if task not in known]
    if unknown:
        report.checks.append(Check("declares a task", FAILED,
                                   f"declares {unknown[0]!r}; known: {known_names(known)}"))
        return report
    report.checks.append(Check("declares a task", PASSED))
    task = known[metric.task]
    func = resolve(metric.func)
    scores: dict[str, float] = {}
    returned: dict[str, Any] = {}

    def score(predictions: Predictions) -> float:
        value = func(predictions) if metric.context else func(predictions.y_true, predictions.y_pred)
        returned["value"] = value
        return float(value)

    def finite() -> str | None:
        scores["noisy"] = score(tiny_predictions(task, noisy=True))
        return None if np.isfinite(scores["noisy"]) else f"scored {scores['noisy']}"

    def per_unit() -> str | None:
        value = returned["value"]
        if not isinstance(value, PerUnit):
            raise Skip("returns a plain number")
        den = float(np.sum(value.den))
        if not den:
            return "every den is 0"
        mean = float(np.sum(value.num)) / den
        parts = math.sqrt(mean) if value.transform == "sqrt" else mean
        if not math.isclose(parts, float(value), rel_tol=1e-9, abs_tol=1e-12):
            return f"transform(sum(num) / sum(den)) is {parts!r}, the value {float(value)!r}"
        if len(set(np.asarray(value.ids).astype(str))) != len(value.ids):
            return "ids repeat"
        return None

    def deterministic() -> str | None:
        again = score(tiny_predictions(task, noisy=True))
        return None if again == scores["noisy"] else f"scored {scores['noisy']} then {again}"

    def direction() -> str | None:
        perfect, noisy = score(tiny_predictions(task, noisy=False)), scores["noisy"]
        better = perfect >= noisy if metric.greater_is_better else perfect <= noisy
        if better:
            return None
        flag = "greater_is_better=True" if metric.greater_is_better else "lower is better"
        return f"perfect predictions score {perfect:.4g}, noisy ones {noisy:.4g}, but {flag}"

    run_steps(report, [Step("returns a finite number", finite, essential=True),
                       Step("per-unit parts agree with the value", per_unit),
                       Step("same predictions, same score", deterministic),
                       Step("perfect predictions score at least as well as noisy ones", direction)])
    return report


