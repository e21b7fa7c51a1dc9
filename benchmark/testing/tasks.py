"""Checks of a task: its spec, model base, runner and options, the tiny data it gives the kit
and its examples for metrics. Its models are checked by :mod:`benchmark.testing.models`."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from benchmark._internal import resolve
from benchmark.api import MetricSpec, Model, Predictions, TaskSpec
from benchmark.params import describe, task_params
from benchmark.registry import task_problems, task_unusable
from benchmark.testing.common import fold_problems, metric_finder, missing_hint, schema_problems
from benchmark.testing.report import SKIPPED, Check, Report, Step, run_steps
from benchmark.testing.tiny import tiny_data, tiny_predictions


def check_task(task: TaskSpec, *, metrics: Sequence[MetricSpec] = ()) -> Report:
    """Check a task: its spec (base class, data classes, runner, options and their schema),
    that the registry would find it usable (its default and primary metrics exist, are its own
    and point the declared way: the same check as ``bench plugins`` and ``bench check``, with
    ``metrics`` -- a plugin's own -- over the installed ones), its tiny data for the kit (a fold
    set ``"given"`` of in-range folds), and its examples for metrics (perfect and noisy
    :class:`Predictions`). Its models are checked by :func:`check_model` (through its runner)."""
    report = Report(f"task {task.name!r}")
    missing = missing_hint(task.requires)
    if missing:
        report.checks.append(Check("task", SKIPPED, missing))
        return report

    def spec() -> str | None:
        return "; ".join(task_problems(task)) or None

    def usable() -> str | None:
        return task_unusable(task, metric_finder(metrics)) or None

    def base() -> str | None:
        found = resolve(task.model_base)
        if not (isinstance(found, type) and issubclass(found, Model)):
            return f"model_base {found!r} is not a Model subclass"
        return None

    def runner() -> str | None:
        found = resolve(task.runner)
        if not callable(found):
            return f"runner {found!r} is not callable"
        params = describe(found, skip=())
        if len(params) < 4 and not any(p.kind == p.VAR_POSITIONAL for p in
                                       inspect.signature(found).parameters.values()):
            return f"runner takes {list(params)}; bench passes (model, data, fold, options)"
        return None

    def options() -> str | None:
        return "; ".join(schema_problems(task_params(task), task.constraints, {})) or None

    def data() -> str | None:
        found = tiny_data(task)
        if not task.serves(found):
            return f"tiny_data returned {type(found).__name__}, which the task does not run on"
        folds = found.folds.get("given") if hasattr(found.folds, "get") else None
        if not folds:
            return f"tiny_data has no fold set 'given' (it has {list(found.folds)})"
        return "; ".join(fold_problems(folds, len(found), "fold set 'given'")) or None

    def examples() -> str | None:
        for noisy in (False, True):
            found = tiny_predictions(task, noisy)
            if not isinstance(found, Predictions):
                return f"examples returned {type(found).__name__}, not Predictions"
            if found.task != task.name:
                return f"examples are predictions of task {found.task!r}"
        return None

    run_steps(report, [Step("the spec is well-formed", spec, essential=True),
                       Step("usable as the registry judges it", usable),
                       Step("model_base is a Model subclass", base),
                       Step("runner takes model, data, fold, options", runner),
                       Step("options are described", options),
                       Step("tiny data for the kit has a fold set 'given'", data),
                       Step("examples for metrics are Predictions of the task", examples)])
    return report


