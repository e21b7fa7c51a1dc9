"""Find plugins (entry points and local files) and look up what they provide, by name."""

from __future__ import annotations

import difflib
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from benchmark import hookspec
from benchmark.api import DatasetSpec, MetricSpec, ModelSpec, missing_requirements
from benchmark.errors import BenchError

ENTRY_POINT_GROUP = "bench"
KINDS = {"model": "bench_models", "dataset": "bench_datasets",
         "split": "bench_splits", "metric": "bench_metrics"}


@dataclass(frozen=True)
class Provider:
    """Where a plugin came from: an installed distribution or a local file."""

    plugin: str
    distribution: str
    version: str


@dataclass(frozen=True)
class Entry:
    """One registered name with its spec and provider."""

    kind: str
    spec: Any
    provider: Provider

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tasks(self) -> tuple[str, ...]:
        if isinstance(self.spec, ModelSpec):
            return self.spec.tasks
        if isinstance(self.spec, (DatasetSpec, MetricSpec)):
            return (self.spec.task,)
        return self.spec.tasks

    @property
    def missing(self) -> list[str]:
        return missing_requirements(getattr(self.spec, "requires", {}))


@dataclass
class Registry:
    """All models, datasets, splits and metrics of the loaded plugins."""

    manager: pluggy.PluginManager
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)

    def get(self, kind: str, name: str, where: str = "") -> Entry:
        """The entry called ``name``, or a BenchError suggesting the closest names."""
        table = self.entries.get(kind, {})
        if name in table:
            return table[name]
        close = difflib.get_close_matches(str(name), table, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else \
            f"known: {', '.join(sorted(table)) or 'none'}"
        raise BenchError(f"unknown {kind} {name!r}; {hint}", where)

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries.get(kind, {}))

    def all(self) -> Iterable[Entry]:
        for kind in KINDS:
            yield from sorted(self.entries.get(kind, {}).values(), key=lambda e: e.name)


def load_local_plugin(path: str | Path, where: str = "") -> Any:
    """Import a plugin from a ``.py`` file, reporting a missing file or a failed import."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise BenchError(f"plugin file {str(path)!r} not found", where)
    module_name = f"bench_local_{file.stem}_{abs(hash(str(file.resolve()))) % 10**8}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise BenchError(f"plugin file {str(path)!r} is not a Python module", where)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a plugin's own bug must not become our traceback
        del sys.modules[module_name]
        raise BenchError(f"plugin file {str(path)!r} failed to import: "
                         f"{type(exc).__name__}: {exc}", where) from None
    module.__bench_file__ = str(file)
    return module


def _providers(manager: pluggy.PluginManager) -> dict[int, Provider]:
    found = {}
    for plugin, dist in manager.list_plugin_distinfo():
        name = manager.get_name(plugin) or ""
        found[id(plugin)] = Provider(name, dist.metadata["name"], dist.version)
    return found


def build_registry(local_plugins: Iterable[tuple[str | Path, str]] = (),
                   entry_points: bool = True) -> Registry:
    """Load entry-point plugins and local plugin files ``(path, where)``, then collect specs."""
    manager = pluggy.PluginManager(hookspec.PROJECT)
    manager.add_hookspecs(hookspec)
    if entry_points:
        try:
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:
            raise BenchError(f"an installed bench plugin failed to import: "
                             f"{type(exc).__name__}: {exc}") from None
    for path, where in local_plugins:
        module = load_local_plugin(path, where)
        if not manager.is_registered(module):
            manager.register(module, name=f"file:{Path(path).name}")
    providers = _providers(manager)
    registry = Registry(manager)
    for kind, hook_name in KINDS.items():
        table: dict[str, Entry] = {}
        hook = getattr(manager.hook, hook_name)
        for impl in hook.get_hookimpls():
            plugin = impl.plugin
            provider = providers.get(id(plugin)) or Provider(
                impl.plugin_name, getattr(plugin, "__bench_file__", impl.plugin_name), "local")
            try:
                specs = impl.function() or []
            except Exception as exc:
                raise BenchError(f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                                 f"{type(exc).__name__}: {exc}") from None
            for spec in specs:
                if spec.name in table and table[spec.name].provider != provider:
                    other = table[spec.name].provider
                    raise BenchError(f"{kind} {spec.name!r} is provided twice: by "
                                     f"{other.distribution} and {provider.distribution}")
                table[spec.name] = Entry(kind, spec, provider)
        registry.entries[kind] = table
    return registry

