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

The block itself is parsed and checked with the rest of the suite (:mod:`benchmark.suite.tune`,
giving a :class:`~benchmark.suite.Tuning`); this module is the search at run time and reads the
suite through its public names only.

Trials are ordinary cells (stored, resumable after a kill, parallel with ``--jobs`` or Dask,
reused on rerun): a trial cell is the outer cell with the trial's parameters, only the
objective as metric, and a typed ``tuning`` field (:class:`~benchmark.record.Trial`) naming its
outer fold and inner split, so a worker
rebuilds exactly its rows with :func:`trial_fold`: outer fold → its training rows → the inner
split of those rows. The refit cell is the outer cell with the winner's parameters and a
``tuning`` field summarising the search (:class:`~benchmark.record.Refit`: ``chosen``,
``trial_cell_ids``); its configuration
identity is the tuning procedure (space, objective, search, budget, inner split), so the
folds of one tuned model form one leaderboard line even when they chose differently.

The runner plans in phases (:class:`Searches`): ordinary cells and trials first, then the
refits whose parameters the trials' results decide (a ``tpe`` search asks Optuna for
:data:`TPE_BATCH` trials per outer fold per phase). Random search is a pure function of the
suite seed and the outer fold, so a rerun plans the same trials and reuses them.

The guard: every trial row records fingerprints of the rows it fit on and was scored on
(``tuning.fit_rows``/``eval_rows``, checked by the worker against the rows it actually used,
and ``split_fingerprint`` of the pair); :func:`audit` rebuilds them from the data and checks
that none of them touches the outer test fold.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark._internal import json_safe
from benchmark.api import Fold, MatrixData
from benchmark.cells import Cell, CellResult, stable_hash
from benchmark.errors import BenchError
from benchmark.record import Refit, Trial
from benchmark.registry import Registry
from benchmark.resultset import cell as result_of  # a stored row typed (a typed result as it is)
from benchmark.resultset import is_refit as is_refit  # tuning.is_refit and tuning.is_trial still work
from benchmark.resultset import is_trial as is_trial
from benchmark.resultset import tuning_note
from benchmark.shared_data import share_rows
from benchmark.suite import SplitCall, Suite, Tuning

if TYPE_CHECKING:
    from benchmark.execute import DataCache

TPE_BATCH = 4
"""Trials a ``tpe`` search asks Optuna for per outer fold before it needs their results: one
runner phase. Larger batches keep more workers busy, smaller ones let TPE learn sooner."""
MAX_DRAWS = 50
"""A random search draws at most this many times its budget looking for distinct points."""

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


def inner_folds(registry: Registry, data: Any, outer: Fold, inner: Mapping[str, Any]) -> list[Fold]:
    """The inner split of ``outer``'s training rows, as folds of the whole dataset's positions.

    ``inner`` is ``{"method": ..., "seed": ..., **params}``. The split plugin sees only the
    outer training rows, so no inner fold can hold a row of ``outer.test``.
    """
    key = stable_hash([outer.fingerprint, inner])
    if key not in _INNER_CACHE:
        params = {k: v for k, v in inner.items() if k != "method"}
        split = registry.get("split", inner["method"]).function
        folds = list(split(_restrict(data, outer.train), **params))
        if len(_INNER_CACHE) >= 64:
            _INNER_CACHE.pop(next(iter(_INNER_CACHE)))
        _INNER_CACHE[key] = [Fold(f.name, outer.train[f.train], outer.train[f.test]) for f in folds]
        share_rows(data, _INNER_CACHE[key], f"inner-{key}")  # trials on one inner fold map one copy
    return _INNER_CACHE[key]


def trial_fold(registry: Registry, data: Any, outer: Fold, tuning: Trial | Refit) -> Fold:
    """The rows a cell with a ``tuning`` field fits and scores on (execute's fold resolution).

    A trial: its inner fold of ``outer``'s training rows, checked against the fingerprints the
    plan recorded; a refit: ``outer`` itself. A refit whose every trial failed raises here, so
    its row says why.
    """
    if isinstance(tuning, Refit):
        if tuning.chosen is None:
            raise BenchError(str(tuning.error or "no trial of this fold succeeded"))
        return outer
    if outer.fingerprint != tuning.outer_fingerprint:
        raise BenchError(f"outer fold has fingerprint {outer.fingerprint}, the trial was planned on "
                         f"{tuning.outer_fingerprint}")
    fold = inner_folds(registry, data, outer, tuning.inner or {})[int(tuning.inner_fold or 0)]
    fit, scored = rows_fingerprint(fold.train), rows_fingerprint(fold.test)
    if (fit, scored) != (tuning.fit_rows, tuning.eval_rows):
        raise BenchError(f"inner fold rows {fit}/{scored} differ from the planned "
                         f"{tuning.fit_rows}/{tuning.eval_rows}")
    return fold


# --- Planning: trials, winners, refits ------------------------------------------------------------


Scored = CellResult | Mapping[str, Any]
"""A trial's result as the search reads it: typed (the runner's) or a stored row (a reader's)."""


def _score(results: Sequence[Scored | None], metric: str) -> float | None:
    """The mean objective over a point's inner folds; ``None`` if any is missing or failed."""
    values = []
    for result in results:
        if isinstance(result, CellResult):
            value = result.metrics.get(metric) if result.status == "ok" else None
        else:
            value = (result or {}).get("metrics", {}).get(metric) if (result or {}).get("status") == "ok" else None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        values.append(float(value))
    return sum(values) / len(values) if values else None


class Search:
    """The search of one tuned model on one outer cell (dataset × seed × outer fold)."""

    def __init__(self, outer: Cell, tuning: Tuning, registry: Registry, data: Any, outer_fold: Fold):
        self.outer, self.tuning, self.registry = outer, tuning, registry
        self.inner = tuning.inner_split(SplitCall.of_cell(outer).seed)
        self.folds = inner_folds(registry, data, outer_fold, self.inner)
        self.outer_fingerprint = outer_fold.fingerprint
        self.tuned = [d.name for d in tuning.space]
        code = dict(outer.code)
        metric_code = registry.get("metric", tuning.objective).provider.code
        self.trial_code = {**code, "metrics": {tuning.objective: metric_code}}
        self.rng_seed = [int(outer.seed) % 2**32, int(outer.fold)]

    # Trial cells of one point, one per inner fold.
    def trial_cells(self, number: int, point: Mapping[str, Any]) -> list[Cell]:
        cells = []
        for j, fold in enumerate(self.folds):
            inner_name = f" inner {fold.name}" if len(self.folds) > 1 else ""
            cells.append(replace(
                self.outer, fold_name=f"{self.outer.fold_name} trial {number}{inner_name}",
                fingerprint=fold.fingerprint, params={**self.outer.params, **point},
                config={**self.outer.config, **json_safe(dict(point))}, metrics=(self.tuning.objective,),
                code=self.trial_code,
                tuning=Trial(outer_fold=self.outer.fold, outer_fingerprint=self.outer_fingerprint,
                             inner=self.inner, inner_fold=j, fit_rows=rows_fingerprint(fold.train),
                             eval_rows=rows_fingerprint(fold.test))))
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

    def cells(self, results: Mapping[str, CellResult]) -> list[Cell]:
        """The trial cells the results so far (by cell id) determine, then the refit once every
        trial has a result."""
        if self.tuning.search == "tpe":
            points, done = self._tpe(results)
        else:
            points, done = self.drawn_points(), True
        trials = [self.trial_cells(n, p) for n, p in enumerate(points, 1)]
        cells = [c for group in trials for c in group]
        if done and all(c.id in results for c in cells):
            cells.append(self.refit(points, trials, results))
        return cells

    def _tpe(self, results: Mapping[str, CellResult]) -> tuple[list[dict[str, Any]], bool]:
        """Replay an Optuna study seeded by the suite seed and outer fold: ask a batch, tell the
        stored results, until a batch lacks results (those are the cells to run) or the budget
        is spent."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        seed = int(np.random.SeedSequence(self.rng_seed).generate_state(1)[0])
        study = optuna.create_study(direction="maximize" if self.tuning.greater_is_better else "minimize",
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        points: list[dict[str, Any]] = []
        while len(points) < self.tuning.trials:
            batch = [study.ask() for _ in range(min(TPE_BATCH, self.tuning.trials - len(points)))]
            asked = [{d.name: d.suggest(t) for d in self.tuning.space} for t in batch]
            start = len(points)
            points += asked
            scored = [self.trial_cells(start + k + 1, p) for k, p in enumerate(asked)]
            if not all(c.id in results for group in scored for c in group):
                return points, False
            for trial, group in zip(batch, scored):
                value = _score([results[c.id] for c in group], self.tuning.objective)
                study.tell(trial, value, state=None if value is not None else optuna.trial.TrialState.FAIL)
        return points, True

    def refit(self, points: Sequence[Mapping[str, Any]], trials: Sequence[Sequence[Cell]],
              results: Mapping[str, CellResult]) -> Cell:
        """The outer cell with the winning point (ties: the earlier trial), refit on the whole
        outer training fold; its configuration is the tuning procedure, the same on every fold."""
        sign = -1.0 if self.tuning.greater_is_better else 1.0
        scores = [_score([results[c.id] for c in group], self.tuning.objective) for group in trials]
        valid = [(sign * s, n) for n, s in enumerate(scores) if s is not None]
        decided = replace(self._how(len(points)), trial_cell_ids=tuple(c.id for group in trials for c in group),
                          failed_trials=len(scores) - len(valid))
        params = dict(self.outer.params)
        if valid:
            best = min(valid)[1]
            decided = replace(decided, chosen=json_safe(dict(points[best])), trial=best + 1,
                              objective_value=scores[best])
            params.update(points[best])
        else:
            errors = sorted({str(results[c.id].error) for g in trials for c in g if results[c.id].error})
            decided = replace(decided, error=f"no trial of outer fold {self.outer.fold_name} succeeded "
                                             f"({len(points)} failed; first error: {errors[0] if errors else 'unknown'})")
        return replace(self.outer, params=params, config=self.refit_config(), tuning=decided)

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

    def _how(self, trials: int) -> Refit:
        """What a refit's ``tuning`` says of how it was tuned, before what was chosen."""
        return Refit(search=self.tuning.search, trials=trials, inner=self.inner, objective=self.tuning.objective,
                     greater_is_better=self.tuning.greater_is_better)


class Searches:
    """A suite's plan with its tuned models' searches: what the runner runs, phase by phase.

    :meth:`cells` gives every cell the results so far determine: the untuned cells, each
    search's trials, and the refits of searches whose trials all have results. The runner calls
    it again after each phase until it gives nothing new.
    """

    def __init__(self, suite: Suite, cells: Sequence[Cell], cache: DataCache):
        tuned = {m.label: m.tune for m in suite.models if m.tune is not None}
        self.plain = [c for c in cells if c.model not in tuned]
        self.searches: list[Search] = []
        for cell in cells:
            if cell.model not in tuned:
                continue
            data = cache.dataset(cell.dataset_plugin, cell.dataset_options, cell.data_dir)
            outer = cache.fold_set(data, SplitCall.of_cell(cell))[cell.fold]
            try:
                self.searches.append(Search(cell, tuned[cell.model], cache.registry, data, outer))
            except (BenchError, ValueError) as exc:  # e.g. kfold k=500 on 180 training rows: one line
                inner = tuned[cell.model].split
                reason = exc.message if isinstance(exc, BenchError) else str(exc)
                raise BenchError(f"the inner split {inner['method']!r} of tune cannot be built on outer "
                                 f"fold {cell.fold_name} ({len(outer.train)} training rows): {reason}",
                                 f"model {cell.model!r} on dataset {cell.dataset!r}") from None

    def cells(self, results: Mapping[str, CellResult]) -> list[Cell]:
        """Every cell the results so far (reused or computed, by cell id) determine."""
        return self.plain + [c for search in self.searches for c in search.cells(results)]

    def planned_refits(self) -> list[Cell]:
        """Every search's :meth:`Search.planned_refit`: the tuned lines a leaderboard should list
        before any refit has a row (a run stopped during its trials)."""
        return [search.planned_refit() for search in self.searches]


# --- What readers show ----------------------------------------------------------------------------


def reported(cells: Sequence[Cell]) -> list[Cell]:
    """The cells whose rows a leaderboard shows: every cell but the trials."""
    return [c for c in cells if not isinstance(c.tuning, Trial)]


def chosen_by_fold(rows: Sequence[Scored]) -> list[dict[str, Any]]:
    """One record per refit result, sorted by dataset, model, seed and outer fold: the chosen
    parameters and their inner objective, the trials it came from (for scripts; ``bench results``
    shows the chosen parameters in the ``chosen`` column of each refit row instead)."""
    found = []
    for result in map(result_of, rows):
        tuning = result.tuning
        if not isinstance(tuning, Refit):
            continue
        found.append({"dataset": result.dataset, "model": result.model, "seed": result.seed,
                      "fold": result.fold, "fold_name": result.fold_name,
                      "chosen": tuning.chosen, "objective": tuning.objective,
                      "inner_value": tuning.objective_value, "trials": tuning.trials,
                      "failed_trials": tuning.failed_trials if tuning.failed_trials is not None else 0,
                      "note": tuning_note(result)})
    return sorted(found, key=lambda r: (str(r["dataset"]), str(r["model"]), r["seed"] or 0, r["fold"] or 0))


def search_history(refit: Scored, rows: Sequence[Scored] | Mapping[str, Scored]) -> list[dict[str, Any]]:
    """A search as ``bench report`` draws it: per trial (in order) its parameters and mean inner
    objective (``None`` if it failed or its rows are missing), and whether it was the chosen point.

    Trial *n* is the *n*-th group of the refit's ``trial_cell_ids`` (one cell per inner fold), as
    :meth:`Search.refit` numbered it: two trials that drew the same point (a ``tpe`` search may)
    share their cells but keep their numbers. ``rows``: the trial results (or stored rows), or
    them by cell id (a reader drawing many searches indexes them once).
    """
    chosen = result_of(refit)
    tuning = chosen.tuning
    if not isinstance(tuning, Refit):
        return []
    by_id = rows if isinstance(rows, Mapping) else {result_of(r).cell_id: r for r in rows}
    ids = list(tuning.trial_cell_ids or [])
    count = int(tuning.trials or 0)
    per = len(ids) // count if count and ids and len(ids) % count == 0 else 1
    tune = chosen.config.get("tune") if isinstance(chosen.config, Mapping) else None
    space = tune.get("space") if isinstance(tune, Mapping) else None
    tuned = set(space) if isinstance(space, Mapping) else set(tuning.chosen or {})
    history = []
    for number, start in enumerate(range(0, len(ids), per), 1):
        group = [by_id.get(cell_id) for cell_id in ids[start:start + per]]
        found = next((result_of(row) for row in group if row is not None), None)
        config = found.config if found is not None and isinstance(found.config, Mapping) else {}
        point = {k: v for k, v in config.items() if not tuned or k in tuned}
        history.append({"trial": number, "params": point,
                        "objective": _score(group, str(tuning.objective)),
                        "chosen": number == tuning.trial})
    return history


# --- The guard --------------------------------------------------------------------------------------


def audit(rows: Sequence[Scored], registry: Registry, data: Any, outer_folds: Sequence[Fold]) -> list[str]:
    """Problems with the isolation of trials, rebuilt from the data: for each trial result (or
    stored row), its outer fold's fingerprint, the fingerprints of the rows it fit on and was
    scored on, and that those rows are outer training rows, none of the outer test rows.
    ``[]`` is clean."""
    problems = []
    for result in map(result_of, rows):
        tuning = result.tuning
        if not isinstance(tuning, Trial):
            continue
        outer = outer_folds[int(result.fold)]
        name = f"trial {result.cell_id}"
        if outer.fingerprint != tuning.outer_fingerprint:
            problems.append(f"{name}: planned on another outer fold")
            continue
        fold = inner_folds(registry, data, outer, tuning.inner or {})[int(tuning.inner_fold or 0)]
        if (rows_fingerprint(fold.train), rows_fingerprint(fold.test)) != (tuning.fit_rows, tuning.eval_rows):
            problems.append(f"{name}: its recorded rows are not its inner fold's")
        if result.split_fingerprint != fold.fingerprint:
            problems.append(f"{name}: split fingerprint {result.split_fingerprint} is not its inner fold's")
        used = np.concatenate([fold.train, fold.test])
        if np.isin(used, outer.test).any():
            problems.append(f"{name}: {int(np.isin(used, outer.test).sum())} rows of the outer test fold")
        if not np.isin(used, outer.train).all():
            problems.append(f"{name}: rows outside the outer training fold")
    return problems
