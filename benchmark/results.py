"""Results as data: the cells of one or more run directories as one flat table.

>>> from benchmark import results
>>> frame = results.load("results/surprise-ml100k")            # or load(dir_a, dir_b, ...)
>>> frame.groupby(["dataset", "model"])["metric.rmse"].mean()

:func:`load` returns a :class:`pandas.DataFrame` with **one row per experiment** of the runs
given together (:mod:`benchmark.resultset`: the same data, fold, configuration and seed stored by
two runs — even with different metric lists — is one row, the latest, with the metrics of both
when the same code computed them; a failed cell is a row too, with its ``status`` and ``error``).
Rows that are not valid results are set aside with a :class:`ResultWarning` naming the file and
line; a non-finite metric value is left out (NaN in its column) and listed in the warning.
Load runs one at a time (``load(a)``, ``load(b)``) to keep two versions of one experiment apart.
Columns:

* ``run`` — the run directory's name; ``run_dir`` — its path; ``run_id`` (absent in old runs);
* identity — ``suite``, ``task``, ``dataset`` (label), ``dataset_plugin``, ``dataset_checksum``,
  ``split`` (method), ``split_fingerprint`` (of the cell's fold), ``fold``, ``fold_name``, ``seed``,
  ``model`` (label), ``model_plugin``, ``config_id``, ``cell_id``;
* ``params`` — the configuration's parameters as sorted JSON, without the suite-seed-driven
  ``random_state``/``seed`` (a parameter set explicitly in the suite stays);
* ``tuning`` — ``refit`` for a tuned model's cell (a ``tune:`` block: the point its search chose
  on the outer fold, refit on the whole training fold), ``trial`` for a trial of that search
  (only with ``trials=True``), empty otherwise; ``chosen`` — for a refit, the parameters the
  search chose on that outer fold as sorted JSON (the ``params`` column of a refit shows the
  procedure, the same on every fold). A trial's ``fold`` is its *outer* fold; its ``fold_name``
  says which trial and inner fold (``fold 2/5 trial 7``) and its metric is scored on the inner
  split, so trials are not results to rank beside the others;
* ``status``, ``error``;
* one column per metric, named ``metric.<name>`` (``metric.rmse``, ``metric.fcp``...), so that a
  metric can never collide with an identity column; NaN where the cell has no such value;
* ``task_options`` — the task's options as sorted JSON (a ranking cell's ``threshold`` and
  ``negatives``); ``n_train``, ``n_test`` — the fold's sizes; one column per count the task
  recorded, ``count.<name>`` (a ranking cell's ``count.n_users_evaluated``,
  ``count.n_users_no_relevant``...);
* ``fit_seconds``, ``predict_seconds``, ``fit_cpu_seconds``, ``peak_rss_mb``;
* ``plugin``, ``plugin_version`` — the model plugin and its version; ``started_at``, ``finished_at``.

``config_id`` is the configuration's identity *without the seed* (model plugin, task and every
resolved parameter, defaults included). Rows stored before that meaning (no ``config`` field,
where ``config_id`` included the seed) get it recomputed from ``model_plugin``, ``task`` and
``params`` without ``random_state``/``seed``, so old and new runs join on it.

The loader itself, the experiment identity, the "latest" policy and metric directions live in
:mod:`benchmark.resultset` (re-exported here for older code: :func:`read_run`,
:func:`primary_metrics`, :func:`directions`...).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import BenchError
from benchmark.record import Refit, configuration_id, shown_params
from benchmark.resultset import (Run, StoredResult, directions, metrics_by_task, primary_metrics, read_run,
                                 read_runs)

if TYPE_CHECKING:
    import pandas

__all__ = ["Run", "configuration_id", "directions", "flat", "load",
           "metrics_by_task", "primary_metrics", "read_run", "read_runs", "shown_params"]

METRIC_PREFIX = "metric."
COUNT_PREFIX = "count."
IDENTITY = ["run", "run_id", "suite", "task", "dataset", "dataset_plugin", "dataset_checksum", "split",
            "split_fingerprint", "fold", "fold_name", "seed", "model", "model_plugin", "config_id",
            "cell_id", "params", "tuning", "chosen", "status", "error"]
RESOURCES = ["fit_seconds", "predict_seconds", "fit_cpu_seconds", "peak_rss_mb"]


def flat(row: StoredResult) -> dict[str, Any]:
    """One result of a result set (normalised by :mod:`benchmark.resultset`: its ``config_id``
    leaves the seed out) as a flat record (the columns of :func:`load`)."""
    record: dict[str, Any] = {name: getattr(row, name, None) for name in IDENTITY}
    record["params"] = json.dumps(shown_params(row.to_row()), sort_keys=True, default=str)
    tuning = row.tuning
    record["tuning"] = tuning.role if tuning is not None else None
    chosen = tuning.chosen if isinstance(tuning, Refit) else None
    record["chosen"] = json.dumps(chosen, sort_keys=True, default=str) if chosen is not None else None
    for name, value in row.metrics.items():
        record[METRIC_PREFIX + name] = value
    options = row.task_options
    record["task_options"] = json.dumps(options, sort_keys=True, default=str) if options else None
    record["n_train"], record["n_test"] = row.n_train, row.n_test
    for name, value in row.counts.items():
        record[COUNT_PREFIX + str(name)] = value
    for name in RESOURCES:
        record[name] = getattr(row, name)
    record["plugin"] = row.plugin.get("name")
    record["plugin_version"] = row.plugin.get("version")
    record["started_at"], record["finished_at"] = row.started_at, row.finished_at
    record["run_dir"] = row.run_dir
    record["metric_errors"] = "; ".join(f"{name}: {text}" for name, text in row.metric_errors.items()) or None
    record["traceback"] = row.traceback
    return record


class ResultWarning(UserWarning):
    """A row set aside or a stored file ignored while reading results."""


def load(*run_dirs: str | Path | Sequence[str | Path], trials: bool = False) -> pandas.DataFrame:
    """One flat row per experiment of the given run directories (see the module docstring).

    ``load("results/a")``, ``load("results/a", "results/b")`` and ``load(["results/a", ...])``
    all work. Metric columns are ``metric.<name>``. ``trials=True`` adds the rows of tuning
    trials (column ``tuning`` = ``trial``), each after the results. Raises :class:`BenchError`
    for a directory that is not a results directory.
    """
    import pandas

    directories: list[str | Path] = []
    for item in run_dirs:
        directories.extend([item] if isinstance(item, (str, Path)) else list(item))
    if not directories:
        raise BenchError("no results directory given")
    from benchmark import resultset

    loaded = resultset.load(directories)
    for message in loaded.warnings:
        warnings.warn(message, ResultWarning, stacklevel=2)
    records = [flat(row) for row in loaded.rows + (loaded.trials if trials else [])]
    frame = pandas.DataFrame.from_records(records)
    if frame.empty:
        return pandas.DataFrame(columns=IDENTITY + RESOURCES)
    metric_columns = sorted(c for c in frame.columns if c.startswith(METRIC_PREFIX))
    rest = [c for c in frame.columns if c not in IDENTITY and c not in metric_columns]
    return frame[IDENTITY + metric_columns + rest]
