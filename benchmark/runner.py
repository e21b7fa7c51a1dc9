"""Run a suite: plan its cells, skip those already stored, execute the rest, write the leaderboard."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from benchmark import leaderboard
from benchmark.api import MissingDependency, PluginInputError
from benchmark.cells import Cell
from benchmark.errors import BenchError
from benchmark.execute import DataCache, execute
from benchmark.provenance import environment
from benchmark.registry import Registry, build_registry
from benchmark.store import ResultStore
from benchmark.suite import Suite, load_suite


@dataclass
class RunResult:
    suite: Suite
    store: ResultStore
    rows: list[dict[str, Any]]
    lines: list[leaderboard.Line]
    text: str
    ran: int
    reused: int
    seconds: float

    @property
    def failed(self) -> int:
        return sum(1 for row in self.rows if row.get("status") != "ok")


def plan(suite: Suite, cache: DataCache) -> list[Cell]:
    """Every (dataset × fold × model configuration × seed) cell, in run order."""
    cells = []
    plugins = [str(p) for p in suite.plugins]
    data_dir = str(suite.data_dir) if suite.data_dir else None
    for dataset in suite.datasets:
        try:
            data = cache.dataset(dataset.name, dataset.options, data_dir)
        except BenchError as exc:
            raise BenchError(exc.message, f"dataset {dataset.label!r}") from None
        except (PluginInputError, MissingDependency) as exc:  # a plugin's own clear message
            raise BenchError(str(exc), f"dataset {dataset.label!r}") from None
        except Exception as exc:
            raise BenchError(f"{type(exc).__name__}: {exc}", f"dataset {dataset.label!r}") from None
        for seed in suite.seeds:
            split_seed = dataset.split.params.get("seed", seed)
            params = {k: v for k, v in dataset.split.params.items() if k != "seed"}
            try:
                folds = cache.folds(data, dataset.split.method, params, split_seed)
            except (BenchError, ValueError) as exc:
                raise BenchError(str(exc), f"split {dataset.split.method!r} of dataset {dataset.label!r}") from None
            for index, fold in enumerate(folds):
                for model in suite.models:
                    if dataset.label not in model.datasets:
                        continue
                    cells.append(Cell(
                        suite=suite.name, task=dataset.task, dataset=dataset.label,
                        dataset_plugin=dataset.name, dataset_options=dataset.options,
                        dataset_checksum=cache.checksum(data),
                        split=dataset.split.method, split_params={**params, "seed": split_seed},
                        seed=seed, fold=index, fold_name=fold.name, fingerprint=fold.fingerprint,
                        model=model.label, model_plugin=model.name, params=model.params,
                        metrics=suite.metrics[dataset.task], data_dir=data_dir, plugins=plugins))
    return cells


def run_suite(path: str | Path, out: str | Path | None = None, plugins: list[str] = (),
              data_dir: str | None = None, fresh: bool = False, stream: TextIO = sys.stderr,
              registry_factory: Callable[..., Registry] | None = None) -> RunResult:
    """Validate ``path``, run every cell not already stored in ``out``, write the leaderboard."""
    started = time.perf_counter()
    extra = [(p, f"-p {p}") for p in plugins]

    def factory(local: list) -> Registry:
        return (registry_factory or build_registry)(list(local) + extra)

    suite, registry = load_suite(path, factory)
    if data_dir:
        suite.data_dir = Path(data_dir).resolve()
    suite.plugins += [Path(p) for p in plugins]
    store = ResultStore(out or Path("results") / suite.name)
    if fresh and store.cells_path.exists():
        store.cells_path.unlink()
    cache = DataCache(registry)
    cells = plan(suite, cache)
    store.write("suite.yaml", suite.text)
    plugin_list = sorted({(e.provider.plugin, e.provider.distribution, e.provider.version)
                          for e in registry.all()})
    store.write("environment.json", json.dumps(environment(
        [{"plugin": p, "distribution": d, "version": v} for p, d, v in plugin_list]), indent=2) + "\n")

    done = store.finished()
    rows: list[dict[str, Any]] = []
    ran = reused = 0
    for number, cell in enumerate(cells, 1):
        if cell.id in done:
            rows.append(done[cell.id])
            reused += 1
            continue
        row = execute(cell, cache, store.artifacts)
        store.append(row)
        registry.manager.hook.bench_cell_finished(row=row)
        rows.append(row)
        ran += 1
        _progress(stream, number, len(cells), row)

    metric_direction = {name: registry.get("metric", name).spec.greater_is_better
                        for names in suite.metrics.values() for name in names}
    lines = leaderboard.build(rows, suite.metrics, metric_direction)
    store.write("leaderboard.csv", leaderboard.to_csv(lines, suite.metrics))
    store.write("leaderboard.md", f"# {suite.name}\n\n" + leaderboard.render(lines, suite.metrics, "github"))
    text = leaderboard.render(lines, suite.metrics)
    return RunResult(suite, store, rows, lines, text, ran, reused, time.perf_counter() - started)


def _progress(stream: TextIO, number: int, total: int, row: dict[str, Any]) -> None:
    metrics = " ".join(f"{k}={v:.4f}" for k, v in row.get("metrics", {}).items())
    if row["status"] == "ok":
        status = f"{metrics} ({row['fit_seconds']:.2f}s fit)"
    else:
        status = f"{row['status'].upper()}: {row['error']}"
    stream.write(f"[{number}/{total}] {row['dataset']} fold {row['fold_name']} {row['model']}: {status}\n")
    stream.flush()
