"""What every check of the kit shares: its seed, the tasks it knows, and the rules of the
contract that several checks apply (parameter schemas, folds, JSON, declared libraries)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonschema
import numpy as np

from benchmark._internal import missing_requirements
from benchmark.api import Fold, MetricSpec, TaskSpec
from benchmark.errors import did_you_mean
from benchmark.params import Param
from benchmark.registry import Registry, build_registry

SEED = 0
"""The seed the kit runs with (as a suite's ``seed``)."""

Tasks = Mapping[str, TaskSpec] | Sequence[TaskSpec] | None
"""Tasks a check may use besides the installed ones (e.g. those of the plugin being checked)."""


@functools.lru_cache(maxsize=1)
def installed_registry() -> Registry:
    """The registry of the installed plugins, built once (what ``bench plugins`` lists)."""
    return build_registry()


def _installed() -> dict[str, TaskSpec]:
    return installed_registry().tasks()


def metric_finder(own: Sequence[MetricSpec] = ()) -> Callable[[str], MetricSpec | None]:
    """``find(name)``: the metric called ``name`` among ``own`` (a plugin's, not installed yet;
    ``@k`` families included), else among the installed plugins' -- as the registry finds it."""
    registry = installed_registry()

    def find(name: str) -> MetricSpec | None:
        for spec in own:
            family = getattr(spec, "family", None)
            member = family(name) if spec.name != name and family is not None else None
            if spec.name == name or (member is not None and member.name == name):
                return spec if spec.name == name else member
        entry = registry.find("metric", name)
        return entry.spec if entry is not None and not entry.unusable else None

    return find


def installed_tasks(extra: Tasks = None) -> dict[str, TaskSpec]:
    """The tasks of the installed plugins (``rating``, ``reconstruction``, ...), with ``extra``
    (a plugin's own, not installed yet) over them."""
    found = dict(_installed())
    if isinstance(extra, Mapping):
        found.update(extra)
    elif extra:
        found.update({t.name: t for t in extra})
    return found


def known_names(tasks: Mapping[str, TaskSpec]) -> str:
    """``rating, ranking`` (or ``none``): the known tasks, for a message."""
    return ", ".join(tasks) or "none"


def schema_problems(params: Mapping[str, Param], constraints: Mapping[str, Any],
                    given: Mapping[str, Any]) -> list[str]:
    """Declared constraints that are not JSON Schema or name no parameter; defaults and given
    values that break their parameter's schema."""
    problems, invalid = [], set()
    validator = jsonschema.validators.validator_for({})
    for name, fragment in constraints.items():
        if name not in params:
            close = did_you_mean(name, params)
            hint = f" ({close})" if close else ""
            problems.append(f"constraints name no parameter {name!r}{hint}")
        try:
            validator.check_schema(dict(fragment))
        except (jsonschema.SchemaError, TypeError, ValueError) as exc:
            problems.append(f"constraint of {name!r} is not JSON Schema: "
                            f"{getattr(exc, 'message', exc)}")
            invalid.add(name)
    for p in params.values():
        if p.name in invalid:
            continue
        values = [("default", p.default)] if not p.required else []
        values += [("given value", given[p.name])] if p.name in given else []
        for what, value in values:
            json_value = list(value) if isinstance(value, tuple) else value
            try:
                json.dumps(json_value)
            except (TypeError, ValueError):
                continue  # not expressible in a suite: nothing to validate
            error = jsonschema.exceptions.best_match(validator(dict(p.schema)).iter_errors(json_value))
            if error is not None:
                problems.append(f"{what} {value!r} of {p.name!r} breaks its schema: {error.message}")
    return problems


def json_problem(value: Any, what: str) -> str | None:
    if not isinstance(value, dict):
        return f"{what} returned {type(value).__name__}, expected a dict"
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        return f"{what} is not JSON-serialisable: {exc}"
    return None


def fold_problems(folds: Any, n_rows: int, where: str) -> list[str]:
    """Folds must be a non-empty list of :class:`Fold` of in-range, disjoint row positions."""
    folds = list(folds)
    if not folds:
        return [f"{where} has no folds"]
    problems = []
    for fold in folds:
        if not isinstance(fold, Fold):
            problems.append(f"{where} holds a {type(fold).__name__}, not a Fold")
            continue
        label = f"{where} fold {fold.name!r}"
        train, test = np.asarray(fold.train), np.asarray(fold.test)
        if train.ndim != 1 or test.ndim != 1 or not all(np.issubdtype(a.dtype, np.integer)
                                                        for a in (train, test)):
            problems.append(f"{label}: train and test must be 1-D arrays of integer positions")
            continue
        outside = [int(v) for v in np.concatenate([train, test]) if not 0 <= v < n_rows][:3]
        if outside:
            problems.append(f"{label}: positions {outside} outside 0..{n_rows - 1}")
        if not len(test):
            problems.append(f"{label}: empty test set")
        shared = np.intersect1d(train, test)
        if len(shared):
            problems.append(f"{label}: {len(shared)} row(s) in both train and test")
        if not isinstance(fold.fingerprint, str):
            problems.append(f"{label}: no fingerprint")
    return problems


def missing_hint(requires: Mapping[str, str]) -> str:
    """``needs pip install x y`` when a required library is missing, else ``""``."""
    missing = missing_requirements(requires)
    return f"needs pip install {' '.join(missing)}" if missing else ""

