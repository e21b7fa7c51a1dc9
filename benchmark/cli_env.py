"""``bench env``: the per-model environments built on this machine (:mod:`benchmark.environments`).

* ``bench env list`` — one line per built environment: its names, hash, Python, requirements,
  size and how long it took to build;
* ``bench env build SUITE [NAME...]`` — build a suite's environments (all, or those named)
  before a run, so that the run does not wait for pip; an environment already built is reused
  at once. Every environment is tried; the failures are listed at the end, one line each;
* ``bench env remove NAME_OR_HASH...`` — remove environments by a suite's name for them or by
  a hash prefix (six characters or more).

``--cache DIR`` chooses the cache (default ``$BENCH_CACHE_DIR`` or ``~/.cache/bench``); the
environments are under ``DIR/envs``. The parser is ``cli.py``'s (so that ``bench --help`` loads
no more); :func:`run` is its handler.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    """The ``bench env`` handler."""
    command = getattr(args, "env_command", None) or "list"
    if command == "build":
        return build_suite(args.suite, args.names, args.cache)
    if command == "remove":
        return remove(args.targets, args.cache)
    return list_built(args.cache)


def list_built(cache: str | None = None) -> int:
    from tabulate import tabulate

    from benchmark.environments import environments_root, list_environments

    found = list_environments(cache)
    if not found:
        print(f"no environment built under {environments_root(cache)}")
        return 0
    rows = [[", ".join(env.names), env.hash, env.python_version, " ".join(env.spec.requirements),
             _size(env.path), f"{env.build_seconds:.0f}s", env.created] for env in found]
    print(tabulate(rows, headers=["name", "hash", "python", "requirements", "size", "built in", "created"]))
    return 0


def build_suite(suite: str, names: list[str], cache: str | None = None) -> int:
    from benchmark.environments import build, parse_environments
    from benchmark.errors import BenchError, did_you_mean, raise_all
    from benchmark.yamlsafe import read_suite_file

    loaded = read_suite_file(suite)
    data = loaded.data if isinstance(loaded.data, dict) else {}
    declared = parse_environments(data, loaded.name)
    if not declared:
        raise BenchError("environments: expected a block declaring the suite's environments, found none",
                         loaded.name)
    for name in names:
        if name not in declared:
            hint = did_you_mean(name, declared)
            raise BenchError(f"no environment {name!r}; this suite declares {', '.join(sorted(declared))}"
                             f"{'; ' + hint if hint else ''}", loaded.name)
    failed: list[BenchError] = []
    for name in names or list(declared):
        try:
            env = build(declared[name], cache, log=lambda line: print(line, file=sys.stderr, flush=True))
        except BenchError as error:
            failed.append(error)
            continue
        print(f"{name}: {env.hash} at {env.path} (python {env.python_version})")
    raise_all(failed)
    return 0


def remove(targets: list[str], cache: str | None = None) -> int:
    from benchmark.environments import remove as remove_environment

    for target in targets:
        for env in remove_environment(target, cache):
            print(f"removed {', '.join(env.names)} ({env.hash})")
    return 0


def _size(path: Path) -> str:
    """The environment's size on disk (links not followed)."""
    total = 0.0
    for item in path.rglob("*"):
        try:
            if item.is_file() and not item.is_symlink():
                total += item.stat().st_size
        except OSError:
            continue
    for unit in ("B", "KB", "MB"):
        if total < 1024:
            return f"{total:.0f} {unit}" if unit == "B" else f"{total:.1f} {unit}"
        total /= 1024
    return f"{total:.1f} GB"
