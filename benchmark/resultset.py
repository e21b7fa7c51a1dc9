"""The typed result set: every reader of results gets its records from here.

``bench leaderboard``, ``bench compare``, ``bench results``, ``bench report`` and
:func:`benchmark.results.load` used to read ``cells.jsonl`` on their own, each with its own idea
of which row of a cell is current, which metric direction applies and what makes two rows the
same experiment; merged runs double counted and a local plugin's higher-is-better metric was
ranked backwards. This module is the one place for those decisions:

* **one loader** — :func:`load` reads one or more run directories. Each row is checked against
  one schema (:func:`check`); an invalid row (a ``fold`` that is not an integer, ``metrics``
  that is not a mapping, a ``fit_seconds`` of ``"abc"``...) is *set aside* with one warning
  naming its file and line, never a traceback in a reader (the schema is the record's,
  :func:`benchmark.record.check`; ``resultset.check`` is the same function). A valid row is brought to the current
  format by :func:`benchmark.record.migrate` and read as a typed :class:`StoredResult` (a
  :class:`~benchmark.record.CellResult` that knows where it was read: ``run``, ``run_dir``,
  ``line``, and its :class:`Experiment`). A non-finite metric value is moved to the record's
  ``metric_errors`` ("non-finite value nan") and never averaged. ``suite.yaml`` is read with
  :mod:`benchmark.yamlsafe` and ``environment.json`` with a size-limited, UTF-8-only JSON read;
  anything wrong there is a warning and an empty value;
* **one experiment identity** — :class:`Experiment`: dataset checksum, split method and
  parameters, fold index and fingerprint, configuration (``config_id``, seed excluded) and
  seed. The metric list is *not* part of it, so two suites that stored the same folds with
  different metric lists are one experiment (``cell_id`` still includes the metrics: it is the
  runner's reuse key);
* **one "latest" policy** — :func:`latest`: per experiment, the row that finished last wins
  (on a tie, the later run given, then the later line); metrics it lacks are filled from older
  successful rows of the same experiment *computed by the same code* (``code_id``), so merging a
  ``[rmse]`` run with an ``[rmse, mae]`` run of the same folds yields one row with both;
* **directions and the primary metric come from the rows** — a row carries each metric's
  ``metric_info: {name: {"greater_is_better": ...}}`` and its task's ``primary_metric``
  (:meth:`ResultSet.directions`, :func:`primary_metrics`). The installed plugins are asked only
  by the migration of rows written before the rows said so (:func:`benchmark.record.migrate`
  with what this reader knows, :class:`_Installed`); a metric of such a row whose plugin is not
  installed here is taken as lower is better, and the run's warnings say so;
* **tuning trials are not results** — a ``tune:`` block stores every trial as a cell scored on
  an *inner* split of an outer training fold (:mod:`benchmark.tuning`); ranking or pairing them
  beside the refits would be the test-set selection tuning exists to avoid, and a 20-trial
  search would add 20 lines of "different split". :func:`read_run` keeps them apart:
  :attr:`Run.rows` has every row but the trials (what leaderboard, compare and results read),
  :attr:`Run.trials` the trials (what ``bench report`` draws each search from and
  ``bench results --trials`` lists);
* **which stored rows belong to a run's suite** — :meth:`ResultSet.in_suite`
  (:mod:`benchmark.scoping`): exactly what the runner planned when it recorded it, else what
  the stored suite, read by the suite's own parser (:func:`benchmark.suite.read_suite`), gives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from benchmark.errors import BenchError
from benchmark.files import open_read, read_stored_json
from benchmark.numbers import metric_problem
from benchmark.record import (CellResult, Legacy, Refit, Trial, check, configuration_id, migrate,
                              tuning_from_mapping)
from benchmark.scoping import PLANNED as PLANNED
from benchmark.scoping import InSuite, scope
from benchmark.store import numbered_lines, parse_line

if TYPE_CHECKING:
    from benchmark.registry import Registry

CELLS = "cells.jsonl"
SUITE = "suite.yaml"
ENVIRONMENT = "environment.json"
PRIMARY_METRICS = "primary_metrics"
"""Key of ``environment.json`` under which the runner records its suite's primary metric per
task (``{task: metric}``): a suite that only reorders its ``metrics:`` list reuses every stored
row, whose ``primary_metric`` names the old first metric; the run's record says the new one."""
MAX_ENVIRONMENT_BYTES = 10_000_000
_SHOWN = 10  # invalid rows named one by one per run; the rest are counted


# --- Stored results ----------------------------------------------------------------------------


@dataclass
class StoredResult(CellResult):
    """A stored result as readers get it: the typed record of a row (migrated to the current
    format, checked, normalised: ``config_id`` without the seed, non-finite metrics moved to
    ``metric_errors``), where it was read (``run``: the run directory's name, or its path when
    two runs share a name; ``run_dir``; ``line`` of ``cells.jsonl``, 0 when it was not read from
    a file) and its :attr:`experiment`, computed once."""

    run: str = ""
    run_dir: str = ""
    line: int = 0
    experiment: Experiment = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.experiment = Experiment.of(self)


def normalise(row: Mapping[str, Any], legacy: Legacy | None = None, where: tuple[str, str, int] = ("", "", 0)
              ) -> StoredResult:
    """A checked row (:func:`check`) as a :class:`StoredResult`: migrated to the current format
    (``legacy``: what this reader knows that an old row does not say), ``config_id`` without the
    seed (recomputed for old rows), non-finite, ``null`` or too large metric values
    (:func:`benchmark.numbers.metric_problem`) moved to
    ``metric_errors``; ``where`` is ``(run, run_dir, line)``."""
    current = migrate(row, legacy)
    current["config_id"] = configuration_id(row)
    metrics = dict(current.get("metrics") or {})
    errors = dict(current.get("metric_errors") or {})
    for name, value in list(metrics.items()):
        problem = f"non-finite value {value}" if value is None else metric_problem(float(value))
        if problem:
            del metrics[name]
            errors.setdefault(name, problem)
    current["metrics"], current["metric_errors"] = metrics, errors
    base = CellResult.from_stored(current)
    values = {name: getattr(base, name) for name in CellResult.STORED}
    return StoredResult(**values, run=where[0], run_dir=where[1], line=where[2])


def record(row: StoredResult | Mapping[str, Any], legacy: Legacy | None = None) -> StoredResult | None:
    """``row`` as a :class:`StoredResult` (``None`` when it fails :func:`check`): a stored
    result is returned as it is."""
    if isinstance(row, StoredResult):
        return row
    return None if check(row) is not None else normalise(row, legacy)


def _readable(rows: Iterable[StoredResult | Mapping[str, Any]], on_invalid: Invalid | None,
              legacy: Callable[[], Legacy | None]) -> Iterator[tuple[int, StoredResult]]:
    """``(index, result)`` of each row that can be read: a :class:`StoredResult` as it is, a
    plain row checked (:func:`check`; one that fails is skipped and ``on_invalid(index, row,
    why)`` told) and normalised with ``legacy()``, asked once, at the first plain row."""
    known: list[Legacy | None] = []
    for index, raw in enumerate(rows):
        if isinstance(raw, StoredResult):
            yield index, raw
            continue
        why = check(raw)
        if why is not None:
            if on_invalid is not None:
                on_invalid(index, raw, why)
            continue
        if not known:
            known.append(legacy())
        yield index, normalise(raw, known[0])


def _installed_legacy() -> Legacy:
    return _Installed().legacy()


class _Installed:
    """What the installed plugins say of a metric's direction and a task's primary metric: asked
    only while migrating rows older than the current format (:class:`~benchmark.record.Legacy`);
    the registry is built on the first question and its answers kept."""

    def __init__(self) -> None:
        self._registry: Registry | None = None
        self._tried = False
        self._directions: dict[str, bool | None] = {}

    def _get(self) -> Registry | None:
        if not self._tried:
            self._tried = True
            try:
                from benchmark.registry import build_registry  # the plugins (and pandas): old rows only

                self._registry = build_registry()
            except Exception:  # noqa: BLE001 -- the registry is not needed to read results
                self._registry = None
        return self._registry

    def direction(self, name: str) -> bool | None:
        if name not in self._directions:
            registry = self._get()
            try:
                found = bool(registry.get("metric", name).spec.greater_is_better) if registry else None
            except Exception:  # noqa: BLE001 -- not installed here
                found = None
            self._directions[name] = found
        return self._directions[name]

    def primary(self, task: str) -> str | None:
        registry = self._get()
        try:
            return (registry.task(task).primary or None) if registry else None
        except Exception:  # noqa: BLE001 -- not installed here
            return None

    def legacy(self, suite_metrics: Sequence[str] = ()) -> Legacy:
        return Legacy(tuple(suite_metrics), self.direction, self.primary)


def _guessed_warning(cells: Path | str, guessed: Iterable[str]) -> str:
    names = ", ".join(sorted(guessed))
    return (f"{cells}: rows written before metric directions were stored name {names}, whose "
            f"plugin is not installed here: taken as lower is better")


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
    def of(cls, row: CellResult | Mapping[str, Any]) -> Experiment:
        if isinstance(row, CellResult):
            return cls(str(row.dataset_checksum or row.dataset or ""), str(row.split or ""),
                       _canonical(row.split_params), int(row.fold or 0), str(row.split_fingerprint or ""),
                       str(row.config_id or configuration_id(row.to_row())), int(row.seed or 0),
                       _canonical(row.task_options))
        return cls(str(row.get("dataset_checksum") or row.get("dataset") or ""), str(row.get("split") or ""),
                   _canonical(row.get("split_params")), int(row.get("fold") or 0),
                   str(row.get("split_fingerprint") or ""), str(row.get("config_id") or configuration_id(row)),
                   int(row.get("seed") or 0), _canonical(row.get("task_options")))


def _canonical(value: Any) -> str:
    return json.dumps(value or {}, sort_keys=True, default=str)


Invalid = Callable[[int, Mapping[str, Any], str], None]
"""``on_invalid(index, row, why)``: told of a row set aside."""


def latest(rows: Iterable[StoredResult | Mapping[str, Any]], on_invalid: Invalid | None = None,
           legacy: Legacy | None = None) -> list[StoredResult]:
    """One result per :class:`Experiment`, in the order of each experiment's winning row.

    The winner is the row that finished last (``finished_at``); on a tie the one given later.
    Metrics the winner lacks are taken from older ``ok`` rows of the same experiment with the same
    ``code_id``. Plain rows are checked (:func:`check`: those that fail are skipped and
    ``on_invalid(index, row, why)`` is told) and read as :class:`StoredResult` (:func:`normalise`,
    old ones migrated with ``legacy``, by default what the installed plugins say).
    """
    best: dict[Experiment, tuple[tuple[str, int], StoredResult]] = {}
    others: dict[Experiment, list[tuple[tuple[str, int], StoredResult]]] = {}
    for index, row in _readable(rows, on_invalid, (lambda: legacy) if legacy is not None else _installed_legacy):
        key = row.experiment
        order = (str(row.finished_at or ""), index)
        others.setdefault(key, []).append((order, row))
        if key not in best or order >= best[key][0]:
            best[key] = (order, row)
    out: list[StoredResult] = []
    for key, (_, winner) in sorted(best.items(), key=lambda item: item[1][0][1]):
        if winner.status == "ok" and len(others[key]) > 1:
            winner = _fill_metrics(winner, [r for _, r in sorted(others[key], key=lambda x: x[0], reverse=True)])
        out.append(winner)
    return out


def _fill_metrics(row: StoredResult, older: list[StoredResult]) -> StoredResult:
    metrics, info = dict(row.metrics), dict(row.metric_info)
    for other in older:
        if other is row or other.status != "ok" or other.code_id != row.code_id:
            continue
        for name, value in other.metrics.items():
            if name not in metrics and name not in row.metric_errors:
                metrics[name] = value
                if name in other.metric_info:
                    info.setdefault(name, other.metric_info[name])
    if len(metrics) == len(row.metrics):
        return row
    return replace(row, metrics=metrics, metric_info=info)


# --- Tuning rows: which are trials, how a refit was tuned --------------------------------------
# Here, not in benchmark.tuning (numpy, the split plugins): every reader asks "is this a trial?"
# and should not load the tuning machinery to answer.


class _Tuned(Protocol):
    @property
    def tuning(self) -> Trial | Refit | None: ...


def tuning_of(record: _Tuned | Mapping[str, Any]) -> Trial | Refit | None:
    """The typed tuning information of a record, a cell or a stored row (``None``: not tuned)."""
    if isinstance(record, Mapping):
        return tuning_from_mapping(record.get("tuning"))
    return tuning_from_mapping(getattr(record, "tuning", None))


def is_trial(record: _Tuned | Mapping[str, Any]) -> bool:
    """A tuning trial: stored and reused like any cell, but never a leaderboard line."""
    return isinstance(tuning_of(record), Trial)


def is_refit(record: _Tuned | Mapping[str, Any]) -> bool:
    """A tuned configuration's result on an outer fold: the chosen point refitted on the whole
    training fold and scored on its test fold (its ``tuning`` says how it was chosen)."""
    return isinstance(tuning_of(record), Refit)


def _inner_text(inner: Mapping[str, Any]) -> str:
    method = inner.get("method", "?")
    if method == "kfold":
        return f"inner {inner.get('k', 5)}-fold"
    if "test_size" in inner:
        return f"inner {method} {float(inner['test_size']) * 100:g} %"
    if method == "leave-n-out":
        return f"inner leave-{inner.get('n', 1)}-out"
    return f"inner {method}"


@dataclass
class SearchCount:
    """The searches a tuned line aggregates -- one per outer fold and seed, each with its own
    trials -- counted together: how many searches, their trials and their failed trials."""

    searches: int = 0
    trials: int = 0
    failed: int = 0

    def add(self, record: _Tuned | Mapping[str, Any]) -> None:
        """Count ``record``'s search if it is a refit (anything else counts nothing)."""
        tuning = tuning_of(record)
        if isinstance(tuning, Refit):
            self.searches += 1
            self.trials += tuning.trials or 0
            self.failed += tuning.failed_trials or 0


def tuning_note(record: _Tuned | Mapping[str, Any], searches: SearchCount | None = None) -> str:
    """``tuned: 20 trials, random, inner holdout 10 %`` for a refit (the leaderboard's mark of a
    tuned line; ``20 trials (3 failed)`` when some of its trials failed); ``""`` for anything else.

    ``searches``: every search of the line the refit belongs to (:class:`SearchCount`); over
    several, the failed trials are theirs together, ``20 trials (3 of 100 failed)`` over five
    searches, not only the given refit's (short: a compact table cuts the column at 48 characters)."""
    tuning = tuning_of(record)
    if not isinstance(tuning, Refit):
        return ""
    trials = tuning.trials if tuning.trials is not None else 0
    if searches is not None and searches.searches > 1:
        failed = f" ({searches.failed} of {searches.trials} failed)" if searches.failed else ""
    else:
        failed = f" ({tuning.failed_trials} failed)" if tuning.failed_trials else ""
    return (f"tuned: {trials} trial{'s' if trials != 1 else ''}{failed}, {tuning.search}, "
            f"{_inner_text(tuning.inner or {})}")


# --- Reading run directories -------------------------------------------------------------------


@dataclass
class Run:
    """One run directory, read: its results (latest per experiment), suite and environment.

    ``rows`` are the results (trials of a ``tune:`` search left out); ``trials`` the trial
    results, latest per cell too (see the module docstring). ``suite_data`` is the stored
    ``suite.yaml`` as data (``None`` when it is missing or unreadable).
    """

    directory: Path
    rows: list[StoredResult]
    environment: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    suite_data: Any = None
    trials: list[StoredResult] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.directory.resolve().name

    @property
    def run_ids(self) -> list[str]:
        return sorted({row.run_id for row in self.rows if row.run_id})

    def suite_metrics(self) -> list[str]:
        """The ``metrics:`` list of the run's suite.yaml (empty when it cannot be read): the
        order of a table's metric columns after the primary one."""
        return suite_metrics(self.suite_data)

    def primary_metrics(self) -> dict[str, str]:
        """The primary metric per task that the run's latest runner recorded
        (:data:`PRIMARY_METRICS`; empty for a run of a bench that did not record it)."""
        recorded = self.environment.get(PRIMARY_METRICS)
        if not isinstance(recorded, Mapping):
            return {}
        return {str(task): name for task, name in recorded.items() if isinstance(name, str) and name}


def suite_metrics(data: Any) -> list[str]:
    """The ``metrics:`` list of a stored suite's data (a ``{task: [names]}`` mapping flattened)."""
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if isinstance(metrics, Mapping):  # {task: [names]}
        return [str(m) for names in metrics.values() if isinstance(names, list) for m in names]
    return [str(m) for m in metrics] if isinstance(metrics, list) else []


def read_run(directory: str | Path) -> Run:
    """Read one run directory (see the module docstring); :class:`BenchError` when it is not one."""
    path = Path(directory)
    if not path.is_dir():
        raise BenchError("no such results directory" if not path.exists() else "not a directory",
                         str(directory))
    cells = path / CELLS
    if not cells.exists():
        raise BenchError(f"not a results directory: no {CELLS} in it", str(directory))
    warnings: list[str] = []
    suite_data = _read_suite(path / SUITE, warnings)
    legacy = _Installed().legacy(suite_metrics(suite_data))
    where = (path.resolve().name, str(path))
    results: list[StoredResult] = []
    trials: list[StoredResult] = []
    bad: list[tuple[int, str]] = []  # (line, why)
    for number, row, why in _stored_rows(cells):
        why = why if why is not None else check(row)
        if why is not None:
            if why != _TORN:  # a torn last line is the store's to repair
                bad.append((number, why))
            continue
        stored = normalise(row, legacy, (*where, number))
        (trials if is_trial(stored) else results).append(stored)  # trials apart: see the module docstring
    rows = latest(results)
    trials = latest_trials(trials)
    if bad:
        bad.sort()
        shown = "; ".join(f"line {number}: {why}" for number, why in bad[:_SHOWN]) + \
            (f"; and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else "")
        warnings.append(f"{cells}: {len(bad)} row{'s' if len(bad) > 1 else ''} set aside ({shown})")
    non_finite = sum(1 for row in rows for why in row.metric_errors.values()
                     if str(why).startswith("non-finite value"))
    if non_finite:
        warnings.append(f"{cells}: {non_finite} non-finite metric value(s) counted as metric errors, "
                        "not averaged")
    if legacy.guessed:
        warnings.append(_guessed_warning(cells, legacy.guessed))
    environment = _read_environment(path / ENVIRONMENT, warnings)
    return Run(path, rows, environment, warnings, suite_data, trials)


_TORN = "torn (no newline)"


def _stored_rows(cells: Path) -> list[tuple[int, Any, str | None]]:
    """``(line, row, None)`` for each line of ``cells.jsonl`` the store reads as a row, else
    ``(line, None, why)``; an empty torn last line is left out."""
    out: list[tuple[int, Any, str | None]] = []
    try:
        with open_read(cells) as handle:  # a link or a FIFO there: one BenchError line
            for number, data in numbered_lines(handle):
                row, why = parse_line(data)
                if row is None and why == _TORN and not data.strip():
                    continue
                out.append((number, row, why))
    except OSError as exc:
        raise BenchError(f"cannot read the stored cells: {exc.strerror or exc}", str(cells)) from None
    return out


def latest_trials(rows: Iterable[StoredResult | Mapping[str, Any]], on_invalid: Invalid | None = None
                  ) -> list[StoredResult]:
    """The trial results: one per ``cell_id`` (the last given wins); plain rows are checked and
    read as :func:`latest` reads them.

    Not one per :class:`Experiment` as :func:`latest` keeps results: a refit names its trials by
    cell id (``tuning.trial_cell_ids``), and two searches may store the same experiment (one model
    tuned twice, for two objectives) as two trials that each belong to their own search."""
    out: dict[str, StoredResult] = {}
    for _, row in _readable(rows, on_invalid, lambda: None):
        out.pop(row.cell_id, None)
        out[row.cell_id] = row
    return list(out.values())


def _read_suite(path: Path, warnings: list[str]) -> Any:
    """The stored suite through the hardened suite reader (limits on size, depth, aliases)."""
    from benchmark.yamlsafe import read_stored_yaml  # YAML: workers import this module (tuning), never read a suite

    data, warning = read_stored_yaml(path)
    if warning:
        warnings.append(warning)
    return data


def _read_environment(path: Path, warnings: list[str]) -> dict[str, Any]:
    """``environment.json``: a regular UTF-8 file of at most 10 MB holding a JSON object."""
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
                row.run = str(run.directory)
    return runs


# --- The set -----------------------------------------------------------------------------------


@dataclass
class ResultSet:
    """The results of one or more runs merged: one per experiment (:func:`latest` across runs);
    ``trials`` the tuning trials merged the same way (not results: see the module docstring)."""

    runs: list[Run]
    rows: list[StoredResult]
    trials: list[StoredResult] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for run in self.runs for w in run.warnings]

    def cells(self) -> list[CellResult]:
        """The results as typed records (each a :class:`StoredResult`)."""
        return list(self.rows)

    def directions(self, names: Iterable[str]) -> dict[str, bool]:
        return directions(names, self.rows)

    def primary_metrics(self, rows: Iterable[StoredResult] | None = None) -> dict[str, str]:
        return primary_metrics(self.runs, rows)

    def metrics_by_task(self, rows: Iterable[StoredResult] | None = None) -> dict[str, list[str]]:
        return metrics_by_task(self.runs, self.rows if rows is None else rows)

    def in_suite(self, rows: Iterable[StoredResult] | None = None) -> InSuite:
        """The results (``rows``, by default all of them) that belong to their run's current
        suite, and the (dataset, configuration) of those that do not
        (:func:`benchmark.scoping.in_suite`)."""
        return scope(self.runs, self.rows if rows is None else rows)


def load(directories: Sequence[str | Path]) -> ResultSet:
    """Read the run directories and merge them, one result per experiment (the latest)."""
    if not directories:
        raise BenchError("no results directory given")
    runs = read_runs(directories)
    if len(runs) == 1:  # read_run already kept one row per experiment (and one trial per cell)
        return ResultSet(runs, list(runs[0].rows), list(runs[0].trials))
    merged = latest(row for run in runs for row in run.rows)
    trials = latest_trials(row for run in runs for row in run.trials)
    return ResultSet(runs, merged, trials)


def cell(row: CellResult | Mapping[str, Any]) -> CellResult:
    """The typed result of a stored row; fields an old row lacks get empty values."""
    return row if isinstance(row, CellResult) else CellResult.from_stored(row)


# --- Metrics: which, which first, which direction ----------------------------------------------


def _records(rows: Iterable[StoredResult | Mapping[str, Any]]) -> list[StoredResult]:
    """Rows as stored results (plain rows read as :func:`latest` reads them; invalid ones left out)."""
    out: list[StoredResult] = []
    known: Legacy | None = None
    for row in rows:
        if not isinstance(row, StoredResult):
            if check(row) is not None:
                continue
            known = known if known is not None else _Installed().legacy()
            row = normalise(row, known)
        out.append(row)
    return out


def primary_metrics(runs: Sequence[Run], rows: Iterable[StoredResult | Mapping[str, Any]] | None = None
                    ) -> dict[str, str]:
    """Per task, the metric that ranks it: of the metrics the task's results have values of
    (``rows``, by default the runs' results), the one the runs' runners recorded for their
    suites (:meth:`Run.primary_metrics`, first run first), else the one the results say
    (``primary_metric``: the first of their suite's list for the task; first run first and, in a
    run, the latest finished first); else the first metric seen.

    The run's record comes first because a stored row keeps the primary metric of the suite
    that computed it: a suite that only reorders its ``metrics:`` list reuses every row, and
    ranks by its new first metric, as its run's own leaderboard does."""
    given = _records(rows if rows is not None else (r for run in runs for r in run.rows))
    seen: dict[str, list[str]] = {}
    for row in given:
        names = seen.setdefault(str(row.task or ""), [])
        names += [name for name in row.metrics if name not in names]
    said: dict[str, list[str]] = {}
    for run in runs:
        for task, name in run.primary_metrics().items():
            said.setdefault(task, []).append(name)
    sources = [run.rows for run in runs] or [given]
    for results in sources:
        for row in sorted(results, key=lambda r: str(r.finished_at or ""), reverse=True):
            if row.primary_metric:
                said.setdefault(str(row.task or ""), []).append(row.primary_metric)
    primary = {}
    for task, names in seen.items():
        choice = next((m for m in said.get(task, ()) if m in names), names[0] if names else None)
        if choice:
            primary[task] = choice
    return primary


def metrics_by_task(runs: Sequence[Run], rows: Iterable[StoredResult | Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per task, its metrics: the primary one first, then the rest in the suites' order."""
    given = _records(rows)
    primary = primary_metrics(runs, given)
    order = [m for run in runs for m in run.suite_metrics()]
    out: dict[str, list[str]] = {}
    for row in given:
        names = out.setdefault(str(row.task or ""), [])
        names += [name for name in row.metrics if name not in names]
    for task, names in out.items():
        names.sort(key=lambda m: (m != primary.get(task), order.index(m) if m in order else len(order)))
    return out


def directions(names: Iterable[str], rows: Iterable[StoredResult | Mapping[str, Any]] = ()) -> dict[str, bool]:
    """``{metric: greater_is_better}`` as the results say (``metric_info``; the latest result
    that says it); a metric none says is taken as lower is better."""
    wanted = list(dict.fromkeys(names))
    out: dict[str, bool] = {}
    for row in reversed(_records(rows)):
        for name, info in row.metric_info.items():
            if name in wanted and name not in out and isinstance(info, Mapping) \
                    and isinstance(info.get("greater_is_better"), bool):
                out[name] = info["greater_is_better"]
    return {name: out.get(name, False) for name in wanted}
