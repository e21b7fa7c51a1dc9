"""The conformance kit: run a plugin through the whole bench contract on tiny data.

In the spirit of scikit-learn's ``check_estimator``. Each ``check_*`` function returns a
:class:`Report` of every check — passed, failed with one line saying what was found, or
skipped with the reason — and :func:`assert_conforms` turns failures into one
``AssertionError`` listing them all, for a plugin's own tests::

    from benchmark.testing import assert_conforms
    from bench_item_mean import ItemMean

    def test_item_mean_conforms():
        assert_conforms(ItemMean)                      # or a ModelSpec, a DatasetSpec, a module

What is checked (the data is generated here: 30 users × 20 items with 200 ratings on 1-5 and
test pairs with unknown users and items; a 40 × 16 matrix in [0, 1]):

* a model, for every task it declares: the class derives from the task's base; ``__init__``
  takes keyword parameters with defaults and only stores them (``get_params`` returns them,
  ``clone`` and ``type(m)(**m.get_params())`` round-trip, no learned ``_`` attribute yet); its
  parameters are described (declared ``constraints`` are JSON Schema, defaults satisfy them);
  it pickles before and after ``fit``; ``warm_up(params)`` runs once before ``prepare()`` and
  ``fit`` (as a worker calls it, contract 1.5) and a model fitted after it predicts as one fitted
  without it; ``prepare()`` runs; ``fit`` returns ``self`` and leaves
  its parameters and data alone; predictions have the right shape and are finite, unknown
  users and items included; the same seed gives the same predictions; ``info()`` is JSON.
* a dataset: its loader returns data of the declared task, well-formed, with the same
  checksum on a second load; ``describe()`` is JSON; predefined folds are within range.
* a split method: folds within range, disjoint, the same for the same seed.
* a metric: a finite number, the same for the same input, and perfect predictions score at
  least as well as noisy ones (``greater_is_better`` points the right way); a
  :class:`~benchmark.api.PerUnit` value's parts add up to it.
* a task (any, bench's own included): its spec, runner, options, tiny data and examples. Its
  models are fitted and scored through its runner; models of ``RatingModel`` and
  ``ReconstructionModel`` bases also get those bases' own checks above.
* a plugin module: all of the above for what its hooks return (its own tasks included), then
  its ``bench_cell_artifacts`` and ``bench_cell_finished`` are called as a run would call them.

Models are fitted as the harness fits them: the suite seed fills ``random_state``/``seed``
(unless given in ``params``) and the global generators are seeded before ``fit``.

The kit is a package, one module per kind of thing it checks: :mod:`~benchmark.testing.models`,
:mod:`~benchmark.testing.datasets`, :mod:`~benchmark.testing.splits`,
:mod:`~benchmark.testing.metrics`, :mod:`~benchmark.testing.tasks`, and
:mod:`~benchmark.testing.plugins` (a whole module, with :mod:`~benchmark.testing.hooks` and
:mod:`~benchmark.testing.siblings`); :mod:`~benchmark.testing.report` holds the report and
:mod:`~benchmark.testing.tiny` the tiny data. Import from ``benchmark.testing``: every name it
exported when it was one module is here, and stays.
"""

from __future__ import annotations

from benchmark.testing.common import SEED, installed_tasks
from benchmark.testing.common import Tasks as Tasks
from benchmark.testing.datasets import check_dataset
from benchmark.testing.hooks import dataclasses_replace as dataclasses_replace
from benchmark.testing.metrics import check_metric
from benchmark.testing.models import check_model
from benchmark.testing.plugins import HOOK_CHECKS as HOOK_CHECKS
from benchmark.testing.plugins import assert_conforms, check_plugin, each_check
from benchmark.testing.report import FAILED as FAILED
from benchmark.testing.report import PASSED as PASSED
from benchmark.testing.report import SKIPPED as SKIPPED
from benchmark.testing.report import Check, Report
from benchmark.testing.report import Skip as Skip
from benchmark.testing.report import Violation as Violation
from benchmark.testing.siblings import StrayNameWarning
from benchmark.testing.splits import check_split
from benchmark.testing.tasks import check_task
from benchmark.testing.tiny import TinyRatings as TinyRatings
from benchmark.testing.tiny import tiny_data as tiny_data
from benchmark.testing.tiny import tiny_matrix as tiny_matrix
from benchmark.testing.tiny import tiny_ratings as tiny_ratings

__all__ = ["Check", "Report", "check_model", "check_dataset", "check_split", "check_metric",
           "check_task", "check_plugin", "assert_conforms", "each_check", "installed_tasks", "SEED",
           "StrayNameWarning"]
