"""Hyperparameter tuning that never sees the test folds: ``tune:`` per model, every trial a cell.

Picking the best line of a grid after the fact is selection on the test folds, and reports
optimistic numbers. A ``tune:`` block instead searches on an *inner* split carved from each
*outer* training fold only; the configuration that wins there is refit on the whole outer
training fold and scored once on its test fold::

    models:
      - name: fast-svd
        tune:
          space: {reg_all: {low: 0.005, high: 0.2, log: true}, n_factors: [50, 100]}
          objective: rmse                            # a metric of the task; its direction decides
          search: random                             # grid | random | tpe (Optuna, optional extra)
          trials: 20                                 # the budget (grid: every point)
          split: {method: holdout, test_size: 0.1}   # the inner split (default), or kfold, ...

Trials are ordinary cells (stored, resumable after a kill, parallel with ``--jobs`` or Dask,
reused on rerun): a trial cell is the outer cell with the trial's parameters, only the
objective as metric, and a ``tuning`` field naming its outer fold and inner split, so a worker
rebuilds exactly its rows with :func:`trial_fold`: outer fold → its training rows → the inner
split of those rows. The refit cell is the outer cell with the winner's parameters and a
``tuning`` field summarising the search (``chosen``, ``trial_cell_ids``); its configuration
identity is the tuning procedure (space, objective, search, budget, inner split), so the
folds of one tuned model form one leaderboard line even when they chose differently.

The runner plans in phases (:class:`Searches`): ordinary cells and trials first, then the
refits whose parameters the trials' rows decide (a ``tpe`` search asks Optuna for
:data:`TPE_BATCH` trials per outer fold per phase). Random search is a pure function of the
suite seed and the outer fold, so a rerun plans the same trials and reuses them.

The guard: every trial row records fingerprints of the rows it fit on and was scored on
(``tuning.fit_rows``/``eval_rows``, checked by the worker against the rows it actually used,
and ``split_fingerprint`` of the pair); :func:`audit` rebuilds them from the data and checks
that none of them touches the outer test fold.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from benchmark._internal import resolve
from benchmark.api import Fold, MatrixData
from benchmark.cells import Cell, stable_hash
from benchmark.errors import BenchError, did_you_mean, raise_all
from benchmark.resultset import is_refit, is_trial, tuning_note  # noqa: F401 -- tuning.is_trial, ... still work

SEARCHES = ("grid", "random", "tpe")
DEFAULT_INNER: Mapping[str, Any] = {"method": "holdout", "test_size": 0.1}
"""The inner split when a ``tune:`` block names none."""
TPE_BATCH = 4
"""Trials a ``tpe`` search asks Optuna for per outer fold before it needs their results: one
runner phase. Larger batches keep more workers busy, smaller ones let TPE learn sooner."""
MAX_DRAWS = 50
"""A random search draws at most this many times its budget looking for distinct points."""
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


# --- Parsing (called from suite.py's model resolution) ------------------------------------------


def _fail(message: str, at: Any, *path: Any) -> BenchError:
    return BenchError(message, at(*path))


def parse_tune(entry: Mapping[str, Any], params: Mapping[str, Any], registry: Any,
               datasets: Sequence[Any], at: Any, where: tuple[Any, ...]) -> Tuning:
    """Check ``entry["tune"]`` of the model entry at ``where`` (``("models", i)``).

    ``params`` are the model's described parameters (:class:`benchmark.params.Param` by name),
    ``datasets`` the :class:`~benchmark.suite.DatasetConfig` it runs on, ``at`` the suite's
    position function. Every problem is one :class:`BenchError` at ``models[i].tune.KEY``, and
    all of them are raised at once (:class:`~benchmark.errors.BenchErrors`): a part that
    depends on a broken one (the budget of a broken space) is left unchecked, not misreported.
    """
    from benchmark.suite import Found, _describe

    base = (*where, "tune")
    block = entry["tune"]
    if not isinstance(block, Mapping):
        raise _fail(f"expected a mapping with space, objective, search, trials, split, got "
                    f"{_describe(block)}", at, *base)
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
    space = check.check(_space, block["space"], params, entry.get("params") or {}, at, (*base, "space")) \
        if "space" in block else None
    search = check.check(_search, block, space, at, base)
    trials = check.check(_trials, block, space, search, at, base)
    objective = check.check(_objective, block["objective"], registry, datasets, at, (*base, "objective")) \
        if "objective" in block else None
    split = check.check(_inner_split, block, registry, datasets, at, base)
    raise_all(check.found.errors)
    assert space is not None and search is not None and trials is not None
    assert objective is not None and split is not None
    return Tuning(tuple(space), objective[0], objective[1], search, trials, split)


def _search(block: Mapping[str, Any], space: Sequence[Dimension] | None, at: Any,
            base: tuple[Any, ...]) -> str | None:
    """The search method: given, else grid for a space of lists and random for one with ranges
    (``None`` when the space is broken and names none)."""
    from benchmark.suite import _describe

    if "search" not in block:
        return None if space is None else "grid" if all(not d.is_range for d in space) else "random"
    search = block["search"]
    if search not in SEARCHES:
        raise _fail(f"expected one of {', '.join(SEARCHES)}, got {_describe(search)}", at, *base, "search")
    if search == "tpe" and importlib.util.find_spec("optuna") is None:
        raise _fail("expected Optuna installed for search: tpe (pip install 'bench-harness[tune]'), "
                    "got no optuna module; or use search: random", at, *base, "search")
    return str(search)


def _inner_split(block: Mapping[str, Any], registry: Any, datasets: Sequence[Any], at: Any,
                 base: tuple[Any, ...]) -> dict[str, Any]:
    """The inner split (``{"method": ..., **params}``), checked for every task it runs on."""
    from benchmark.suite import _check, _resolve_split

    split_data = block.get("split", DEFAULT_INNER)
    split_at = (*base, "split") if "split" in block else base
    _check(split_data, {"type": "object", "required": ["method"],
                        "properties": {"method": {"type": "string", "minLength": 1}}}, at, *split_at)
    if split_data["method"] == "predefined":
        raise _fail("expected a split that can be carved from a training fold (holdout, kfold, temporal, "
                    "leave-n-out), got 'predefined'", at, *split_at, "method")
    split = dict(split_data)  # no dataset resolved (each failed, and says why): not checked further
    problems = []
    for task, label in {d.task: d.label for d in datasets}.items():
        try:
            resolved = _resolve_split(split_data, split_at, task, label, registry, at)
        except BenchError as exc:
            problems.append(exc)
            continue
        split = {"method": resolved.method, **resolved.params}
    raise_all(problems)
    return split


def _space(data: Any, params: Mapping[str, Any], fixed: Mapping[str, Any], at: Any,
           base: tuple[Any, ...]) -> list[Dimension]:
    """Every searched parameter, each checked on its own (all their problems raised at once)."""
    from benchmark.suite import _describe

    if not isinstance(data, Mapping):
        raise _fail(f"expected a mapping of parameter: values, got {_describe(data)}", at, *base)
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


def _dimension(name: Any, values: Any, params: Mapping[str, Any], fixed: Mapping[str, Any], at: Any,
               path: tuple[Any, ...]) -> Dimension:
    """One parameter of the space: a list of choices, or a range."""
    from benchmark.suite import _describe

    if name not in params:
        hint = did_you_mean(str(name), params) or f"one of: {', '.join(params) or 'none'}"
        raise _fail(f"expected a parameter of the model ({hint}), got {name!r}", at, *path)
    if name in fixed:
        raise _fail(f"expected {name!r} in params or in tune.space, got both", at, *path)
    schema = dict(params[name].schema)
    if isinstance(values, Mapping) and set(values) == {"choices"}:
        values = values["choices"]
        if not isinstance(values, list):
            raise _fail(f"expected a list, got {_describe(values)}", at, *path, "choices")
    if isinstance(values, list):
        return _choices(name, values, schema, at, path)
    if not isinstance(values, Mapping):
        raise _fail(f"expected a list of values or a range {{low, high, log}}, got {_describe(values)}",
                    at, *path)
    return _range(name, values, schema, at, path)


def _choices(name: str, values: list[Any], schema: Mapping[str, Any], at: Any,
             path: tuple[Any, ...]) -> Dimension:
    """A list of values, each checked against the parameter's schema; repeats dropped."""
    from benchmark.suite import _schema_problems

    if not values:
        raise _fail("expected at least 1 value, got an empty list", at, *path)
    raise_all([problem for j, value in enumerate(values)
               for problem in _schema_problems(value, dict(schema), at, *path, j)])
    unique: dict[str, Any] = {}  # values may be lists: no set
    for value in values:
        unique.setdefault(stable_hash(value), value)
    return Dimension(name, tuple(unique.values()))


def _range(name: str, values: Mapping[str, Any], schema: Mapping[str, Any], at: Any,
           path: tuple[Any, ...]) -> Dimension:
    """``{low, high, log}``: each key checked, then how the bounds relate."""
    from benchmark.suite import _describe

    problems = [_fail(f"expected low, high, log (or choices alone), got {key!r}", at, *path, key)
                for key in values if key not in _RANGE_KEYS]
    for key in ("low", "high"):
        if key not in values:
            problems.append(_fail(f"missing required key {key!r}", at, *path))
        else:
            problems += _bound_problems(values[key], schema, at, (*path, key))
    log = values.get("log", False)
    if not isinstance(log, bool):
        problems.append(_fail(f"expected true or false, got {_describe(log)}", at, *path, "log"))
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
                    f"{_describe(low)} .. {_describe(high)}", at, *path)
    return Dimension(name, (), low, high, log, integer)


def _bound_problems(bound: Any, schema: Mapping[str, Any], at: Any, path: tuple[Any, ...]) -> list[BenchError]:
    """A range's ``low`` or ``high``: a finite number inside the parameter's declared range."""
    from benchmark.suite import _describe, _schema_problems

    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
        return [_fail(f"expected a number, got {_describe(bound)}", at, *path)]
    return _schema_problems(bound, dict(schema), at, *path)


def _trials(block: Mapping[str, Any], space: Sequence[Dimension] | None, search: str | None, at: Any,
            base: tuple[Any, ...]) -> int | None:
    """The budget: ``trials`` checked, then against the space and search (``None`` when either
    is broken: their own errors say why)."""
    from benchmark.suite import _describe

    trials = block.get("trials")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise _fail(f"expected an integer >= 1 (the number of trials), got {_describe(trials)}",
                    at, *base, "trials")
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
        if trials is not None and trials < size:
            raise _fail(f"expected trials >= the grid's {size} points (or no trials), got {trials}; "
                        f"use search: random to sample {trials} of them", at, *base, "trials")
        return size
    assert trials is not None
    return min(trials, size) if size is not None else trials


def _objective(name: Any, registry: Any, datasets: Sequence[Any], at: Any,
               path: tuple[Any, ...]) -> tuple[str, bool]:
    from benchmark.suite import _describe

    if not isinstance(name, str) or not name:
        raise _fail(f"expected a metric name, got {_describe(name)}", at, *path)
    entry = registry.get("metric", name, at(*path))
    spec = entry.spec
    other = [d for d in datasets if d.task != spec.task]
    if other:
        raise _fail(f"expected a metric of the {other[0].task!r} task of dataset {other[0].label!r}, "
                    f"got {name!r} (a {spec.task!r} metric)", at, *path)
    return entry.name, bool(spec.greater_is_better)  # the name cells use: plain, or qualified


# --- Rows of a trial: the worker's side -------------------------------------------------------


def rows_fingerprint(rows: np.ndarray) -> str:
    """A hash of exactly these row positions, in order."""
    return hashlib.sha256(np.ascontiguousarray(rows, dtype=np.int64).tobytes()).hexdigest()[:16]


def _restrict(data: Any, rows: np.ndarray) -> Any:
    """The dataset restricted to ``rows`` (positions), as data the split plugins accept."""
    if isinstance(data, MatrixData):
        return MatrixData(data.X[rows], info=data.info, value_range=data.value_range)
    return data.subset(rows)  # RatingData, or another task's data type: its own subset


_INNER_CACHE: dict[str, list[Fold]] = {}


def inner_folds(registry: Any, data: Any, outer: Fold, inner: Mapping[str, Any]) -> list[Fold]:
    """The inner split of ``outer``'s training rows, as folds of the whole dataset's positions.

    ``inner`` is ``{"method": ..., "seed": ..., **params}``. The split plugin sees only the
    outer training rows, so no inner fold can hold a row of ``outer.test``.
    """
    key = stable_hash([outer.fingerprint, inner])
    if key not in _INNER_CACHE:
        params = {k: v for k, v in inner.items() if k != "method"}
        split = resolve(registry.get("split", inner["method"]).spec.func)
        folds = list(split(_restrict(data, outer.train), **params))
        if len(_INNER_CACHE) >= 64:
            _INNER_CACHE.pop(next(iter(_INNER_CACHE)))
        _INNER_CACHE[key] = [Fold(f.name, outer.train[f.train], outer.train[f.test]) for f in folds]
        from benchmark.shared_data import share_rows

        share_rows(data, _INNER_CACHE[key], f"inner-{key}")  # trials on one inner fold map one copy
    return _INNER_CACHE[key]


def trial_fold(registry: Any, data: Any, outer: Fold, tuning: Mapping[str, Any]) -> Fold:
    """The rows a cell with a ``tuning`` field fits and scores on (execute's fold resolution).

    A trial: its inner fold of ``outer``'s training rows, checked against the fingerprints the
    plan recorded; a refit: ``outer`` itself. A refit whose every trial failed raises here, so
    its row says why.
    """
    if tuning.get("role") == "refit":
        if tuning.get("chosen") is None:
            raise BenchError(str(tuning.get("error") or "no trial of this fold succeeded"))
        return outer
    if outer.fingerprint != tuning["outer_fingerprint"]:
        raise BenchError(f"outer fold has fingerprint {outer.fingerprint}, the trial was planned on "
                         f"{tuning['outer_fingerprint']}")
    fold = inner_folds(registry, data, outer, tuning["inner"])[tuning["inner_fold"]]
    fit, scored = rows_fingerprint(fold.train), rows_fingerprint(fold.test)
    if (fit, scored) != (tuning["fit_rows"], tuning["eval_rows"]):
        raise BenchError(f"inner fold rows {fit}/{scored} differ from the planned "
                         f"{tuning['fit_rows']}/{tuning['eval_rows']}")
    return fold


# --- Planning: trials, winners, refits ------------------------------------------------------------


def _score(rows: Sequence[Mapping[str, Any] | None], metric: str) -> float | None:
    """The mean objective over a point's inner folds; ``None`` if any is missing or failed."""
    values = []
    for row in rows:
        value = (row or {}).get("metrics", {}).get(metric) if (row or {}).get("status") == "ok" else None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        values.append(float(value))
    return sum(values) / len(values) if values else None


class Search:
    """The search of one tuned model on one outer cell (dataset × seed × outer fold)."""

    def __init__(self, outer: Cell, tuning: Tuning, registry: Any, data: Any, outer_fold: Fold):
        self.outer, self.tuning, self.registry = outer, tuning, registry
        seed = outer.split_params.get("seed", outer.seed)
        self.inner = {**tuning.split, "seed": tuning.split.get("seed", seed)}
        self.folds = inner_folds(registry, data, outer_fold, self.inner)
        self.outer_fingerprint = outer_fold.fingerprint
        self.tuned = [d.name for d in tuning.space]
        code = dict(outer.code)
        metric_code = registry.get("metric", tuning.objective).provider.code
        self.trial_code = {**code, "metrics": {tuning.objective: metric_code}}
        self.rng_seed = [int(outer.seed) % 2**32, int(outer.fold)]

    # Trial cells of one point, one per inner fold.
    def trial_cells(self, number: int, point: Mapping[str, Any]) -> list[Cell]:
        from benchmark.execute import json_safe

        cells = []
        for j, fold in enumerate(self.folds):
            inner_name = f" inner {fold.name}" if len(self.folds) > 1 else ""
            cells.append(replace(
                self.outer, fold_name=f"{self.outer.fold_name} trial {number}{inner_name}",
                fingerprint=fold.fingerprint, params={**self.outer.params, **point},
                config={**self.outer.config, **json_safe(dict(point))}, metrics=(self.tuning.objective,),
                code=self.trial_code,
                tuning={"role": "trial", "outer_fold": self.outer.fold,
                        "outer_fingerprint": self.outer_fingerprint, "inner": self.inner, "inner_fold": j,
                        "fit_rows": rows_fingerprint(fold.train), "eval_rows": rows_fingerprint(fold.test)}))
        return cells

    def random_points(self) -> list[dict[str, Any]]:
        """The budget's distinct points, drawn from the suite seed and the outer fold alone."""
        rng = np.random.default_rng(self.rng_seed)
        points: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_DRAWS * self.tuning.trials):
            point = {d.name: d.draw(rng) for d in self.tuning.space}
            key = stable_hash(point)
            if key not in seen:
                seen.add(key)
                points.append(point)
                if len(points) == self.tuning.trials:
                    break
        return points

    def drawn_points(self) -> list[dict[str, Any]]:
        """A grid or random search's points, all known before any trial (a ``tpe`` search's
        depend on the trials' results)."""
        return self.tuning.grid() if self.tuning.search == "grid" else self.random_points()

    def cells(self, rows: Mapping[str, Mapping[str, Any]]) -> list[Cell]:
        """The trial cells the rows so far determine, then the refit once every trial has a row."""
        if self.tuning.search == "tpe":
            points, done = self._tpe(rows)
        else:
            points, done = self.drawn_points(), True
        trials = [self.trial_cells(n, p) for n, p in enumerate(points, 1)]
        cells = [c for group in trials for c in group]
        if done and all(c.id in rows for c in cells):
            cells.append(self.refit(points, trials, rows))
        return cells

    def _tpe(self, rows: Mapping[str, Mapping[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        """Replay an Optuna study seeded by the suite seed and outer fold: ask a batch, tell the
        stored results, until a batch lacks rows (those are the cells to run) or the budget is spent."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        seed = int(np.random.SeedSequence(self.rng_seed).generate_state(1)[0])
        study = optuna.create_study(direction="maximize" if self.tuning.greater_is_better else "minimize",
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        points: list[dict[str, Any]] = []
        while len(points) < self.tuning.trials:
            batch = [study.ask() for _ in range(min(TPE_BATCH, self.tuning.trials - len(points)))]
            asked = [{d.name: self._suggest(t, d) for d in self.tuning.space} for t in batch]
            start = len(points)
            points += asked
            scored = [self.trial_cells(start + k + 1, p) for k, p in enumerate(asked)]
            if not all(c.id in rows for group in scored for c in group):
                return points, False
            for trial, group in zip(batch, scored):
                value = _score([rows[c.id] for c in group], self.tuning.objective)
                study.tell(trial, value, state=None if value is not None else optuna.trial.TrialState.FAIL)
        return points, True

    @staticmethod
    def _suggest(trial: Any, d: Dimension) -> Any:
        if d.choices:
            index = trial.suggest_categorical(d.name, list(range(len(d.choices))))
            return d.choices[index]
        if d.integer:
            return trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log)
        return _round(trial.suggest_float(d.name, d.low, d.high, log=d.log))

    def refit(self, points: Sequence[Mapping[str, Any]], trials: Sequence[Sequence[Cell]],
              rows: Mapping[str, Mapping[str, Any]]) -> Cell:
        """The outer cell with the winning point (ties: the earlier trial), refit on the whole
        outer training fold; its configuration is the tuning procedure, the same on every fold."""
        from benchmark.execute import json_safe

        sign = -1.0 if self.tuning.greater_is_better else 1.0
        scores = [_score([rows[c.id] for c in group], self.tuning.objective) for group in trials]
        valid = [(sign * s, n) for n, s in enumerate(scores) if s is not None]
        summary: dict[str, Any] = {
            **self._how(len(points)), "chosen": None, "trial": None, "objective_value": None,
            "trial_cell_ids": [c.id for group in trials for c in group],
            "failed_trials": len(scores) - len(valid)}
        params = dict(self.outer.params)
        if valid:
            best = min(valid)[1]
            chosen = json_safe(dict(points[best]))
            summary.update(chosen=chosen, trial=best + 1, objective_value=scores[best])
            params.update(points[best])
        else:
            errors = sorted({str(rows[c.id].get("error")) for g in trials for c in g if rows[c.id].get("error")})
            summary["error"] = (f"no trial of outer fold {self.outer.fold_name} succeeded "
                                f"({len(points)} failed; first error: {errors[0] if errors else 'unknown'})")
        return replace(self.outer, params=params, config=self.refit_config(), tuning=summary)

    def refit_config(self) -> dict[str, Any]:
        """The refit's configuration identity: the outer one less the searched parameters, plus
        the procedure. Known before any trial ran: the chosen point is not part of it."""
        config = {k: v for k, v in self.outer.config.items() if k not in self.tuned}
        config["tune"] = self.tuning.describe()
        return config

    def planned_refit(self) -> Cell:
        """The refit as planned before its trials chose: its configuration (hence its leaderboard
        line) and how it is tuned, but no point; for :func:`benchmark.leaderboard.planned`. Never run."""
        trials = self.tuning.trials if self.tuning.search == "tpe" else len(self.drawn_points())
        return replace(self.outer, config=self.refit_config(), tuning=self._how(trials))

    def _how(self, trials: int) -> dict[str, Any]:
        """What a refit's ``tuning`` says of how it was tuned, before what was chosen."""
        return {"role": "refit", "search": self.tuning.search, "trials": trials, "inner": self.inner,
                "objective": self.tuning.objective, "greater_is_better": self.tuning.greater_is_better}


class Searches:
    """A suite's plan with its tuned models' searches: what the runner runs, phase by phase.

    :meth:`cells` gives every cell the rows so far determine: the untuned cells, each search's
    trials, and the refits of searches whose trials all have rows. The runner calls it again
    after each phase until it gives nothing new.
    """

    def __init__(self, suite: Any, cells: Sequence[Cell], cache: Any):
        tuned = {m.label: m.tune for m in suite.models if getattr(m, "tune", None) is not None}
        self.plain = [c for c in cells if c.model not in tuned]
        self.searches: list[Search] = []
        for cell in cells:
            if cell.model not in tuned:
                continue
            data = cache.dataset(cell.dataset_plugin, cell.dataset_options, cell.data_dir)
            split_params = {k: v for k, v in cell.split_params.items() if k != "seed"}
            outer = cache.folds(data, cell.split, split_params, cell.split_params.get("seed", cell.seed))[cell.fold]
            self.searches.append(Search(cell, tuned[cell.model], cache.registry, data, outer))

    def cells(self, rows: Mapping[str, Mapping[str, Any]]) -> list[Cell]:
        return self.plain + [c for search in self.searches for c in search.cells(rows)]

    def planned_refits(self) -> list[Cell]:
        """Every search's :meth:`Search.planned_refit`: the tuned lines a leaderboard should list
        before any refit has a row (a run stopped during its trials)."""
        return [search.planned_refit() for search in self.searches]


# --- What readers show ----------------------------------------------------------------------------


def reported(cells: Sequence[Cell]) -> list[Cell]:
    """The cells whose rows a leaderboard shows: every cell but the trials."""
    return [c for c in cells if not is_trial({"tuning": c.tuning})]


def chosen_by_fold(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One record per refit row, sorted by dataset, model, seed and outer fold: the chosen
    parameters and their inner objective, the trials it came from (for scripts; ``bench results``
    shows the chosen parameters in the ``chosen`` column of each refit row instead)."""
    found = []
    for row in rows:
        if not is_refit(row):
            continue
        tuning = row["tuning"]
        found.append({"dataset": row.get("dataset"), "model": row.get("model"), "seed": row.get("seed"),
                      "fold": row.get("fold"), "fold_name": row.get("fold_name"),
                      "chosen": tuning.get("chosen"), "objective": tuning.get("objective"),
                      "inner_value": tuning.get("objective_value"), "trials": tuning.get("trials"),
                      "failed_trials": tuning.get("failed_trials", 0), "note": tuning_note(row)})
    return sorted(found, key=lambda r: (str(r["dataset"]), str(r["model"]), r["seed"] or 0, r["fold"] or 0))


def search_history(refit: Mapping[str, Any], rows: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]]
                   ) -> list[dict[str, Any]]:
    """A search as ``bench report`` draws it: per trial (in order) its parameters and mean inner
    objective (``None`` if it failed or its rows are missing), and whether it was the chosen point.

    Trial *n* is the *n*-th group of the refit's ``trial_cell_ids`` (one cell per inner fold), as
    :meth:`Search.refit` numbered it: two trials that drew the same point (a ``tpe`` search may)
    share their cells but keep their numbers. ``rows``: the trial rows, or them by cell id (a
    reader drawing many searches indexes them once).
    """
    tuning = refit.get("tuning") or {}
    by_id = rows if isinstance(rows, Mapping) else {r.get("cell_id"): r for r in rows}
    ids = list(tuning.get("trial_cell_ids") or [])
    count = int(tuning.get("trials") or 0)
    per = len(ids) // count if count and ids and len(ids) % count == 0 else 1
    config = refit.get("config")
    tune = config.get("tune") if isinstance(config, Mapping) else None
    space = tune.get("space") if isinstance(tune, Mapping) else None
    tuned = set(space) if isinstance(space, Mapping) else set(tuning.get("chosen") or {})
    history = []
    for number, start in enumerate(range(0, len(ids), per), 1):
        group = [by_id.get(cell_id) for cell_id in ids[start:start + per]]
        found = next((row for row in group if row is not None), None)
        point = {k: v for k, v in ((found or {}).get("config") or {}).items() if not tuned or k in tuned}
        history.append({"trial": number, "params": point,
                        "objective": _score(group, str(tuning.get("objective"))),
                        "chosen": number == tuning.get("trial")})
    return history


# --- The guard --------------------------------------------------------------------------------------


def audit(rows: Sequence[Mapping[str, Any]], registry: Any, data: Any, outer_folds: Sequence[Fold]) -> list[str]:
    """Problems with the isolation of trials, rebuilt from the data: for each trial row, its
    outer fold's fingerprint, the fingerprints of the rows it fit on and was scored on, and
    that those rows are outer training rows, none of the outer test rows. ``[]`` is clean."""
    problems = []
    for row in rows:
        if not is_trial(row):
            continue
        tuning = row["tuning"]
        outer = outer_folds[int(row["fold"])]
        name = f"trial {row.get('cell_id')}"
        if outer.fingerprint != tuning["outer_fingerprint"]:
            problems.append(f"{name}: planned on another outer fold")
            continue
        fold = inner_folds(registry, data, outer, tuning["inner"])[tuning["inner_fold"]]
        if (rows_fingerprint(fold.train), rows_fingerprint(fold.test)) != (tuning["fit_rows"], tuning["eval_rows"]):
            problems.append(f"{name}: its recorded rows are not its inner fold's")
        if row.get("split_fingerprint") != fold.fingerprint:
            problems.append(f"{name}: split fingerprint {row.get('split_fingerprint')} is not its inner fold's")
        used = np.concatenate([fold.train, fold.test])
        if np.isin(used, outer.test).any():
            problems.append(f"{name}: {int(np.isin(used, outer.test).sum())} rows of the outer test fold")
        if not np.isin(used, outer.train).all():
            problems.append(f"{name}: rows outside the outer training fold")
    return problems
