"""Step 3 for the ``models:`` of a suite: each entry checked against its plugin -- name,
datasets, parameters, grid, limits, ``tune:`` -- and expanded into its configurations
(:func:`resolve_models`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from benchmark.environments import EnvironmentSpec, model_environment
from benchmark.errors import BenchError, did_you_mean
from benchmark.params import Param, model_params
from benchmark.registry import Entry, Registry, is_model_class_usable
from benchmark.suite.problems import EntryCheck, Found, KeyPath, Where, param_problems, schema_errors, unknown_key
from benchmark.suite.resolving import (
    DatasetConfig, Limits, ModelConfig, ParsedSuite, configuration_label, parse_limits,
    seed_problem, with_seed_problems,
)
from benchmark.suite.schema import MODEL_KEYS
from benchmark.suite.tune import TuneContext, Tuning, parse_tune


@dataclass
class Datasets:
    """The dataset entries that resolved, and whether every entry did (else checks that need
    all of them -- "no dataset has that task" -- are not made: the failed entry is reported)."""

    configs: list[DatasetConfig]
    complete: bool


def closest(name: str, known: Iterable[str]) -> str:
    """``did you mean ...?``, else the known names."""
    known = list(known)
    return did_you_mean(name, known) or f"known: {', '.join(known)}"


def shadowed(model: Entry, name: str, registry: Registry, where: str) -> str | None:
    """The warning for a plain name that means bench's own model while an installed plugin also
    provides one by that name (a package written before bench took the name): the suite runs
    bench's, so say how to name the other (docs/plugins.md, "Names")."""
    others = [e.name for e in registry.namesakes("model", name)] if ":" not in name and model.provider.builtin else []
    if not others:
        return None
    return (f"{where}: {name!r} is bench's own model; {', '.join(others)} also "
            f"provide{'s' if len(others) == 1 else ''} one: write that name to run it")


def missing_library(model: Entry, where: str) -> str:
    """The warning for a model whose library is not installed: bench check says so, bench run
    records its cells as ``missing-dependency`` (the rest of the suite runs)."""
    missing = model.missing
    modules = [m for m, d in model.requires.items() if d in missing]
    return (f"{where}: {model.name} needs {', '.join(repr(m) for m in modules)}: pip install "
            f"{' '.join(missing)} — its cells will be recorded as missing-dependency")


def _model_entries(parsed: ParsedSuite) -> list[tuple[int, dict[str, Any]]]:
    """``(index, entry)`` of the model entries to resolve: those whose name, parameters,
    grid, datasets and limits the schema found sound. An unknown key (``lable:``, reported)
    leaves the rest of its entry checked; a misspelt ``nmae:`` (reported) leaves no name."""
    entries = []
    for i, entry in enumerate(parsed.data["models"]):
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        if any(_breaks_model(key, i) for key in parsed.invalid):
            continue
        entries.append((i, entry))
    return entries


def _breaks_model(key: KeyPath, i: int) -> bool:
    """Whether a schema problem at ``key`` leaves model entry ``i`` unresolvable: one at the entry
    or at one of its keys -- not one inside its ``limits`` (a bad timeout leaves the memory and
    the rest of the entry checkable)."""
    if key[:2] != ("models", i):
        return False
    return len(key) == 2 or (key[2] in MODEL_KEYS and not (key[2] == "limits" and len(key) > 3))


def _too_many(entries: list[tuple[int, dict[str, Any]]], limit: int, at: Where) -> BenchError | None:
    """Counted before anything is expanded: the error when the grids exceed ``limit``."""
    total = 0
    for i, entry in entries:
        count = math.prod(len(values) for values in entry.get("grid", {}).values())
        total += count
        if total > limit:
            return BenchError(f"the models expand to {total:,} configurations or more (this grid "
                              f"alone: {count:,}), above the limit of {limit:,}; "
                              f"shrink the grid or raise --max-configurations", at("models", i))
    return None


@dataclass
class _ModelEntry:
    """One model entry while it is checked: where it is, its plugin and what was found of it."""

    i: int
    entry: dict[str, Any]
    model: Entry
    check: EntryCheck

    def where(self, at: Where, *path: Any) -> str:
        return at("models", self.i, *path)


def _runnable(item: _ModelEntry, labels: Mapping[str, DatasetConfig], datasets: Datasets,
              at: Where) -> tuple[str, ...]:
    """The dataset labels the entry runs on; a label that is unknown or of another task is reported."""
    spec, entry, check = item.model.spec, item.entry, item.check
    chosen = entry.get("datasets", list(labels))
    for j, label in enumerate(chosen):
        if label not in labels:
            if datasets.complete:  # else it may label the entry that failed (reported)
                check.add(BenchError(f"no dataset labelled {label!r} in this suite; "
                                     f"{closest(label, labels)}", item.where(at, "datasets", j)))
        elif "datasets" in entry and labels[label].task not in spec.tasks:
            check.add(BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}, but dataset "
                                 f"{label!r} is a {labels[label].task!r} dataset", item.where(at, "datasets", j)))
    runnable = tuple(label for label in chosen if label in labels and labels[label].task in spec.tasks)
    if not runnable and datasets.complete and not check.failed:
        have = ", ".join(f"{d.label} ({d.task})" for d in datasets.configs)
        check.add(BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}; no dataset in "
                             f"this suite has that task (datasets: {have})", item.where(at, "name")))
    return runnable


def _described_params(item: _ModelEntry, tasks: list[str], registry: Registry,
                      at: Where) -> dict[str, Param] | None:
    """The model's parameters over the classes of ``tasks``; ``None`` when no class could be
    read (an unusable one is reported): its cells cannot be planned."""
    params_by_name: dict[str, Param] = {}
    inspected = False
    for task in tasks:
        reason = is_model_class_usable(item.model, task, registry)
        if reason:
            item.check.add(BenchError(f"model {item.model.spec.name!r} is unusable: {reason}",
                                      item.where(at, "name")))
            continue
        params_by_name.update(model_params(item.model.model_class(task)))
        inspected = True
    return params_by_name if inspected else None


def _check_model_params(item: _ModelEntry, params_by_name: Mapping[str, Param], at: Where) -> None:
    """A model entry's ``params`` and every value of its ``grid``: names, types, constraints,
    seeds; every problem recorded (a grid value by its index: ``grid.n_factors[1]``)."""
    i, params, grid = item.i, item.entry.get("params", {}), item.entry.get("grid", {})
    problems = with_seed_problems(param_problems(params, params_by_name, at, "models", i, "params",
                                                 what="parameter"), params, at, "models", i, "params")
    for key, values in grid.items():
        if key in params:
            problems.append(BenchError(f"{key!r} is in both params and grid", at("models", i, "grid", key)))
            continue
        if key not in params_by_name:
            problems.append(BenchError(unknown_key(key, list(params_by_name), "parameter"),
                                       at("models", i, "grid", key)))
            continue
        wrong = dict(schema_errors(values, {"type": "array", "items": params_by_name[key].json_schema()}))
        for j, value in enumerate(values):  # each value at its own place: grid.KEY[j]
            where = at("models", i, "grid", key, j)
            problem = BenchError(wrong[(j,)], where) if (j,) in wrong else seed_problem(key, value, where)
            problems += [problem] if problem else []
    for problem in problems:
        item.check.add(problem)


def _product(lists: list[list[Any]]) -> list[tuple[Any, ...]]:
    combos: list[tuple[Any, ...]] = [()]
    for values in lists:
        combos = [combo + (value,) for combo in combos for value in values]
    return combos


@dataclass(frozen=True)
class _Checked:
    """What an entry resolved to, before its grid is expanded."""

    runnable: tuple[str, ...]
    limits: Limits | None
    tune: Tuning | None
    env: EnvironmentSpec | None = None


def _check_entry(item: _ModelEntry, parsed: ParsedSuite, registry: Registry, datasets: Datasets,
                 found: Found, environments: Mapping[str, EnvironmentSpec | None], max_configurations: int
                 ) -> _Checked:
    """Every check of one model entry (each problem recorded in ``item.check``)."""
    at, entry, check, model = parsed.at, item.entry, item.check, item.model
    labels = {d.label: d for d in datasets.configs}
    runnable = _runnable(item, labels, datasets, at)
    tasks = list(dict.fromkeys(labels[label].task for label in runnable)) or \
        ([] if datasets.complete else list(model.spec.tasks))
    if model.missing and "env" not in entry:  # in an environment, its libraries are installed there
        found.warnings.append(missing_library(model, item.where(at)))
    params_by_name = _described_params(item, tasks, registry, at)
    if params_by_name is not None:
        _check_model_params(item, params_by_name, at)
    limits = check.check(parse_limits, parsed.sound(entry.get("limits"), "models", item.i, "limits"),
                         at, "models", item.i, "limits")
    tune = None
    if "tune" in entry and params_by_name is not None:  # checked beside the entry's other problems
        context = TuneContext(params_by_name, registry, [labels[d] for d in runnable], at,
                              max_configurations)
        tune = check.check(parse_tune, entry, context, ("models", item.i))
    env = None
    if "env" in entry:
        env = check.check(model_environment, entry, environments, item.where(at, "env"))
    return _Checked(runnable, limits, tune, env)


def resolve_models(parsed: ParsedSuite, registry: Registry, datasets: Datasets, found: Found,
                   max_configurations: int, environments: Mapping[str, EnvironmentSpec | None] | None = None
                   ) -> list[ModelConfig]:
    """Every model configuration of the suite (grids expanded), each entry checked; a model's
    ``env:`` against the suite's ``environments`` (a broken one's name maps to ``None``)."""
    data, at = parsed.data, parsed.at
    if not isinstance(data.get("models"), list) or ("models",) in parsed.invalid:
        return []
    entries = _model_entries(parsed)
    too_many = _too_many(entries, max_configurations, at)
    if too_many is not None:
        found.add(too_many)  # the names and parameters are still checked
    models: list[ModelConfig] = []
    seen: set[str] = set()
    for i, entry in entries:
        check = found.entry()
        model = check.check(registry.get, "model", entry["name"], at("models", i, "name"))
        if model is None:
            continue
        warning = shadowed(model, entry["name"], registry, at("models", i, "name"))
        found.warnings += [warning] if warning else []
        checked = _check_entry(_ModelEntry(i, entry, model, check), parsed, registry, datasets, found,
                               environments or {}, max_configurations)
        if check.failed or too_many is not None or checked.limits is None:
            continue
        params: dict[str, Any] = entry.get("params", {})
        grid: dict[str, list[Any]] = entry.get("grid", {})
        names = list(grid)
        for combination in _product([grid[n] for n in names]):
            combo = dict(zip(names, combination))
            resolved = {**params, **combo}
            label = configuration_label(entry.get("label", entry["name"]), combo if "label" in entry else resolved)
            label += " tuned" if checked.tune is not None and "label" not in entry else ""
            if label in seen:
                found.add(BenchError(f"model configuration {label!r} appears twice; give it a 'label'",
                                     at("models", i)))
                break
            seen.add(label)
            models.append(ModelConfig(label, model.identity, resolved, checked.runnable, checked.limits, checked.tune,
                                      checked.env))
    return models
