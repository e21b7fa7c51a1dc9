"""Results as data: the cells of one or more run directories as one flat table.

>>> from benchmark import results
>>> frame = results.load("results/surprise-ml100k")            # or load(dir_a, dir_b, ...)
>>> frame.groupby(["dataset", "model"])["metric.rmse"].mean()

:func:`load` returns a :class:`pandas.DataFrame` with **one row per cell** (the latest stored
result of each ``cell_id`` of each run; a failed cell is a row too, with its ``status`` and
``error``). Columns:

* ``run`` — the run directory's name; ``run_dir`` — its path; ``run_id`` (absent in old runs);
* identity — ``suite``, ``task``, ``dataset`` (label), ``dataset_plugin``, ``dataset_checksum``,
  ``split`` (method), ``split_fingerprint`` (of the cell's fold), ``fold``, ``fold_name``, ``seed``,
  ``model`` (label), ``model_plugin``, ``config_id``, ``cell_id``;
* ``params`` — the configuration's parameters as sorted JSON, without the suite-seed-driven
  ``random_state``/``seed`` (a parameter set explicitly in the suite stays);
* ``status``, ``error``;
* one column per metric, named ``metric.<name>`` (``metric.rmse``, ``metric.fcp``...), so that a
  metric can never collide with an identity column; NaN where the cell has no such value;
* ``fit_seconds``, ``predict_seconds``, ``fit_cpu_seconds``, ``peak_rss_mb``;
* ``plugin``, ``plugin_version`` — the model plugin and its version; ``started_at``, ``finished_at``.

``config_id`` is the configuration's identity *without the seed* (model plugin, task and every
resolved parameter, defaults included). Rows stored before that meaning (no ``config`` field,
where ``config_id`` included the seed) get it recomputed from ``model_plugin``, ``task`` and
``params`` without ``random_state``/``seed``, so old and new runs join on it.

The lower-level helpers (:func:`read_run`, :func:`configuration_id`, :func:`primary_metrics`,
:func:`directions`) are what ``bench leaderboard``, ``bench compare`` and ``bench report`` use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.cells import configuration_id, shown_params
from benchmark.errors import BenchError
from benchmark.store import CELLS, read_rows

if TYPE_CHECKING:
    import pandas

METRIC_PREFIX = "metric."
# Metric directions when the metric's plugin is not installed here (True: greater is better).
KNOWN_DIRECTIONS = {"rmse": False, "mae": False, "mse": False, "bce": False, "fcp": True,
                    "precision": True, "recall": True, "ndcg": True, "map": True, "mrr": True,
                    "hit_rate": True, "auc": True, "accuracy": True, "r2": True}
DEFAULT_PRIMARY = {"rating": "rmse", "reconstruction": "mse"}
IDENTITY = ["run", "run_id", "suite", "task", "dataset", "dataset_plugin", "dataset_checksum", "split",
            "split_fingerprint", "fold", "fold_name", "seed", "model", "model_plugin", "config_id",
            "cell_id", "params", "status", "error"]
RESOURCES = ["fit_seconds", "predict_seconds", "fit_cpu_seconds", "peak_rss_mb"]


@dataclass
class Run:
    """One run directory, read: its rows (latest per cell), suite text and environment."""

    directory: Path
    rows: list[dict[str, Any]]
    suite_text: str = ""
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.directory.resolve().name

    @property
    def run_ids(self) -> list[str]:
        return sorted({row["run_id"] for row in self.rows if row.get("run_id")})

    def suite_metrics(self) -> list[str]:
        """The ``metrics:`` list of the run's suite.yaml (empty when it cannot be read)."""
        if not self.suite_text:
            return []
        try:
            import yaml

            data = yaml.safe_load(self.suite_text)
        except Exception:
            return []
        metrics = data.get("metrics") if isinstance(data, dict) else None
        if isinstance(metrics, Mapping):  # {task: [names]}
            return [str(m) for names in metrics.values() for m in (names or [])]
        return [str(m) for m in metrics] if isinstance(metrics, list) else []


def read_run(directory: str | Path) -> Run:
    """Read a run directory; each row gets ``run``, ``run_dir`` and ``config_id`` (seed excluded)."""
    path = Path(directory)
    if not path.is_dir():
        raise BenchError("no such results directory" if not path.exists() else "not a directory",
                         str(directory))
    if not (path / CELLS).exists():
        raise BenchError(f"not a results directory: no {CELLS} in it", str(directory))
    latest: dict[str, dict[str, Any]] = {}
    for row in read_rows(path / CELLS):
        if "cell_id" in row:
            latest.pop(row["cell_id"], None)  # keep the order of the latest write
            latest[row["cell_id"]] = row
    name = path.resolve().name
    rows = []
    for row in latest.values():
        row = dict(row)
        row["config_id"] = configuration_id(row)
        row["run"], row["run_dir"] = name, str(path)
        rows.append(row)
    suite_text = (path / "suite.yaml").read_text(encoding="utf-8") if (path / "suite.yaml").exists() else ""
    environment: dict[str, Any] = {}
    if (path / "environment.json").exists():
        try:
            environment = json.loads((path / "environment.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            environment = {}
    return Run(path, rows, suite_text, environment)


def read_runs(directories: Iterable[str | Path]) -> list[Run]:
    runs = [read_run(d) for d in directories]
    names = [run.name for run in runs]
    for run in runs:  # two directories with the same name: tell them apart by their path
        if names.count(run.name) > 1:
            for row in run.rows:
                row["run"] = str(run.directory)
    return runs


def primary_metrics(runs: Sequence[Run], rows: Iterable[Mapping[str, Any]] | None = None) -> dict[str, str]:
    """Per task, the metric that ranks it: the first metric of the suite's list that the task's
    cells have (the suites' order, first run first), else rmse/mse, else the first one seen."""
    seen: dict[str, list[str]] = {}
    for row in rows if rows is not None else (r for run in runs for r in run.rows):
        names = seen.setdefault(row.get("task", ""), [])
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
        names = out.setdefault(row.get("task", ""), [])
        for name in row.get("metrics") or {}:
            if name not in names:
                names.append(name)
    for task, names in out.items():
        names.sort(key=lambda m: (m != primary.get(task), order.index(m) if m in order else len(order)))
    return out


def directions(names: Iterable[str]) -> dict[str, bool]:
    """``{metric: greater_is_better}`` from the installed metric plugins, else a built-in table
    (unknown metrics: lower is better)."""
    names = list(dict.fromkeys(names))
    out = {name: KNOWN_DIRECTIONS.get(name, False) for name in names}
    try:
        from benchmark.registry import build_registry

        registry = build_registry()
    except Exception:  # the registry is not needed to read results
        return out
    for name in names:
        try:
            out[name] = bool(registry.get("metric", name).spec.greater_is_better)
        except Exception:
            pass
    return out


def flat(row: Mapping[str, Any]) -> dict[str, Any]:
    """One cell row as a flat record (the columns of :func:`load`)."""
    record: dict[str, Any] = {name: row.get(name) for name in IDENTITY}
    record["config_id"] = configuration_id(row)
    record["run"] = row.get("run")
    record["params"] = json.dumps(shown_params(row), sort_keys=True, default=str)
    for name, value in (row.get("metrics") or {}).items():
        record[METRIC_PREFIX + name] = value
    for name in RESOURCES:
        record[name] = row.get(name)
    plugin = row.get("plugin") or {}
    record["plugin"] = plugin.get("name")
    record["plugin_version"] = plugin.get("version")
    record["started_at"], record["finished_at"] = row.get("started_at"), row.get("finished_at")
    record["run_dir"] = row.get("run_dir")
    return record


def load(*run_dirs: str | Path | Sequence[str | Path]) -> pandas.DataFrame:
    """One flat row per cell of the given run directories (see the module docstring).

    ``load("results/a")``, ``load("results/a", "results/b")`` and ``load(["results/a", ...])``
    all work. Metric columns are ``metric.<name>``. Raises :class:`BenchError` for a directory
    that is not a results directory.
    """
    import pandas

    directories: list[str | Path] = []
    for item in run_dirs:
        directories.extend([item] if isinstance(item, (str, Path)) else list(item))
    if not directories:
        raise BenchError("no results directory given")
    records = [flat(row) for run in read_runs(directories) for row in run.rows]
    frame = pandas.DataFrame.from_records(records)
    if frame.empty:
        return pandas.DataFrame(columns=IDENTITY + RESOURCES)
    metric_columns = sorted(c for c in frame.columns if c.startswith(METRIC_PREFIX))
    rest = [c for c in frame.columns if c not in IDENTITY and c not in metric_columns]
    return frame[IDENTITY + metric_columns + rest]
