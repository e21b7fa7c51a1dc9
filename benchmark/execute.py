"""Execute one cell: load (cached) data, rebuild its fold, fit, predict, score, record provenance.

The work that differs by task (what ``fit`` gets, how predictions are checked and clipped) is
the task's runner, found in the registry (``TaskSpec.runner``; bench's own in
``bench_plugins.tasks``); :func:`execute` is the same for every task. It asks the registry's
entries for the code it runs (:attr:`~benchmark.registry.Entry.function`,
:meth:`~benchmark.registry.Entry.model_class`): each imports its lazy ``module:attr`` reference
once per process, so a worker's thousandth cell looks up no module (``benchmarks/spine_path.py``
counts one cell's path). A cell's fold comes from the split it was planned with
(:meth:`benchmark.suite.SplitCall.of_cell`), the one place a split seed is read back.

Scoring writes, per row, each metric's direction and provenance (``metric_info``), keeps a
metric that raises or returns NaN/infinity as that metric's error (``metric_errors``; the cell
then counts as failed, see :func:`has_failures`), and stores per-unit values
(:class:`~benchmark.api.PerUnit`) in ``<run dir>/units/<cell id>.npz`` for paired tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import inspect
import math
import os
import random
import secrets
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np

from benchmark import shared_data
from benchmark import warmup
from benchmark._internal import json_safe as json_safe  # plugins may import it from here
from benchmark.api import (
    Fold, MatrixData, MissingDependency, Model, Outcome, PerUnit, Predictions, RatingData,
)
from benchmark.cells import Cell, CellResult
from benchmark.declared_files import verify_declared_files
from benchmark.errors import BenchError
from benchmark.files import link_error, real_directory
from benchmark.methods import unwritten_method
from benchmark.numbers import metric_problem
from benchmark.outputs import check_predictions
from benchmark.provenance import PeakMemory, Stopwatch, machine, now
from benchmark.record import SEED_PARAMS, Trial
from benchmark.registry import Entry, Registry, build_registry
from benchmark.shared_data import SharedData, SharedDataRefused
from benchmark.suite import SplitCall
from benchmark.tuning import trial_fold

Data = RatingData | MatrixData  # bench's own data classes; a task may run on others
UNITS = "units"
"""The folder of the run directory holding per-unit metric values, one ``<cell id>.npz`` each."""


class DataCache:
    """Datasets and folds already built in this process, keyed by their full description.

    After :meth:`publish` (the driver of a run with worker processes), each dataset is written to the
    run's :class:`~benchmark.shared_data.SharedData` once loaded and verified, and each fold set
    once built; the cache then holds the read-only mapped copies, so the driver keeps no private
    copy either. In a worker (``$BENCH_SHARED_DATA`` set) the cache maps what the driver shared
    and loads only what it did not (see :mod:`benchmark.shared_data`). A worker keeps one per
    set of local plugins (:func:`worker_cache`), so the data it prepares before a cell's clock
    starts is the data the cell then finds.
    """

    def __init__(self, registry: Registry):
        self.registry = registry
        self.share: SharedData | None = None  # set by publish(): the driver's
        self.shared = shared_data.from_environment()
        self._data: dict[str, Data] = {}
        self._keys: dict[int, str] = {}  # id(data) -> its dataset key
        self._checksums: dict[int, str] = {}
        self._folds: dict[str, list[Fold]] = {}
        self._fold_owners: dict[str, str] = {}  # folds key -> its dataset's key
        self._mapped: set[str] = set()  # keys of datasets and fold sets mapped from the shared files

    def publish(self, share: SharedData, cells: Iterable[Cell] | None = None) -> str | None:
        """Share what this cache holds (and what it loads from now on) through ``share``, and
        keep the mapped copies instead of the loaded ones. The driver calls it once it knows
        that cells will run in worker processes. Only the folds of ``cells`` (default: every
        fold) get their rows written now; a worker writes any other's when it needs them.

        The directory must be this run's (:meth:`SharedData.claim`): one that another party
        made or filled is refused (:class:`BenchError`, one line). Sharing is an optimisation:
        if the temporary directory cannot take the data (full, a file size limit), the cache
        keeps its loaded copies and the reason comes back as a warning; the workers then load
        what was not shared themselves."""
        wanted = None if cells is None else {(self.folds_key(c), c.fold) for c in cells}
        try:
            if self.share is None or self.share.directory != share.directory:
                share.claim()
            loaded: dict[str, Data] = {}  # the loaded copies, until their folds' rows are written
            for key, data in list(self._data.items()):
                if type(data) not in (RatingData, MatrixData):  # a task's own data class: loaded per worker
                    continue
                mapped = share.put_dataset(key, data, self.checksum(data))
                if mapped is None:  # cannot be shared (see put_dataset): each worker loads it
                    continue
                self._checksums[id(mapped)] = self.checksum(data)
                del self._keys[id(data)], self._checksums[id(data)]
                self._data[key], self._keys[id(mapped)], loaded[key] = mapped, key, data
                self._mapped.add(key)
            for key, folds in list(self._folds.items()):
                owner = self._fold_owners.get(key, "")
                if owner in self._mapped and all(isinstance(f.train, np.ndarray) and isinstance(f.test, np.ndarray)
                                                 for f in folds):
                    rows = None if wanted is None else [n for n in range(len(folds)) if (key, n) in wanted]
                    self._folds[key] = share.put_folds(key, folds, loaded.get(owner), owner, rows)
                    self._mapped.add(key)
        except OSError as exc:
            return f"the data is not shared with the workers ({exc}); each loads its own copy"
        self.share = self.shared = share
        return None

    def verify_shared(self, content: bool = True) -> list[str]:
        """The shared files this process maps that changed since they were verified (a model
        wrote into them: see :meth:`SharedData.changed`; ``content`` False: their signatures
        only). When any did, this cache forgets every mapped copy and shares nothing more: it
        loads its own copies from then on, so the change reaches no later cell of this process."""
        changed = self.shared.changed(content) if self.shared is not None else []
        if changed:
            self._stop_sharing()
        return changed

    def _stop_sharing(self) -> None:
        for shared in {id(s): s for s in (self.share, self.shared) if s is not None}.values():
            shared.forget()
        for key in self._mapped:
            data = self._data.pop(key, None)
            if data is not None:
                self._keys.pop(id(data), None)
                self._checksums.pop(id(data), None)
            self._folds.pop(key, None)
        self._mapped.clear()
        self.share = self.shared = None

    def _refused(self, exc: SharedDataRefused) -> None:
        """Shared files that are not what was shared: said once, and this cache shares no more."""
        sys.stderr.write(f"bench: warning: {exc.message}; this worker loads its own copy\n")
        self._stop_sharing()

    def folds_key(self, cell: Cell) -> str:
        """The key of ``cell``'s fold set, as :meth:`fold_set` files it."""
        split = SplitCall.of_cell(cell)
        dataset = shared_data.dataset_key(cell.dataset_plugin, cell.dataset_options, cell.data_dir)
        return shared_data.folds_key(dataset, split.method, split.params, split.seed)

    def prepare(self, cell: Cell) -> None:
        """Load (or map) and verify the dataset and folds of ``cell``."""
        data = self.dataset(cell.dataset_plugin, cell.dataset_options, cell.data_dir)
        self.checksum(data)
        self.fold_set(data, SplitCall.of_cell(cell))

    def dataset(self, plugin: str, options: Mapping[str, Any], data_dir: str | None) -> Data:
        key = shared_data.dataset_key(plugin, options, data_dir)
        if key not in self._data:
            found = None
            if self.shared is not None:
                try:
                    found = self.shared.get_dataset(key)
                except SharedDataRefused as exc:
                    self._refused(exc)
            if found is not None:
                data, self._checksums[id(found[0])] = found
                self._mapped.add(key)
            else:
                data = self._load(plugin, options, data_dir)
                if self.share is not None and type(data) in (RatingData, MatrixData):  # verified once here
                    checksum = data.checksum()
                    mapped = self.share.put_dataset(key, data, checksum)
                    if mapped is not None:
                        data = mapped
                        self._mapped.add(key)
                    self._checksums[id(data)] = checksum
            self._data[key], self._keys[id(data)] = data, key
        return self._data[key]

    def _load(self, plugin: str, options: Mapping[str, Any], data_dir: str | None) -> Data:
        entry = self.registry.get("dataset", plugin)
        loader = entry.function
        kwargs = dict(options)
        if data_dir and "data_dir" in inspect.signature(loader).parameters:
            kwargs.setdefault("data_dir", data_dir)
        data = loader(**kwargs)
        verify_declared_files(plugin, loader, kwargs.get("data_dir"))
        problem = self.registry.data_problem(entry.spec.task, data)
        if problem:
            raise BenchError(f"dataset plugin {plugin!r} {problem}")
        return cast(Data, data)

    def checksum(self, data: Data) -> str:
        if id(data) not in self._checksums:
            self._checksums[id(data)] = data.checksum()
        return self._checksums[id(data)]

    def fold_set(self, data: Data, split: SplitCall) -> list[Fold]:
        """The folds of ``data`` under ``split`` (made, mapped from the driver's, or kept)."""
        dataset = self._keys.get(id(data), f"id-{id(data)}")
        key = shared_data.folds_key(dataset, split.method, split.params, split.seed)
        if key not in self._folds:
            shared = dataset in self._mapped  # a shared dataset's folds may be shared too
            found = None
            if shared and self.shared is not None:
                try:
                    found = self.shared.get_folds(key)
                except SharedDataRefused as exc:
                    self._refused(exc)
                    shared = False
            if found is None:
                found = self._split(data, split)
                if shared and self.share is not None:
                    found = self.share.put_folds(key, found, data, dataset)
            if shared and self.shared is not None:
                self._mapped.add(key)
            self._folds[key], self._fold_owners[key] = found, dataset
        return self._folds[key]

    def folds(self, data: Data, split: str, params: Mapping[str, Any], seed: int) -> list[Fold]:
        """:meth:`fold_set` of the split ``split`` with ``params`` (no seed among them) and ``seed``."""
        return self.fold_set(data, SplitCall(split, params, seed))

    def _split(self, data: Data, split: SplitCall) -> list[Fold]:
        folds = list(self.registry.get("split", split.method).function(data, **split.arguments()))
        if not folds:
            raise BenchError(f"split {split.method!r} produced no folds")
        return folds


def make_model(model_class: type[Model], params: Mapping[str, Any], seed: int | None = None) -> Model:
    """Instantiate with ``params``; ``seed`` fills ``random_state``/``seed`` unless given."""
    kwargs = dict(params)
    if seed is not None:
        defaults = model_class.param_defaults()
        for name in SEED_PARAMS:
            if name in defaults and name not in kwargs:
                kwargs[name] = seed
    return model_class(**kwargs)


# --- The task's runner ------------------------------------------------------------------------


def run_task(task: Entry, model: Model, data: Any, fold: Fold, options: Mapping[str, Any]) -> Outcome:
    """Run the task's runner, then check its predictions (:mod:`benchmark.outputs`: shapes,
    NaN, ranked lists) before any metric reads them, whatever the task; its predictions always
    carry the fitted model and the options. A method the model does not write is named (not an
    empty ``NotImplementedError``)."""
    try:
        outcome = task.function(model, data, fold, dict(options))
    except NotImplementedError as exc:
        if str(exc):
            raise
        raise NotImplementedError(unwritten_method(exc, model)) from None
    if not isinstance(outcome, Outcome):
        raise BenchError(f"the runner of task {task.name!r} returned {type(outcome).__name__}, not an Outcome")
    check_predictions(outcome.predictions, f"the runner of task {task.name!r}")
    predictions = outcome.predictions
    if predictions.model is None or not predictions.options:
        outcome.predictions = dataclasses.replace(
            predictions, model=predictions.model if predictions.model is not None else model,
            options=predictions.options or dict(options))
    return outcome


# --- Metrics and artifacts, each contained --------------------------------------------------


def metric_entries(registry: Registry, names: Sequence[str]) -> dict[str, Entry | str]:
    """Each metric's registry entry, looked up once per cell; for a name the registry cannot
    give, the error that metric is recorded with."""
    found: dict[str, Entry | str] = {}
    for name in names:
        try:
            found[name] = registry.get("metric", name)
        except Exception as exc:
            found[name] = f"{type(exc).__name__}: {exc}"
    return found


def metric_info(metrics: Mapping[str, Entry | str]) -> dict[str, dict[str, Any]]:
    """Direction, task and provenance of each metric, stored with every row (contract 1)."""
    info: dict[str, dict[str, Any]] = {}
    for name, entry in metrics.items():
        if isinstance(entry, Entry):
            info[name] = {"greater_is_better": bool(entry.spec.greater_is_better), "task": entry.spec.task,
                          "plugin": entry.provider.plugin, "distribution": entry.provider.distribution,
                          "version": entry.spec.version or entry.provider.version}
    return info


def score(metrics: Mapping[str, Entry | str], predictions: Predictions
          ) -> tuple[dict[str, float], dict[str, str], dict[str, PerUnit]]:
    """Every metric on its own: one that raises, or whose value is NaN, infinite or too large to
    average (:mod:`benchmark.numbers`), is named in
    the errors (never stored as a value); the others still count. Per-unit parts come third."""
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    units: dict[str, PerUnit] = {}
    for name, entry in metrics.items():
        if not isinstance(entry, Entry):
            errors[name] = entry
            continue
        try:
            func = entry.function
            value = func(predictions) if entry.spec.context else func(predictions.y_true, predictions.y_pred)
            number = float(value)
            if metric_problem(number):
                errors[name] = metric_problem(number)
                continue
            values[name] = number
            if isinstance(value, PerUnit):
                units[name] = value
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
    return values, errors, units


def write_units(directory: Path, cell_id: str, parts: Mapping[str, PerUnit]) -> dict[str, Any]:
    """Store per-unit values as ``directory/<cell_id>.npz`` (atomically) and return the row's
    ``units`` field. Metrics over other units than the first are left out; metrics over
    different ids of that unit are aligned on the union (``den`` = 0 where a unit is missing)."""
    if not parts:
        return {}
    unit = next(iter(parts.values())).unit
    same = {name: part for name, part in parts.items() if part.unit == unit}
    ids = [np.asarray(part.ids).astype(str) for part in same.values()]
    aligned = all(len(i) == len(ids[0]) and np.array_equal(i, ids[0]) for i in ids)
    union = ids[0] if aligned else np.unique(np.concatenate(ids))
    arrays: dict[str, np.ndarray] = {"ids": union}
    for (name, part), part_ids in zip(same.items(), ids):
        num, den = np.asarray(part.num, np.float64), np.asarray(part.den, np.float64)
        if not aligned:
            where = np.searchsorted(union, part_ids)
            num_all, den_all = np.zeros(len(union)), np.zeros(len(union))
            num_all[where], den_all[where] = num, den
            num, den = num_all, den_all
        arrays[f"{name}.num"], arrays[f"{name}.den"] = num, den
    directory = real_directory(directory.parent, directory.name)  # units/ is not a link to elsewhere
    handle, temporary = tempfile.mkstemp(prefix=f".{cell_id}.", suffix=".npz", dir=directory)
    try:
        with os.fdopen(handle, "w+b") as stream:
            np.savez(stream, **arrays)  # type: ignore[arg-type]
            stream.flush()
            os.fsync(stream.fileno())  # the row that names it is fsynced too: both or neither
            stream.seek(0)
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        os.replace(temporary, directory / f"{cell_id}.npz")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # the file's SHA-256 ties it to this row: a file swapped with another cell's is refused on read
    return {"file": f"{UNITS}/{cell_id}.npz", "unit": unit, "sha256": digest,
            "transforms": {name: part.transform for name, part in same.items()}}


def has_failures(result: CellResult | Mapping[str, Any]) -> bool:
    """Whether a result (or a stored row) counts as failed (in a run's summary and exit code,
    and for ``--retry-failed``): the cell did not finish (``status`` is not ``ok``), one of its
    metrics raised or was not finite (``metric_errors``), or a stored value is not a finite
    number (a row edited or damaged since)."""
    status: Any
    errors: Any
    metrics: Any
    if isinstance(result, CellResult):
        status, errors, metrics = result.status, result.metric_errors, result.metrics
    else:
        status, errors, metrics = result.get("status"), result.get("metric_errors"), result.get("metrics")
    if status != "ok" or errors:
        return True
    return not isinstance(metrics, Mapping) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in metrics.values())


class FinishedHooks:
    """Calls every plugin's ``bench_cell_finished``; a plugin that raises is warned about once
    (one line on ``stream``), then its later failures are counted silently."""

    def __init__(self, registry: Registry, stream: TextIO):
        self.impls = registry.hook_impls("bench_cell_finished")
        self.stream = stream
        self.failures: dict[str, int] = {}

    def __call__(self, result: CellResult) -> None:
        """Tell the plugins that ``result`` is stored. They get it as stored (read back from its
        row, one copy for all of them): a plugin cannot change what the run reports."""
        if not self.impls:
            return
        stored = CellResult.from_row(result.to_row())
        for impl in self.impls:
            try:
                impl.function(result=stored)
            except Exception as exc:
                count = self.failures.get(impl.plugin_name, 0)
                self.failures[impl.plugin_name] = count + 1
                if not count:
                    self.stream.write(f"bench: warning: plugin {impl.plugin_name!r} failed in "
                                      f"bench_cell_finished: {type(exc).__name__}: {exc} "
                                      f"(later failures of this plugin are not shown)\n")


STAGING = ".staging-"
"""Prefix of a process's own directory under ``artifacts/`` where a cell's artifacts are written."""
_staging: tuple[int, str] = (0, "")


def staging_name() -> str:
    """This process's staging directory's name: random, not the pid, since Dask workers on
    several hosts may share one results directory (a forked child draws its own)."""
    global _staging
    if _staging[0] != os.getpid():
        _staging = (os.getpid(), f"{STAGING}{secrets.token_hex(6)}")
    return _staging[1]


def write_artifacts(registry: Registry, cell: Cell, model: Model, predictions: Predictions,
                    root: Path, result: CellResult) -> None:
    """Call every plugin's ``bench_cell_artifacts`` on its own; a failure is recorded per plugin.

    The plugins write into this process's own empty staging directory under ``root``; what they
    wrote becomes ``root/<cell id>/`` in one rename, so a cell's artifacts appear whole or not
    at all, and a rerun's replace the earlier ones. An empty staging directory is kept for the
    next cell: most cells write nothing, and a directory made and removed per cell, in a
    directory every worker writes to, cost a trivial cell a fifth of its time."""
    impls = registry.hook_impls("bench_cell_artifacts")
    if not impls:
        return
    staging = real_directory(root.parent, f"{root.name}/{staging_name()}")  # no link on the way
    if any(staging.iterdir()):  # what an interrupted cell left
        shutil.rmtree(staging)
        staging.mkdir()
    written: list[str] = []
    for impl in impls:
        try:
            names = impl.function(cell=cell, model=model, predictions=predictions, directory=staging) or []
            written += [str((staging / n).relative_to(staging)) for n in names]
        except Exception as exc:
            result.artifact_errors[impl.plugin_name] = f"{type(exc).__name__}: {exc}"
    if not any(staging.iterdir()):
        return
    final = root / result.cell_id
    try:
        if os.path.lexists(final):  # an earlier run's: replaced, never followed
            if final.is_symlink():
                raise link_error(final)
            if not final.is_dir():
                raise BenchError("is not a directory, expected a cell's artifacts", str(final))
            shutil.rmtree(final)
        os.rename(staging, final)
    except (BenchError, OSError) as exc:  # the metrics stand; the next cell clears the staging
        result.artifact_errors["artifacts"] = f"cannot store the artifacts: {exc}"
        return
    result.artifacts += [str(Path(root.name, result.cell_id, name)) for name in written]


def clear_staging(root: Path) -> None:
    """Remove the staging directories the workers of a finished run left under ``root``."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(STAGING) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def reset_random_state(seed: int) -> None:
    """Seed Python's and numpy's global generators (and TensorFlow's, if it is loaded)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.random.set_seed(seed)
        except Exception:
            pass


@dataclasses.dataclass(frozen=True)
class CellPlugins:
    """What a cell runs, looked up at once in the registry: its model's entry and class, its
    task's entry and its metrics' entries (a metric that cannot be found is its error text, so
    the cell still runs and that metric alone fails)."""

    model: Entry
    model_class: type[Model]
    task: Entry
    metrics: Mapping[str, Entry | str]

    @classmethod
    def of(cls, cell: Cell, registry: Registry, result: CellResult) -> CellPlugins:
        """The cell's plugins; the model's provenance goes into ``result`` first, so that a cell
        whose library is missing still names its plugin. :class:`MissingDependency` when the
        model's library is not installed."""
        metrics = metric_entries(registry, cell.metrics)
        result.metric_info = metric_info(metrics)
        entry = registry.get("model", cell.model_plugin)
        task = registry.get("task", cell.task)
        result.plugin, result.libraries = plugin_provenance(entry)
        missing = entry.missing
        if missing:
            module = next(m for m, d in entry.requires.items() if d in missing)
            raise MissingDependency(module, entry.requires[module], cell.model_plugin)
        for module in entry.requires:  # imported before the clock starts, not inside fit
            importlib.import_module(module)
        return cls(entry, entry.model_class(cell.task), task, metrics)


def checked_data(cell: Cell, cache: DataCache, result: CellResult) -> tuple[Data, Fold]:
    """The cell's dataset and fold, each checked against what the plan recorded (the dataset's
    checksum, the fold's fingerprint): a worker never scores other rows than those planned."""
    data = cache.dataset(cell.dataset_plugin, cell.dataset_options, cell.data_dir)
    checksum = cache.checksum(data)
    if checksum != cell.dataset_checksum:
        raise BenchError(f"dataset checksum {checksum} differs from the planned "
                         f"{cell.dataset_checksum}: the data changed")
    result.dataset_shape = data.describe()
    fold = cache.fold_set(data, SplitCall.of_cell(cell))[cell.fold]
    if cell.tuning is not None:  # --- tuning: a trial's inner fold of this fold's training rows
        fold = trial_fold(cache.registry, data, fold, cell.tuning)
    if fold.fingerprint != cell.fingerprint:
        raise BenchError(f"fold {cell.fold} has fingerprint {fold.fingerprint}, the plan expected "
                         f"{cell.fingerprint}: the data or split changed")
    result.n_train, result.n_test = len(fold.train), len(fold.test)
    return data, fold


def fit_and_predict(cell: Cell, plugins: CellPlugins, data: Data, fold: Fold, result: CellResult
                    ) -> tuple[Model, Outcome]:
    """Warm the model's class (unless the worker did before the cell's clock started), build
    the model (seeded), prepare it, and let the task's runner fit and predict; the times, peak
    memory and the task's counts go into ``result``."""
    result.warmup_seconds = round(warmup.warmed(cell, plugins.model), 6)
    model = make_model(plugins.model_class, cell.params)
    reset_random_state(cell.seed)
    with Stopwatch() as prepare_time:
        model.prepare()
    options = {**plugins.task.spec.options, **cell.task_options}
    with PeakMemory() as memory:
        outcome = run_task(plugins.task, model, data, fold, options)
    for key, value in outcome.counts.items():
        if key in ("n_unknown", "n_clipped"):
            setattr(result, key, int(value))
        else:
            result.counts[key] = int(value)
    result.prepare_seconds = prepare_time.seconds
    result.fit_seconds, result.fit_cpu_seconds = outcome.fit.seconds, outcome.fit.cpu_seconds
    result.predict_seconds, result.peak_rss_mb = outcome.predict.seconds, memory.peak_mb
    result.model_info = json_safe(model.info())
    return model, outcome


def scored(cell: Cell, plugins: CellPlugins, predictions: Predictions, artifacts_root: Path | None,
           result: CellResult) -> None:
    """The metrics of ``predictions`` into ``result``, and their per-unit values beside the
    store (``units/<cell id>.npz``) for the paired tests."""
    result.metrics, result.metric_errors, parts = score(plugins.metrics, predictions)
    # --- tuning: a trial is scored on an inner split, which no paired test reads, and a search
    # has hundreds of them: no units file (refits keep theirs)
    if parts and artifacts_root is not None and not isinstance(cell.tuning, Trial):
        try:
            result.units = write_units(artifacts_root.parent / UNITS, result.cell_id, parts)
        except OSError as exc:  # the values stand; only the paired tests lose them
            result.artifact_errors["units"] = f"cannot store per-unit values: {exc}"


def execute(cell: Cell, cache: DataCache, artifacts_root: Path | None = None,
            run_id: str = "") -> CellResult:
    """Run one cell and return its result. Failures become results, never exceptions.

    One cell's path, step by step: the result is started (its cell and machine), the plugins
    looked up at once, the data and fold checked against the plan, the model fit and its
    predictions made, scored, and the artifacts written."""
    result = CellResult.start(cell, run_id, machine(), now())
    cache.verify_shared(content=False)  # changed before this cell (another process): it loads its own copy
    try:
        plugins = CellPlugins.of(cell, cache.registry, result)
        data, fold = checked_data(cell, cache, result)
        model, outcome = fit_and_predict(cell, plugins, data, fold, result)
        scored(cell, plugins, outcome.predictions, artifacts_root, result)
        if artifacts_root is not None:
            write_artifacts(cache.registry, cell, model, outcome.predictions, artifacts_root, result)
    except MissingDependency as exc:
        result.status, result.error = "missing-dependency", str(exc)
    except Exception as exc:  # a failing model must not stop the run; the result says why
        result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
        result.traceback = traceback.format_exc(limit=8)
    units_error = result.artifact_errors.get("units")
    if result.status == "ok" and units_error:  # the paired tests would lack it: redo it (--retry-failed)
        result.status, result.error = "error", units_error
    changed = cache.verify_shared()
    if changed:  # written while this cell ran: its numbers cannot be trusted, the next cell's are
        result.status, result.traceback, result.metrics = "error", None, {}
        result.error = (f"the shared data changed while this cell ran ({len(changed)} files, e.g. "
                        f"{changed[0]}): a model wrote into its input; this cell's values are not "
                        "kept, later cells load their own copy")
    result.finished_at = now()
    return result


# --- Entry points for worker processes ----------------------------------------------------

_WORKER_CACHES: dict[tuple[str, ...], DataCache] = {}
_DRIVER_REGISTRY: dict[tuple[str, ...], Registry] = {}


@contextlib.contextmanager
def offered_registry(plugins: Sequence[str], registry: Registry) -> Iterator[None]:
    """While a run lasts, the driver's registry for cells with the local plugin files
    ``plugins``: a worker forked from the driver uses it rather than scan the entry points and
    load those files again (the same plugins, already loaded; a spawned worker builds its own).
    Withdrawn when the run ends, so that a later run in this process sees its own files."""
    _DRIVER_REGISTRY.clear()
    _DRIVER_REGISTRY[tuple(plugins)] = registry
    try:
        yield
    finally:
        _DRIVER_REGISTRY.clear()


def worker_cache(plugins: Sequence[str]) -> DataCache:
    """This process's cache for cells with the local plugin files ``plugins``: a worker builds
    the registry (entry points + those files; a forked one takes the driver's) and maps the
    data once, for all its cells."""
    key = tuple(plugins)
    if key not in _WORKER_CACHES:
        registry = _DRIVER_REGISTRY.get(key) or build_registry([(p, p) for p in key])
        _WORKER_CACHES[key] = DataCache(registry)
    return _WORKER_CACHES[key]


def execute_cell(cell: Cell | Mapping[str, Any], artifacts_root: str | None = None, run_id: str = "") -> CellResult:
    """Execute one cell, given as plain data (``Cell.to_dict()``) or parsed, in this process.

    The registry and the datasets are this process's :func:`worker_cache`. Never raises for a
    failing model: the result says ``status``/``error``.
    """
    parsed = cell if isinstance(cell, Cell) else Cell.from_dict(cell)
    root = Path(artifacts_root) if artifacts_root else None
    return execute(parsed, worker_cache(parsed.plugins), root, run_id)


def plugin_provenance(entry: Entry) -> tuple[dict[str, str], dict[str, str]]:
    """A model entry's ``plugin`` (name, distribution, version) and ``libraries`` fields."""
    return ({"name": entry.provider.plugin, "distribution": entry.provider.distribution,
             "version": entry.provider.version}, dict(entry.library_versions))


def complete_provenance(result: CellResult, registry: Registry) -> CellResult:
    """``result`` with its model's plugin and library versions when its worker could not record
    them (a cell killed, timed out or crashed: its result is made by the driver,
    :func:`benchmark.engine.local.failed_result`); the driver calls it on every result it stores."""
    if not result.plugin:
        entry = registry.find("model", result.model_plugin)
        if entry is not None:
            result.plugin, result.libraries = plugin_provenance(entry)
    return result
