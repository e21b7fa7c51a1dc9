"""A cell and its result: one (dataset, split fold, model configuration, seed), as plain data.

A :class:`Cell` holds no live objects, so any worker that has the same plugins installed can
execute it on its own: it reloads the dataset, recomputes the split and checks the fold's
fingerprint. A :class:`CellResult` is what a cell produced, stored as one JSON line.

Identity, so that results can be reused and compared:

* ``config_id`` — the model configuration: model plugin, task and every parameter with its
  default filled in, except the one the suite seed drives (``random_state``/``seed``);
* ``cell_id`` — the runner's reuse key: data content (checksum), split, fold and its
  fingerprint, configuration, seed and metrics; labels and file locations are not part of it.
  Readers identify an *experiment* without the metric list
  (:class:`benchmark.resultset.Experiment`), so two suites that measured the same folds with
  different metrics count once;
* ``code_id`` — the code that computed it: the plugins' versions (a content hash for a local
  plugin file) and the versions of the libraries they declare. A stored cell is reused only
  when both ``cell_id`` and ``code_id`` match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any


SEED_PARAMS = ("random_state", "seed")
"""Model parameters the suite seed fills in unless the suite sets them; not part of a configuration."""


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
    metrics: tuple[str, ...]
    code: Mapping[str, Any] = field(default_factory=dict)  # plugin code ids, library versions
    data_dir: str | None = None
    plugins: tuple[str, ...] = ()  # local plugin files the worker must load
    task_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. ranking's threshold
    # --- tuning (benchmark/tuning.py): a trial (outer fold, inner split) or a refit (the chosen
    # point, its trials); part of the identity only when set, so other cells keep their ids
    tuning: Mapping[str, Any] | None = None

    @property
    def config_id(self) -> str:
        """Identifies the model configuration across runs and seeds."""
        return stable_hash({"model": self.model_plugin, "task": self.task, "params": self.config})

    @property
    def id(self) -> str:
        """Identifies the experiment: which data, which rows, which configuration, which seed."""
        identity = {"checksum": self.dataset_checksum, "split": self.split,
                    "split_params": self.split_params, "fold": self.fold,
                    "fingerprint": self.fingerprint, "config": self.config_id,
                    "seed": self.seed, "metrics": sorted(self.metrics)}
        if self.task_options:  # only then: the ids of tasks without options stay as they were
            identity["task_options"] = dict(self.task_options)
        if self.tuning is not None:  # --- tuning
            identity["tuning"] = self.tuning
        return stable_hash(identity)

    @property
    def code_id(self) -> str:
        return stable_hash(self.code)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=str))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        values = dict(data)
        values["metrics"] = tuple(values.get("metrics", ()))
        values["plugins"] = tuple(values.get("plugins", ()))
        return cls(**values)


@dataclass
class CellResult:
    """What one cell produced, with its full provenance; one line of ``cells.jsonl``."""

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
    tuning: Mapping[str, Any] | None = None  # --- tuning: the cell's (benchmark/tuning.py)

    @classmethod
    def start(cls, cell: Cell, run_id: str, machine: Mapping[str, Any], started_at: str) -> CellResult:
        return cls(cell_id=cell.id, config_id=cell.config_id, code_id=cell.code_id, run_id=run_id,
                   suite=cell.suite, task=cell.task, dataset=cell.dataset,
                   dataset_plugin=cell.dataset_plugin, dataset_options=cell.dataset_options,
                   dataset_checksum=cell.dataset_checksum, split=cell.split,
                   split_params=cell.split_params, fold=cell.fold, fold_name=cell.fold_name,
                   split_fingerprint=cell.fingerprint, model=cell.model,
                   model_plugin=cell.model_plugin, params=cell.params, config=cell.config,
                   seed=cell.seed, code=cell.code, machine=machine, started_at=started_at,
                   task_options=cell.task_options, tuning=cell.tuning)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_row(self) -> dict[str, Any]:
        """The JSON object stored in ``cells.jsonl`` (``None`` fields left out): a copy, as
        ``dataclasses.asdict`` makes, of plain JSON values (4x faster than its generic walk)."""
        return {f.name: _copy(value) for f in fields(self) if (value := getattr(self, f.name)) is not None}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CellResult:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})

    @classmethod
    def from_stored(cls, row: Mapping[str, Any]) -> CellResult:
        """A stored row as a typed result; required fields an old row lacks are empty
        (``""``, ``{}``, ``0``). The row is expected to pass :func:`benchmark.resultset.check`."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in row:
                values[f.name] = row[f.name]
            elif f.default is MISSING and f.default_factory is MISSING:
                values[f.name] = 0 if f.name in ("fold", "seed") else \
                    {} if str(f.type).startswith("Mapping") else ""
        return cls(**values)
