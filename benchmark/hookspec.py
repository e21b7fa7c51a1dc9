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

Compatibility: within a major version (:data:`benchmark.api.API_VERSION`) this file only grows.
A minor version may add hooks and add parameters to a hook -- an implementation names only the
parameters it uses (pluggy passes those), so one written for 1.0 is called as before -- but it
never removes or renames a hook or a parameter, nor makes a new one required
(docs/writing-plugins.md, "What a minor version may and may not change").

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
    from benchmark.api import (
        DatasetSpec, MetricSpec, Model, ModelSpec, Predictions, SplitSpec, TaskSpec,
    )
    from benchmark.cells import Cell, CellResult

PROJECT = "bench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- Registration: called once when the registry is built; must be cheap -----------------
#
# Names: a spec's name may be used plain (``svd``) or qualified by the distribution that
# provides it (``bench-harness:svd``, ``my-dist:svd``; a local plugin file's qualifier is its
# file name without ``.py``). A plain name means bench's own spec when there is one, so an
# installed or local plugin never hides a built-in; a plain name that two other plugins share is
# refused with the qualified names to choose from.


@hookspec
def bench_tasks() -> list[TaskSpec]:
    """Return the tasks this plugin provides (contract 1.1).

    A :class:`~benchmark.api.TaskSpec` names the model base class of the task, the data
    classes it runs on, its runner ``run(model, data, fold, options) -> Outcome``, its options
    (set on a suite's dataset entry, e.g. ranking's ``threshold``), its default and primary
    metrics and the splits it accepts. bench registers ``rating`` and ``reconstruction``
    through this hook (``bench_plugins.tasks``), exactly as a third party adds its own.

    Called before the other registration hooks: models, datasets, splits and metrics are
    checked against the tasks all plugins declare.
    """


@hookspec
def bench_models() -> list[ModelSpec]:
    """Return the models this plugin provides.

    Each :class:`~benchmark.api.ModelSpec` maps the tasks it supports (``"rating"``,
    ``"reconstruction"``, or any task of ``bench_tasks``) to a subclass of that task's
    ``model_base`` or a lazy ``"module:Class"`` reference.

    A model class that fits or predicts on a GPU says so with ``uses_gpu = True``
    (:attr:`benchmark.api.Model.uses_gpu`, added after 1.0; default ``False``): the local executor
    then counts devices as a resource (``bench run --gpus N``) and starts each of its cells in a
    worker that sees one device (``CUDA_VISIBLE_DEVICES``), or none when the run has no GPU.
    """


@hookspec
def bench_datasets() -> list[DatasetSpec]:
    """Return the datasets this plugin provides.

    A :class:`~benchmark.api.DatasetSpec` names a loader ``loader(**options)`` returning data
    of its task's ``data_types`` (:class:`~benchmark.api.RatingData` for ``rating``,
    :class:`~benchmark.api.MatrixData` for ``reconstruction``). The same data serves every task
    that accepts its type (a rating dataset serves ``ranking``). Loaders should
    accept ``data_dir`` (a local copy, laid out as the official archive unpacks) and otherwise
    download with a checksum into :func:`~benchmark.api.cache_dir`.
    """


@hookspec
def bench_splits() -> list[SplitSpec]:
    """Return the split methods this plugin provides.

    A split method turns a dataset into folds of row positions, deterministically from its
    parameters and seed. bench fingerprints every fold it returns. ``SplitSpec.tasks`` says
    whose data it works on; it accepts every task served by the same data classes.
    """


@hookspec
def bench_metrics() -> list[MetricSpec]:
    """Return the metrics this plugin provides, each for one task.

    A :class:`~benchmark.api.MetricSpec` names ``func(y_true, y_pred) -> float``, or with
    ``context=True`` ``func(predictions) -> float`` receiving a
    :class:`~benchmark.api.Predictions` (test users and items, training data, the fitted
    ``model``, the task ``options`` and ``extra``) for per-user or ranking metrics. Either may
    return a :class:`~benchmark.api.PerUnit` (per-user or per-example parts, stored for paired
    tests). A metric that raises or returns NaN/infinity is recorded as that metric's error in
    ``metric_errors``; the cell's other metrics still count, and the run reports the cell as
    failed.
    """


# --- Running: called for every cell ---------------------------------------------------------


@hookspec
def bench_cell_artifacts(cell: Cell, model: Model, predictions: Predictions,
                         directory: Path) -> list[str] | None:
    """Write files that illustrate a finished cell (pictures, curves) into ``directory``.

    :param cell: the cell (:class:`~benchmark.api.Cell`: dataset, split, fold, model label,
        params, seed, task, task options).
    :param model: the fitted model (``model.info()`` holds e.g. its loss curve).
    :param predictions: the test set and the predictions (:class:`~benchmark.api.Predictions`:
        ``y_true``, ``y_pred``, test ``users``/``items``, ``train``, the dataset's ``info``).
    :param directory: an existing, empty directory reserved for this cell; what is written
        there becomes ``artifacts/<cell id>/`` of the run directory when every plugin is done.
    :return: names of the files written (relative to ``directory``), or None.

    Called in the process that ran the cell, once per plugin: an exception is recorded in
    the cell's ``artifact_errors`` under the plugin's name and never loses the cell's metrics
    or another plugin's artifacts. It is called for cells of every task, tasks added after the
    plugin was written included: return None for a ``cell.task`` it does not illustrate.
    """


# --- Reporting ------------------------------------------------------------------------------


@hookspec
def bench_cell_finished(result: CellResult) -> None:
    """Called in the runner after a cell's result has been stored (e.g. for progress or a
    tracker). ``result`` is the :class:`~benchmark.api.CellResult` (``run_id``, ``status``,
    ``metrics``, ``metric_errors``, times, provenance). An exception here is reported once per
    plugin (one warning line) and ignored.

    Every hook's parameters are checked against this file when a plugin registers: an
    implementation that asks for a parameter its spec does not pass is refused then, with one
    line naming the plugin and the hook, never failing in every cell."""
