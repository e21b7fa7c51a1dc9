"""Find plugins (entry points and local files), contain the broken ones, look up names.

Every plugin is loaded on its own: one that fails to import, misspells a hook, implements a
hook with parameters its spec does not pass, targets a newer contract, or breaks the contract
is recorded as a :class:`Problem` (shown by ``bench plugins``) and the rest of bench works on.
A suite that uses a name such a plugin would provide gets one line naming the plugin and the
reason.

Tasks come first: ``bench_tasks`` of every plugin is collected before the other hooks, and
models, datasets, splits and metrics are checked against the tasks found (the core knows no
task by name; bench's own are in ``bench_plugins``: ``tasks``, ``ranking_task``, ``next_item``).

Names: every spec is reachable as ``qualifier:name`` (the distribution, or a local file's
stem). A plain name means bench's own spec when bench provides one, so that no plugin can hide
or disable a built-in; otherwise the one plugin that provides it; a plain name two other
plugins share is ambiguous and refused with the qualified names to choose from. Inside a
plugin's own specs its own names come first (:mod:`benchmark.naming`). A result records a model
by its :attr:`Entry.identity` (plain for bench's own, qualified for any other), whichever name
the suite used.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pluggy

from benchmark import adapters, hookspec
from benchmark._internal import missing_requirements, resolve, sha256_hex, versions
from benchmark.api import (
    API_VERSION, DatasetSpec, MetricSpec, Model, ModelSpec, SplitSpec, TaskSpec,
)
from benchmark.errors import BenchError, did_you_mean, raise_all
from benchmark.methods import missing_methods
from benchmark.naming import Resolve, own_names, resolver
from benchmark.params import signature_problems
from benchmark.usability import task_unusable as task_unusable

ENTRY_POINT_GROUP = "bench"
BUILTIN_DISTRIBUTION = "bench-harness"
"""The distribution of bench's own plugins: its plain names always mean its own specs."""
KINDS = {"task": "bench_tasks", "model": "bench_models", "dataset": "bench_datasets",
         "split": "bench_splits", "metric": "bench_metrics"}
SPEC_TYPES: dict[str, type[Any]] = {"task": TaskSpec, "model": ModelSpec, "dataset": DatasetSpec,
                                    "split": SplitSpec, "metric": MetricSpec}
HOOKS = sorted(name for name in vars(hookspec) if name.startswith("bench_"))
ENTRY_KEYS = ("name", "label", "options", "split", "task")
"""Keys of a suite's dataset entry: a task option may not be called like one."""


KNOWN_SHOWN = 20
"""Names an "unknown <kind>" error lists when none is close (the ranking metrics alone are ~50)."""


@dataclass(frozen=True)
class Provider:
    """Where a plugin came from: an installed distribution or a local file.

    ``code`` identifies the plugin's code for result reuse: the distribution version, or a
    content hash of a local plugin file.
    """

    plugin: str
    distribution: str
    version: str
    code: str = ""

    def describe(self) -> str:
        return f"{self.distribution} {self.version}" if self.version != "local" else self.distribution

    @property
    def qualifier(self) -> str:
        """What qualifies its names: the distribution, or a local file's name without ``.py``."""
        return Path(self.distribution).stem if self.version == "local" else self.distribution

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION


@dataclass(frozen=True)
class Problem:
    """A plugin (or one of its specs) that cannot be used, and why."""

    provider: Provider
    reason: str
    names: tuple[str, ...] = ()  # names it provides, when known (e.g. the entry-point name)


@dataclass(frozen=True)
class Entry:
    """One registered name with its spec and provider; ``unusable`` says why it cannot run.

    A spec names its code lazily (``"module:attr"``, imported only when used, so that a heavy
    library never loads at start-up); the entry imports each reference once, on first use, and
    keeps it (:attr:`function`, :meth:`model_class`), as it keeps what it found out about its
    libraries: whoever runs a cell asks the entry, not the import system, each time.
    """

    kind: str
    spec: Any
    provider: Provider
    unusable: str = ""
    key: str = ""  # the name suites use: plain, or qualified when the plain name means another
    _classes: dict[str, type[Model]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.key or str(self.spec.name)

    @property
    def qualified(self) -> str:
        return f"{self.provider.qualifier}:{self.spec.name}"

    @property
    def identity(self) -> str:
        """What a stored result calls it (a cell's ``model_plugin``, hashed into its
        ``config_id``): bench's own spec by its plain name, any other plugin's by its qualified
        name -- whichever name a suite used, whatever else is installed. So a model keeps its
        configuration ids when another package (or bench itself) later takes its plain name."""
        return str(self.spec.name) if self.provider.builtin else self.qualified

    @property
    def tasks(self) -> tuple[str, ...]:
        if isinstance(self.spec, ModelSpec):
            return self.spec.tasks
        if isinstance(self.spec, MetricSpec):
            return self.spec.scored_tasks
        if isinstance(self.spec, DatasetSpec):
            return (self.spec.task,)
        if isinstance(self.spec, TaskSpec):
            return (self.name,)  # its key: a task whose plain name means another's is qualified
        return tuple(self.spec.tasks)

    def factories(self) -> list[Any]:
        """The callables and classes of the spec (lazy references as strings)."""
        spec = self.spec
        if isinstance(spec, ModelSpec):
            return list(spec.classes.values())
        if isinstance(spec, DatasetSpec):
            return [spec.loader]
        if isinstance(spec, TaskSpec):
            return [spec.model_base, spec.runner]
        return [spec.func]

    @functools.cached_property
    def function(self) -> Callable[..., Any]:
        """The spec's callable, imported once: a dataset's loader, a split's or a metric's
        function, a task's runner."""
        spec = self.spec
        factory = spec.loader if isinstance(spec, DatasetSpec) else \
            spec.runner if isinstance(spec, TaskSpec) else spec.func
        return resolve(factory)

    def model_class(self, task: str) -> type[Model]:
        """A model's class for ``task``, imported once (an import that fails is tried again
        next time, and raises again)."""
        found = self._classes.get(task)
        if found is None:
            found = self._classes[task] = cast(type[Model], resolve(self.spec.classes[task]))
        return found

    @functools.cached_property
    def broken_reference(self) -> str:
        """Why a lazy ``"module:attr"`` reference cannot be imported, found without importing
        the module (its parent packages are imported); '' when every module is there."""
        for factory in self.factories():
            if not isinstance(factory, str):
                continue
            module = factory.partition(":")[0]
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found and module.split(".")[0] not in self.requires:  # else: "pip install"
                return f"cannot import {factory!r}: no module {module!r}"
        return ""

    @functools.cached_property
    def requires(self) -> dict[str, str]:
        """Libraries of the spec, and of its model classes that are not lazy references."""
        found = dict(getattr(self.spec, "requires", {}) or {})
        if isinstance(self.spec, ModelSpec):
            for factory in self.spec.classes.values():
                if isinstance(factory, type):
                    found.update(getattr(factory, "requires", {}) or {})
        return found

    @functools.cached_property
    def missing(self) -> list[str]:
        """The pip distributions of :attr:`requires` that are not installed."""
        return missing_requirements(self.requires)

    @functools.cached_property
    def library_versions(self) -> dict[str, str]:
        """Installed versions of the libraries it requires (a cell's ``libraries`` field)."""
        return versions(self.requires)


@dataclass
class Registry:
    """All tasks, models, datasets, splits and metrics of the loaded plugins, and the problems.

    ``entries[kind]`` maps the name a suite uses to its entry; ``aliases[kind]`` maps every
    qualified name (``dist:name``) to that key; ``ambiguous[kind]`` maps a plain name two
    non-built-in plugins share to their qualified names.
    """

    manager: pluggy.PluginManager
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    ambiguous: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def _family_member(self, kind: str, name: str) -> Entry | None:
        """A metric of a family (``ndcg@37`` from the spec of ``ndcg@10``), registered on first use."""
        if kind != "metric":
            return None
        table = self.entries.get(kind, {})
        for entry in list(table.values()):
            family = getattr(entry.spec, "family", None)
            if family is None or entry.unusable:
                continue
            spec = family(name)
            if spec is not None and spec.name == name:
                table[name] = Entry(kind, own_names(spec, self.own("task", entry.provider)), entry.provider)
                return table[name]
        return None

    def find(self, kind: str, name: str) -> Entry | None:
        """The registered entry called ``name`` (plain or qualified; a member of a metric
        family, ``ndcg@37``), usable or not; else ``None``."""
        table = self.entries.get(kind, {})
        return table.get(name) or table.get(self.aliases.get(kind, {}).get(name, "")) \
            or self._family_member(kind, name)

    def get(self, kind: str, name: str, where: str = "") -> Entry:
        """The usable entry called ``name`` (plain or qualified), or a BenchError saying why not."""
        name = str(name)
        entry = self.find(kind, name)
        if entry is not None:
            if entry.unusable:
                raise BenchError(f"{kind} {name!r} is unusable: {entry.unusable} "
                                 f"(from {entry.provider.describe()})", where)
            broken = entry.broken_reference
            if broken:
                raise BenchError(f"{kind} {name!r} is unusable: {broken} "
                                 f"(from {entry.provider.describe()})", where)
            return entry
        member = self._family_member(kind, name)
        if member is not None:
            return member
        choices = self.ambiguous.get(kind, {}).get(name)
        if choices:
            raise BenchError(f"{kind} {name!r} is provided by several plugins; qualify it as "
                             f"{' or '.join(repr(c) for c in choices)}", where)
        for problem in self.problems:
            if name in problem.names:
                raise BenchError(f"{kind} {name!r} is unavailable: plugin {problem.provider.plugin!r} "
                                 f"from {problem.provider.describe()} {problem.reason}", where)
        raise BenchError(f"unknown {kind} {name!r}; {self.suggest(kind, name)}", where)

    def suggest(self, kind: str, name: str) -> str:
        """What to say after "unknown <kind> <name>": the closest names, else the known ones,
        and how many plugins failed to load."""
        table = self.entries.get(kind, {})
        known = sorted({re.sub(r"@\d+$", "@k", n) for n in table})  # ndcg@1 ... ndcg@100: ndcg@k
        shown = ", ".join(known[:KNOWN_SHOWN]) + (f", ... ({len(known)} in all: bench plugins)"
                                                  if len(known) > KNOWN_SHOWN else "")
        hint = did_you_mean(name, table, n=3, cutoff=0.5) or f"known: {shown or 'none'}"
        if self.problems:
            hint += f" ({len(self.problems)} plugin(s) failed to load: see bench plugins)"
        return hint

    def namesakes(self, kind: str, name: str) -> list[Entry]:
        """The other usable specs whose plain name is ``name``'s (each under its qualified name):
        what a message offers when a name means another plugin's spec than the one wanted."""
        plain = name.rpartition(":")[2]
        return [e for e in self.entries.get(kind, {}).values()
                if e.spec.name == plain and e.name != name and not e.unusable]

    def names(self, kind: str) -> list[str]:
        return sorted(n for n, e in self.entries.get(kind, {}).items() if not e.unusable)

    def all(self) -> Iterable[Entry]:
        for kind in KINDS:
            yield from sorted(self.entries.get(kind, {}).values(), key=lambda e: e.name)

    def hook_impls(self, hook: str) -> list[Any]:
        """The implementations of ``hook`` (call each on its own, to contain failures)."""
        return list(getattr(self.manager.hook, hook).get_hookimpls())

    # --- tasks

    def task(self, name: str, where: str = "") -> TaskSpec:
        """The usable task called ``name``, or a BenchError naming the known ones."""
        return _named(self.get("task", name, where))

    def tasks(self) -> dict[str, TaskSpec]:
        """Every usable task by the name suites use (a task whose plain name means another's is
        called by its qualified name, its spec's ``name`` too: cells of it are filed under it)."""
        return {n: _named(e) for n, e in self.entries.get("task", {}).items() if not e.unusable}

    def own(self, kind: str, provider: Provider) -> Resolve:
        """What a spec of ``provider`` means by a ``kind`` name: its own first (:mod:`benchmark.naming`)."""
        own = {str(e.spec.name): key for key, e in self.entries.get(kind, {}).items()
               if e.provider == provider}
        return resolver(own, self.aliases.get(kind, {}))

    def serving(self, dataset_task: str) -> list[str]:
        """The tasks that data of a dataset declared for ``dataset_task`` serves (itself first)."""
        tasks = self.tasks()
        own = tasks.get(dataset_task)
        if own is None:
            return []
        return [dataset_task] + [name for name, task in tasks.items() if name != dataset_task
                                 and any(task.serves(kind) for kind in own.data_types)]

    def split_accepts(self, split: SplitSpec, task: str) -> bool:
        """Whether ``split`` works for a cell of ``task``: the task lets it (``TaskSpec.splits``)
        and the split works on data the task runs on (a task of ``SplitSpec.tasks`` holds the
        same data classes)."""
        tasks = self.tasks()
        spec = tasks.get(task)
        if spec is None:
            return False
        if spec.splits is not None and split.name not in spec.splits:
            return False
        if task in split.tasks:
            return True
        kinds = [kind for t in split.tasks if t in tasks for kind in tasks[t].data_types]
        return any(spec.serves(kind) for kind in kinds)

    def data_problem(self, task: str, data: Any) -> str:
        """Why ``data`` (what a loader returned) is not data of ``task`` ('' when it is)."""
        spec = self.tasks().get(task)
        if spec is None:
            return f"task {task!r} is not installed"
        if spec.serves(data):
            return ""
        accepted = " or ".join(kind.__name__ for kind in spec.data_types)
        return f"returned {type(data).__name__}, not data of its declared task {task!r} ({accepted})"


# --- Loading ------------------------------------------------------------------------------


def load_local_plugin(path: str | Path, where: str = "") -> Any:
    """Import a plugin from a ``.py`` file, reporting a missing file or a failed import."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise BenchError(f"plugin file {str(path)!r} not found", where)
    resolved = file.resolve()
    content = resolved.read_bytes()
    module_name = f"bench_local_{file.stem}_{sha256_hex(str(resolved).encode(), content)[:12]}"
    if module_name in sys.modules:  # the same file, unchanged, named twice (suite and -p)
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise BenchError(f"plugin file {str(path)!r} is not a Python module", where)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # a plugin's own bug must not become our traceback
        del sys.modules[module_name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise BenchError(f"plugin file {str(path)!r} failed to import: "
                         f"{type(exc).__name__}: {exc}", where) from None
    setattr(module, "__bench_file__", str(resolved))
    setattr(module, "__bench_code__", sha256_hex(content)[:12])
    return module


def _spec_parameters(hook: str) -> list[str]:
    return list(inspect.signature(getattr(hookspec, hook)).parameters)


def hook_problems(module: Any) -> list[str]:
    """Misspelled hooks (``bench_model``), hooks without ``@hookimpl``, implementations that
    take a parameter their spec does not pass, and an incompatible declared API version."""
    problems = []
    for name in dir(module):
        value = getattr(module, name)
        if not (name.startswith("bench_") and callable(value)):
            continue
        if name not in HOOKS:
            hint = "; " + (did_you_mean(name, HOOKS) or f"hooks are {', '.join(HOOKS)}")
            problems.append(f"defines unknown hook {name!r}{hint}")
            continue
        if not hasattr(value, f"{hookspec.PROJECT}_impl"):
            problems.append(f"defines hook {name!r} without @hookimpl (bench would never call it)")
            continue
        try:
            taken = list(inspect.signature(value).parameters)
        except (TypeError, ValueError):
            continue
        allowed = _spec_parameters(name)
        extra = [p for p in taken if p not in allowed]
        if extra:
            passes = ", ".join(allowed) or "nothing"
            problems.append(f"hook {name!r} takes {', '.join(repr(p) for p in extra)}, which bench "
                            f"does not pass (it passes {passes})")
    declared = getattr(module, "BENCH_API_VERSION", API_VERSION)
    if not isinstance(declared, int) or declared > API_VERSION:
        problems.append(f"targets plugin API version {declared!r}; this bench provides "
                        f"{API_VERSION} (upgrade bench-harness)")
    return problems


@dataclass
class _Loading:
    """The plugins loaded so far: the plugin manager, the broken plugins, and where each
    registered module came from."""

    manager: pluggy.PluginManager
    problems: list[Problem] = field(default_factory=list)
    providers: dict[int, Provider] = field(default_factory=dict)  # id(module) -> its provider

    def register(self, module: Any, name: str, provider: Provider, names: tuple[str, ...]) -> bool:
        """Register ``module`` unless its hooks are broken (then it is a problem); whether it is
        registered now or was already."""
        if self.manager.is_registered(module):
            return True
        found = hook_problems(module)
        if not found:
            try:
                self.manager.register(module, name=name)
            except Exception as exc:  # pluggy's validation: wrong hook arguments, a clashing name
                found.append(f"cannot be registered: {' '.join(str(exc).split())}")
        if found:
            self.problems.append(Problem(provider, "; ".join(found), names))
            return False
        self.providers[id(module)] = provider
        return True


def _entry_point_plugins(loading: _Loading) -> None:
    described: dict[str, tuple[str, str]] = {}  # a distribution's METADATA parsed once, not per entry point
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        if dist is None:
            distribution, version = "?", "?"
        else:
            key = str(getattr(dist, "_path", id(dist)))
            if key not in described:
                metadata = dist.metadata
                described[key] = (metadata["Name"], metadata["Version"])
            distribution, version = described[key]
        provider = Provider(ep.name, distribution, version, f"{distribution}=={version}")
        try:
            module = ep.load()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            loading.problems.append(Problem(provider, f"failed to import {ep.value!r}: "
                                                      f"{type(exc).__name__}: {exc}", (ep.name,)))
            continue
        loading.register(module, ep.name, provider, (ep.name,))


def spec_problems(kind: str, spec: Any, tasks: Mapping[str, TaskSpec] | None = None) -> list[str]:
    """Contract violations of one spec, found when it is registered (not when a cell runs).

    ``tasks`` are the tasks the loaded plugins declare (a spec naming another one is refused).
    """
    expected: type[Any] = SPEC_TYPES[kind]
    if not isinstance(spec, expected):
        return [f"returned {type(spec).__name__}, expected {SPEC_TYPES[kind].__name__}"]
    if not isinstance(spec.name, str) or not spec.name or ":" in spec.name:
        return [f"a {kind} has no name" if not spec.name else f"{kind} name {spec.name!r} contains ':'"]
    if isinstance(spec, TaskSpec):
        return task_problems(spec)
    known = dict(tasks or {})
    problems = []
    declared = spec.tasks if isinstance(spec, (ModelSpec, SplitSpec)) else \
        spec.scored_tasks if isinstance(spec, MetricSpec) else (spec.task,)
    unknown = [t for t in declared if t not in known]
    if unknown or not declared:
        problems.append(f"declares task(s) {list(unknown) or 'none'}; known: {', '.join(known)}")
    if isinstance(spec, ModelSpec):
        for task, factory in spec.classes.items():
            if isinstance(factory, str):
                if ":" not in factory:
                    problems.append(f"lazy reference {factory!r} is not 'module:Class'")
                continue
            if task in known:
                problems += class_problems(factory, task, known[task])
    else:
        func = spec.loader if isinstance(spec, DatasetSpec) else spec.func
        if not isinstance(func, str) and not callable(func):
            problems.append(f"{'loader' if isinstance(spec, DatasetSpec) else 'func'} is not callable")
        elif isinstance(spec, DatasetSpec) and not isinstance(func, str):
            problems += signature_problems(func, "loader", skip=())
    return problems


def task_problems(spec: TaskSpec) -> list[str]:
    """Contract violations of a task: its base class, data classes, runner and options."""
    problems = []
    base = spec.model_base
    if isinstance(base, str):
        if ":" not in base:
            problems.append(f"lazy reference {base!r} is not 'module:Class'")
    elif not (isinstance(base, type) and issubclass(base, Model)):
        problems.append(f"model_base {base!r} is not a Model subclass")
    if not isinstance(spec.data_types, tuple) or not spec.data_types or \
            not all(isinstance(kind, type) for kind in spec.data_types):
        problems.append(f"data_types must be a non-empty tuple of classes, got {spec.data_types!r}")
    if not isinstance(spec.runner, str) and not callable(spec.runner):
        problems.append("runner is not callable")
    clashing = [name for name in spec.options if name in ENTRY_KEYS]
    if clashing:
        problems.append(f"option(s) {clashing} clash with the keys of a dataset entry")
    stray = [name for name in spec.constraints if name not in spec.options]
    if stray:
        problems.append(f"constraints name no option {stray}")
    if spec.primary_metric and spec.default_metrics and spec.primary_metric not in spec.default_metrics:
        problems.append(f"primary_metric {spec.primary_metric!r} is not among default_metrics")
    return problems


def class_problems(model_class: Any, task: str, spec: TaskSpec | None = None) -> list[str]:
    """Why ``model_class`` cannot be a model of ``task`` (empty when it can)."""
    base: Any = None
    if spec is not None:
        try:
            base = resolve(spec.model_base)
        except Exception as exc:
            return [f"task {task!r}'s model base {spec.model_base!r} cannot be imported: {exc}"]
    if not isinstance(model_class, type) or not isinstance(base, type) or not issubclass(model_class, base):
        return [f"{getattr(model_class, '__name__', model_class)!r} for {task!r} is not a "
                f"{getattr(base, '__name__', 'Model')} subclass"]
    problems = missing_methods(model_class, base)  # a misspelt estimate: refused here, not per cell
    if model_class.__init__ is object.__init__:  # no parameters at all
        return problems
    return problems + signature_problems(model_class.__init__, f"{model_class.__name__}.__init__")


def build_registry(local_plugins: Iterable[tuple[str | Path, str]] = (),
                   entry_points: bool = True) -> Registry:
    """Load entry-point plugins and local plugin files ``(path, where)``, then collect specs.

    A local file that fails to import or has broken hooks is the user's own input: a BenchError
    (exit 2), one per such file, all raised together after every file was tried. An installed
    plugin that fails is contained and listed in ``Registry.problems``.
    """
    manager = pluggy.PluginManager(hookspec.PROJECT)
    manager.add_hookspecs(hookspec)
    loading = _Loading(manager)
    problems, providers = loading.problems, loading.providers
    if entry_points:
        _entry_point_plugins(loading)
    broken: list[BenchError] = []
    for path, where in local_plugins:
        try:
            module = load_local_plugin(path, where)
        except BenchError as exc:
            broken.append(exc)
            continue
        provider = Provider(f"file:{Path(path).name}", module.__bench_file__, "local",
                            f"sha256:{module.__bench_code__}")
        if not loading.register(module, f"file:{module.__bench_file__}", provider, ()):
            broken.append(BenchError(f"plugin file {str(path)!r} {problems[-1].reason}", where))
    raise_all(broken)
    registry = Registry(manager, problems=problems)
    for kind, hook_name in KINDS.items():  # tasks first: the other kinds are checked against them
        found: list[tuple[Any, Provider, list[str]]] = []
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            provider = providers[id(impl.plugin)]
            try:
                specs = list(impl.function() or [])
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                problems.append(Problem(provider, f"failed in {hook_name}: {type(exc).__name__}: {exc}",
                                        (provider.plugin,)))
                continue
            for spec in specs:
                if kind != "task":  # its own task names mean its own tasks (benchmark.naming)
                    spec = own_names(spec, registry.own("task", provider))
                reasons = spec_problems(kind, spec, registry.tasks())
                name = getattr(spec, "name", None)
                if not isinstance(name, str) or not name or ":" in name:
                    problems.append(Problem(provider, f"{hook_name}: {'; '.join(reasons)}"))
                    continue
                found.append((spec, provider, reasons))
        _name_entries(registry, kind, found)
    _adapt_models(registry)
    _check_directions(registry)
    return registry


def _named(entry: Entry) -> TaskSpec:
    """A task entry's spec, named as suites name it (its key)."""
    spec = cast(TaskSpec, entry.spec)
    return spec if spec.name == entry.name else dataclasses.replace(spec, name=entry.name)


def _adapt_models(registry: Registry) -> None:
    """Give every model the tasks it reaches through a task's ``adapters`` (lazily: the adapted
    class is built by :mod:`benchmark.adapters` when first used)."""
    tasks = registry.tasks()
    table = registry.entries.get("model", {})
    for key, entry in list(table.items()):
        classes = dict(entry.spec.classes)
        for name, task in tasks.items():
            if name in classes:
                continue
            source = next((other for other in task.adapters if other in classes), None)
            if source is not None:
                classes[name] = adapters.declare(key, name, classes[source], task.adapters[source],
                                                 task.model_base)
        if len(classes) != len(entry.spec.classes):
            table[key] = Entry(entry.kind, dataclasses.replace(entry.spec, classes=classes),
                               entry.provider, entry.unusable, entry.key)


def _check_directions(registry: Registry) -> None:
    """A task whose metrics are missing, another task's, or of the other direction is
    unusable (:func:`task_unusable`)."""
    table = registry.entries.get("task", {})

    def metric(name: str) -> MetricSpec | None:
        found = registry.find("metric", name)
        return found.spec if found is not None and not found.unusable else None

    for key, entry in list(table.items()):
        spec = own_names(entry.spec, str, registry.own("metric", entry.provider))
        reason = entry.unusable or task_unusable(_named(Entry("task", spec, entry.provider, key=key)), metric)
        if reason or spec is not entry.spec:
            table[key] = Entry(entry.kind, spec, entry.provider, reason, entry.key)


def _name_entries(registry: Registry, kind: str, found: list[tuple[Any, Provider, list[str]]]) -> None:
    """Key each spec by its plain name, or by its qualified name when the plain one means
    bench's own spec or is shared by several plugins (then it is ambiguous)."""
    table: dict[str, Entry] = {}
    aliases: dict[str, str] = {}
    ambiguous: dict[str, list[str]] = {}
    by_name: dict[str, list[tuple[Any, Provider, list[str]]]] = {}
    for spec, provider, reasons in found:
        by_name.setdefault(spec.name, []).append((spec, provider, reasons))
    for name, group in by_name.items():
        builtin = [g for g in group if g[1].builtin]
        plain_owner = builtin[0] if builtin else (group[0] if len(group) == 1 else None)
        for spec, provider, reasons in group:
            entry = Entry(kind, spec, provider, "; ".join(reasons))
            qualified = entry.qualified
            if qualified in aliases:  # one distribution providing the name twice
                other = table[aliases[qualified]]
                table[aliases[qualified]] = Entry(kind, other.spec, other.provider,
                                                  f"{qualified} is provided twice", other.key)
                continue
            key = name if plain_owner is not None and plain_owner[0] is spec else qualified
            table[key] = Entry(kind, spec, provider, entry.unusable, key)
            aliases[qualified] = key
        if plain_owner is None:
            ambiguous[name] = sorted(Entry(kind, s, p).qualified for s, p, _ in group)
    registry.entries[kind] = table
    registry.aliases[kind] = aliases
    registry.ambiguous[kind] = ambiguous


def is_model_class_usable(entry: Entry, task: str, registry: Registry | None = None) -> str:
    """Import a lazily referenced model class and check it against its task's base class
    (when ``registry`` is given); the reason when it can't be used."""
    factory = entry.spec.classes[task]
    try:
        model_class = entry.model_class(task)
    except Exception as exc:
        missing = entry.missing
        hint = f" (pip install {' '.join(missing)})" if missing else ""
        return f"cannot import {factory!r}: {type(exc).__name__}: {exc}{hint}"
    if registry is None:
        return "" if isinstance(model_class, type) and issubclass(model_class, Model) else \
            f"{factory!r} is not a Model subclass"
    tasks = registry.tasks()
    if task not in tasks:
        return f"task {task!r} is not installed"
    return "; ".join(class_problems(model_class, task, tasks[task]))

