"""How many times one cell's path through :func:`benchmark.execute.execute` changes module.

Issue 25 measured that one cell "bounces between ``execute.py`` and ``_internal.py``": every use
of a lazy ``module:Class`` reference went back to ``_internal.resolve``, every metric, split and
runner lookup back to the registry. This script counts it, so that the figure can be compared
before and after a change.

What it runs: a suite of one tiny rating dataset (``synthetic-ratings``, 30 users × 20 items),
one model (``bias-baseline``) and the metrics ``rmse`` and ``mae`` is loaded and planned as
``bench run`` does; one cell is executed first to warm the imports and caches (a worker runs
many cells: its first one pays for the imports, not for the path), then another cell of the
same plan is executed inline, with an artifacts directory, under :func:`sys.setprofile`.

What it counts, along the sequence of ``call`` events (Python frames entered, in order; C
functions and returns left out) whose code lives in a module of the ``benchmark`` package:

* a **stop** is a maximal run of consecutive such calls within one module. The sequence
  ``execute, execute, record, execute, registry, registry, _internal, execute`` has 6 stops:
  ``execute`` (2 calls), ``record``, ``execute``, ``registry`` (2 calls), ``_internal``,
  ``execute``;
* calls into code outside ``benchmark`` (the model plugin in ``bench_plugins``, numpy, the
  standard library) are left out of the sequence: they neither start nor end a stop, so the
  ``benchmark.api`` helpers a plugin calls while it fits count, the plugin itself does not;
* the files are the distinct modules among the stops.

Figures (the count does not depend on the machine):

* main before issue 25 (``a08d5bd``): 54 stops in 8 files, 133 calls;
* lazy references imported once by registry entries, a cell's lookups made at once, the split
  read back once (branch ``spine-suite``): 40 stops in 9 files, 101 calls.

Of the 40, 31 would remain with no stop at all in the registry, the suite package or
``_internal``: they are the record (``CellResult.start``, keys), the data classes of
``benchmark.api`` (called by the task's runner and its metrics), the timers of
``benchmark.provenance``, the shared-data keys and the store's directory checks -- modules that
do other jobs on purpose -- and the returns to ``execute`` between them.

Usage::

    python benchmarks/spine_path.py [--show]

``--show`` prints the stops, one line each (module, number of calls, the first function).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

SUITE = """\
name: spine-path
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.5}
    split: {method: kfold, k: 3}
models: [bias-baseline]
metrics: [rmse, mae]
"""


def trace_cell() -> list[tuple[str, str]]:
    """``(module, function)`` of every call into the ``benchmark`` package, in order, while one
    planned cell runs through ``execute()``."""
    import benchmark
    from benchmark.execute import DataCache, execute
    from benchmark.runner import plan
    from benchmark.suite import load_suite

    package = str(Path(benchmark.__file__).parent)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "suite.yaml"
        path.write_text(SUITE)
        suite, registry = load_suite(path)
        cache = DataCache(registry)
        cells = plan(suite, registry, cache)
        artifacts = Path(scratch) / "out" / "artifacts"
        artifacts.mkdir(parents=True)
        warm = execute(cells[1], cache, artifacts)
        assert warm.status == "ok", warm.error
        calls: list[tuple[str, str]] = []

        def profile(frame, event, arg):  # type: ignore[no-untyped-def]
            if event != "call":
                return
            file = frame.f_code.co_filename
            if file.startswith(package):
                module = file[len(package) + 1:].removesuffix(".py").replace("/", ".")
                calls.append((module.removesuffix(".__init__"), frame.f_code.co_name))

        sys.setprofile(profile)
        try:
            result = execute(cells[0], cache, artifacts)
        finally:
            sys.setprofile(None)
        assert result.status == "ok", result.error
    return calls


def stops(calls: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
    """The maximal runs of consecutive calls within one module: ``(module, calls, first function)``."""
    found: list[tuple[str, int, str]] = []
    for module, function in calls:
        if found and found[-1][0] == module:
            found[-1] = (module, found[-1][1] + 1, found[-1][2])
        else:
            found.append((module, 1, function))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print every stop")
    args = parser.parse_args()
    path = stops(trace_cell())
    if args.show:
        for module, count, function in path:
            print(f"  {module:<24} {count:>4} call(s), from {function}")
    files = sorted({module for module, _, _ in path})
    print(f"{len(path)} stops in {len(files)} files ({', '.join(files)}); "
          f"{sum(count for _, count, _ in path)} calls")


if __name__ == "__main__":
    main()
