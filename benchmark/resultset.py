"""The typed result set: every reader of results gets its rows from here.

``bench leaderboard``, ``bench compare``, ``bench results``, ``bench report`` and
:func:`benchmark.results.load` used to read ``cells.jsonl`` on their own, each with its own idea
of which row of a cell is current, which metric direction applies and what makes two rows the
same experiment; merged runs double counted and a local plugin's higher-is-better metric was
ranked backwards. This module is the one place for those decisions:

* **one loader** — :func:`load` reads one or more run directories. Each row is checked against
  one schema (:func:`check`); an invalid row (a ``fold`` that is not an integer, ``metrics``
  that is not a mapping, a ``fit_seconds`` of ``"abc"``...) is *set aside* with one warning
  naming its file and line, never a traceback in a reader. A non-finite metric value is moved
  to the row's ``metric_errors`` ("non-finite value nan") and never averaged. ``suite.yaml`` is
  read with :mod:`benchmark.yamlsafe` and ``environment.json`` with a size-limited, UTF-8-only
  JSON read; anything wrong there is a warning and an empty value;
* **one experiment identity** — :class:`Experiment`: dataset checksum, split method and
  parameters, fold index and fingerprint, configuration (``config_id``, seed excluded) and
  seed. The metric list is *not* part of it, so two suites that stored the same folds with
  different metric lists are one experiment (``cell_id`` still includes the metrics: it is the
  runner's reuse key);
* **one "latest" policy** — :func:`latest`: per experiment, the row that finished last wins
  (on a tie, the later run given, then the later line); metrics it lacks are filled from older
  successful rows of the same experiment *computed by the same code* (``code_id``), so merging a
  ``[rmse]`` run with an ``[rmse, mae]`` run of the same folds yields one row with both;
* **metric directions travel with the rows** — a row written by bench ≥ contract 1.1 carries
  ``metric_info: {name: {"greater_is_better": ...}}``; :meth:`ResultSet.directions` takes the
  direction from there, and only for rows without it falls back to the installed registry, then
  to :data:`KNOWN_DIRECTIONS`;
* **tuning trials are not results** — a ``tune:`` block stores every trial as a cell scored on
  an *inner* split of an outer training fold (:mod:`benchmark.tuning`); ranking or pairing them
  beside the refits would be the test-set selection tuning exists to avoid, and a 20-trial
  search would add 20 lines of "different split". :func:`read_run` keeps them apart:
  :attr:`Run.rows` has every row but the trials (what leaderboard, compare and results read),
  :attr:`Run.trials` the trials (what ``bench report`` draws each search from and
  ``bench results --trials`` lists).

Rows are plain ``dict`` objects (the JSON of :class:`~benchmark.cells.CellResult`) normalised
on the way in: ``config_id`` recomputed for old rows (see
:func:`benchmark.cells.configuration_id`), ``run``/``run_dir``/``line`` added. :meth:`Result.cell`
gives the typed :class:`~benchmark.cells.CellResult` of a row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.record import CellResult, Refit, Trial, configuration_id, tuning_from_mapping
from benchmark.errors import BenchError

CELLS = "cells.jsonl"
SUITE = "suite.yaml"
ENVIRONMENT = "environment.json"
MAX_ENVIRONMENT_BYTES = 10_000_000
_SHOWN = 10  # invalid rows named one by one per run; the rest are counted

KNOWN_DIRECTIONS = {"rmse": False, "mae": False, "mse": False, "bce": False, "fcp": True,
                    "precision": True, "recall": True, "ndcg": True, "map": True, "mrr": True,
                    "hit_rate": True, "auc": True, "accuracy": True, "r2": True}
"""Directions of bench's own metrics (``True``: greater is better), for rows that do not carry
``metric_info`` and whose metric plugin is not installed here."""
DEFAULT_PRIMARY = {"rating": "rmse", "reconstruction": "mse"}


# --- The schema --------------------------------------------------------------------------------

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
    "load_seconds": _NUM, "prepare_seconds": _NUM, "fit_seconds": _NUM, "predict_seconds": _NUM, "fit_cpu_seconds": _NUM,
    "peak_rss_mb": _NUM,
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


class StoredRow(dict[str, Any]):
    """A row that passed :func:`check` and :func:`normalise` (a plain ``dict`` to every reader),
    with its :class:`Experiment` computed once; :func:`latest` does not check it again."""

    experiment: Experiment


def normalise(row: Mapping[str, Any]) -> StoredRow:
    """A checked row as readers use it: ``config_id`` without the seed (recomputed for old rows),
    non-finite or ``null`` metric values moved to ``metric_errors``."""
    out = StoredRow(row)
    out["config_id"] = configuration_id(row)
    metrics = dict(row.get("metrics") or {})
    errors = dict(row.get("metric_errors") or {})
    for name, value in list(metrics.items()):
        if value is None or not math.isfinite(float(value)):
            del metrics[name]
            errors.setdefault(name, f"non-finite value {value}")
    out["metrics"], out["metric_errors"] = metrics, errors
    out.experiment = Experiment.of(out)
    return out


# --- Identity and "latest" ---------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Experiment:
    """What was measured: the same data, rows, configuration, seed and task options — whatever
    the metrics, labels, file locations or code version."""

    dataset_checksum: str
    split: str
    split_params: str  # canonical JSON
    fold: int
    fingerprint: str
    config_id: str
    seed: int
    task_options: str = "{}"  # canonical JSON: a task's options (ranking's threshold) change what is measured

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Experiment:
        return cls(str(row.get("dataset_checksum") or row.get("dataset") or ""), str(row.get("split") or ""),
                   json.dumps(row.get("split_params") or {}, sort_keys=True, default=str),
                   int(row.get("fold") or 0), str(row.get("split_fingerprint") or ""),
                   str(row.get("config_id") or configuration_id(row)), int(row.get("seed") or 0),
                   json.dumps(row.get("task_options") or {}, sort_keys=True, default=str))


def latest(rows: Iterable[Mapping[str, Any]],
           on_invalid: Callable[[int, Mapping[str, Any], str], None] | None = None) -> list[dict[str, Any]]:
    """One row per :class:`Experiment`, in the order of each experiment's winning row.

    The winner is the row that finished last (``finished_at``); on a tie the one given later.
    Metrics the winner lacks are taken from older ``ok`` rows of the same experiment with the same
    ``code_id``. Rows that fail :func:`check` are skipped (``on_invalid(index, row, why)`` is
    told); rows are normalised (:func:`normalise`).
    """
    best: dict[Experiment, tuple[tuple[str, int], StoredRow]] = {}
    others: dict[Experiment, list[tuple[tuple[str, int], StoredRow]]] = {}
    for index, raw in enumerate(rows):
        if isinstance(raw, StoredRow):
            row = raw
        else:
            why = check(raw)
            if why is not None:
                if on_invalid is not None:
                    on_invalid(index, raw, why)
                continue
            row = normalise(raw)
        key = row.experiment
        order = (str(row.get("finished_at") or ""), index)
        others.setdefault(key, []).append((order, row))
        if key not in best or order >= best[key][0]:
            best[key] = (order, row)
    out: list[dict[str, Any]] = []
    for key, (_, winner) in sorted(best.items(), key=lambda item: item[1][0][1]):
        if winner.get("status") == "ok" and len(others[key]) > 1:
            winner = _fill_metrics(winner, [r for _, r in sorted(others[key], key=lambda x: x[0], reverse=True)])
        out.append(winner)
    return out


def _fill_metrics(row: StoredRow, older: list[StoredRow]) -> StoredRow:
    metrics, info = dict(row["metrics"]), dict(row.get("metric_info") or {})
    for other in older:
        if other is row or other.get("status") != "ok" or other.get("code_id") != row.get("code_id"):
            continue
        for name, value in other["metrics"].items():
            if name not in metrics and name not in row["metric_errors"]:
                metrics[name] = value
                if name in (other.get("metric_info") or {}):
                    info.setdefault(name, other["metric_info"][name])
    if len(metrics) == len(row["metrics"]):
        return row
    filled = StoredRow({**row, "metrics": metrics, **({"metric_info": info} if info else {})})
    filled.experiment = Experiment.of(filled)
    return filled


# --- Tuning rows: which are trials, how a refit was tuned --------------------------------------
# Plain dict functions here, not in benchmark.tuning (numpy, the split plugins): every reader asks
# "is this row a trial?" and should not load the tuning machinery to answer.


def is_trial(row: Mapping[str, Any]) -> bool:
    """A tuning trial's row: stored and reused like any cell, but never a leaderboard line."""
    return isinstance(tuning_from_mapping(row.get("tuning")), Trial)


def is_refit(row: Mapping[str, Any]) -> bool:
    """A tuned configuration's row on an outer fold: the chosen point refitted on the whole
    training fold and scored on its test fold (its ``tuning`` says how it was chosen)."""
    return isinstance(tuning_from_mapping(row.get("tuning")), Refit)


def _inner_text(inner: Mapping[str, Any]) -> str:
    method = inner.get("method", "?")
    if method == "kfold":
        return f"inner {inner.get('k', 5)}-fold"
    if "test_size" in inner:
        return f"inner {method} {float(inner['test_size']) * 100:g} %"
    if method == "leave-n-out":
        return f"inner leave-{inner.get('n', 1)}-out"
    return f"inner {method}"


def tuning_note(row: Mapping[str, Any]) -> str:
    """``tuned: 20 trials, random, inner holdout 10 %`` for a refit row (the leaderboard's
    mark of a tuned line); ``""`` for any other row."""
    tuning = tuning_from_mapping(row.get("tuning"))
    if not isinstance(tuning, Refit):
        return ""
    trials = tuning.trials if tuning.trials is not None else 0
    return (f"tuned: {trials} trial{'s' if trials != 1 else ''}, {tuning.search}, "
            f"{_inner_text(tuning.inner or {})}")


# --- Reading run directories -------------------------------------------------------------------


@dataclass
class Run:
    """One run directory, read: its rows (latest per experiment), suite and environment.

    ``rows`` are the results (trials of a ``tune:`` search left out); ``trials`` the trial rows,
    latest per experiment too (see the module docstring).
    """

    directory: Path
    rows: list[dict[str, Any]]
    environment: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    suite_data: Any = None
    trials: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.directory.resolve().name

    @property
    def run_ids(self) -> list[str]:
        return sorted({row["run_id"] for row in self.rows if row.get("run_id")})

    def suite_metrics(self) -> list[str]:
        """The ``metrics:`` list of the run's suite.yaml (empty when it cannot be read)."""
        metrics = self.suite_data.get("metrics") if isinstance(self.suite_data, dict) else None
        if isinstance(metrics, Mapping):  # {task: [names]}
            return [str(m) for names in metrics.values() if isinstance(names, list) for m in names]
        return [str(m) for m in metrics] if isinstance(metrics, list) else []


def read_run(directory: str | Path) -> Run:
    """Read one run directory (see the module docstring); :class:`BenchError` when it is not one."""
    from benchmark.store import _lines, open_read, parse_line

    path = Path(directory)
    if not path.is_dir():
        raise BenchError("no such results directory" if not path.exists() else "not a directory",
                         str(directory))
    cells = path / CELLS
    if not cells.exists():
        raise BenchError(f"not a results directory: no {CELLS} in it", str(directory))
    warnings: list[str] = []
    raw: list[dict[str, Any]] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []  # (line, why)
    try:
        with open_read(cells) as handle:  # a link or a FIFO there: one BenchError line
            for number, data in _lines(handle):
                row, why = parse_line(data)
                if row is None:
                    # store.parse_line's own checks; a torn last line is the store's to repair
                    if why != "torn (no newline)" or data.strip():
                        bad.append((number, str(why)))
                    continue
                raw.append(row)
                lines.append(number)
    except OSError as exc:
        raise BenchError(f"cannot read the stored cells: {exc.strerror or exc}", str(cells)) from None
    name = path.resolve().name
    kinds = [is_trial(row) for row in raw]  # trials apart: see the module docstring
    result_lines = [number for number, trial in zip(lines, kinds) if not trial]
    trial_lines = [number for number, trial in zip(lines, kinds) if trial]
    rows = latest([row for row, trial in zip(raw, kinds) if not trial],
                  lambda index, _row, why: bad.append((result_lines[index], why)))
    trials = latest_trials([row for row, trial in zip(raw, kinds) if trial],
                           lambda index, _row, why: bad.append((trial_lines[index], why)))
    bad.sort()
    for row in rows + trials:
        row["run"], row["run_dir"] = name, str(path)
    if bad:
        shown = "; ".join(f"line {number}: {why}" for number, why in bad[:_SHOWN]) + (f"; and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else "")
        warnings.append(f"{cells}: {len(bad)} row{'s' if len(bad) > 1 else ''} set aside ({shown})")
    non_finite = sum(1 for row in rows for why in row["metric_errors"].values()
                     if str(why).startswith("non-finite value"))
    if non_finite:
        warnings.append(f"{cells}: {non_finite} non-finite metric value(s) counted as metric errors, "
                        "not averaged")
    suite_data = _read_suite(path / SUITE, warnings)
    environment = _read_environment(path / ENVIRONMENT, warnings)
    return Run(path, rows, environment, warnings, suite_data, trials)


def latest_trials(rows: Iterable[Mapping[str, Any]],
                  on_invalid: Callable[[int, Mapping[str, Any], str], None] | None = None) -> list[dict[str, Any]]:
    """The trial rows, checked and normalised: one per ``cell_id`` (the last given wins).

    Not one per :class:`Experiment` as :func:`latest` keeps results: a refit names its trials by
    cell id (``tuning.trial_cell_ids``), and two searches may store the same experiment (one model
    tuned twice, for two objectives) as two trials that each belong to their own search."""
    out: dict[str, StoredRow] = {}
    for index, raw in enumerate(rows):
        why = None if isinstance(raw, StoredRow) else check(raw)
        if why is not None:
            if on_invalid is not None:
                on_invalid(index, raw, why)
            continue
        row = raw if isinstance(raw, StoredRow) else normalise(raw)
        out.pop(row["cell_id"], None)
        out[row["cell_id"]] = row
    return list(out.values())


def _read_suite(path: Path, warnings: list[str]) -> Any:
    """The stored suite through the hardened suite reader (limits on size, depth, aliases)."""
    from benchmark.yamlsafe import read_stored_yaml

    data, warning = read_stored_yaml(path)
    if warning:
        warnings.append(warning)
    return data


def _read_environment(path: Path, warnings: list[str]) -> dict[str, Any]:
    """``environment.json``: a regular UTF-8 file of at most 10 MB holding a JSON object."""
    from benchmark.yamlsafe import read_stored_json

    data, warning = read_stored_json(path, max_bytes=MAX_ENVIRONMENT_BYTES)
    if warning:
        warnings.append(warning)
    elif data is not None and not isinstance(data, dict):
        warnings.append(f"{path}: expected a JSON object, got {type(data).__name__}; the stored "
                        f"environment is ignored")
    return data if isinstance(data, dict) else {}


def read_runs(directories: Iterable[str | Path]) -> list[Run]:
    """Each directory read on its own (two with the same name are told apart by their path)."""
    runs = [read_run(d) for d in directories]
    names = [run.name for run in runs]
    for run in runs:
        if names.count(run.name) > 1:
            for row in run.rows + run.trials:
                row["run"] = str(run.directory)
    return runs


# --- The set -----------------------------------------------------------------------------------


@dataclass
class ResultSet:
    """The rows of one or more runs merged: one per experiment (:func:`latest` across runs);
    ``trials`` the tuning trials merged the same way (not results: see the module docstring)."""

    runs: list[Run]
    rows: list[dict[str, Any]]
    trials: list[dict[str, Any]] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for run in self.runs for w in run.warnings]

    def cells(self) -> list[CellResult]:
        """The rows as typed results."""
        return [cell(row) for row in self.rows]

    def directions(self, names: Iterable[str]) -> dict[str, bool]:
        return directions(names, self.rows)


def load(directories: Sequence[str | Path]) -> ResultSet:
    """Read the run directories and merge them, one row per experiment (the latest)."""
    if not directories:
        raise BenchError("no results directory given")
    runs = read_runs(directories)
    if len(runs) == 1:  # read_run already kept one row per experiment (and one trial per cell)
        return ResultSet(runs, list(runs[0].rows), list(runs[0].trials))
    merged = latest(row for run in runs for row in run.rows)
    trials = latest_trials(row for run in runs for row in run.trials)
    return ResultSet(runs, merged, trials)


def cell(row: Mapping[str, Any]) -> CellResult:
    """The typed result of a stored row; fields an old row lacks get empty values."""
    return CellResult.from_stored(row)


# --- Metrics: which, which first, which direction ----------------------------------------------


def primary_metrics(runs: Sequence[Run], rows: Iterable[Mapping[str, Any]] | None = None) -> dict[str, str]:
    """Per task, the metric that ranks it: the first metric of the suite's list that the task's
    cells have (the suites' order, first run first), else rmse/mse, else the first one seen."""
    seen: dict[str, list[str]] = {}
    for row in rows if rows is not None else (r for run in runs for r in run.rows):
        names = seen.setdefault(str(row.get("task", "")), [])
        for name in row.get("metrics") or {}:
            if name not in names:
                names.append(name)
    order = [m for run in runs for m in run.suite_metrics()]
    primary = {}
    for task, names in seen.items():
        choice = next((m for m in order if m in names), None)
        if choice is None:
            choice = DEFAULT_PRIMARY.get(task) if DEFAULT_PRIMARY.get(task) in names else None
        if choice is None and names:
            choice = names[0]
        if choice:
            primary[task] = choice
    return primary


def metrics_by_task(runs: Sequence[Run], rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per task, its metrics: the primary one first, then the rest in the suites' order."""
    rows = list(rows)
    primary = primary_metrics(runs, rows)
    order = [m for run in runs for m in run.suite_metrics()]
    out: dict[str, list[str]] = {}
    for row in rows:
        names = out.setdefault(str(row.get("task", "")), [])
        for name in row.get("metrics") or {}:
            if name not in names:
                names.append(name)
    for task, names in out.items():
        names.sort(key=lambda m: (m != primary.get(task), order.index(m) if m in order else len(order)))
    return out


def directions(names: Iterable[str], rows: Iterable[Mapping[str, Any]] = ()) -> dict[str, bool]:
    """``{metric: greater_is_better}``: from the rows' ``metric_info`` (the latest row that has
    it), else from the installed metric plugins, else :data:`KNOWN_DIRECTIONS` (unknown metrics:
    lower is better)."""
    names = list(dict.fromkeys(names))
    out: dict[str, bool] = {}
    for row in reversed(list(rows)):
        for name, info in (row.get("metric_info") or {}).items():
            if name in names and name not in out and isinstance(info, Mapping) \
                    and isinstance(info.get("greater_is_better"), bool):
                out[name] = info["greater_is_better"]
    rest = [name for name in names if name not in out]
    if rest:
        out.update(_installed_directions(rest))
    return {name: out[name] for name in names}


def _installed_directions(names: list[str]) -> dict[str, bool]:
    out = {name: KNOWN_DIRECTIONS.get(name, False) for name in names}
    try:
        from benchmark.registry import build_registry

        registry = build_registry()
    except Exception:  # noqa: BLE001 -- the registry is not needed to read results
        return out
    for name in names:
        try:
            out[name] = bool(registry.get("metric", name).spec.greater_is_better)
        except Exception:  # noqa: BLE001 -- not installed here: keep the table's answer
            pass
    return out
