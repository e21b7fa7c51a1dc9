"""Find plugins (entry points and local files), contain the broken ones, look up names.

Every plugin is loaded on its own: one that fails to import, misspells a hook, targets a
newer contract, clashes with another, or breaks the contract is recorded as a
:class:`Problem` (shown by ``bench plugins``) and the rest of bench works on. A suite that
uses a name such a plugin would provide gets one line naming the plugin and the reason.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from benchmark import hookspec
from benchmark._internal import missing_requirements, resolve, sha256_hex
from benchmark.api import (
    API_VERSION, TASK_BASES, TASKS, DatasetSpec, MetricSpec, ModelSpec, SplitSpec,
)
from benchmark.errors import BenchError
from benchmark.params import signature_problems

ENTRY_POINT_GROUP = "bench"
KINDS = {"model": "bench_models", "dataset": "bench_datasets",
         "split": "bench_splits", "metric": "bench_metrics"}
SPEC_TYPES: dict[str, type[Any]] = {"model": ModelSpec, "dataset": DatasetSpec, "split": SplitSpec, "metric": MetricSpec}
HOOKS = sorted(name for name in vars(hookspec) if name.startswith("bench_"))


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


@dataclass(frozen=True)
class Problem:
    """A plugin (or one of its specs) that cannot be used, and why."""

    provider: Provider
    reason: str
    names: tuple[str, ...] = ()  # names it provides, when known (e.g. the entry-point name)


@dataclass(frozen=True)
class Entry:
    """One registered name with its spec and provider; ``unusable`` says why it cannot run."""

    kind: str
    spec: Any
    provider: Provider
    unusable: str = ""

    @property
    def name(self) -> str:
        return str(self.spec.name)

    @property
    def tasks(self) -> tuple[str, ...]:
        if isinstance(self.spec, ModelSpec):
            return self.spec.tasks
        if isinstance(self.spec, (DatasetSpec, MetricSpec)):
            return (self.spec.task,)
        return tuple(self.spec.tasks)

    @property
    def requires(self) -> dict[str, str]:
        """Libraries of the spec, and of its model classes that are already imported."""
        found = dict(getattr(self.spec, "requires", {}) or {})
        if isinstance(self.spec, ModelSpec):
            for factory in self.spec.classes.values():
                if isinstance(factory, type):
                    found.update(getattr(factory, "requires", {}) or {})
        return found

    @property
    def missing(self) -> list[str]:
        return missing_requirements(self.requires)


@dataclass
class Registry:
    """All models, datasets, splits and metrics of the loaded plugins, and the problems."""

    manager: pluggy.PluginManager
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def get(self, kind: str, name: str, where: str = "") -> Entry:
        """The usable entry called ``name``, or a BenchError saying why not."""
        table = self.entries.get(kind, {})
        entry = table.get(name)
        if entry is not None:
            if entry.unusable:
                raise BenchError(f"{kind} {name!r} is unusable: {entry.unusable} "
                                 f"(from {entry.provider.describe()})", where)
            return entry
        for problem in self.problems:
            if name in problem.names:
                raise BenchError(f"{kind} {name!r} is unavailable: plugin {problem.provider.plugin!r} "
                                 f"from {problem.provider.describe()} {problem.reason}", where)
        close = difflib.get_close_matches(str(name), table, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else \
            f"known: {', '.join(sorted(table)) or 'none'}"
        if self.problems:
            hint += f" ({len(self.problems)} plugin(s) failed to load: see bench plugins)"
        raise BenchError(f"unknown {kind} {name!r}; {hint}", where)

    def names(self, kind: str) -> list[str]:
        return sorted(n for n, e in self.entries.get(kind, {}).items() if not e.unusable)

    def all(self) -> Iterable[Entry]:
        for kind in KINDS:
            yield from sorted(self.entries.get(kind, {}).values(), key=lambda e: e.name)

    def hook_impls(self, hook: str) -> list[Any]:
        """The implementations of ``hook`` (call each on its own, to contain failures)."""
        return list(getattr(self.manager.hook, hook).get_hookimpls())


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


def hook_problems(module: Any) -> list[str]:
    """Misspelled hooks (``bench_model``) and an incompatible declared API version."""
    problems = []
    for name in dir(module):
        if name.startswith("bench_") and name not in HOOKS and callable(getattr(module, name)):
            close = difflib.get_close_matches(name, HOOKS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; hooks are {', '.join(HOOKS)}"
            problems.append(f"defines unknown hook {name!r}{hint}")
    declared = getattr(module, "BENCH_API_VERSION", API_VERSION)
    if not isinstance(declared, int) or declared > API_VERSION:
        problems.append(f"targets plugin API version {declared!r}; this bench provides "
                        f"{API_VERSION} (upgrade bench-harness)")
    return problems


def _register(manager: pluggy.PluginManager, module: Any, name: str, provider: Provider,
              problems: list[Problem], providers: dict[int, Provider], names: tuple[str, ...]) -> None:
    if manager.is_registered(module):
        return
    found = hook_problems(module)
    if not found:
        try:
            manager.register(module, name=name)
        except Exception as exc:  # pluggy's validation: wrong hook arguments, a clashing name
            found.append(f"cannot be registered: {exc}")
    if found:
        problems.append(Problem(provider, "; ".join(found), names))
    else:
        providers[id(module)] = provider


def _entry_point_plugins(manager: pluggy.PluginManager, problems: list[Problem],
                         providers: dict[int, Provider]) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        distribution = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        provider = Provider(ep.name, distribution, version, f"{distribution}=={version}")
        try:
            module = ep.load()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            problems.append(Problem(provider, f"failed to import {ep.value!r}: "
                                              f"{type(exc).__name__}: {exc}", (ep.name,)))
            continue
        _register(manager, module, ep.name, provider, problems, providers, (ep.name,))


def spec_problems(kind: str, spec: Any) -> list[str]:
    """Contract violations of one spec, found when it is registered (not when a cell runs)."""
    expected: type[Any] = SPEC_TYPES[kind]
    if not isinstance(spec, expected):
        return [f"returned {type(spec).__name__}, expected {SPEC_TYPES[kind].__name__}"]
    if not isinstance(spec.name, str) or not spec.name:
        return [f"a {kind} has no name"]
    problems = []
    tasks = spec.tasks if isinstance(spec, (ModelSpec, SplitSpec)) else (spec.task,)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        problems.append(f"declares task(s) {list(unknown) or 'none'}; known: {', '.join(TASKS)}")
    if isinstance(spec, ModelSpec):
        for task, factory in spec.classes.items():
            if isinstance(factory, str):
                if ":" not in factory:
                    problems.append(f"lazy reference {factory!r} is not 'module:Class'")
                continue
            problems += class_problems(factory, task)
    else:
        func = spec.loader if isinstance(spec, DatasetSpec) else spec.func
        if not isinstance(func, str) and not callable(func):
            problems.append(f"{'loader' if isinstance(spec, DatasetSpec) else 'func'} is not callable")
        elif isinstance(spec, DatasetSpec) and not isinstance(func, str):
            problems += signature_problems(func, "loader", skip=())
    return problems


def class_problems(model_class: Any, task: str) -> list[str]:
    """Why ``model_class`` cannot be a model of ``task`` (empty when it can)."""
    base = TASK_BASES.get(task)
    if not isinstance(model_class, type) or base is None or not issubclass(model_class, base):
        return [f"{getattr(model_class, '__name__', model_class)!r} for {task!r} is not a "
                f"{base.__name__ if base else 'Model'} subclass"]
    if model_class.__init__ is object.__init__:  # no parameters at all
        return []
    return signature_problems(model_class.__init__, f"{model_class.__name__}.__init__")


def build_registry(local_plugins: Iterable[tuple[str | Path, str]] = (),
                   entry_points: bool = True) -> Registry:
    """Load entry-point plugins and local plugin files ``(path, where)``, then collect specs.

    A local file that fails to import is the user's own input: a BenchError (exit 2). An
    installed plugin that fails is contained and listed in ``Registry.problems``.
    """
    manager = pluggy.PluginManager(hookspec.PROJECT)
    manager.add_hookspecs(hookspec)
    problems: list[Problem] = []
    providers: dict[int, Provider] = {}
    if entry_points:
        _entry_point_plugins(manager, problems, providers)
    for path, where in local_plugins:
        module = load_local_plugin(path, where)
        provider = Provider(f"file:{Path(path).name}", module.__bench_file__, "local",
                            f"sha256:{module.__bench_code__}")
        _register(manager, module, f"file:{module.__bench_file__}", provider, problems, providers, ())
        if problems and problems[-1].provider == provider:
            raise BenchError(f"plugin file {str(path)!r} {problems[-1].reason}", where)
    registry = Registry(manager, problems=problems)
    for kind, hook_name in KINDS.items():
        table: dict[str, Entry] = {}
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
                found = spec_problems(kind, spec)
                name = getattr(spec, "name", None)
                if not isinstance(name, str) or not name:
                    problems.append(Problem(provider, f"{hook_name}: {'; '.join(found)}"))
                    continue
                if name in table and table[name].provider != provider:
                    other = table[name].provider
                    table[name] = Entry(kind, table[name].spec, other,
                                        f"name clash: provided by both {other.describe()} "
                                        f"and {provider.describe()}")
                    continue
                table[name] = Entry(kind, spec, provider, "; ".join(found))
        registry.entries[kind] = table
    return registry


def is_model_class_usable(entry: Entry, task: str) -> str:
    """Import a lazily referenced model class and check it; the reason when it can't be used."""
    factory = entry.spec.classes[task]
    try:
        model_class = resolve(factory)
    except Exception as exc:
        missing = entry.missing
        hint = f" (pip install {' '.join(missing)})" if missing else ""
        return f"cannot import {factory!r}: {type(exc).__name__}: {exc}{hint}"
    problems = class_problems(model_class, task)
    return "; ".join(problems)

