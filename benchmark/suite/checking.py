"""Steps 2 and 3 of reading a suite: build the registry from the suite's plugin files and the
command line's, then check every dataset, metric and model against the plugins, giving the
frozen :class:`~benchmark.suite.resolving.Suite` (:func:`check_suite`, :func:`load_suite`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.api import DatasetSpec, TaskSpec
from benchmark.environments import EnvironmentSpec, parse_environments
from benchmark.errors import BenchError, raise_all
from benchmark.limits import DataDir, choose_data_dir
from benchmark.params import task_params
from benchmark.registry import ENTRY_KEYS, Entry, Registry, build_registry
from benchmark.suite.models import Datasets, resolve_models
from benchmark.suite.problems import EntryCheck, Found, check_params
from benchmark.suite.reading import read_suite
from benchmark.suite.resolving import (
    DEFAULT_SPLIT, MAX_CONFIGURATIONS, DatasetConfig, ParsedSuite, SplitPlace, Suite,
    beside_suite, dataset_params, parse_limits, plugin_files, resolve_split, suite_seeds,
)


# --- Datasets -------------------------------------------------------------------------------


def _task_of_entry(entry: Mapping[str, Any], spec: DatasetSpec, registry: Registry, parsed: ParsedSuite, i: int
                   ) -> tuple[TaskSpec, dict[str, Any]]:
    """The task a dataset entry runs as, and its task options (checked against the task)."""
    at = parsed.at
    task_name = entry.get("task", spec.task)
    where = at("datasets", i, "task") if "task" in entry else at("datasets", i, "name")
    task = registry.task(task_name, where)
    serves = registry.serving(spec.task)
    if task.name not in serves:
        raise BenchError(f"dataset {entry['name']!r} holds {spec.task!r} data, which task "
                         f"{task.name!r} does not run on; it serves {', '.join(serves) or 'no task'}",
                         where)
    given = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
    check_params(given, task_params(task), at, "datasets", i, what="key", also=ENTRY_KEYS)
    return task, {**task.options, **given}  # defaults filled: they identify the experiment too


def _split_of_entry(entry: Mapping[str, Any], i: int, task: TaskSpec, dataset: Entry,
                    parsed: ParsedSuite) -> tuple[Mapping[str, Any], SplitPlace] | None:
    """The split a dataset entry uses and where it is given: its own, the suite's, else the
    documented default (the task's, else the dataset's canonical folds, else 5-fold); ``None``
    when it is the suite's and that one is broken (reported)."""
    data = parsed.data
    if "split" in entry:
        return entry["split"], SplitPlace(("datasets", i, "split"), task.name, entry["name"])
    if "split" in data:
        shared = "split" in data and not parsed.broken("split")
        return (data["split"], SplitPlace(("split",), task.name, entry["name"])) if shared else None
    default = task.default_split or dataset.spec.default_split or DEFAULT_SPLIT
    return dict(default), SplitPlace(("datasets", i), task.name, entry["name"])


def _dataset(entry: Mapping[str, Any], i: int, dataset: Entry, parsed: ParsedSuite, registry: Registry,
             check: EntryCheck) -> DatasetConfig | None:
    """One dataset entry checked against its plugin, its task and its split; ``None`` when it
    failed (every problem recorded in ``check``)."""
    at = parsed.at
    spec = dataset.spec
    options = entry.get("options", {})
    check.check(check_params, options, dataset_params(dataset), at, "datasets", i, "options", what="option")
    options = {key: beside_suite(parsed.path.parent, value) if key in spec.path_options else value
               for key, value in options.items()}
    resolved = check.check(_task_of_entry, entry, spec, registry, parsed, i)
    if resolved is None:
        return None
    task, task_options = resolved
    given = _split_of_entry(entry, i, task, dataset, parsed)
    split = check.check(resolve_split, given[0], given[1], registry, at) if given is not None else None
    if split is None:
        return None
    return DatasetConfig(entry.get("label", entry["name"]), dataset.name, task.name, options, split, task_options)


def resolve_datasets(parsed: ParsedSuite, registry: Registry, found: Found) -> Datasets:
    """Every dataset entry that resolves, and whether they all did."""
    data, at = parsed.data, parsed.at
    if not isinstance(data.get("datasets"), list) or ("datasets",) in parsed.invalid:
        return Datasets([], False)
    datasets: list[DatasetConfig] = []
    labels: set[str] = set()
    complete = True
    for i, raw in enumerate(data["datasets"]):
        if parsed.broken("datasets", i):
            complete = False
            continue
        entry: dict[str, Any] = {"name": raw} if isinstance(raw, str) else raw
        check = found.entry()
        dataset = check.check(registry.get, "dataset", entry["name"], at("datasets", i, "name"))
        if dataset is None:
            complete = False
            continue
        config = _dataset(entry, i, dataset, parsed, registry, check)
        label = entry.get("label", entry["name"])
        if label in labels:
            check.add(BenchError(f"dataset label {label!r} is used twice; give each entry a 'label'",
                                 at("datasets", i)))
        labels.add(label)
        if check.failed or config is None:
            complete = False
            continue
        datasets.append(config)
    return Datasets(datasets, complete)


# --- Metrics --------------------------------------------------------------------------------


def _default_metrics(registry: Registry, tasks: set[str]) -> list[str]:
    """Each task's ``default_metrics`` (primary first), else all its metrics in plugin order
    (rmse before mae, mse before bce)."""
    names: list[str] = []
    every = [n for n, e in registry.entries.get("metric", {}).items() if not e.unusable]
    for task in sorted(tasks):
        spec = registry.task(task)
        chosen = [n for n in spec.default_metrics if n in every] if spec.default_metrics else \
            [n for n in every if task in registry.get("metric", n).spec.scored_tasks]
        names += [n for n in chosen if n not in names]
    return names


def resolve_metrics(parsed: ParsedSuite, registry: Registry, datasets: Datasets,
                    found: Found) -> dict[str, tuple[str, ...]]:
    """The metrics of each task of the suite's datasets, primary first."""
    data, at = parsed.data, parsed.at
    tasks = {d.task for d in datasets.configs}
    given = "metrics" in data
    if given and (not isinstance(data["metrics"], list) or ("metrics",) in parsed.invalid):
        return {}
    metrics: dict[str, list[str]] = {}
    requested = data["metrics"] if given else _default_metrics(registry, tasks)
    complete = datasets.complete
    for i, name in enumerate(requested):
        if parsed.broken("metrics", i):
            complete = False
            continue
        check = found.entry()
        entry = check.check(registry.get, "metric", name, at("metrics", i))
        if entry is None:
            complete = False
            continue
        spec = entry.spec
        scored = [task for task in spec.scored_tasks if task in tasks]
        if given and not scored:
            if datasets.complete:  # else the dataset of that task may be the one that failed
                named = " and ".join(repr(task) for task in spec.scored_tasks)
                other = next((f"; {e.name!r} scores {sorted(set(e.tasks) & tasks)[0]!r}"  # a clash of names
                              for e in registry.namesakes("metric", name) if set(e.tasks) & tasks), "")
                check.add(BenchError(f"metric {name!r} is for the {named} task"
                                     f"{'s' if len(spec.scored_tasks) > 1 else ''}, "
                                     f"and no dataset in this suite is{other}", at("metrics", i)))
            continue
        for task in scored:
            metrics.setdefault(task, []).append(entry.name)
    if not given:  # a metric several tasks share goes to those whose defaults name it, in their order
        metrics = {task: [n for n in _default_metrics(registry, {task}) if n in names]
                   for task, names in metrics.items()}
    for task in sorted(tasks):
        if not metrics.get(task) and complete:
            found.add(BenchError(f"no metric for the {task!r} task of this suite's datasets",
                                 at("metrics") if given else at()))
    return {t: tuple(m) for t, m in metrics.items() if m}


# --- The whole suite ------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandLine:
    """What the command line adds to a suite: plugin files, a data directory, the limit of
    configurations."""

    plugins: Sequence[str | Path] = ()
    data_dir: str | Path | None = None
    max_configurations: int = MAX_CONFIGURATIONS


def _data_dir(parsed: ParsedSuite, option: str | Path | None, found: Found) -> DataDir | None:
    """The data directory (:func:`benchmark.limits.choose_data_dir`), checked to exist: a typo is
    one error here, not a download attempt or a silent fall-back to a bundled copy at run time."""
    value = parsed.data.get("data_dir")
    suite_value = None
    if isinstance(value, str) and not parsed.broken("data_dir"):
        suite_value = (parsed.path.parent / Path(value).expanduser()).resolve()
    where = parsed.at("data_dir") if suite_value is not None else "data_dir"
    return found.entry().check(choose_data_dir, option, suite_value, where)


def _environments(parsed: ParsedSuite, found: Found) -> dict[str, EnvironmentSpec | None]:
    """The suite's ``environments:`` by name (:func:`benchmark.environments.parse_environments`),
    a broken entry's name mapped to ``None``: its problem is reported once, and a model line
    naming it is not reported again as naming an unknown environment."""
    problems: list[BenchError] = []
    specs = parse_environments(parsed.data, parsed.at, problems)
    for problem in problems:
        found.add(problem)
    block = parsed.data.get("environments")
    declared: dict[str, EnvironmentSpec | None] = {str(k): None for k in block} if isinstance(block, Mapping) else {}
    return {**declared, **specs}


def resolve_suite(parsed: ParsedSuite, registry: Registry, found: Found, given: CommandLine) -> Suite | None:
    """Step 3: check every name, option and parameter against the plugins; the frozen suite,
    or ``None`` when ``found`` holds a problem (those of step 1 too: check_suite puts them there).

    The command line's data directory overrides the suite's; its plugin files are recorded so
    that workers load them too."""
    data, at = parsed.data, parsed.at
    datasets = resolve_datasets(parsed, registry, found)
    metrics = resolve_metrics(parsed, registry, datasets, found)
    environments = _environments(parsed, found)
    models = resolve_models(parsed, registry, datasets, found, given.max_configurations, environments)
    limits = found.entry().check(parse_limits, parsed.sound(data.get("limits"), "limits"), at, "limits")
    data_dir = _data_dir(parsed, given.data_dir, found)
    if found.errors or limits is None:
        return None
    chosen = data_dir.path if data_dir is not None and not data_dir.from_environment else None
    return Suite(data["name"], parsed.path, parsed.text, suite_seeds(data), tuple(datasets.configs),
                 tuple(models), metrics, plugin_files(parsed, given.plugins),
                 str(Path(chosen).resolve()) if chosen else None, limits,
                 {name: spec for name, spec in environments.items() if spec is not None})


@dataclass(frozen=True)
class SuiteCheck:
    """What validating a suite found: the suite and registry when it is valid, every error
    (in file order) and every warning (a model whose library is not installed)."""

    suite: Suite | None
    registry: Registry | None
    errors: tuple[BenchError, ...]
    warnings: tuple[str, ...]

    def raise_errors(self) -> None:
        raise_all(self.errors)


def check_suite(path: str | Path, plugins: Sequence[str | Path] = (), data_dir: str | Path | None = None,
                max_configurations: int = MAX_CONFIGURATIONS) -> SuiteCheck:
    """Parse, load the plugins, resolve -- going on past each problem to find them all.

    Only what stops every later step ends it early: a file that is not a YAML mapping, or a
    plugin file that cannot be loaded or whose hooks are broken (every such file is reported,
    with the schema problems).
    """
    parsed = read_suite(path, plugins)  # a suite's plugin files outside its folder: only with -p
    found = Found(parsed.errors)
    local = list(parsed.plugins) + [(p, f"-p {p}") for p in plugins]
    registry: Registry | None = None
    suite: Suite | None = None
    try:
        registry = build_registry(local)
    except BenchError as exc:  # one error per broken plugin file (all of them)
        found.add(exc)
    if registry is not None:
        suite = resolve_suite(parsed, registry, found, CommandLine(plugins, data_dir, max_configurations))
    return SuiteCheck(suite, registry, tuple(found.ordered(str(parsed.path))), tuple(found.warnings))


def load_suite(path: str | Path, plugins: Sequence[str | Path] = (), data_dir: str | Path | None = None,
               max_configurations: int = MAX_CONFIGURATIONS) -> tuple[Suite, Registry]:
    """Parse, build the registry (installed plugins, the suite's files, ``plugins``), resolve;
    every problem of the suite is raised at once (:class:`~benchmark.errors.BenchErrors`)."""
    checked = check_suite(path, plugins, data_dir, max_configurations)
    checked.raise_errors()
    assert checked.suite is not None and checked.registry is not None
    return checked.suite, checked.registry
