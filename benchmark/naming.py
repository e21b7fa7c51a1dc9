"""What a name inside a plugin's own specs means once bench (or another plugin) takes it.

Names in a suite follow one rule (:mod:`benchmark.registry`): a plain name is bench's own spec
when bench has one, else the one plugin's that provides it; ``qualifier:name`` is always that
plugin's. A plugin's *own* specs name each other too -- a dataset its ``task``, a model the keys
of its ``classes``, a metric its ``task``/``tasks``, a split its ``tasks``, a task its
``default_metrics`` and ``primary_metric`` -- and those names were written before bench took
any of them. A package written from the docs provides its own task ``next-item`` and model
``markov-chain``; bench 0.x then ships both. Read by the suite rule, that package's datasets
would silently become data of bench's ``next-item`` and its task would be ranked by bench's
metrics.

So inside a plugin, **its own names come first**: a name its distribution (or local file)
provides itself means its own spec, whatever else is installed; a qualified name means what it
says; any other name follows the suite rule. The package keeps running its own task with its
own models and metrics, and its task is keyed by its qualified name (``pkg:next-item``), so no
result of it is ever filed under bench's. :func:`own_names` rewrites one spec's references to
the keys the registry gave.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from benchmark.api import DatasetSpec, MetricSpec, ModelSpec, SplitSpec, TaskSpec

Spec = TypeVar("Spec")

Resolve = Callable[[str], str]
"""``resolve(name)``: the registry key a plugin's own reference ``name`` means."""


def own_names(spec: Spec, task: Resolve, metric: Resolve | None = None) -> Spec:
    """``spec`` with every task (and, for a task, metric) it names replaced by the key that name
    means for its plugin (the same object when nothing changes)."""
    changes: dict[str, Any] = {}
    if isinstance(spec, ModelSpec):
        classes = {task(name): factory for name, factory in spec.classes.items()}
        if list(classes) != list(spec.classes):
            changes["classes"] = classes
    elif isinstance(spec, DatasetSpec):
        if task(spec.task) != spec.task:
            changes["task"] = task(spec.task)
    elif isinstance(spec, MetricSpec):
        if task(spec.task) != spec.task:
            changes["task"] = task(spec.task)
        if tuple(map(task, spec.tasks)) != tuple(spec.tasks):
            changes["tasks"] = tuple(map(task, spec.tasks))
    elif isinstance(spec, SplitSpec):
        if tuple(map(task, spec.tasks)) != tuple(spec.tasks):
            changes["tasks"] = tuple(map(task, spec.tasks))
    elif isinstance(spec, TaskSpec) and metric is not None:
        defaults = tuple(map(metric, spec.default_metrics))
        if defaults != tuple(spec.default_metrics):
            changes["default_metrics"] = defaults
        if spec.primary_metric and metric(spec.primary_metric) != spec.primary_metric:
            changes["primary_metric"] = metric(spec.primary_metric)
    return dataclasses.replace(spec, **changes) if changes else spec  # type: ignore[type-var]


def resolver(own: dict[str, str], aliases: dict[str, str]) -> Resolve:
    """``resolve(name)``: ``own[name]`` (the plugin's own spec of that name), else the key of a
    qualified name, else the name as it is (the suite rule)."""
    return lambda name: own.get(name) or (aliases.get(name, name) if ":" in name else name)
