"""Execute one cell: load (cached) data, rebuild its fold, fit, predict, score, record provenance.

The work that differs by task (what ``fit`` gets, how predictions are checked and clipped)
lives in one small object per task (:data:`TASK_RUNNERS`); :func:`execute` is the same for all.
"""

from __future__ import annotations

import importlib
import inspect
import random
import shutil
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from benchmark._internal import resolve, versions
from benchmark.api import (
    RATING, RECONSTRUCTION, Fold, MatrixData, MissingDependency, Model, Predictions, RatingData,
    RatingModel, ReconstructionModel,
)
from benchmark.cells import SEED_PARAMS, Cell, CellResult, stable_hash
from benchmark.errors import BenchError
from benchmark.provenance import PeakMemory, Stopwatch, machine, now
from benchmark.registry import Registry

Data = RatingData | MatrixData


class DataCache:
    """Datasets and folds already built in this process, keyed by their full description."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self._data: dict[str, Data] = {}
        self._checksums: dict[int, str] = {}
        self._folds: dict[str, list[Fold]] = {}

    def dataset(self, plugin: str, options: Mapping[str, Any], data_dir: str | None) -> Data:
        key = stable_hash([plugin, options, data_dir])
        if key not in self._data:
            spec = self.registry.get("dataset", plugin).spec
            loader = resolve(spec.loader)
            kwargs = dict(options)
            if data_dir and "data_dir" in inspect.signature(loader).parameters:
                kwargs.setdefault("data_dir", data_dir)
            data = loader(**kwargs)
            if getattr(data, "task", None) != spec.task:
                raise BenchError(f"dataset plugin {plugin!r} returned {type(data).__name__}, "
                                 f"not data of its declared task {spec.task!r}")
            self._data[key] = data
        return self._data[key]

    def checksum(self, data: Data) -> str:
        if id(data) not in self._checksums:
            self._checksums[id(data)] = data.checksum()
        return self._checksums[id(data)]

    def folds(self, data: Data, split: str, params: Mapping[str, Any], seed: int) -> list[Fold]:
        key = stable_hash([id(data), split, params, seed])
        if key not in self._folds:
            spec = self.registry.get("split", split).spec
            folds = list(resolve(spec.func)(data, **{"seed": seed, **params}))
            if not folds:
                raise BenchError(f"split {split!r} produced no folds")
            self._folds[key] = folds
        return self._folds[key]


def make_model(model_class: type[Model], params: Mapping[str, Any], seed: int | None = None) -> Model:
    """Instantiate with ``params``; ``seed`` fills ``random_state``/``seed`` unless given."""
    kwargs = dict(params)
    if seed is not None:
        defaults = model_class.param_defaults()
        for name in SEED_PARAMS:
            if name in defaults and name not in kwargs:
                kwargs[name] = seed
    return model_class(**kwargs)


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


# --- One object per task ------------------------------------------------------------------


@dataclass
class Outcome:
    predictions: Predictions
    counts: dict[str, int]
    fit: Stopwatch
    predict: Stopwatch


def _finite(raw: np.ndarray, expected: tuple[int, ...], method: str) -> None:
    if raw.shape != expected:
        raise BenchError(f"{method} returned shape {raw.shape}, expected {expected}")
    if not np.all(np.isfinite(raw)):
        raise BenchError(f"{method} returned {int((~np.isfinite(raw)).sum())} non-finite values")


class RatingRunner:
    """Fit on the fold's training ratings, predict its test pairs, clip to the rating scale."""

    def run(self, model: RatingModel, data: RatingData, fold: Fold) -> Outcome:
        train = data.subset(fold.train)
        test = data.ratings.iloc[fold.test]
        users, items = test["user"].to_numpy(), test["item"].to_numpy()
        with Stopwatch() as fit_time:
            model.fit(train)
        with Stopwatch() as predict_time:
            raw = np.asarray(model.predict(users, items), dtype=np.float64)
        _finite(raw, (len(test),), "predict")
        prediction = np.clip(raw, *data.scale)
        known_users = np.isin(users, train.ratings["user"].unique())
        known_items = np.isin(items, train.ratings["item"].unique())
        counts = {"n_unknown": int((~(known_users & known_items)).sum()),
                  "n_clipped": int((prediction != raw).sum())}
        predictions = Predictions(RATING, test["rating"].to_numpy(np.float64), prediction,
                                  users, items, train, data.info)
        return Outcome(predictions, counts, fit_time, predict_time)


class ReconstructionRunner:
    """Fit on the fold's training rows, reconstruct its test rows, clip to the value range."""

    def run(self, model: ReconstructionModel, data: MatrixData, fold: Fold) -> Outcome:
        X_train, X_test = data.X[fold.train], data.X[fold.test]
        with Stopwatch() as fit_time:
            model.fit(X_train)
        with Stopwatch() as predict_time:
            raw = np.asarray(model.reconstruct(X_test), dtype=np.float64)
        _finite(raw, X_test.shape, "reconstruct")
        prediction = np.clip(raw, *data.value_range)
        predictions = Predictions(RECONSTRUCTION, X_test.astype(np.float64), prediction,
                                  train=X_train, info=data.info)
        return Outcome(predictions, {"n_clipped": int((prediction != raw).sum())}, fit_time, predict_time)


TASK_RUNNERS: dict[str, Any] = {RATING: RatingRunner(), RECONSTRUCTION: ReconstructionRunner()}


# --- Metrics and artifacts, each contained --------------------------------------------------


def score(registry: Registry, names: tuple[str, ...], predictions: Predictions
          ) -> tuple[dict[str, float], dict[str, str]]:
    """Every metric on its own: one that raises is named in the errors, the others still count."""
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            spec = registry.get("metric", name).spec
            func = resolve(spec.func)
            value = func(predictions) if spec.context else func(predictions.y_true, predictions.y_pred)
            values[name] = float(value)
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
    return values, errors


def write_artifacts(registry: Registry, cell: Cell, model: Model, predictions: Predictions,
                    root: Path, result: CellResult) -> None:
    """Call every plugin's ``bench_cell_artifacts`` on its own; a failure is recorded per plugin."""
    directory = root / cell.id
    directory.mkdir(parents=True, exist_ok=True)
    for impl in registry.hook_impls("bench_cell_artifacts"):
        try:
            names = impl.function(cell=cell, model=model, predictions=predictions,
                                  directory=directory) or []
            result.artifacts += [str((directory / n).relative_to(root.parent)) for n in names]
        except Exception as exc:
            result.artifact_errors[impl.plugin_name] = f"{type(exc).__name__}: {exc}"
    if not any(directory.iterdir()):
        shutil.rmtree(directory, ignore_errors=True)


def reset_random_state(seed: int) -> None:
    """Seed Python's and numpy's global generators (and TensorFlow's, if it is loaded)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import sys

    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.random.set_seed(seed)
        except Exception:
            pass


def execute(cell: Cell, cache: DataCache, artifacts_root: Path | None = None,
            run_id: str = "") -> CellResult:
    """Run one cell and return its result. Failures become results, never exceptions."""
    registry = cache.registry
    result = CellResult.start(cell, run_id, machine(), now())
    try:
        entry = registry.get("model", cell.model_plugin)
        result.plugin = {"name": entry.provider.plugin, "distribution": entry.provider.distribution,
                         "version": entry.provider.version}
        result.libraries = versions(entry.requires)
        missing = entry.missing
        if missing:
            module = next(m for m, d in entry.requires.items() if d in missing)
            raise MissingDependency(module, entry.requires[module], cell.model_plugin)
        data = cache.dataset(cell.dataset_plugin, cell.dataset_options, cell.data_dir)
        checksum = cache.checksum(data)
        if checksum != cell.dataset_checksum:
            raise BenchError(f"dataset checksum {checksum} differs from the planned "
                             f"{cell.dataset_checksum}: the data changed")
        result.dataset_shape = data.describe()
        split_params = {k: v for k, v in cell.split_params.items() if k != "seed"}
        split_seed = cell.split_params.get("seed", cell.seed)
        fold = cache.folds(data, cell.split, split_params, split_seed)[cell.fold]
        if fold.fingerprint != cell.fingerprint:
            raise BenchError(f"fold {cell.fold} has fingerprint {fold.fingerprint}, the plan expected "
                             f"{cell.fingerprint}: the data or split changed")
        result.n_train, result.n_test = len(fold.train), len(fold.test)
        for module in entry.requires:  # imported before the clock starts, not inside fit
            importlib.import_module(module)
        model = make_model(cast(type[Model], resolve(entry.spec.classes[cell.task])), cell.params)
        reset_random_state(cell.seed)
        with Stopwatch() as prepare_time:
            model.prepare()
        with PeakMemory() as memory:
            outcome = TASK_RUNNERS[cell.task].run(model, data, fold)
        for key, value in outcome.counts.items():
            setattr(result, key, value)
        result.metrics, result.metric_errors = score(registry, cell.metrics, outcome.predictions)
        result.prepare_seconds = prepare_time.seconds
        result.fit_seconds, result.fit_cpu_seconds = outcome.fit.seconds, outcome.fit.cpu_seconds
        result.predict_seconds, result.peak_rss_mb = outcome.predict.seconds, memory.peak_mb
        result.model_info = json_safe(model.info())
        if artifacts_root is not None:
            write_artifacts(registry, cell, model, outcome.predictions, artifacts_root, result)
    except MissingDependency as exc:
        result.status, result.error = "missing-dependency", str(exc)
    except Exception as exc:  # a failing model must not stop the run; the result says why
        result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
        result.traceback = traceback.format_exc(limit=8)
    result.finished_at = now()
    return result


# --- Entry points for worker processes ----------------------------------------------------

_WORKER_CACHES: dict[tuple[str, ...], DataCache] = {}


def run_cell(cell: dict[str, Any], artifacts_root: str | None = None, run_id: str = "") -> dict[str, Any]:
    """Execute one cell given as plain data (``Cell.to_dict()``) in this process; return its row.

    The registry (entry points + the cell's local plugin files) and the loaded datasets are
    cached per process, so a worker that runs many cells builds them once. Never raises for
    a failing model: the returned row says ``status``/``error``.
    """
    from benchmark.registry import build_registry

    parsed = Cell.from_dict(cell)
    key = tuple(parsed.plugins)
    if key not in _WORKER_CACHES:
        _WORKER_CACHES[key] = DataCache(build_registry([(p, p) for p in parsed.plugins]))
    root = Path(artifacts_root) if artifacts_root else None
    return execute(parsed, _WORKER_CACHES[key], root, run_id).to_row()


def failed_row(cell: dict[str, Any], status: str, error: str, run_id: str = "") -> dict[str, Any]:
    """The result row of a cell whose worker could not return one (timeout, crash, kill)."""
    result = CellResult.start(Cell.from_dict(cell), run_id, machine(), now())
    result.status, result.error, result.finished_at = status, error, now()
    return result.to_row()
