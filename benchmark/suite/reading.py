"""Step 1 of reading a suite: the file, read safely and checked against the static schema
before any plugin is loaded (:func:`read_suite`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.errors import BenchError
from benchmark.limits import check_seed, results_dir_name
from benchmark.suite.problems import describe_value, schema_errors
from benchmark.suite.resolving import ParsedSuite
from benchmark.suite.schema import SUITE_SCHEMA


def read_suite(path: str | Path) -> ParsedSuite:
    """Read the file and check it against the static schema, recording every problem in
    ``ParsedSuite.errors`` (raised only when the file cannot be read as a mapping at all)."""
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
    plugins = tuple((path.parent / p, at("plugins", i)) for i, p in enumerate(listed)
                    if isinstance(p, str) and p)
    return ParsedSuite(path, loaded.text, data, at, plugins, tuple(errors), invalid)
