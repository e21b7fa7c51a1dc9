"""The record: a cell, its tuning information and its result, as typed plain data.

A :class:`Cell` holds no live objects, so any worker that has the same plugins installed can
execute it on its own: it reloads the dataset, recomputes the split and checks the fold's
fingerprint. A :class:`CellResult` is what a cell produced -- it embeds its :class:`Cell`
(``result.cell``) and keeps every field a reader (or a 1.0 plugin's ``bench_cell_finished``)
reads by name -- stored as one JSON line of ``cells.jsonl``.

Identity, so that results can be reused and compared:

* ``config_id`` -- the model configuration: model plugin, task and every parameter with its
  default filled in, except the one the suite seed drives (``random_state``/``seed``);
* ``cell_id`` -- the runner's reuse key: data content (checksum), split, fold and its
  fingerprint, configuration, seed and metrics; labels and file locations are not part of it.
  Readers identify an *experiment* without the metric list
  (:class:`benchmark.resultset.Experiment`), so two suites that measured the same folds with
  different metrics count once;
* ``code_id`` -- the code that computed it: the plugins' versions (a content hash for a local
  plugin file) and the versions of the libraries they declare. A stored cell is reused only
  when both ``cell_id`` and ``code_id`` match.

The stored format is versioned (asv's results files do the same): a row carries
``"schema": SCHEMA_VERSION``; a row without it is version 1. :func:`migrate` is the one function
that upgrades an old row, one step per version, and :meth:`CellResult.from_row` reads every row
through it, so no reader meets a row older than the current format. :func:`check` is the one
schema a stored row is read against (the fields every row has, the types of those it may have).

=======  ==============================================================================
version  what a row of it says
=======  ==============================================================================
1        the fields of :class:`CellResult` (``metric_info`` only since contract 1.1)
2        ``schema``; ``primary_metric`` (the metric that ranks the cell's task: the first of
         the suite's list for it); ``metric_info`` for each of its metrics; ``config`` (a
         version 1 row older than it gets its parameters less the suite-driven seed)
=======  ==============================================================================
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar

SCHEMA_VERSION = 2
"""The version of a stored row this code writes (see the module docstring); rows without a
``schema`` field are version 1."""

SEED_PARAMS = ("random_state", "seed")
"""Model parameters the suite seed fills in unless the suite sets them; not part of a configuration."""
SPLIT_SEED = "seed"
"""The split parameter that is its seed (every split function takes it); a cell's
``split_params`` hold it (:class:`benchmark.suite.SplitCall` decides it)."""


@dataclass
class _Box:
    value: Any


_ATOMS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """What ``dataclasses.asdict`` makes of ``value``: plain dicts, lists and atoms copied
    directly (the usual row), anything else (a nested dataclass, a dict subclass, a named tuple)
    by ``asdict`` itself."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    if kind in _ATOMS:
        return value
    if isinstance(value, (Trial, Refit)):
        return value.to_mapping()
    return asdict(_Box(value))["value"]


def stable_hash(value: Any, length: int = 16) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def configuration_id(row: Mapping[str, Any]) -> str:
    """A stored row's ``config_id``; for rows written before it left out the seed (no ``config``
    field), recomputed the way :attr:`Cell.config_id` computes it."""
    if "config" in row and row.get("config_id"):
        return str(row["config_id"])
    params = {k: v for k, v in (row.get("params") or {}).items() if k not in SEED_PARAMS}
    return stable_hash({"model": row.get("model_plugin"), "task": row.get("task"), "params": params})


def shown_params(row: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as a reader should see them: without the suite-seed-driven ``random_state``."""
    if isinstance(row.get("config"), Mapping):
        return dict(row["config"])
    return {k: v for k, v in (row.get("params") or {}).items()
            if not (k in SEED_PARAMS and v == row.get("seed"))}


# --- Tuning information ----------------------------------------------------------------------
# A ``tune:`` block (benchmark/tuning.py) makes two kinds of cells: trials, scored on an inner
# split of an outer training fold, and refits, the chosen point refitted on the outer fold.
# What each says of itself is part of its identity (``Cell.id`` hashes ``to_mapping()``) and is
# stored as the row's ``tuning`` field, so ``to_mapping`` gives exactly the mapping tuning.py
# wrote before these types existed: same keys, in the same order, none added.


class _Tuning:
    """What a :class:`Trial` and a :class:`Refit` share: each says itself as the stored
    ``tuning`` mapping (readers read attributes; the mapping is for storing and hashing)."""

    def to_mapping(self) -> dict[str, Any]:
        raise NotImplementedError


def _present(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    return {key: _copy(value) for key, value in pairs if value is not None}


@dataclass(frozen=True)
class Trial(_Tuning):
    """A tuning trial: the tuned model at one point, fit and scored on inner fold
    ``inner_fold`` of the inner split ``inner`` of outer fold ``outer_fold``. ``fit_rows`` and
    ``eval_rows`` fingerprint the rows it used (the worker checks them, :func:`benchmark.tuning.audit`
    rebuilds them): a trial never sees the outer test rows."""

    role: ClassVar[str] = "trial"
    outer_fold: int | None = None
    outer_fingerprint: str | None = None
    inner: Mapping[str, Any] | None = None  # the inner split's parameters, its seed included
    inner_fold: int | None = None
    fit_rows: str | None = None
    eval_rows: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this version does not know

    def to_mapping(self) -> dict[str, Any]:
        """The stored ``tuning`` field (and the identity hashed into ``Cell.id``)."""
        return {"role": self.role, **_present([
            ("outer_fold", self.outer_fold), ("outer_fingerprint", self.outer_fingerprint),
            ("inner", self.inner), ("inner_fold", self.inner_fold), ("fit_rows", self.fit_rows),
            ("eval_rows", self.eval_rows)]), **_copy(dict(self.extra))}


@dataclass(frozen=True)
class Refit(_Tuning):
    """A tuned configuration on an outer fold: how it was searched (``search``, ``trials``,
    ``inner``, ``objective``, ``greater_is_better``), then -- once its trials were scored
    (:attr:`decided`) -- what was chosen: ``chosen`` (``None`` when every trial failed, then
    ``error`` says why), the 1-based ``trial`` that chose it and its ``objective_value``, the
    trials' cell ids and how many failed. A *planned* refit (before its trials chose,
    :meth:`benchmark.tuning.Search.planned_refit`) has only the first part."""

    role: ClassVar[str] = "refit"
    search: str | None = None  # grid, random, tpe
    trials: int | None = None
    inner: Mapping[str, Any] | None = None
    objective: str | None = None
    greater_is_better: bool | None = None
    trial_cell_ids: tuple[str, ...] | None = None  # None: planned, not decided yet
    chosen: Mapping[str, Any] | None = None
    trial: int | None = None
    objective_value: float | None = None
    failed_trials: int | None = None
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def decided(self) -> bool:
        """Whether its trials were scored (a stored refit always was; a planned one not)."""
        return self.trial_cell_ids is not None

    def to_mapping(self) -> dict[str, Any]:
        """The stored ``tuning`` field (and the identity hashed into ``Cell.id``)."""
        out = {"role": self.role, **_present([
            ("search", self.search), ("trials", self.trials), ("inner", self.inner),
            ("objective", self.objective), ("greater_is_better", self.greater_is_better)])}
        if self.trial_cell_ids is not None:  # decided: the choice is said even when it is None
            out.update(chosen=_copy(dict(self.chosen)) if self.chosen is not None else None,
                       trial=self.trial, objective_value=self.objective_value,
                       trial_cell_ids=list(self.trial_cell_ids))
        else:
            out.update(_present([("chosen", self.chosen), ("trial", self.trial),
                                 ("objective_value", self.objective_value)]))
        out.update(_present([("failed_trials", self.failed_trials), ("error", self.error)]))
        out.update(_copy(dict(self.extra)))
        return out


Tuning = Trial | Refit
"""A cell's tuning information (``Cell.tuning``, ``CellResult.tuning``): ``None`` for a cell
that is no part of a search."""

_TRIAL_KEYS = ("outer_fold", "outer_fingerprint", "inner", "inner_fold", "fit_rows", "eval_rows")
_REFIT_KEYS = ("search", "trials", "inner", "objective", "greater_is_better", "chosen", "trial",
               "objective_value", "failed_trials", "error")


def tuning_from_mapping(mapping: Any) -> Trial | Refit | None:
    """The typed tuning information of a stored ``tuning`` mapping (``None`` for anything that
    is not one with role ``trial`` or ``refit``; a typed one is returned as it is).
    ``tuning_from_mapping(m).to_mapping() == m`` for every mapping :mod:`benchmark.tuning` writes."""
    if isinstance(mapping, (Trial, Refit)):
        return mapping
    if not isinstance(mapping, Mapping):
        return None
    role = mapping.get("role")
    if role == "trial":
        extra = {k: v for k, v in mapping.items() if k != "role" and k not in _TRIAL_KEYS}
        return Trial(**{k: mapping.get(k) for k in _TRIAL_KEYS}, extra=extra)
    if role == "refit":
        known = {*_REFIT_KEYS, "trial_cell_ids"}
        extra = {k: v for k, v in mapping.items() if k != "role" and k not in known}
        ids = mapping.get("trial_cell_ids")
        return Refit(**{k: mapping.get(k) for k in _REFIT_KEYS}, extra=extra,
                     trial_cell_ids=tuple(ids) if isinstance(ids, (list, tuple)) else None)
    return None


# --- The cell --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    suite: str
    task: str
    dataset: str  # label in the suite (presentation only)
    dataset_plugin: str
    dataset_options: Mapping[str, Any]
    dataset_checksum: str  # of the parsed content, as planned
    split: str
    split_params: Mapping[str, Any]
    seed: int
    fold: int  # position in the split's fold list
    fold_name: str
    fingerprint: str  # expected fingerprint of the fold
    model: str  # label of the configuration (presentation only)
    model_plugin: str
    params: Mapping[str, Any]  # what the model is built with (defaults and seed filled in)
    config: Mapping[str, Any]  # what identifies the configuration (no suite-driven seed)
    metrics: tuple[str, ...]  # the suite's metrics of this task, in the suite's order (primary first)
    code: Mapping[str, Any] = field(default_factory=dict)  # plugin code ids, library versions
    data_dir: str | None = None
    plugins: tuple[str, ...] = ()  # local plugin files the worker must load
    task_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. ranking's threshold
    # --- tuning (benchmark/tuning.py): a trial (outer fold, inner split) or a refit (the chosen
    # point, its trials); part of the identity only when set, so other cells keep their ids.
    # A mapping given here (the stored form) is read as its typed Trial/Refit.
    tuning: Trial | Refit | None = None

    def __post_init__(self) -> None:
        if self.tuning is not None and not isinstance(self.tuning, (Trial, Refit)):
            object.__setattr__(self, "tuning", tuning_from_mapping(self.tuning))

    @property
    def config_id(self) -> str:
        """Identifies the model configuration across runs and seeds."""
        return stable_hash({"model": self.model_plugin, "task": self.task, "params": self.config})

    @property
    def id(self) -> str:
        """Identifies the experiment: which data, which rows, which configuration, which seed."""
        identity: dict[str, Any] = {
            "checksum": self.dataset_checksum, "split": self.split, "split_params": self.split_params,
            "fold": self.fold, "fingerprint": self.fingerprint, "config": self.config_id,
            "seed": self.seed, "metrics": sorted(self.metrics)}
        if self.task_options:  # only then: the ids of tasks without options stay as they were
            identity["task_options"] = dict(self.task_options)
        if self.tuning is not None:  # --- tuning
            identity["tuning"] = self.tuning.to_mapping()
        return stable_hash(identity)

    @property
    def code_id(self) -> str:
        return stable_hash(self.code)

    @property
    def primary_metric(self) -> str | None:
        """The metric that ranks this cell's task: the first of the suite's list for it."""
        return self.metrics[0] if self.metrics else None

    def to_dict(self) -> dict[str, Any]:
        """The cell as JSON values (what a worker process is sent)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["tuning"] = self.tuning.to_mapping() if self.tuning is not None else None
        loaded: dict[str, Any] = json.loads(json.dumps(data, default=str))
        return loaded

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        values = dict(data)
        values["metrics"] = tuple(values.get("metrics", ()))
        values["plugins"] = tuple(values.get("plugins", ()))
        return cls(**values)


# --- The result ------------------------------------------------------------------------------


@dataclass
class CellResult:
    """What one cell produced, with its full provenance; one line of ``cells.jsonl``.

    The fields are the stored row's keys (a 1.0 plugin reads them by these names); the cell the
    result was started from is :attr:`cell`."""

    cell_id: str
    config_id: str
    code_id: str
    run_id: str
    suite: str
    task: str
    dataset: str
    dataset_plugin: str
    dataset_options: Mapping[str, Any]
    dataset_checksum: str
    split: str
    split_params: Mapping[str, Any]
    fold: int
    fold_name: str
    split_fingerprint: str
    model: str
    model_plugin: str
    params: Mapping[str, Any]
    config: Mapping[str, Any]
    seed: int
    machine: Mapping[str, Any]
    started_at: str
    status: str = "ok"  # ok, error, missing-dependency, timeout, killed, memory, crashed
    error: str | None = None
    traceback: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    metric_errors: dict[str, str] = field(default_factory=dict)
    # {metric: {"greater_is_better": bool, "task": str, "plugin": str, "version": str}} (contract 1):
    # a metric's direction travels with its value, so no reader has to find its plugin again
    metric_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    # {"file": "units/<cell_id>.npz", "unit": "user", "transforms": {metric: "sqrt"|"identity"}}
    # (contract 2): per-unit parts of the metrics, for paired tests on a single split
    units: dict[str, Any] | None = None
    task_options: Mapping[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # a task's own counts (beyond n_unknown, n_clipped)
    plugin: Mapping[str, str] = field(default_factory=dict)  # name, distribution, version
    code: Mapping[str, Any] = field(default_factory=dict)
    libraries: Mapping[str, str] = field(default_factory=dict)
    dataset_shape: Mapping[str, Any] = field(default_factory=dict)
    n_train: int | None = None
    n_test: int | None = None
    n_unknown: int | None = None
    n_clipped: int | None = None
    load_seconds: float | None = None  # loading or mapping the data (outside the time limit)
    warmup_seconds: float | None = None  # the model's imports, compilation, first calls (outside it too)
    prepare_seconds: float | None = None
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    fit_cpu_seconds: float | None = None
    peak_rss_mb: float | None = None
    model_info: Mapping[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    artifact_errors: dict[str, str] = field(default_factory=dict)
    log: str = ""
    finished_at: str = ""
    tuning: Trial | Refit | None = None  # --- tuning: the cell's (benchmark/tuning.py)
    primary_metric: str | None = None  # schema 2: the metric that ranks this task (its cell's first)
    _cell: Cell | None = field(default=None, init=False, repr=False, compare=False)

    STORED: ClassVar[tuple[str, ...]]
    """The names of the stored fields (every field but the embedded cell)."""

    def __post_init__(self) -> None:
        if self.tuning is not None and not isinstance(self.tuning, (Trial, Refit)):
            self.tuning = tuning_from_mapping(self.tuning)

    @classmethod
    def start(cls, cell: Cell, run_id: str, machine: Mapping[str, Any], started_at: str) -> CellResult:
        result = cls(cell_id=cell.id, config_id=cell.config_id, code_id=cell.code_id, run_id=run_id,
                     suite=cell.suite, task=cell.task, dataset=cell.dataset,
                     dataset_plugin=cell.dataset_plugin, dataset_options=cell.dataset_options,
                     dataset_checksum=cell.dataset_checksum, split=cell.split,
                     split_params=cell.split_params, fold=cell.fold, fold_name=cell.fold_name,
                     split_fingerprint=cell.fingerprint, model=cell.model,
                     model_plugin=cell.model_plugin, params=cell.params, config=cell.config,
                     seed=cell.seed, code=cell.code, machine=machine, started_at=started_at,
                     task_options=cell.task_options, tuning=cell.tuning,
                     primary_metric=cell.primary_metric)
        result._cell = cell
        return result

    @property
    def cell(self) -> Cell:
        """The cell this is the result of: the one it was started from, or for a stored row the
        cell its fields describe (``data_dir`` and local plugins are not stored; ``metrics``
        are the row's, primary first)."""
        if self._cell is None:
            names = list(dict.fromkeys([*self.metric_info, *self.metrics, *self.metric_errors]))
            if self.primary_metric in names:
                names.remove(self.primary_metric)
                names.insert(0, self.primary_metric)
            self._cell = Cell(
                suite=self.suite, task=self.task, dataset=self.dataset, dataset_plugin=self.dataset_plugin,
                dataset_options=self.dataset_options, dataset_checksum=self.dataset_checksum,
                split=self.split, split_params=self.split_params, seed=self.seed, fold=self.fold,
                fold_name=self.fold_name, fingerprint=self.split_fingerprint, model=self.model,
                model_plugin=self.model_plugin, params=self.params, config=self.config,
                metrics=tuple(names), code=self.code, task_options=self.task_options, tuning=self.tuning)
        return self._cell

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_row(self) -> dict[str, Any]:
        """The JSON object stored in ``cells.jsonl`` (``None`` fields left out) with
        ``"schema": SCHEMA_VERSION``: a copy, as ``dataclasses.asdict`` makes, of plain JSON
        values (4x faster than its generic walk)."""
        row = {name: _copy(value) for name in self.STORED if (value := getattr(self, name)) is not None}
        row["schema"] = SCHEMA_VERSION
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CellResult:
        """A stored row (of any schema version, through :func:`migrate`) as a typed result."""
        current = migrate(row)
        return cls(**{k: v for k, v in current.items() if k in _STORED_NAMES})

    @classmethod
    def from_stored(cls, row: Mapping[str, Any]) -> CellResult:
        """A stored row as a typed result; required fields an old row lacks are empty
        (``""``, ``{}``, ``0``). The row is expected to pass :func:`check`."""
        values = {k: v for k, v in migrate(row).items() if k in _STORED_NAMES}
        for name, empty in _EMPTY.items():
            if name not in values:
                values[name] = empty()
        return cls(**values)


CellResult.STORED = tuple(f.name for f in fields(CellResult) if f.name != "_cell")
_STORED_NAMES = frozenset(CellResult.STORED)
_EMPTY: dict[str, Callable[[], Any]] = {
    f.name: int if f.name in ("fold", "seed") else dict if str(f.type).startswith("Mapping") else str
    for f in fields(CellResult) if f.init and f.default is MISSING and f.default_factory is MISSING}
"""The required fields of a result and what :meth:`CellResult.from_stored` gives a row that lacks one."""


# --- The schema of a stored row ---------------------------------------------------------------
# What every reader (benchmark.resultset) and the runner's reuse (ResultStore.results) accept as a
# result; a row that fails it is set aside with its reason, never read as a result.

_STR, _INT, _NUM, _MAP, _LIST = "a string", "an integer", "a number", "a mapping", "a list"
REQUIRED: dict[str, str] = {"cell_id": _STR, "status": _STR, "task": _STR, "dataset": _STR, "model": _STR,
                            "fold": _INT, "seed": _INT}
"""Fields every stored row has had since the first release."""
OPTIONAL: dict[str, str] = {
    "config_id": _STR, "code_id": _STR, "run_id": _STR, "suite": _STR, "dataset_plugin": _STR,
    "dataset_checksum": _STR, "split": _STR, "split_fingerprint": _STR, "fold_name": _STR,
    "model_plugin": _STR, "error": _STR, "started_at": _STR, "finished_at": _STR, "log": _STR,
    "traceback": _STR,
    "dataset_options": _MAP, "split_params": _MAP, "params": _MAP, "config": _MAP, "machine": _MAP,
    "metrics": _MAP, "metric_errors": _MAP, "plugin": _MAP, "code": _MAP, "libraries": _MAP,
    "dataset_shape": _MAP, "model_info": _MAP, "metric_info": _MAP, "units": _MAP, "artifact_errors": _MAP,
    "task_options": _MAP, "counts": _MAP, "tuning": _MAP,
    "artifacts": _LIST,
    "n_train": _INT, "n_test": _INT, "n_unknown": _INT, "n_clipped": _INT,
    "load_seconds": _NUM, "warmup_seconds": _NUM, "prepare_seconds": _NUM, "fit_seconds": _NUM, "predict_seconds": _NUM, "fit_cpu_seconds": _NUM,
    "peak_rss_mb": _NUM, "schema": _INT, "primary_metric": _STR,
}
"""Fields a row may lack (older rows, failed cells) but that must have this type when present
(``null`` is accepted for the numbers and strings)."""


def _is(value: Any, kind: str) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _MAP:
        return isinstance(value, dict)
    return isinstance(value, list)


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    text = text if len(text) <= 40 else text[:39] + "…"
    kind = type(value)  # JSON shows a tuple, a set's str... as what it is not: name the type
    return text if kind in (dict, list, str, int, float, bool, type(None)) else f"{kind.__name__} {text}"


def check(row: Any) -> str | None:
    """Why ``row`` cannot be read as a result (``None`` when it can): ``key: expected X, got Y``."""
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    for key, kind in REQUIRED.items():
        if key not in row:
            return f"{key}: missing"
        if not _is(row[key], kind):
            return f"{key}: expected {kind}, got {_shown(row[key])}"
    if not row["cell_id"]:
        return "cell_id: expected a non-empty string, got ''"
    for key, value in row.items():
        expected = OPTIONAL.get(key)
        if expected is None or (value is None and expected in (_STR, _INT, _NUM)):
            continue
        if not _is(value, expected):
            return f"{key}: expected {expected}, got {_shown(value)}"
    for name, value in row.get("metrics", {}).items():
        if value is not None and not _is(value, _NUM):
            return f"metrics.{name}: expected a number, got {_shown(value)}"
    for name, info in row.get("metric_info", {}).items():
        if not isinstance(info, dict) or not isinstance(info.get("greater_is_better", False), bool):
            return f"metric_info.{name}: expected {{greater_is_better: true|false, ...}}, got {_shown(info)}"
    return None


# --- Migration of stored rows ----------------------------------------------------------------


@dataclass(frozen=True)
class Legacy:
    """What a row older than :data:`SCHEMA_VERSION` does not say and its reader can tell.

    ``suite_metrics``: the ``metrics:`` list of the suite the row's run stored (its
    ``suite.yaml``), whose first metric the row has was the run's primary metric;
    ``direction(metric)``: ``greater_is_better`` of an installed metric plugin (``None`` when it
    is not installed); ``primary(task)``: an installed task's primary metric (``None`` when it is
    not installed). ``guessed`` collects the metrics whose direction nobody could tell: their
    ``metric_info`` stays missing, a reader takes them as lower is better and says so."""

    suite_metrics: Sequence[str] = ()
    direction: Callable[[str], bool | None] = lambda name: None
    primary: Callable[[str], str | None] = lambda task: None
    guessed: set[str] = field(default_factory=set)


def row_version(row: Mapping[str, Any]) -> int:
    """The schema version of a stored row (1 when it has no ``schema`` field)."""
    version = row.get("schema", 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else 1


def _to_2(row: dict[str, Any], legacy: Legacy) -> dict[str, Any]:
    """Version 1 -> 2: a metric's direction and the task's primary metric, which version 2
    stores and version 1 did not (``metric_info`` only since contract 1.1), from what the reader
    knows: the run's suite (its metric order) and the installed plugins."""
    def keys(name: str) -> dict[str, Any]:
        value = row.get(name)
        return dict(value) if isinstance(value, Mapping) else {}

    info = keys("metric_info")
    names = list(dict.fromkeys([*info, *keys("metrics"), *keys("metric_errors")]))
    for name in names:
        if name not in info:
            known = legacy.direction(name)
            if known is None:
                legacy.guessed.add(name)  # left out: a reader takes it as lower is better
            else:
                info[name] = {"greater_is_better": known}
    if info:
        row["metric_info"] = info
    if not isinstance(row.get("config"), Mapping) and isinstance(row.get("params"), Mapping):
        row["config"] = shown_params(row)  # rows from before the configuration was stored apart
    if not row.get("primary_metric"):
        primary = next((m for m in legacy.suite_metrics if m in names), None) \
            or (legacy.primary(str(row.get("task", ""))) or None)
        if primary is not None and primary in names:
            row["primary_metric"] = primary
    row["schema"] = 2
    return row


_STEPS: dict[int, Callable[[dict[str, Any], Legacy], dict[str, Any]]] = {1: _to_2}
"""``_STEPS[n]`` upgrades a row of version ``n`` to ``n + 1``."""


def migrate(row: Mapping[str, Any], legacy: Legacy | None = None) -> dict[str, Any]:
    """``row`` upgraded to :data:`SCHEMA_VERSION`, one step per version (a copy; a row that is
    current is copied as it is). ``legacy`` is what the reader knows that an old row does not
    say (see :class:`Legacy`); a row of a newer version than this code is returned unchanged."""
    out = dict(row)
    version = row_version(out)
    known = legacy if legacy is not None else Legacy()
    while version < SCHEMA_VERSION:
        out = _STEPS[version](out, known)
        version += 1
    return out
