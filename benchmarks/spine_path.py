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

It counts two things:

* **the path as ``execute()`` reads** (the figure issue 25 targets, at most 12): the functions
  of the ``benchmark`` package that ``execute()`` calls *itself*, in order -- the places a
  maintainer has to open to follow one cell. On main before issue 25 (``a08d5bd``): 33 stops in
  6 files (``provenance``, ``cells``, ``registry``, ``execute``, ``api``, ``_internal``: every
  lazy reference resolved on the way, every timer entered and left in the cell's own body).
  Now: 9 stops in 3 files -- ``machine``, ``now``, ``CellResult.start``, ``CellPlugins.of``
  (every registry lookup at once), ``checked_data``, ``fit_and_predict``, ``scored``,
  ``write_artifacts``, ``now``;
* **every call**: a *stop* is a maximal run of consecutive calls within one module along the
  sequence of ``call`` events (Python frames entered, in order; C functions and returns left
  out) whose code lives in a module of ``benchmark``. The sequence
  ``execute, execute, record, execute, registry, registry, _internal, execute`` has 6 stops.
  Calls into code outside ``benchmark`` (the model plugin in ``bench_plugins``, numpy, the
  standard library) neither start nor end a stop, so the ``benchmark.api`` helpers a plugin
  calls while it fits count, the plugin itself does not. Main before issue 25: 54 stops in 8
  files, 133 calls; now 45 stops in 10 files, 105 calls: the rest are the record, the data
  classes of ``benchmark.api`` called by the task's runner and its metrics, the timers and the
  shared-data keys -- modules that do other jobs on purpose.

The counts do not depend on the machine. Run the script from another checkout with
``PYTHONPATH=<checkout> python benchmarks/spine_path.py`` to measure that tree.

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


def trace_cell() -> list[tuple[str, str, str]]:
    """``(module, function, caller)`` of every call into the ``benchmark`` package, in order,
    while one planned cell runs through ``execute()``; ``caller`` is the nearest ``benchmark``
    function on the stack (``module.function``), ``""`` for the first."""
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
        calls: list[tuple[str, str, str]] = []

        def module_of(code) -> str | None:  # type: ignore[no-untyped-def]
            file = code.co_filename
            if not file.startswith(package):
                return None
            return str(file[len(package) + 1:].removesuffix(".py").replace("/", ".").removesuffix(".__init__"))

        def profile(frame, event, arg):  # type: ignore[no-untyped-def]
            if event != "call":
                return
            module = module_of(frame.f_code)
            if module is None:
                return
            back = frame.f_back
            while back is not None and module_of(back.f_code) is None:
                back = back.f_back
            caller = f"{module_of(back.f_code)}.{back.f_code.co_name}" if back is not None else ""
            calls.append((module, frame.f_code.co_name, caller))

        sys.setprofile(profile)
        try:
            result = execute(cells[0], cache, artifacts)
        finally:
            sys.setprofile(None)
        assert result.status == "ok", result.error
    return calls


def steps(calls: list[tuple[str, str, str]]) -> list[str]:
    """The path as ``execute()`` reads: the ``benchmark`` functions it calls itself, in order."""
    return [f"{module}.{function}" for module, function, caller in calls if caller == "execute.execute"]


def stops(calls: list[tuple[str, str, str]]) -> list[tuple[str, int, str]]:
    """The maximal runs of consecutive calls within one module: ``(module, calls, first function)``."""
    found: list[tuple[str, int, str]] = []
    for module, function, _ in calls:
        if found and found[-1][0] == module:
            found[-1] = (module, found[-1][1] + 1, found[-1][2])
        else:
            found.append((module, 1, function))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print every stop")
    args = parser.parse_args()
    calls = trace_cell()
    path = stops(calls)
    if args.show:
        for module, count, function in path:
            print(f"  {module:<24} {count:>4} call(s), from {function}")
    files = sorted({module for module, _, _ in path})
    print(f"every call: {len(path)} stops in {len(files)} files ({', '.join(files)}); "
          f"{sum(count for _, count, _ in path)} calls")
    read = steps(calls)
    print(f"the path execute() reads: {len(read)} stops in {len({s.rsplit('.', 1)[0] for s in read})} files "
          f"({' -> '.join(read)})")


if __name__ == "__main__":
    main()
