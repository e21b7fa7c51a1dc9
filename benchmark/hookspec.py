"""The bench plugin contract: every hook a plugin may implement, in the order they are called.

A plugin is a module (or object) with functions named after these hooks and decorated with
``@hookimpl``. It is found through the ``bench`` entry-point group of an installed
distribution, or named as a file in a suite (``plugins: [./my_plugin.py]``) or on the command
line (``bench run -p my_plugin.py``). Built-in plugins register the same way.

Rules for plugin modules:

* Import only ``benchmark.api`` (and the standard library, numpy, pandas) at module level.
  Heavy libraries (TensorFlow, Surprise, scikit-learn) are imported inside ``fit`` or a
  loader, or referenced lazily as ``"package.module:Class"`` strings, so that ``bench --help``
  and ``bench plugins`` stay instant and a missing library is reported, not fatal.
* Declare optional libraries in ``requires`` (import name -> pip distribution); bench records
  their versions with every result.

Example::

    from benchmark.api import ModelSpec, RatingModel, RATING, hookimpl

    class ItemMean(RatingModel):
        def __init__(self, shrinkage: float = 0.0): self.shrinkage = shrinkage
        def fit(self, train): ...; return self
        def predict(self, users, items): ...

    @hookimpl
    def bench_models():
        return [ModelSpec("item-mean", {RATING: ItemMean}, summary="Mean rating of the item")]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from benchmark.api import DatasetSpec, MetricSpec, Model, ModelSpec, Predictions, SplitSpec
    from benchmark.cells import Cell, CellResult

PROJECT = "bench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- Registration: called once when the registry is built; must be cheap -----------------


@hookspec
def bench_models() -> list[ModelSpec]:
    """Return the models this plugin provides.

    Each :class:`~benchmark.api.ModelSpec` maps the tasks it supports (``"rating"``,
    ``"reconstruction"``) to a :class:`~benchmark.api.Model` subclass or a lazy
    ``"module:Class"`` reference. Names must be unique across all plugins.
    """


@hookspec
def bench_datasets() -> list[DatasetSpec]:
    """Return the datasets this plugin provides.

    A :class:`~benchmark.api.DatasetSpec` names a loader ``loader(**options)`` returning
    :class:`~benchmark.api.RatingData` or :class:`~benchmark.api.MatrixData`. Loaders should
    accept ``data_dir`` (a local copy, laid out as the official archive unpacks) and otherwise
    download with a checksum into :func:`~benchmark.api.cache_dir`.
    """


@hookspec
def bench_splits() -> list[SplitSpec]:
    """Return the split methods this plugin provides.

    A split method turns a dataset into folds of row positions, deterministically from its
    parameters and seed. bench fingerprints every fold it returns.
    """


@hookspec
def bench_metrics() -> list[MetricSpec]:
    """Return the metrics this plugin provides, each for one task.

    A :class:`~benchmark.api.MetricSpec` names ``func(y_true, y_pred) -> float``, or with
    ``context=True`` ``func(predictions) -> float`` receiving a
    :class:`~benchmark.api.Predictions` (test users and items, training data) for per-user
    or ranking metrics. A metric that raises is recorded by name; the cell's other metrics
    still count.
    """


# --- Running: called for every cell ---------------------------------------------------------


@hookspec
def bench_cell_artifacts(cell: Cell, model: Model, predictions: Predictions,
                         directory: Path) -> list[str] | None:
    """Write files that illustrate a finished cell (pictures, curves) into ``directory``.

    :param cell: the cell (:class:`~benchmark.cells.Cell`: dataset, split, fold, model label,
        params, seed, task).
    :param model: the fitted model (``model.info()`` holds e.g. its loss curve).
    :param predictions: the test set and the predictions (:class:`~benchmark.api.Predictions`:
        ``y_true``, ``y_pred``, test ``users``/``items``, ``train``, the dataset's ``info``).
    :param directory: an existing directory reserved for this cell.
    :return: names of the files written (relative to ``directory``), or None.

    Called in the process that ran the cell, once per plugin: an exception is recorded in
    the cell's ``artifact_errors`` under the plugin's name and never loses the cell's metrics
    or another plugin's artifacts.
    """


# --- Reporting ------------------------------------------------------------------------------


@hookspec
def bench_cell_finished(result: CellResult) -> None:
    """Called in the runner after a cell's result has been stored (e.g. for progress or a
    tracker). ``result`` is the :class:`~benchmark.cells.CellResult` (``run_id``, ``status``,
    ``metrics``, times, provenance). An exception here is reported once and ignored."""
