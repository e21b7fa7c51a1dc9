"""Checks of a whole plugin module: its hook names and API version, everything its hooks return
(each through its own check), then the hooks a finished cell calls; and the entry points of the
kit for a plugin's tests (:func:`assert_conforms`, :func:`each_check`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from benchmark.api import DatasetSpec, MetricSpec, ModelSpec, SplitSpec, TaskSpec
from benchmark.registry import hook_problems
from benchmark.testing.datasets import check_dataset, dataset_report
from benchmark.testing.hooks import hook_steps
from benchmark.testing.metrics import check_metric
from benchmark.testing.models import check_model
from benchmark.testing.report import FAILED, PASSED, Check, Report, exception_line, run_steps
from benchmark.testing.siblings import warn_stray_names
from benchmark.testing.splits import check_split
from benchmark.testing.tasks import check_task


HOOK_CHECKS = {"bench_tasks": TaskSpec, "bench_models": ModelSpec, "bench_datasets": DatasetSpec,
               "bench_splits": SplitSpec, "bench_metrics": MetricSpec}


def _specs(module: ModuleType, report: Report) -> Iterator[Any]:
    for hook, spec_type in HOOK_CHECKS.items():
        function = getattr(module, hook, None)
        if function is None:
            continue
        try:
            specs = list(function() or [])
        except Exception as exc:
            report.checks.append(Check(f"{hook} returns specs", FAILED, f"raised {exception_line(exc)}"))
            continue
        wrong = [type(s).__name__ for s in specs if not isinstance(s, spec_type)]
        report.checks.append(Check(f"{hook} returns specs", FAILED if wrong else PASSED,
                                   f"returned {', '.join(wrong)}, expected {spec_type.__name__}"
                                   if wrong else ""))
        yield from (s for s in specs if isinstance(s, spec_type))


def check_plugin(module: ModuleType, *, params: Mapping[str, Mapping[str, Any]] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> Report:
    """Check a plugin module's hook names and API version, then every model, dataset, split
    and metric its hooks return. ``params``/``options`` map a model/dataset name to the
    parameters/options to use; a dataset without options whose loader refuses the defaults
    (e.g. it needs a file) is skipped with the loader's reason.

    The maps may name what sibling modules of the same distribution provide (one map shared by
    a package's tests, as contract 1.0 allowed); a name that no module of the distribution
    provides is warned about (:class:`~benchmark.testing.siblings.StrayNameWarning`) and ignored.
    """
    params, options = dict(params or {}), dict(options or {})
    report = Report(f"plugin {module.__name__}")
    problems = hook_problems(module)
    report.checks.append(Check("hooks are known and the API version is supported",
                               FAILED if problems else PASSED, "; ".join(problems)))
    specs = list(_specs(module, report))
    for given, kind, spec_type in ((params, "model", ModelSpec), (options, "dataset", DatasetSpec)):
        warn_stray_names(module, given, kind, [s.name for s in specs if isinstance(s, spec_type)])
    own = [s for s in specs if isinstance(s, TaskSpec)]
    own_metrics = [s for s in specs if isinstance(s, MetricSpec)]
    for spec in specs:
        if isinstance(spec, TaskSpec):
            inner = check_task(spec, metrics=own_metrics)
        elif isinstance(spec, ModelSpec):
            inner = check_model(spec, params=params.get(spec.name), tasks=own)
        elif isinstance(spec, DatasetSpec):
            inner = dataset_report(spec, options.get(spec.name, {}), spec.name not in options, own)
        elif isinstance(spec, SplitSpec):
            inner = check_split(spec, tasks=own)
        else:
            inner = check_metric(spec, tasks=own)
        report.add(inner)
    run_steps(report, hook_steps(module))
    return report


def each_check(target: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """One pytest case per check, as scikit-learn's ``parametrize_with_checks``::

        @pytest.mark.parametrize("check", each_check(my_plugin))
        def test_bench_contract(check):
            check.assert_ok()

    ``target`` and the other arguments are as for :func:`assert_conforms`. The checks run once,
    when pytest collects the tests; each case then reports one of them, with its own id
    (``model 'item-mean', rating: fit returns self``), so one can be run (``-k``), skipped or
    read on its own."""
    import pytest

    report = _report(target, *args, **kwargs)
    return [pytest.param(check, id=check.id) for check in report.checks]


def _report(target: Any, *args: Any, **kwargs: Any) -> Report:
    if isinstance(target, Report):
        return target
    if isinstance(target, ModuleType):
        return check_plugin(target, *args, **kwargs)
    if isinstance(target, DatasetSpec):
        return check_dataset(target, *args, **kwargs)
    if isinstance(target, SplitSpec):
        return check_split(target, *args, **kwargs)
    if isinstance(target, MetricSpec):
        return check_metric(target, *args, **kwargs)
    if isinstance(target, TaskSpec):
        return check_task(target)
    return check_model(target, *args, **kwargs)


def assert_conforms(target: Any, *args: Any, **kwargs: Any) -> Report:
    """Check ``target`` and raise ``AssertionError`` listing every violation; return the report.

    ``target`` is a model (ModelSpec or Model subclass; ``task``/``params`` as for
    :func:`check_model`), a dataset (DatasetSpec; ``**options``), a SplitSpec, a MetricSpec,
    a TaskSpec, a plugin module (``params``/``options`` as for :func:`check_plugin`) or a
    finished Report.
    """
    report = _report(target, *args, **kwargs)
    if not report.ok:
        raise AssertionError(f"{report.subject} breaks the bench contract:\n  "
                             + "\n  ".join(report.violations()))
    return report
