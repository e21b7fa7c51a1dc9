"""Step 1 of reading a suite: the file, read safely and checked against the static schema
before any plugin is loaded (:func:`read_suite`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmark.errors import BenchError
from benchmark.limits import check_seed, results_dir_name
from benchmark.suite.problems import describe_value, schema_errors
from benchmark.suite.resolving import ParsedSuite
from benchmark.suite.schema import SUITE_SCHEMA


def read_suite(path: str | Path, command_line: Sequence[str | Path] = ()) -> ParsedSuite:
    """Read the file and check it against the static schema, recording every problem in
    ``ParsedSuite.errors`` (raised only when the file cannot be read as a mapping at all).

    A suite's ``plugins:`` are code that ``bench check`` and ``bench run`` import, so only files
    the user can see they trust are kept (:func:`trusted_plugins`): under the suite's folder,
    under the current directory, or named on the command line (``command_line``, the ``-p``
    files). Any other is an error, and is never loaded."""
    from benchmark.yamlsafe import read_suite_file  # YAML: workers import this package, never read a suite

    path = Path(path)
    loaded = read_suite_file(path)
    data, at = loaded.data, loaded.where
    if not isinstance(data, dict):
        raise BenchError(f"expected a mapping of suite keys, got {describe_value(data)}", at())
    found = schema_errors(data, SUITE_SCHEMA)
    errors = [BenchError(message, at(*key)) for key, message in found]
    invalid = frozenset(key for key, _ in found)
    checks: list[tuple[Callable[[Any, str], Any], Any, str]] = []
    if isinstance(data.get("name"), str) and ("name",) not in invalid:
        checks.append((results_dir_name, data["name"], at("name")))
    if "seed" in data and "seeds" in data:
        errors.append(BenchError("give either 'seed' or 'seeds', not both", at("seeds")))
    elif "seed" in data and ("seed",) not in invalid:
        checks.append((check_seed, data["seed"], at("seed")))
    if isinstance(data.get("seeds"), list) and ("seeds",) not in invalid:
        checks += [(check_seed, seed, at("seeds", i)) for i, seed in enumerate(data["seeds"])]
    for check, value, where in checks:
        try:
            check(value, where)
        except BenchError as exc:
            errors.append(exc)
    listed: list[Any] = data["plugins"] if isinstance(data.get("plugins"), list) else []
    plugins, refused = trusted_plugins(path, [(p, at("plugins", i)) for i, p in enumerate(listed)
                                              if isinstance(p, str) and p], command_line)
    errors += refused
    return ParsedSuite(path, loaded.text, data, at, plugins, tuple(errors), invalid)


def trusted_plugins(suite: Path, listed: Sequence[tuple[str, str]], command_line: Sequence[str | Path] = ()
                    ) -> tuple[tuple[tuple[Path, str], ...], list[BenchError]]:
    """The suite's plugin files (``(name as written, where)``) that may be loaded -- each
    resolved (links followed) under the suite's folder or the current directory, or given
    with ``-p`` -- and one error for each other, saying how to allow it. Why: a suite may come
    from anyone (a shared results directory, a colleague's repository), and ``bench check``
    must not import ``/home/other/anything.py`` because a suite names it."""
    roots = [suite.resolve().parent, Path.cwd().resolve()]
    given = {Path(p).resolve() for p in command_line}
    kept: list[tuple[Path, str]] = []
    refused: list[BenchError] = []
    for name, where in listed:
        file = (suite.parent / name).resolve()
        if file in given or any(root == file or root in file.parents for root in roots):
            kept.append((suite.parent / name, where))
        else:
            refused.append(BenchError(
                f"plugin file {name!r} is outside the suite's folder and the current directory "
                f"({file}); refused: a plugin is code that bench would run. To allow it, pass it on "
                f"the command line: -p {file}", where))
    return tuple(kept), refused
