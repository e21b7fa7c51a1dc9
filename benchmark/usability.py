"""Whether a well-formed task can run with the installed metrics: one check, read by the
registry (a task marked unusable: ``bench plugins``, ``bench check``) and by the conformance kit
(:func:`benchmark.testing.check_task`), so that the three never disagree."""

from __future__ import annotations

from collections.abc import Callable

from benchmark.api import MetricSpec, TaskSpec


def task_unusable(spec: TaskSpec, metric: Callable[[str], MetricSpec | None]) -> str:
    """Why a well-formed task cannot run with the metrics ``metric(name)`` finds ('' when it
    can): a default or primary metric that no plugin provides, one of another task, or a
    declared direction the primary metric contradicts. The registry marks such a task unusable
    (``bench plugins``, ``bench check``) and the conformance kit fails it, with this one line."""
    names = [n for n in dict.fromkeys([*spec.default_metrics, spec.primary]) if n]
    missing = [n for n in names if metric(n) is None]
    if missing:
        return (f"default metric{'s' if len(missing) > 1 else ''} {', '.join(repr(n) for n in missing)} "
                f"{'are' if len(missing) > 1 else 'is'} provided by no installed plugin")
    for name in names:
        found = metric(name)
        assert found is not None
        if spec.name not in found.scored_tasks:
            which = "primary metric" if name == spec.primary else "default metric"
            return f"{which} {name!r} is a metric of task {found.task!r}"
    primary = metric(spec.primary) if spec.primary else None
    if primary is not None and spec.greater_is_better is not None \
            and spec.greater_is_better != primary.greater_is_better:
        return (f"says its primary metric {spec.primary!r} is "
                f"{'greater' if spec.greater_is_better else 'lower'} is better; the metric says otherwise")
    return ""
