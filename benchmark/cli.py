"""The ``bench`` command. Imports stay inside the commands so ``bench --help`` is instant."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark recommender and reconstruction models from a YAML suite.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a suite and print its leaderboard")
    run.add_argument("suite", help="path to the suite YAML file")
    run.add_argument("--out", help="results directory (default: results/<suite name>); "
                                   "finished cells found there are reused")
    run.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE",
                     help="load a local plugin file (repeatable)")
    run.add_argument("--data-dir", help="local dataset copies (default: $BENCH_DATA_DIR)")
    run.add_argument("--fresh", action="store_true", help="discard stored cells and run all again")
    run.add_argument("-q", "--quiet", action="store_true", help="no per-cell progress lines")

    plugins = commands.add_parser("plugins", help="list installed plugins and what they provide")
    plugins.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE",
                         help="also load a local plugin file")

    schema = commands.add_parser("schema", help="print the JSON Schema of the suite format")
    schema.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE")
    return parser


def _run(args: argparse.Namespace) -> int:
    import io

    from benchmark.runner import run_suite

    stream = io.StringIO() if args.quiet else sys.stderr
    result = run_suite(args.suite, out=args.out, plugins=args.plugin, data_dir=args.data_dir,
                       fresh=args.fresh, stream=stream)
    print(result.text, end="")
    print(f"\n{result.ran} cells run, {result.reused} reused, {result.failed} failed "
          f"in {result.seconds:.1f}s; results in {result.store.directory}/")
    return 1 if result.failed else 0


def _plugins(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from benchmark.registry import build_registry

    registry = build_registry([(p, f"-p {p}") for p in args.plugin])
    table = []
    for entry in registry.all():
        missing = entry.missing
        usable = "yes" if not missing else f"no: pip install {' '.join(missing)}"
        table.append([entry.name, entry.kind, ", ".join(entry.tasks),
                      f"{entry.provider.distribution} {entry.provider.version}", usable,
                      getattr(entry.spec, "summary", "")])
    print(tabulate(table, headers=["name", "kind", "tasks", "provided by", "usable", "summary"]))
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from benchmark.registry import build_registry
    from benchmark.suite import suite_schema

    registry = build_registry([(p, f"-p {p}") for p in args.plugin])
    print(json.dumps(suite_schema(registry), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from importlib.metadata import version

        print(f"bench {version('bench-harness')}")
        return 0
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    from benchmark.errors import BenchError

    try:
        return {"run": _run, "plugins": _plugins, "schema": _schema}[args.command](args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("bench: interrupted; finished cells are stored, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
