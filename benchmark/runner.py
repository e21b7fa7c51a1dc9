"""Run a suite: parse → resolve → plan → execute → store → report.

Each step takes what the previous returned: :func:`benchmark.suite.load_suite` gives the
frozen suite and its registry; :func:`plan` loads each dataset once and lists every cell;
:func:`decide` matches them against the stored results (reuse only when the experiment and
the code are the same); the executor runs the rest; the store appends each result as it
arrives; the leaderboard is built from the current suite's cells under its current labels.

What the steps after planning share — the suite, its registry and data, the store, the options,
the run id, the executor's settings and the display — is one frozen :class:`RunContext`, built
once by :func:`run_suite` and passed down.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from benchmark import leaderboard, resultset, tuning
from benchmark._internal import versions
from benchmark.api import MissingDependency, PluginInputError
from benchmark.engine import LocalExecutor, gpu_devices, run_cells
from benchmark.errors import BenchError
from benchmark.events import Display, ExecutorSettings, Limits, Task
from benchmark.execute import (DataCache, FinishedHooks, clear_staging, complete_provenance, execute, has_failures,
                               offered_registry)
from benchmark.limits import check_out_path, results_dir_name
from benchmark.lock import RunLock
from benchmark.progress import QuietDisplay, format_row, open_display
from benchmark.provenance import environment
from benchmark.record import Cell, CellResult
from benchmark.registry import Registry
from benchmark.shared_data import ENVIRONMENT, SharedData
from benchmark.store import ResultStore
from benchmark.run_environments import RunEnvironments
from benchmark.run_environments import prepare as prepare_environments
from benchmark.suite import MAX_CONFIGURATIONS, ModelConfig, Suite, check_suite, model_arguments


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (exit code 143)."""


@dataclass(frozen=True)
class RunOptions:
    """How to run: where, with what parallelism and limits (the command line's choices)."""

    out: str | Path | None = None
    plugins: Sequence[str] = ()
    data_dir: str | None = None
    fresh: bool = False
    retry_failed: bool = False
    jobs: int = 1
    executor: str = "local"  # "inline" (in this process), "local" (worker processes), "dask"
    scheduler: str | None = None
    timeout: float | None = None
    memory_limit: int | None = None
    verbose: bool = False
    max_configurations: int = MAX_CONFIGURATIONS
    quiet: bool = False  # no progress (finished cells, heartbeats); warnings still shown
    gpus: int | None = None  # --gpus: devices for models that declare uses_gpu (None: those found)


@dataclass
class RunResult:
    """What :func:`run_suite` ends with: the reported cells' rows (as ``cells.jsonl`` stores them,
    under the current suite's labels), the leaderboard, and how the run went."""

    suite: Suite
    store: ResultStore
    run_id: str
    rows: list[dict[str, Any]]
    lines: list[leaderboard.Line]
    text: str
    ran: int
    reused: int
    seconds: float
    recompute_reasons: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    failed_trials: list[dict[str, Any]] = field(default_factory=list)  # trials of tune: searches that failed

    @property
    def failed(self) -> int:
        """Cells that did not finish or have a metric error (:func:`execute.has_failures`),
        the failed trials of ``tune:`` searches included: a crashed trial fails the run too."""
        return sum(1 for row in self.rows if has_failures(row)) + len(self.failed_trials)


# --- Plan -----------------------------------------------------------------------------------


def _code(registry: Registry, model: ModelConfig, metrics: Sequence[str],
          environments: RunEnvironments = RunEnvironments()) -> dict[str, Any]:
    """What identifies the code behind a cell's numbers; a model in an environment: its name and
    hash, and its libraries' versions there (:mod:`benchmark.run_environments`)."""
    entry = registry.get("model", model.name)
    libraries = environments.libraries(model.env, entry.requires)
    code = {"model": entry.provider.code, "libraries": versions(entry.requires) if libraries is None else libraries,
            "metrics": {name: registry.get("metric", name).provider.code for name in metrics}}
    environment = environments.code(model.env)
    return code if environment is None else {**code, "environment": environment}


def _model_params(registry: Registry, model_plugin: str, task: str, given: Mapping[str, Any],
                  seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params to build the model with, params identifying the configuration): the suite seed
    decides the model's seed parameters as :func:`benchmark.suite.model_arguments` says."""
    defaults = registry.get("model", model_plugin).model_class(task).param_defaults()
    return model_arguments(defaults, given, seed)


def plan(suite: Suite, registry: Registry, cache: DataCache,
         environments: RunEnvironments = RunEnvironments()) -> list[Cell]:
    """Every (dataset × seed × fold × model configuration) cell, in run order.

    Each dataset is loaded once (into ``cache``, which an in-process execution reuses).
    """
    cells = []
    codes: dict[tuple[str, str | None], dict[str, Any]] = {}  # by model and environment
    for dataset in suite.datasets:
        where = f"dataset {dataset.label!r}"
        try:
            data = cache.dataset(dataset.name, dataset.options, suite.data_dir)
        except BenchError as exc:
            raise BenchError(exc.message, where) from None
        except (PluginInputError, MissingDependency) as exc:  # a plugin's own clear message
            raise BenchError(str(exc), where) from None
        except Exception as exc:
            raise BenchError(f"{type(exc).__name__}: {exc}", where) from None
        checksum = cache.checksum(data)
        metrics = suite.metrics[dataset.task]
        for seed in suite.seeds:
            call = dataset.split.call(seed)  # the split's own seed, else the suite's
            try:
                folds = cache.fold_set(data, call)
            except (BenchError, ValueError) as exc:
                raise BenchError(str(exc), f"split {dataset.split.method!r} of {where}") from None
            configured = []
            for model in suite.models:
                if dataset.label not in model.datasets:
                    continue
                build, config = _model_params(registry, model.name, dataset.task, model.params, seed)
                if model.env is not None:  # another experiment than the same model in bench's own
                    config = {**config, "env": model.env.name}
                key = (model.name, model.env.name if model.env else None)
                if key not in codes:
                    codes[key] = _code(registry, model, metrics, environments)
                configured.append((model, build, config, codes[key]))
            # fold by fold: the cells that run at once share their fold's rows (and pages)
            for index, fold in enumerate(folds):
                fingerprint = fold.fingerprint  # hashed once per fold, not once per model
                for model, build, config, code in configured:
                    cells.append(Cell(
                        suite=suite.name, task=dataset.task, dataset=dataset.label,
                        dataset_plugin=dataset.name, dataset_options=dataset.options,
                        dataset_checksum=checksum, split=dataset.split.method,
                        split_params=call.stored(), seed=seed, fold=index,
                        fold_name=fold.name, fingerprint=fingerprint, model=model.label,
                        model_plugin=model.name, params=build, config=config, metrics=metrics,
                        code=code, data_dir=suite.data_dir, plugins=suite.plugins,
                        task_options=dataset.task_options))
    return cells


def limits_of(suite: Suite, options: RunOptions) -> dict[str, Limits]:
    """Per model label: the suite's limits, the model's over them, the command line's over all."""
    command_line = Limits(options.timeout, options.memory_limit)
    limits = {}
    for model in suite.models:
        limits[model.label] = suite.limits.merged(model.limits).merged(command_line)
    return limits


# --- Decide what to reuse ---------------------------------------------------------------------


def _change(old: Mapping[str, Any], new: Mapping[str, Any], model: str) -> str:
    if old.get("model") != new.get("model"):
        return f"{model}: plugin code changed ({old.get('model') or '?'} -> {new.get('model')})"
    for name, version in new.get("libraries", {}).items():
        before = old.get("libraries", {}).get(name)
        if before != version:
            return f"{model}: {name} {before or 'absent'} -> {version}"
    return f"{model}: metric code changed"


def decide(cells: Sequence[Cell], stored: Mapping[str, CellResult], retry_failed: bool
           ) -> tuple[dict[str, CellResult], list[Cell], collections.Counter[str]]:
    """(reused results by cell id, cells to run, why cells that were stored are run again)."""
    reused: dict[str, CellResult] = {}
    todo: list[Cell] = []
    reasons: collections.Counter[str] = collections.Counter()
    for cell in cells:
        found = stored.get(cell.id)
        if found is None:
            todo.append(cell)
        elif found.code_id != cell.code_id:
            reasons[_change(found.code, cell.code, cell.model_plugin)] += 1
            todo.append(cell)
        elif not has_failures(found) or (not retry_failed and found.status != "missing-dependency"):
            reused[cell.id] = found
        else:
            reasons["retrying " + (found.status if found.status != "ok" else "metric errors")] += 1
            todo.append(cell)
    return reused, todo, reasons


# --- tuning (benchmark/tuning.py) -------------------------------------------------------------


def _settle(searches: tuning.Searches, results: Mapping[str, CellResult], stored: Mapping[str, CellResult],
            retry_failed: bool) -> tuple[list[Cell], dict[str, CellResult], list[Cell], collections.Counter[str]]:
    """Plan as far as the results so far go: (every planned cell, reused results, cells to run,
    reasons).

    Reused results can decide a tuned model's refits without running anything, so planning
    repeats until it gives no new cell; cells this run already has results of are not run again.
    """
    reused: dict[str, CellResult] = {}
    while True:
        cells = searches.cells({**reused, **results})
        now, todo, reasons = decide([c for c in cells if c.id not in results], stored, retry_failed)
        if now.keys() <= reused.keys():
            return cells, reused, todo, reasons
        reused = now


# --- end tuning


def relabel(result: CellResult, cell: Cell) -> dict[str, Any]:
    """A result's stored row under the current suite's labels and primary metric: labels are
    presentation only, and so is which of a cell's metrics ranks it (a suite that only reorders
    its ``metrics:`` list plans the same cells, whose stored rows name the old first one)."""
    return replace(result, dataset=cell.dataset, model=cell.model, suite=cell.suite,
                   primary_metric=cell.primary_metric or result.primary_metric).to_row()


# --- Run ------------------------------------------------------------------------------------


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C while a run is going (main thread only), and Ctrl-C stops it
    even where the shell started bench with SIGINT ignored (``bench run ... &`` in a script, some
    CI runners): Python then keeps the ignore, so the default handler is put back for the run."""
    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
        interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, interrupt)


def results_directory(suite: Suite, out: str | Path | None) -> Path:
    directory = check_out_path(out) if out else Path("results") / results_dir_name(suite.name)
    if directory.exists() and not directory.is_dir():
        raise BenchError("is a file, not a results directory", f"--out {directory}")
    return directory


@dataclass(frozen=True)
class RunContext:
    """What every step of one run shares, decided once by :func:`run_suite` and passed down.

    Built when the suite is planned and its results directory locked; before it, the steps took
    these one by one (12 parameters). Nothing in it changes during the run: the executor and a
    caller's display are objects with their own state, but the same ones from start to end.
    """

    suite: Suite
    registry: Registry
    cache: DataCache  # the datasets and folds the plan loaded (an inline run reuses them)
    store: ResultStore
    options: RunOptions
    engine: ExecutorSettings  # --executor, --jobs, --scheduler, -v, the run id, the artifacts directory
    limits: Mapping[str, Limits]  # per model label (:func:`limits_of`)
    stream: TextIO  # warnings; progress too, unless ``progress`` is given
    started: float  # time.perf_counter() when the run began
    executor: LocalExecutor | None = None  # workers started before planning, kept for every phase
    progress: Display | None = None  # the caller's display, else one per phase (:meth:`display`)
    environments: RunEnvironments = RunEnvironments()  # built before planning (benchmark.run_environments)

    @property
    def run_id(self) -> str:
        return self.engine.run_id

    @property
    def artifacts(self) -> Path:
        """The store's artifacts directory, absolute (a model's chdir cannot move it)."""
        return Path(self.engine.artifacts_root or self.store.artifacts.resolve())

    def display(self, total: int, done: int) -> Display:
        """What shows a phase of ``total`` cells, ``done`` of them already finished."""
        if self.progress is not None:
            return self.progress
        return QuietDisplay() if self.options.quiet else open_display(self.stream, total=total, done=done,
                                                                       announce=True)


@dataclass(frozen=True)
class Outcome:
    """What a run (or a read-only look at a directory) ends with, before its leaderboard."""

    rows: list[dict[str, Any]]  # one per reported cell, under the current suite's labels
    ran: int  # cells computed by this run
    reused: int  # cells whose stored rows were reused
    reasons: Mapping[str, int]  # why stored cells were computed again
    interrupted: bool = False
    failed_trials: list[dict[str, Any]] = field(default_factory=list)  # the plan's trials that failed


def run_suite(path: str | Path, options: RunOptions = RunOptions(), stream: TextIO = sys.stderr,
              progress: Display | None = None) -> RunResult:
    """Validate ``path``, run every cell not already stored, write the leaderboard.

    Nothing is written, and no worker started, before the suite has validated; its data then
    loads once, in this process, and the workers map it (:mod:`benchmark.shared_data`).
    """
    started = time.perf_counter()
    run_id = new_run_id()
    checked = check_suite(path, options.plugins, options.data_dir, options.max_configurations)
    checked.raise_errors()  # bad input: its lines alone
    for warning in checked.warnings:  # what bench check warns of, said before anything runs
        print(f"bench: warning: {warning}", file=stream)
    suite, registry = checked.suite, checked.registry
    assert suite is not None and registry is not None
    directory = results_directory(suite, options.out)
    environments = prepare_environments(suite.models, options.executor, lambda line: print(f"bench: {line}", file=stream))
    with offered_registry(suite.plugins, registry), \
            _early_workers(suite, directory, options, run_id) as executor:  # forked workers use the registry
        if executor is not None:
            executor.environments.update(environments.by_hash())
            _count_devices(executor, suite, registry, options.gpus)
        cache = DataCache(registry)
        cells = plan(suite, registry, cache, environments)
        with RunLock(directory), sigterm_as_interrupt():
            store = ResultStore(directory)
            settings = ExecutorSettings(options.executor, options.jobs, options.scheduler, options.verbose,
                                        run_id, str(store.artifacts.resolve()))
            if executor is not None:  # started before the store existed
                executor.artifacts_root = settings.artifacts_root
            context = RunContext(suite=suite, registry=registry, cache=cache, store=store, options=options,
                                 engine=settings, limits=limits_of(suite, options), stream=stream,
                                 started=started, executor=executor, progress=progress,
                                 environments=environments)
            return _run(context, cells)


@contextmanager
def _early_workers(suite: Suite, directory: Path, options: RunOptions, run_id: str
                   ) -> Iterator[LocalExecutor | None]:
    """The local executor, its workers that will surely be needed started now: their imports
    overlap loading the data and planning (1.18x -> 1.02x a plain script on ml-100k with --jobs
    1). Never more than the cells that must run: a finished suite starts none. None for the
    other executors (Dask starts per phase, inline needs none)."""
    if options.executor != "local":
        yield None
        return
    with LocalExecutor(options.jobs, None, run_id, options.verbose) as executor:
        executor.start(min(options.jobs, max(0, surely_new_cells(suite, directory, options.fresh))))
        yield executor


def _count_devices(executor: LocalExecutor, suite: Suite, registry: Registry, gpus: int | None) -> None:
    """The models of the suite that declare ``uses_gpu`` and the devices their cells share
    (``--gpus N``, else those found; ``nvidia-smi`` is asked only when such a model is there)."""
    declaring = frozenset(model.name for model in suite.models if any(
        getattr(registry.get("model", model.name).model_class(task), "uses_gpu", False)
        for task in {d.task for d in suite.datasets if d.label in model.datasets}))
    executor.gpu_models = declaring
    executor.devices = gpu_devices(gpus) if declaring else ()


def surely_new_cells(suite: Suite, directory: Path, fresh: bool = False) -> int:
    """A lower bound of the cells this run will compute, known before any data is loaded: at
    least one fold per (dataset, model, seed), less every line already stored."""
    cells = sum(len(suite.seeds) for d in suite.datasets for m in suite.models if d.label in m.datasets)
    if fresh:
        return cells
    try:
        with open(directory / "cells.jsonl", "rb") as stored:
            lines = sum(chunk.count(b"\n") + 1 for chunk in iter(lambda: stored.read(1 << 20), b""))
    except OSError:
        lines = 0
    return cells - lines


def _run(context: RunContext, cells: list[Cell]) -> RunResult:
    """Reuse what is stored, run the rest phase by phase, report; the run lock is held."""
    options, stream = context.options, context.stream
    stored = _stored_results(context)
    # --- tuning (benchmark/tuning.py): a tuned model's trials run first, its refits once the
    # trials' results choose them; every phase is planned from the results so far (reused or new)
    searches = tuning.Searches(context.suite, cells, context.cache)
    cells, reused, todo, reasons = _settle(searches, {}, stored, options.retry_failed)
    # --- end tuning
    if reasons:
        why = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common(5))
        stream.write(f"bench: recomputing {sum(reasons.values())} stored cells: {why}\n")
    planned = leaderboard.planned(cells, context.suite.seeds, searches.planned_refits())  # the leaderboard's yardstick
    directory = context.store.directory
    if not context.store.writable:
        if todo or options.fresh:
            raise BenchError(f"cannot write there ({len(todo)} cells to run); choose another --out",
                             f"{directory}")
        stream.write(f"bench: warning: {directory} is read-only; showing the stored results\n")
        rows = [relabel(reused[c.id], c) for c in tuning.reported(cells)]  # --- tuning: no trials
        return _report(context, Outcome(rows, 0, len(reused), dict(reasons)), planned, write=False)
    _record_run(context, planned)
    if todo:
        _share_data(context, todo)
    computed: dict[str, CellResult] = {}  # by cell id, as stored
    interrupted, cause = False, KeyboardInterrupt()
    try:
        while todo:  # --- tuning: one phase per pass (a suite without tune: has one)
            _execute(context, todo, computed, len(cells))
            cells, reused, todo, more = _settle(searches, computed, stored, options.retry_failed)
            reasons |= more
    except KeyboardInterrupt as stop:
        interrupted, cause = True, stop
    found = {**reused, **computed}  # disjoint: a planned cell is either reused or computed
    rows = [relabel(found[c.id], c) for c in tuning.reported(cells) if c.id in found]
    failed_trials = [relabel(found[c.id], c) for c in cells
                     if tuning.is_trial(c) and c.id in found and has_failures(found[c.id])]
    result = _report(context, Outcome(rows, len(computed), len(reused), dict(reasons), interrupted, failed_trials),
                     planned)
    if interrupted:
        raise RunInterrupted(result, cause)
    return result


def _stored_results(context: RunContext) -> dict[str, CellResult]:
    """The store made ready for this run (archived with ``--fresh``, a torn last line repaired)
    and the results it may reuse, by cell id: the latest of a cell wins; a row the readers
    would set aside (:func:`benchmark.record.check`: a hand-edited fit_seconds, a metric that
    is not a number) is not reused but computed again (:meth:`ResultStore.results`)."""
    store = context.store
    if context.options.fresh and store.writable:
        store.archive_cells()
    warning = store.repair() if store.writable else None
    if warning:
        context.stream.write(f"bench: warning: {warning}\n")
    return {result.cell_id: result for result in store.results()}


def _record_run(context: RunContext, planned: Mapping[str, Any]) -> None:
    """The suite as it was run, and this run's environment (machine, versions, plugins, plan,
    and the primary metric of each task: see :data:`benchmark.resultset.PRIMARY_METRICS`)."""
    context.store.write("suite.yaml", context.suite.text)
    plugin_list = sorted({(e.provider.plugin, e.provider.distribution, e.provider.version)
                          for e in context.registry.all()})
    primary = {task: names[0] for task, names in context.suite.metrics.items() if names}
    context.store.write_environment(context.run_id, {**environment(
        [{"plugin": p, "distribution": d, "version": v} for p, d, v in plugin_list], context.run_id), **planned,
        resultset.PRIMARY_METRICS: primary, **context.environments.record()})


def _share_data(context: RunContext, todo: Sequence[Cell]) -> None:
    """Publish the plan's datasets and folds where the workers map them rather than load them
    again: the local executor's private directory, or for Dask ``$BENCH_SHARED_DATA`` (a
    filesystem the driver and every worker see)."""
    executor = context.executor
    shared = (executor.shared_directory if executor is not None and executor.shared_directory else
              os.environ.get(ENVIRONMENT) if context.options.executor == "dask" else None)
    warning = context.cache.publish(SharedData(shared), todo) if shared else None
    if warning:
        context.stream.write(f"bench: warning: {warning}\n")


def _report(context: RunContext, outcome: Outcome, planned: Mapping[str, Any], write: bool = True) -> RunResult:
    """The leaderboard of the outcome's rows (written unless ``write`` is false) and the run's
    summary; ``planned`` is the run's :func:`benchmark.leaderboard.planned` record, which
    ``bench leaderboard`` judges completeness by too. Each metric's direction is the one its
    rows carry (``metric_info``): what this run wrote, not the registry asked again."""
    suite, store = context.suite, context.store
    metrics = {task: list(names) for task, names in suite.metrics.items()}
    directions = resultset.directions([name for names in metrics.values() for name in names], outcome.rows)
    lines = leaderboard.build(outcome.rows, metrics, directions,
                              plan=leaderboard.Plan.of([planned[leaderboard.PLANNED]]))
    if write:
        store.check_intact()  # cells.jsonl removed or cut during the run: this run's rows written again
        for warning in store.losses:
            context.stream.write(f"bench: warning: {warning}\n")
        store.write("leaderboard.csv", leaderboard.to_csv(lines, metrics))
        store.write("leaderboard.md", f"# {suite.name}\n\n" + leaderboard.render(lines, metrics, "github"))
    return RunResult(suite, store, context.run_id, outcome.rows, lines, leaderboard.render(lines, metrics),
                     outcome.ran, outcome.reused, time.perf_counter() - context.started, dict(outcome.reasons),
                     outcome.interrupted, list(outcome.failed_trials))


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM during a run; ``result`` holds what finished."""

    def __init__(self, result: RunResult, cause: KeyboardInterrupt):
        super().__init__("interrupted")
        self.result, self.signal = result, cause


def _execute(context: RunContext, todo: list[Cell], computed: dict[str, CellResult], total: int) -> None:
    """Run the cells of one phase, storing each result as it arrives (the store's only writer);
    ``computed`` gathers them by cell id, ``total`` is the phase's planned cells."""
    done = total - len(todo)
    notify = FinishedHooks(context.registry, context.stream)  # a plugin that fails is warned about once
    artifacts = context.artifacts

    def finished(results: list[CellResult]) -> None:
        for result in results:
            complete_provenance(result, context.registry)  # a killed cell's, made by the driver
        context.store.append_rows(results)  # the cells of one engine pass: one write + one fsync
        for result in results:
            computed[result.cell_id] = result
            notify(result)

    todo, unbuilt = context.environments.unbuilt(todo, context.run_id)
    if unbuilt:  # their environment could not be built (said once, when it was tried)
        finished(unbuilt)
        done += len(unbuilt)
    try:
        if context.options.executor == "inline":  # this process, the datasets already loaded by the plan
            for number, cell in enumerate(todo, done + 1):
                result = execute(cell, context.cache, artifacts, context.run_id)
                finished([result])
                if not context.options.quiet:
                    context.stream.write(format_row(number, total, result) + "\n")
            return
        tasks = [Task.of(cell, context.limits.get(cell.model, Limits())) for cell in todo]
        run_cells(tasks, finished, context.display(total, done), context.engine, context.executor)
    finally:
        clear_staging(artifacts)  # the workers' (empty, or an interrupted cell's) staging directories
