"""Execute one cell: load (cached) data, rebuild its fold, fit, predict, score, record provenance."""

from __future__ import annotations

import importlib
import inspect
import shutil
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.api import (
    Fold, MatrixData, MissingDependency, Model, RatingData, resolve, versions,
)
from benchmark.cells import Cell, stable_hash
from benchmark.errors import BenchError
from benchmark.provenance import PeakMemory, Stopwatch, machine, now
from benchmark.registry import Registry

Data = RatingData | MatrixData


class DataCache:
    """Datasets and folds already built in this process, keyed by their full description."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self._data: dict[str, Data] = {}
        self._checksums: dict[str, str] = {}
        self._folds: dict[str, list[Fold]] = {}

    def dataset(self, plugin: str, options: dict[str, Any], data_dir: str | None) -> Data:
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

    def folds(self, data: Data, split: str, params: dict[str, Any], seed: int) -> list[Fold]:
        key = stable_hash([id(data), split, params, seed])
        if key not in self._folds:
            spec = self.registry.get("split", split).spec
            kwargs = {"seed": seed, **params}
            folds = list(resolve(spec.func)(data, **kwargs))
            if not folds:
                raise BenchError(f"split {split!r} produced no folds")
            self._folds[key] = folds
        return self._folds[key]


def make_model(model_class: type[Model], params: dict[str, Any], seed: int) -> Model:
    """Instantiate with the suite's params; the suite seed fills ``random_state``/``seed``."""
    kwargs = dict(params)
    defaults = model_class.param_defaults()
    for name in ("random_state", "seed"):
        if name in defaults and name not in kwargs:
            kwargs[name] = seed
    return model_class(**kwargs)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _score(metrics: dict[str, Any], y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {name: float(func(y_true, y_pred)) for name, func in metrics.items()}


FitResult = tuple[np.ndarray, np.ndarray, dict[str, Any], Stopwatch, Stopwatch]


def _fit_predict(model: Model, data: Data, fold: Fold) -> FitResult:
    """Fit on the fold's train rows, predict its test rows: (truth, prediction, extra, clocks)."""
    extra: dict[str, Any] = {}
    if isinstance(data, RatingData):
        train = data.subset(fold.train)
        test = data.ratings.iloc[fold.test]
        users, items = test["user"].to_numpy(), test["item"].to_numpy()
        with Stopwatch() as fit_time:
            model.fit(train)
        with Stopwatch() as predict_time:
            raw = np.asarray(model.predict(users, items), dtype=np.float64)
        if raw.shape != (len(test),):
            raise BenchError(f"predict returned shape {raw.shape}, expected ({len(test)},)")
        if not np.all(np.isfinite(raw)):
            raise BenchError(f"predict returned {int((~np.isfinite(raw)).sum())} non-finite values")
        prediction = np.clip(raw, *data.scale)
        known_users = np.isin(users, train.ratings["user"].unique())
        known_items = np.isin(items, train.ratings["item"].unique())
        extra["n_unknown"] = int((~(known_users & known_items)).sum())
        extra["n_clipped"] = int((prediction != raw).sum())
        return test["rating"].to_numpy(np.float64), prediction, extra, fit_time, predict_time
    X_train, X_test = data.X[fold.train], data.X[fold.test]
    with Stopwatch() as fit_time:
        model.fit(X_train)
    with Stopwatch() as predict_time:
        raw = np.asarray(model.reconstruct(X_test), dtype=np.float64)
    if raw.shape != X_test.shape:
        raise BenchError(f"reconstruct returned shape {raw.shape}, expected {X_test.shape}")
    if not np.all(np.isfinite(raw)):
        raise BenchError(f"reconstruct returned {int((~np.isfinite(raw)).sum())} non-finite values")
    prediction = np.clip(raw, *data.value_range)
    extra["n_clipped"] = int((prediction != raw).sum())
    return X_test.astype(np.float64), prediction, extra, fit_time, predict_time


def execute(cell: Cell, cache: DataCache, artifacts_root: Path | None = None) -> dict[str, Any]:
    """Run one cell and return its result row. Failures become rows, never exceptions."""
    registry = cache.registry
    entry = registry.get("model", cell.model_plugin)
    row: dict[str, Any] = {
        "cell_id": cell.id, "config_id": cell.config_id, "suite": cell.suite, "task": cell.task,
        "dataset": cell.dataset, "dataset_plugin": cell.dataset_plugin,
        "dataset_options": cell.dataset_options, "split": cell.split,
        "split_params": cell.split_params, "fold": cell.fold, "fold_name": cell.fold_name,
        "split_fingerprint": cell.fingerprint, "model": cell.model, "model_plugin": cell.model_plugin,
        "seed": cell.seed, "plugin": {"name": entry.provider.plugin,
                                      "distribution": entry.provider.distribution,
                                      "version": entry.provider.version},
        "libraries": versions(entry.spec.requires), "machine": machine(), "started_at": now(),
        "status": "ok", "error": None, "metrics": {},
    }
    try:
        missing = entry.missing
        if missing:
            module = next(m for m, d in entry.spec.requires.items() if d in missing)
            raise MissingDependency(module, entry.spec.requires[module], cell.model_plugin)
        data = cache.dataset(cell.dataset_plugin, cell.dataset_options, cell.data_dir)
        row["dataset_checksum"] = cache.checksum(data)
        if row["dataset_checksum"] != cell.dataset_checksum:
            raise BenchError(f"dataset checksum {row['dataset_checksum']} differs from the planned "
                             f"{cell.dataset_checksum}: the data changed")
        row["dataset_shape"] = data.describe()
        split_params = {k: v for k, v in cell.split_params.items() if k != "seed"}
        split_seed = cell.split_params.get("seed", cell.seed)
        fold = cache.folds(data, cell.split, split_params, split_seed)[cell.fold]
        if fold.fingerprint != cell.fingerprint:
            raise BenchError(f"fold {cell.fold} has fingerprint {fold.fingerprint}, the plan expected "
                             f"{cell.fingerprint}: the data or split changed")
        row.update(n_train=len(fold.train), n_test=len(fold.test))
        for module in entry.spec.requires:  # imported before the clock starts, not inside fit
            importlib.import_module(module)
        model_class = resolve(entry.spec.classes[cell.task])
        model = make_model(model_class, cell.params, cell.seed)
        row["params"] = _json_safe(model.get_params())
        metric_funcs = {name: resolve(registry.get("metric", name).spec.func) for name in cell.metrics}
        with PeakMemory() as memory:
            y_true, y_pred, extra, fit_time, predict_time = _fit_predict(model, data, fold)
        row.update(extra)
        row["metrics"] = _score(metric_funcs, y_true, y_pred)
        row.update(fit_seconds=fit_time.seconds, predict_seconds=predict_time.seconds,
                   fit_cpu_seconds=fit_time.cpu_seconds, peak_rss_mb=memory.peak_mb)
        row["model_info"] = _json_safe(model.info())
        if artifacts_root is not None:
            row["artifacts"] = _artifacts(registry, cell, model, y_true, y_pred, data.info,
                                          artifacts_root)
    except MissingDependency as exc:
        row.update(status="missing-dependency", error=str(exc))
    except Exception as exc:  # a failing model must not stop the run; the row says why
        row.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(limit=8))
    row.setdefault("params", _json_safe(cell.params))
    row["finished_at"] = now()
    return row


def _artifacts(registry: Registry, cell: Cell, model: Model, y_true: np.ndarray,
               y_pred: np.ndarray, info: dict[str, Any], root: Path) -> list[str] | dict[str, str]:
    directory = root / cell.id
    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    try:
        results: Sequence[list[str] | None] = registry.manager.hook.bench_cell_artifacts(
            cell=cell.to_dict(), model=model, test=y_true, prediction=y_pred, info=info,
            directory=directory)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    for names in results:
        written += [str((directory / name).relative_to(root.parent)) for name in names or []]
    if not written:
        shutil.rmtree(directory, ignore_errors=True)
    return written



# --- Entry points for worker processes ----------------------------------------------------

_WORKER_CACHES: dict[tuple[str, ...], DataCache] = {}


def run_cell(cell: dict[str, Any], artifacts_root: str | None = None) -> dict[str, Any]:
    """Execute one cell given as plain data (``Cell.to_dict()``) in this process.

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
    return execute(parsed, _WORKER_CACHES[key], root)


def failed_row(cell: dict[str, Any], status: str, error: str) -> dict[str, Any]:
    """The result row of a cell whose worker could not return one (timeout, crash, kill)."""
    parsed = Cell.from_dict(cell)
    return {"cell_id": parsed.id, "config_id": parsed.config_id, "suite": parsed.suite,
            "task": parsed.task, "dataset": parsed.dataset, "dataset_plugin": parsed.dataset_plugin,
            "dataset_options": parsed.dataset_options, "dataset_checksum": parsed.dataset_checksum,
            "split": parsed.split, "split_params": parsed.split_params, "fold": parsed.fold,
            "fold_name": parsed.fold_name, "split_fingerprint": parsed.fingerprint,
            "model": parsed.model, "model_plugin": parsed.model_plugin, "seed": parsed.seed,
            "params": _json_safe(parsed.params), "machine": machine(), "finished_at": now(),
            "status": status, "error": error, "metrics": {}}
