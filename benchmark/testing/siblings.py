"""Names in a ``params``/``options`` map that a plugin module does not provide: its siblings' or a slip.

A distribution often registers several plugin modules (models in one, datasets in another), and
its tests give each module one shared map naming them all. Contract 1.0's kit ignored the names a
module did not provide, and a minor version keeps accepting what 1.0 accepted: a name that a
sibling module of the same installed distribution provides is simply not this module's; a name
that no module of the distribution provides is likely a misspelling and is *warned* about
(:class:`StrayNameWarning`), never an error. A module of no installed distribution (a local plugin
file) has no siblings: every name it does not provide is warned about.
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from collections.abc import Iterable, Mapping
from types import FrameType, ModuleType
from typing import Any

from benchmark.errors import did_you_mean
from benchmark.registry import ENTRY_POINT_GROUP

KINDS = {"model": ("params", "bench_models"), "dataset": ("options", "bench_datasets")}
"""What a map names -> the argument that gives it and the hook whose specs provide the names."""


class StrayNameWarning(UserWarning):
    """A ``params``/``options`` map names a model or dataset that no module of the plugin's
    distribution provides (the kit ignores that entry)."""


def distributions_of(module: ModuleType) -> list[str]:
    """The installed distributions that provide ``module``'s top-level package (none for a
    local plugin file)."""
    top = module.__name__.partition(".")[0]
    return list(dict.fromkeys(importlib.metadata.packages_distributions().get(top, [])))


def sibling_plugins(distributions: Iterable[str]) -> list[Any]:
    """The plugins ``distributions`` register in bench's entry-point group, imported; one that
    does not import is left out (``bench plugins`` reports it)."""
    found: list[Any] = []
    for name in distributions:
        try:
            points = importlib.metadata.distribution(name).entry_points
        except importlib.metadata.PackageNotFoundError:
            continue
        for point in points.select(group=ENTRY_POINT_GROUP):
            try:
                plugin = point.load()
            except Exception:  # noqa: BLE001 -- a broken sibling is not this module's finding
                continue
            if all(plugin is not seen for seen in found):
                found.append(plugin)
    return found


def provided(plugin: Any, hook: str) -> list[str]:
    """The names of the specs ``plugin``'s ``hook`` returns (none when it raises: the plugin's own
    check reports that)."""
    function = getattr(plugin, hook, None)
    if not callable(function):
        return []
    try:
        return [str(spec.name) for spec in function() or [] if hasattr(spec, "name")]
    except Exception:  # noqa: BLE001
        return []


def warn_stray_names(module: ModuleType, given: Mapping[str, Any], kind: str, own: list[str]) -> None:
    """Warn once per name of ``given`` (a map of ``kind`` names: ``"model"`` or ``"dataset"``)
    that neither ``module`` (whose names are ``own``) nor a sibling module provides."""
    stray = [name for name in given if name not in own]
    if not stray:
        return
    argument, hook = KINDS[kind]
    distributions = distributions_of(module)
    known = list(own)
    for plugin in sibling_plugins(distributions):
        known += [name for name in provided(plugin, hook) if name not in known]
    for name in stray:
        if name in known:
            continue  # a sibling's: the map is shared by the distribution's modules
        hint = did_you_mean(name, known) or f"it provides {', '.join(own) or 'none'}"
        others = (f"nor does any other module of {', '.join(distributions)}" if distributions
                  else "it is not installed, so it has no sibling modules")
        warnings.warn(f"{argument}: {module.__name__} provides no {kind} {name!r}; {hint} "
                      f"({others}; the kit ignores this entry)", StrayNameWarning,
                      stacklevel=_outside_the_kit())


def _outside_the_kit() -> int:
    """The ``stacklevel``, for a ``warnings.warn`` made by this function's caller, of the first
    frame outside ``benchmark.testing``: the warning points at the plugin's test."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("benchmark.testing"):
        frame, level = frame.f_back, level + 1
    return level
