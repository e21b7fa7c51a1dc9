"""Checks of a split method: it takes ``data``, ``seed`` and described keyword parameters, and
gives in-range, disjoint folds -- the same for the same seed -- on the tiny data of every task it
declares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from benchmark._internal import resolve
from benchmark.api import MatrixData, RatingData, SplitSpec
from benchmark.params import Param, describe, signature_problems
from benchmark.testing.common import SEED, Tasks, fold_problems, installed_tasks, known_names, schema_problems
from benchmark.testing.report import FAILED, PASSED, SKIPPED, Check, Report, Skip, Step, run_steps
from benchmark.testing.tiny import tiny_data


def _split_steps(func: Callable[..., Any], data: RatingData | MatrixData,
                 params: Mapping[str, Any]) -> list[Step]:
    folds: list[Any] = []

    def within_range() -> str | None:
        folds[:] = list(func(data, **{"seed": SEED, **params}))
        return "; ".join(fold_problems(folds, len(data), "the split")) or None

    def same_seed() -> str | None:
        again = list(func(data, **{"seed": SEED, **params}))
        if [f.fingerprint for f in folds] != [f.fingerprint for f in again]:
            return "two calls with the same seed gave different folds"
        return None

    return [Step("folds are within range and disjoint", within_range, essential=True),
            Step("same seed, same folds", same_seed)]


def check_split(split: SplitSpec, *, tasks: Tasks = None, **params: Any) -> Report:
    """Run a split method on tiny data of each task it supports (with a timestamp column and
    a predefined fold set ``"given"``), with ``params``. ``tasks`` adds tasks that are not
    installed."""
    report = Report(f"split {split.name!r}")
    known = installed_tasks(tasks)
    unknown = [t for t in split.tasks if t not in known]
    report.checks.append(Check("declares tasks", FAILED if unknown or not split.tasks else PASSED,
                               f"declares {unknown or 'no task'}; known: {known_names(known)}"
                               if unknown or not split.tasks else ""))
    func = resolve(split.func)

    def signature() -> str | None:
        problems = signature_problems(func, "split function", skip=("data",), need_defaults=False)
        if "seed" not in describe(func, skip=("data",)):
            problems.append("split function takes no 'seed' keyword (bench passes one)")
        return "; ".join(problems) or None

    def described() -> str | None:
        params_ = describe(func, split.params, skip=("data",))
        for name, schema in split.params.items():
            params_.setdefault(name, Param(name, schema=schema))
        return "; ".join(schema_problems(params_, split.params, params)) or None

    run_steps(report, [Step("function takes data, seed and keyword parameters", signature),
                       Step("parameters are described", described)])
    for task in [t for t in split.tasks if t in known]:
        try:
            data = tiny_data(known[task])
        except Skip as exc:
            report.checks.append(Check("folds are within range and disjoint", SKIPPED, str(exc), task))
            continue
        run_steps(report, _split_steps(func, data, params), task)
    return report

