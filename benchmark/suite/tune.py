"""The ``tune:`` block of a model entry: parsed and checked against the model, its task and the
split plugins, into a frozen :class:`Tuning` (what is searched, for which objective, how, with
which budget, on which inner split).

How the search then runs -- trials as cells on an inner split of each outer training fold,
the refit of the winner -- is :mod:`benchmark.tuning`'s; it reads only the :class:`Tuning`.
Every problem of a block is one :class:`~benchmark.errors.BenchError` at
``models[i].tune.KEY``, and all of them are raised at once: a part that depends on a broken one
(the budget of a broken space) is left unchecked, not misreported.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.cells import stable_hash
from benchmark.errors import BenchError, did_you_mean, raise_all
from benchmark.params import Param
from benchmark.registry import Registry
from benchmark.suite.problems import Found, KeyPath, Where, check_schema, describe_value, schema_problems
from benchmark.suite.resolving import MAX_CONFIGURATIONS, DatasetConfig, SplitCall, SplitPlace, resolve_split

SEARCHES = ("grid", "random", "tpe")
DEFAULT_INNER: Mapping[str, Any] = {"method": "holdout", "test_size": 0.1}
"""The inner split when a ``tune:`` block names none."""
_KEYS = ("space", "objective", "search", "trials", "split")
_RANGE_KEYS = ("low", "high", "log")

# --- The parsed block ---------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a list of choices, or a range (``low``..``high``, maybe log)."""

    name: str
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return not self.choices

    def describe(self) -> Any:
        if self.choices:
            return list(self.choices)
        return {"low": self.low, "high": self.high, "log": self.log}

    def draw(self, rng: np.random.Generator) -> Any:
        if self.choices:
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.integer:
            if self.log:
                value = math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
                return int(min(max(round(value), self.low), self.high))
            return int(rng.integers(int(self.low), int(self.high) + 1))
        value = math.exp(rng.uniform(math.log(self.low), math.log(self.high))) if self.log \
            else rng.uniform(self.low, self.high)
        return _round(value)

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna ``trial`` suggests for this parameter (a ``tpe`` search)."""
        if self.choices:
            index = trial.suggest_categorical(self.name, list(range(len(self.choices))))
            return self.choices[index]
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return _round(trial.suggest_float(self.name, self.low, self.high, log=self.log))


def _round(value: float) -> float:
    """Four significant digits: readable configurations, and equal draws hash alike."""
    return float(f"{value:.4g}")


@dataclass(frozen=True)
class Tuning:
    """A model's ``tune:`` block, checked against the model, its task and the split plugins."""

    space: tuple[Dimension, ...]
    objective: str
    greater_is_better: bool
    search: str
    trials: int  # the budget; a grid's is its size
    split: Mapping[str, Any]  # the inner split: {"method": ..., **params}

    def describe(self) -> dict[str, Any]:
        """The procedure as plain data: the refit's configuration identity."""
        return {"space": {d.name: d.describe() for d in self.space}, "objective": self.objective,
                "search": self.search, "trials": self.trials, "split": dict(self.split)}

    def grid(self) -> list[dict[str, Any]]:
        names = [d.name for d in self.space]
        return [dict(zip(names, point)) for point in itertools.product(*(d.choices for d in self.space))]

    def inner_split(self, outer_seed: int) -> dict[str, Any]:
        """The inner split as a trial records it, ``{"method": ..., **params, "seed": ...}``: its
        seed is the block's own, else the outer split's (``outer_seed``)."""
        return SplitCall.of(str(self.split["method"]), self.split, outer_seed).stored()


# --- Parsing (called from the model resolution of benchmark.suite.checking) ----------------


def _fail(message: str, at: Where, *path: Any) -> BenchError:
    return BenchError(message, at(*path))


@dataclass(frozen=True)
class TuneContext:
    """What a model's ``tune:`` block is checked against: the model's described parameters
    (:class:`~benchmark.params.Param` by name), the plugins, the datasets the model runs on, and
    the suite's places (``at``)."""

    params: Mapping[str, Param]
    registry: Registry
    datasets: Sequence[DatasetConfig]
    at: Where
    max_configurations: int = MAX_CONFIGURATIONS  # trials (points) a search may have, as grids are limited


def parse_tune(entry: Mapping[str, Any], context: TuneContext, where: KeyPath) -> Tuning:
    """Check ``entry["tune"]`` of the model entry at ``where`` (``("models", i)``).

    Every problem is one :class:`BenchError` at ``models[i].tune.KEY``, and all of them are
    raised at once (:class:`~benchmark.errors.BenchErrors`): a part that depends on a broken one
    (the budget of a broken space) is left unchecked, not misreported.
    """
    at, registry, datasets = context.at, context.registry, context.datasets
    base = (*where, "tune")
    block = entry["tune"]
    if not isinstance(block, Mapping):
        raise _fail(f"expected a mapping with space, objective, search, trials, split, got "
                    f"{describe_value(block)}", at, *base)
    check = Found().entry()
    for key in block:
        if key not in _KEYS:
            hint = did_you_mean(str(key), _KEYS) or f"one of: {', '.join(_KEYS)}"
            check.add(_fail(f"expected a key of tune ({hint}), got {key!r}", at, *base, key))
    for key in ("space", "objective"):
        if key not in block:
            check.add(_fail(f"missing required key {key!r}", at, *base))
    if "grid" in entry:
        check.add(_fail("expected either grid or tune, got both (a tuned model searches its own space)",
                        at, *where, "grid"))
    space = check.check(parse_space, block["space"], context.params, entry.get("params") or {}, at,
                        (*base, "space")) if "space" in block else None
    search = check.check(_search, block, space, at, base)
    trials = check.check(_trials, block, space, search, at, base, context.max_configurations)
    objective = check.check(_objective, block["objective"], registry, datasets, at, (*base, "objective")) \
        if "objective" in block else None
    split = check.check(_inner_split, block, registry, datasets, at, base)
    raise_all(check.found.errors)
    assert space is not None and search is not None and trials is not None
    assert objective is not None and split is not None
    return Tuning(tuple(space), objective[0], objective[1], search, trials, split)


def _search(block: Mapping[str, Any], space: Sequence[Dimension] | None, at: Where,
            base: KeyPath) -> str | None:
    """The search method: given, else grid for a space of lists and random for one with ranges
    (``None`` when the space is broken and names none)."""

    if "search" not in block:
        return None if space is None else "grid" if all(not d.is_range for d in space) else "random"
    search = block["search"]
    if search not in SEARCHES:
        raise _fail(f"expected one of {', '.join(SEARCHES)}, got {describe_value(search)}", at, *base, "search")
    if search == "tpe" and importlib.util.find_spec("optuna") is None:
        raise _fail("expected Optuna installed for search: tpe (pip install 'bench-harness[tune]'), "
                    "got no optuna module; or use search: random", at, *base, "search")
    return str(search)


def _inner_split(block: Mapping[str, Any], registry: Registry, datasets: Sequence[DatasetConfig], at: Where,
                 base: KeyPath) -> dict[str, Any]:
    """The inner split (``{"method": ..., **params}``), checked for every task it runs on."""

    split_data = block.get("split", DEFAULT_INNER)
    split_at = (*base, "split") if "split" in block else base
    check_schema(split_data, {"type": "object", "required": ["method"],
                        "properties": {"method": {"type": "string", "minLength": 1}}}, at, *split_at)
    if split_data["method"] == "predefined":
        raise _fail("expected a split that can be carved from a training fold (holdout, kfold, temporal, "
                    "leave-n-out), got 'predefined'", at, *split_at, "method")
    split = dict(split_data)  # no dataset resolved (each failed, and says why): not checked further
    problems = []
    for task, label in {d.task: d.label for d in datasets}.items():
        try:
            resolved = resolve_split(split_data, SplitPlace(split_at, task, label), registry, at)
        except BenchError as exc:
            problems.append(exc)
            continue
        split = {"method": resolved.method, **resolved.params}
    raise_all(problems)
    return split


def parse_space(data: Any, params: Mapping[str, Param], fixed: Mapping[str, Any], at: Where,
           base: KeyPath) -> list[Dimension]:
    """Every searched parameter, each checked on its own (all their problems raised at once)."""

    if not isinstance(data, Mapping):
        raise _fail(f"expected a mapping of parameter: values, got {describe_value(data)}", at, *base)
    if not data:
        raise _fail("expected at least 1 parameter to search, got an empty mapping", at, *base)
    space, problems = [], []
    for name, values in data.items():
        try:
            space.append(_dimension(name, values, params, fixed, at, (*base, name)))
        except BenchError as exc:
            problems.append(exc)
    raise_all(problems)
    return space


def _dimension(name: Any, values: Any, params: Mapping[str, Param], fixed: Mapping[str, Any], at: Where,
               path: KeyPath) -> Dimension:
    """One parameter of the space: a list of choices, or a range."""

    if name not in params:
        hint = did_you_mean(str(name), params) or f"one of: {', '.join(params) or 'none'}"
        raise _fail(f"expected a parameter of the model ({hint}), got {name!r}", at, *path)
    if name in fixed:
        raise _fail(f"expected {name!r} in params or in tune.space, got both", at, *path)
    schema = dict(params[name].schema)
    if isinstance(values, Mapping) and set(values) == {"choices"}:
        values = values["choices"]
        if not isinstance(values, list):
            raise _fail(f"expected a list, got {describe_value(values)}", at, *path, "choices")
    if isinstance(values, list):
        return _choices(name, values, schema, at, path)
    if not isinstance(values, Mapping):
        raise _fail(f"expected a list of values or a range {{low, high, log}}, got {describe_value(values)}",
                    at, *path)
    return _range(name, values, schema, at, path)


def _choices(name: str, values: list[Any], schema: Mapping[str, Any], at: Where,
             path: KeyPath) -> Dimension:
    """A list of values, each checked against the parameter's schema; repeats dropped."""

    if not values:
        raise _fail("expected at least 1 value, got an empty list", at, *path)
    raise_all([problem for j, value in enumerate(values)
               for problem in schema_problems(value, dict(schema), at, *path, j)])
    unique: dict[str, Any] = {}  # values may be lists: no set
    for value in values:
        unique.setdefault(stable_hash(value), value)
    return Dimension(name, tuple(unique.values()))


def _range(name: str, values: Mapping[str, Any], schema: Mapping[str, Any], at: Where,
           path: KeyPath) -> Dimension:
    """``{low, high, log}``: each key checked, then how the bounds relate."""

    problems = [_fail(f"expected low, high, log (or choices alone), got {key!r}", at, *path, key)
                for key in values if key not in _RANGE_KEYS]
    for key in ("low", "high"):
        if key not in values:
            problems.append(_fail(f"missing required key {key!r}", at, *path))
        else:
            problems += _bound_problems(values[key], schema, at, (*path, key))
    log = values.get("log", False)
    if not isinstance(log, bool):
        problems.append(_fail(f"expected true or false, got {describe_value(log)}", at, *path, "log"))
    raise_all(problems)
    low, high = values["low"], values["high"]
    if not high > low:
        raise _fail(f"expected high > low ({low}), got {high}", at, *path, "high")
    if log and low <= 0:
        raise _fail(f"expected low > 0 for a log range, got {low}", at, *path, "low")
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    integer = "integer" in kinds or (not kinds and isinstance(low, int) and isinstance(high, int))
    if integer and not (isinstance(low, int) and isinstance(high, int)):
        raise _fail(f"expected integer bounds for the integer parameter {name!r}, got "
                    f"{describe_value(low)} .. {describe_value(high)}", at, *path)
    return Dimension(name, (), low, high, log, integer)


def _bound_problems(bound: Any, schema: Mapping[str, Any], at: Where, path: KeyPath) -> list[BenchError]:
    """A range's ``low`` or ``high``: a finite number inside the parameter's declared range."""

    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
        return [_fail(f"expected a number, got {describe_value(bound)}", at, *path)]
    return schema_problems(bound, dict(schema), at, *path)


def _trials(block: Mapping[str, Any], space: Sequence[Dimension] | None, search: str | None, at: Where,
            base: KeyPath, limit: int = MAX_CONFIGURATIONS) -> int | None:
    """The budget: ``trials`` checked, then against the space and search (``None`` when either
    is broken: their own errors say why). A grid's points are counted, never listed, and the
    budget may not exceed ``limit`` (the configuration limit, ``--max-configurations``): each
    trial is a configuration, run on every inner fold of every outer fold."""

    trials = block.get("trials")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise _fail(f"expected an integer >= 1 (the number of trials), got {describe_value(trials)}",
                    at, *base, "trials")
    if trials is not None and trials > limit:
        raise _fail(f"expected at most {limit:,} trials (the configuration limit), got {trials:,}; "
                    "lower trials or raise --max-configurations", at, *base, "trials")
    if search is None:
        return None
    if search != "grid" and trials is None:
        raise _fail(f"missing required key 'trials' (the budget of a {search} search)", at, *base)
    if space is None:
        return None
    size = math.prod(len(d.choices) for d in space) if all(not d.is_range for d in space) else None
    if search == "grid":
        ranges = [d.name for d in space if d.is_range]
        if ranges:
            raise _fail("expected a list of values for search: grid, got a range (use search: random "
                        "or tpe for ranges)", at, *base, "space", ranges[0])
        assert size is not None
        if size > limit:
            raise _fail(f"the grid has {size:,} points ("
                        + " × ".join(f"{len(d.choices)} {d.name}" for d in space)
                        + f"), above the configuration limit of {limit:,}; use search: random with "
                        "trials, or raise --max-configurations", at, *base, "space")
        if trials is not None and trials < size:
            raise _fail(f"expected trials >= the grid's {size} points (or no trials), got {trials}; "
                        f"use search: random to sample {trials} of them", at, *base, "trials")
        return size
    assert trials is not None
    return min(trials, size) if size is not None else trials


def _objective(name: Any, registry: Registry, datasets: Sequence[DatasetConfig], at: Where,
               path: KeyPath) -> tuple[str, bool]:

    if not isinstance(name, str) or not name:
        raise _fail(f"expected a metric name, got {describe_value(name)}", at, *path)
    entry = registry.get("metric", name, at(*path))
    spec = entry.spec
    other = [d for d in datasets if d.task not in spec.scored_tasks]
    if other:
        raise _fail(f"expected a metric of the {other[0].task!r} task of dataset {other[0].label!r}, "
                    f"got {name!r} (a {spec.task!r} metric)", at, *path)
    return entry.name, bool(spec.greater_is_better)  # the name cells use: plain, or qualified
