"""Checks of a dataset: its loader takes keyword options with defaults, described; it returns
well-formed data of its task, with the same checksum on a second load, a JSON ``describe()`` and
in-range, disjoint predefined folds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from benchmark._internal import resolve
from benchmark.api import DatasetSpec, MatrixData, PluginInputError, RatingData, TaskSpec
from benchmark.params import describe, signature_problems
from benchmark.testing.common import (
    Tasks, fold_problems, installed_tasks, json_problem, known_names, missing_hint, schema_problems,
)
from benchmark.testing.report import (
    FAILED, PASSED, SKIPPED, Check, Report, Skip, Step, Violation, run_steps,
)


class _DatasetCase:
    """One dataset loader with its options, run through the contract."""

    def __init__(self, loader: Callable[..., Any], task: TaskSpec | None,
                 constraints: Mapping[str, Any], options: Mapping[str, Any],
                 default_split: Mapping[str, Any] | None, refusal_skips: bool):
        self.loader, self.task, self.constraints = loader, task, constraints
        self.options, self.default_split, self.refusal_skips = dict(options), default_split, refusal_skips
        self.data: Any = None

    def steps(self) -> list[Step]:
        return [
            Step("loader takes keyword options with defaults", self.signature),
            Step("options are described", self.described),
            Step("loads data of its task", self.load, essential=True),
            Step("data is well-formed", self.well_formed),
            Step("checksum is stable across two loads", self.stable),
            Step("describe() is JSON-serialisable", self.describe),
            Step("folds are within range and fingerprintable", self.folds),
        ]

    def signature(self) -> str | None:
        return "; ".join(signature_problems(self.loader, "loader", skip=())) or None

    def described(self) -> str | None:
        params = describe(self.loader, self.constraints, skip=())
        unknown = [k for k in self.options if k not in params]
        if unknown:
            raise ValueError(f"options: the loader has no option(s) {unknown}; it has {list(params)}")
        return "; ".join(schema_problems(params, self.constraints, self.options)) or None

    def load(self) -> str | None:
        try:
            self.data = self.loader(**self.options)
        except PluginInputError as exc:
            if self.refusal_skips:
                raise Skip(f"the loader needs options here: {exc}") from None
            raise
        if self.task is None:
            if not isinstance(self.data, (RatingData, MatrixData)):
                raise Violation(f"the loader returned {type(self.data).__name__}, not RatingData or MatrixData")
        elif not self.task.serves(self.data):
            own = getattr(self.data, "task", "")
            raise Violation(f"the loader returned {type(self.data).__name__}{f' ({own})' if own else ''}, "
                            f"but the dataset declares {self.task.name!r}")
        for attribute in ("checksum", "describe", "folds", "info", "__len__"):
            if not hasattr(self.data, attribute):
                raise Violation(f"the data ({type(self.data).__name__}) has no {attribute!r}")
        return None

    def well_formed(self) -> str | None:
        data = self.data
        if not isinstance(data, (RatingData, MatrixData)):
            raise Skip(f"the kit has no rules for {type(data).__name__}")
        if isinstance(data, RatingData):
            low, high = data.scale
            values = data.ratings["rating"].to_numpy(np.float64)
            if not len(values):
                return "no ratings"
            if not low < high:
                return f"scale {data.scale} is not (lowest, highest)"
            if not np.all(np.isfinite(values)):
                return f"{int((~np.isfinite(values)).sum())} ratings are NaN or infinite"
            outside = int(((values < low) | (values > high)).sum())
            if outside:
                return f"{outside} ratings lie outside the scale {data.scale}"
            for column in ("user", "item"):
                if data.ratings[column].isna().any():
                    return f"column {column!r} has missing ids"
            return None
        X = np.asarray(data.X)
        if X.ndim != 2 or not X.size:
            return f"X has shape {X.shape}, expected (rows, features) with rows"
        if not np.issubdtype(X.dtype, np.floating):
            return f"X has dtype {X.dtype}, expected floats"
        if not np.all(np.isfinite(X)):
            return f"{int((~np.isfinite(X)).sum())} values are NaN or infinite"
        low, high = data.value_range
        if X.min() < low or X.max() > high:
            return f"values span [{X.min():g}, {X.max():g}], outside value_range {data.value_range}"
        return None

    def stable(self) -> str | None:
        first, second = self.data.checksum(), self.loader(**self.options).checksum()
        return f"checksums differ: {first} then {second}" if first != second else None

    def describe(self) -> str | None:
        return json_problem(self.data.describe(), "describe()")

    def folds(self) -> str | None:
        sets = self.data.folds
        wanted = (self.default_split or {}).get("name") \
            if (self.default_split or {}).get("method") == "predefined" else None
        if wanted is not None and wanted not in sets:
            return f"default_split names fold set {wanted!r}, which the data lacks ({list(sets)})"
        if not len(sets):
            raise Skip("the data defines no folds")
        problems = []
        for name in sets:
            problems += fold_problems(sets[name], len(self.data), f"fold set {name!r}")
        return "; ".join(problems) or None


def check_dataset(dataset: DatasetSpec | Callable[..., Any], *, tasks: Tasks = None,
                  **options: Any) -> Report:
    """Run a dataset (a :class:`DatasetSpec` or a bare loader) through the contract, loading
    it (twice) with ``options`` (e.g. ``data_dir``, or a ``limit`` that keeps it small).
    ``tasks`` adds tasks that are not installed (a plugin's own)."""
    return dataset_report(dataset, options, refusal_skips=False, tasks=tasks)


def dataset_report(dataset: Any, options: Mapping[str, Any], refusal_skips: bool,
                   tasks: Tasks = None) -> Report:
    if isinstance(dataset, DatasetSpec):
        report = Report(f"dataset {dataset.name!r}")
        known = installed_tasks(tasks)
        if dataset.task in known:
            report.checks.append(Check("declares a task", PASSED))
        else:
            report.checks.append(Check("declares a task", FAILED,
                                       f"declares {dataset.task!r}; known: {known_names(known)}"))
            return report
        missing = missing_hint(dataset.requires)
        if missing:
            report.checks.append(Check("dataset", SKIPPED, missing))
            return report
        loader, task = resolve(dataset.loader), known[dataset.task]
        constraints, default_split = dataset.constraints, dataset.default_split
    elif callable(dataset):
        report = Report(f"dataset loader {getattr(dataset, '__qualname__', dataset)!r}")
        loader, task, constraints, default_split = dataset, None, {}, None
    else:
        raise TypeError(f"check_dataset takes a DatasetSpec or a loader, not {dataset!r}")
    run_steps(report, _DatasetCase(loader, task, constraints, options, default_split,
                                   refusal_skips).steps())
    return report


