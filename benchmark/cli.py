"""The ``bench`` command. Imports stay inside the commands so ``bench --help`` is instant."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

EXIT_BAD_INPUT = 2


def _jobs(value: str) -> int:
    if value == "auto":
        return os.cpu_count() or 1
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {jobs}")
    return jobs


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return seconds


def _size(value: str) -> int:
    from benchmark.errors import BenchError
    from benchmark.suite import parse_size

    try:
        return parse_size(value, "")
    except BenchError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark recommender and reconstruction models from a YAML suite.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a suite and print its leaderboard")
    run.add_argument("suite", help="path to the suite YAML file")
    run.add_argument("-o", "--out", help="results directory (default: results/<suite name>); "
                                   "finished cells found there are reused")
    run.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE",
                     help="load a local plugin file (repeatable)")
    run.add_argument("--data-dir", help="local dataset copies (default: the suite's data_dir, else "
                                        "$BENCH_DATA_DIR)")
    run.add_argument("--fresh", action="store_true",
                     help="run every cell again (stored cells are moved to archive/, not deleted)")
    run.add_argument("--retry-failed", action="store_true",
                     help="run again cells whose stored result is a failure")
    run.add_argument("-j", "--jobs", type=_jobs, default=1, metavar="N",
                     help="cells run in parallel, each in its own worker process ('auto': one per core)")
    run.add_argument("--executor", choices=["local", "dask", "inline"], default="local",
                     help="local worker processes (default), a Dask cluster, or inline in this "
                          "process (no isolation, for debugging)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="Dask scheduler address (default: a LocalCluster with --jobs workers)")
    run.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                     help="stop a cell after this long (overrides the suite's limits)")
    run.add_argument("--memory-limit", type=_size, metavar="SIZE",
                     help="stop a cell above this resident memory, e.g. 4GB (overrides the suite)")
    run.add_argument("--max-configurations", type=int, default=None, metavar="N",
                     help="refuse suites whose grids expand to more configurations (default 10,000)")
    def gpus(value: str) -> int:
        if not value.strip().isdigit():
            raise argparse.ArgumentTypeError(f"expected a number of devices (0 or more), got {value!r}")
        return int(value)

    run.add_argument("--gpus", type=gpus, default=None, metavar="N",
                     help="GPU devices for models that declare uses_gpu, one per cell (default: those "
                          "nvidia-smi lists; 0: run them on the CPU)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show library log output of cells (TensorFlow...) instead of storing it")

    check = commands.add_parser("check", help="validate a suite without running it")
    check.add_argument("suite", help="path to the suite YAML file")
    check.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE")
    check.add_argument("--max-configurations", type=int, default=None, metavar="N")

    plugins = commands.add_parser("plugins", help="list plugins, or show one plugin's parameters")
    plugins.add_argument("name", nargs="?", help="a model, dataset, split or metric name")
    plugins.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE",
                         help="also load a local plugin file")

    schema = commands.add_parser("schema", help="print the JSON Schema of the suite format")
    schema.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE")

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": _run, "check": _check, "plugins": _plugins, "schema": _schema}
    from benchmark import cli_results

    handlers.update(cli_results.register(commands))

    data = commands.add_parser(
        "data", help="list datasets' files (present? verified?) or download them",
        description="bench data [NAME...]: each dataset's files, where they are looked for, present "
                    "and verified; bench data download NAME... [--to DIR]: fetch them.")
    data.add_argument("words", nargs="*", metavar="[download] NAME",
                      help="dataset names; 'download' first to fetch them")
    data.add_argument("--data-dir", help="local dataset copies (default: $BENCH_DATA_DIR)")
    data.add_argument("--to", metavar="DIR",
                      help="with download: write the files laid out as a data_dir under DIR")
    data.add_argument("-p", "--plugin", action="append", default=[], metavar="FILE",
                      help="also load a local plugin file")
    handlers["data"] = _data
    _env_parser(commands)
    handlers["env"] = _env
    return parser, handlers


def _env_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``bench env``'s parser, here so that ``bench --help`` loads no module more (its handler,
    :mod:`benchmark.cli_env`, is imported when it runs)."""
    env = commands.add_parser(
        "env", help="list, build or remove the per-model environments of suites",
        description="Models whose library clashes with bench's dependencies run in environments a suite "
                    "declares (environments: {name: {requirements: [...]}} and env: name on a model line). "
                    "bench builds each once, cached by the hash of its specification.")
    env.add_argument("--cache", metavar="DIR", help="cache folder (default: $BENCH_CACHE_DIR or ~/.cache/bench)")
    actions = env.add_subparsers(dest="env_command", metavar="{list,build,remove}")
    actions.add_parser("list", help="the environments built on this machine")
    build = actions.add_parser("build", help="build a suite's environments (all, or those named)")
    build.add_argument("suite", help="suite file with an environments: block")
    build.add_argument("names", nargs="*", metavar="NAME", help="only these environments")
    remove = actions.add_parser("remove", help="remove environments by name or hash prefix")
    remove.add_argument("targets", nargs="+", metavar="NAME_OR_HASH")


def _env(args: argparse.Namespace) -> int:
    from benchmark import cli_env

    return cli_env.run(args)


def _run(args: argparse.Namespace) -> int:
    from benchmark.limits import check_max_configurations
    from benchmark.runner import RunInterrupted, RunOptions, run_suite
    from benchmark.suite import MAX_CONFIGURATIONS

    options = RunOptions(out=args.out, plugins=args.plugin, data_dir=args.data_dir, fresh=args.fresh,
                         retry_failed=args.retry_failed, jobs=args.jobs, executor=args.executor,
                         scheduler=args.scheduler, timeout=args.timeout,
                         memory_limit=args.memory_limit, verbose=args.verbose,
                         max_configurations=check_max_configurations(args.max_configurations,
                                                                     MAX_CONFIGURATIONS),
                         quiet=args.quiet, gpus=args.gpus)  # -q hides progress, never warnings
    try:
        result = run_suite(args.suite, options, stream=sys.stderr)
    except RunInterrupted as stop:
        result = stop.result
        print(result.text, end="")
        code = 143 if type(stop.signal).__name__ == "Terminated" else 130
        print(f"bench: {'terminated' if code == 143 else 'interrupted'}; {result.ran} cells finished "
              f"in this run are stored in {result.store.directory}/, rerun to resume", file=sys.stderr)
        return code
    print(result.text, end="")
    from benchmark.failures import failure_summary

    failures = failure_summary(result.rows + result.failed_trials, verbose=args.verbose)
    if failures:
        print("\n" + failures, end="")
    print(f"\n{result.ran} cells run, {result.reused} reused, {result.failed} failed "
          f"in {result.seconds:.1f}s; results in {result.store.directory}/")
    return 1 if result.failed else 0


def _check(args: argparse.Namespace) -> int:
    """Every problem of the suite at once (exit 2), and a warning per model whose library is
    missing (its cells would be recorded as missing-dependency; exit 0 when nothing else is wrong)."""
    from benchmark.limits import check_max_configurations
    from benchmark.suite import MAX_CONFIGURATIONS, check_suite

    checked = check_suite(args.suite, args.plugin,
                          max_configurations=check_max_configurations(args.max_configurations,
                                                                       MAX_CONFIGURATIONS))
    for warning in checked.warnings:
        print(f"bench: warning: {warning}", file=sys.stderr)
    checked.raise_errors()
    suite = checked.suite
    assert suite is not None and checked.registry is not None
    from benchmark.presence import absent_datasets

    for note in absent_datasets(suite, checked.registry):  # before a run starts downloading
        print(f"bench: note: {note}", file=sys.stderr)
    print(f"{args.suite}: valid: {len(suite.datasets)} dataset(s), {len(suite.models)} model "
          f"configuration(s), {len(suite.seeds)} seed(s)")
    return 0


def _data(args: argparse.Namespace) -> int:
    from benchmark import cli_data

    return cli_data.run(args)


def _plugins(args: argparse.Namespace) -> int:
    from benchmark import plugin_info
    from benchmark.registry import build_registry

    registry = build_registry([(p, f"-p {p}") for p in args.plugin])
    if args.name:
        print(plugin_info.describe_plugin(registry, args.name))
    else:
        print(plugin_info.table(registry))
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from benchmark.registry import build_registry
    from benchmark.suite import suite_schema

    registry = build_registry([(p, f"-p {p}") for p in args.plugin])
    print(json.dumps(suite_schema(registry), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = _parser()
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
        code = handlers[args.command](args)
        sys.stdout.flush()
        return code
    except BenchError as exc:  # one line per problem (a suite's are all listed at once)
        for line in exc.lines():
            print(f"bench: error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `bench schema | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("bench: interrupted; finished cells are stored, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
