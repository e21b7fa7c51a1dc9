"""Trial throughput of ``tune:``: 100 trials of fast-svd on ml-100k, each a cell. Output in tuning_throughput.md.

The suite: ml-100k's canonical fold u1 as the one outer fold, fast-svd with a random search of
100 points over ``reg_all`` (log range) and ``n_factors``, inner holdout 10 % of u1's training
rows; then the refit of the winner on all of u1's training rows.

Measured, each ``bench run`` a fresh process timed from start to exit, ``--repeat`` rounds:

* ``plain``  — the same 100 fits in one Python loop (same inner rows, same points, one thread,
  numba compiled before the clock starts): the work itself, no harness;
* ``jobs 1`` — ``bench run --jobs 1 --fresh``: every trial a stored cell in one worker process;
* ``jobs 2`` — ``bench run --jobs 2 --fresh``;
* ``reuse``  — ``bench run --jobs 2`` again: every trial and the refit reused from the store.

Per-trial overhead = (wall − the cells' own prepare + fit + predict seconds) / cells, at
``--jobs 1``: process start, imports, loading and planning, worker dispatch, storing, all
shared out over the cells. Because that difference moves with the machine's load, the cells'
own timestamps split it too: inside a cell (rebuilding its inner fold, provenance, scoring),
between two cells (dispatch, storing), and at the phase boundary (trials -> refit). The chosen
point and the refit's RMSE must be identical at jobs 1 and 2.

Usage::

    BENCH_DATA_DIR=/path/to/data python benchmarks/tuning_throughput.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = """\
name: tuning-throughput
seed: 0
datasets:
  - name: movielens-100k
    split: {method: predefined, name: u, folds: [u1]}
models:
  - name: fast-svd
    tune:
      space: {reg_all: {low: 0.005, high: 0.2, log: true}, n_factors: [50, 100]}
      objective: rmse
      search: random
      trials: 100
      split: {method: holdout, test_size: 0.1}
metrics: [rmse]
"""


def bench_run(suite: Path, out: Path, jobs: int, fresh: bool) -> float:
    command = [sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(out), "--jobs", str(jobs), "-q"]
    started = time.perf_counter()
    done = subprocess.run(command + (["--fresh"] if fresh else []), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench run failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall


def latest_rows(out: Path) -> list[dict]:
    from benchmark.store import read_rows

    rows = {r["cell_id"]: r for r in read_rows(out / "cells.jsonl")}
    return list(rows.values())


def split_overhead(rows: list[dict]) -> tuple[float, float, float]:
    """(median seconds a cell spends outside its model, median gap between consecutive cells,
    the longest gap: the phase boundary, where the runner waits for every trial)."""
    import datetime as dt

    def at(text: str) -> float:
        return dt.datetime.fromisoformat(text).timestamp()

    rows = sorted(rows, key=lambda r: at(r["started_at"]))
    inside = [at(r["finished_at"]) - at(r["started_at"]) - (r.get("prepare_seconds") or 0)
              - r["fit_seconds"] - r["predict_seconds"] for r in rows]
    gaps = [at(b["started_at"]) - at(a["finished_at"]) for a, b in zip(rows, rows[1:])]
    return statistics.median(inside), statistics.median(gaps), max(gaps)


def plain_loop(suite: Path) -> tuple[float, int]:
    """The 100 trials as a plain loop over the same rows and points, in this process."""
    import numpy as np

    from benchmark import tuning
    from benchmark.api import RatingData
    from benchmark.execute import DataCache
    from benchmark.runner import plan
    from benchmark.suite import load_suite
    from bench_plugins.fast_mf import FastSVD

    loaded, registry = load_suite(suite)
    cache = DataCache(registry)
    cells = plan(loaded, registry, cache)
    search = tuning.Searches(loaded, cells, cache).searches[0]
    data = cache.dataset("movielens-100k", {}, loaded.data_dir)
    fold = search.folds[0]
    assert isinstance(data, RatingData)
    train, test = data.subset(fold.train), data.ratings.iloc[fold.test]
    FastSVD(n_epochs=1).fit(train)  # compile (numba) before the clock starts
    points = search.random_points()
    started = time.perf_counter()
    for point in points:
        model = FastSVD(**point, random_state=0).fit(train)
        predicted = np.clip(model.predict(test["user"].to_numpy(), test["item"].to_numpy()), 1, 5)
        float(np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2)))
    return time.perf_counter() - started, len(points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = Path(tempfile.mkdtemp(prefix="bench-tuning-"))
    suite = work / "suite.yaml"
    suite.write_text(SUITE)
    lines = [f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start, "
             f"python {sys.version.split()[0]}"]
    walls: dict[str, list[float]] = {"jobs 1": [], "jobs 2": [], "reuse": []}
    overheads, work_seconds, chosen = [], [], set()
    plain, n_points = plain_loop(suite)
    lines.append(f"plain loop: {n_points} fits+predicts in {plain:.2f}s ({plain / n_points * 1000:.0f} ms a trial)")
    for round_ in range(1, args.repeat + 1):
        for jobs in (1, 2):
            out = work / f"out-{jobs}"
            wall = bench_run(suite, out, jobs, fresh=True)
            rows = latest_rows(out)
            trials = [r for r in rows if (r.get("tuning") or {}).get("role") == "trial"]
            refit = next(r for r in rows if (r.get("tuning") or {}).get("role") == "refit")
            assert all(r["status"] == "ok" for r in rows), [r.get("error") for r in rows if r["status"] != "ok"]
            own = sum((r.get("prepare_seconds") or 0) + r["fit_seconds"] + r["predict_seconds"] for r in rows)
            walls[f"jobs {jobs}"].append(wall)
            chosen.add((str(refit["tuning"]["chosen"]), refit["metrics"]["rmse"]))
            if jobs == 1:
                overheads.append((wall - own) / len(rows))
                work_seconds.append(own)
                inside, between, boundary = split_overhead(rows)
                lines.append(f"round {round_} jobs 1 per cell: {inside * 1000:.0f} ms inside (not the model), "
                             f"{between * 1000:.0f} ms between cells (median); phase boundary {boundary:.2f}s")
            lines.append(f"round {round_} jobs {jobs}: {len(trials)} trials + 1 refit in {wall:.2f}s wall, "
                         f"cells' own prepare+fit+predict {own:.2f}s; chosen {refit['tuning']['chosen']} "
                         f"(inner rmse {refit['tuning']['objective_value']:.4f}), refit rmse on u1.test "
                         f"{refit['metrics']['rmse']:.4f}")
        wall = bench_run(suite, work / "out-2", 2, fresh=False)
        walls["reuse"].append(wall)
        lines.append(f"round {round_} reuse: every cell reused in {wall:.2f}s")
    lines.append("")
    for name, values in walls.items():
        lines.append(f"median wall {name:7s} {statistics.median(values):6.2f}s")
    lines.append(f"per-trial overhead at jobs 1 (wall - cells' own seconds) / cells: "
                 f"{statistics.median(overheads) * 1000:.0f} ms (cells' own work {statistics.median(work_seconds):.2f}s, "
                 f"plain loop {plain:.2f}s)")
    lines.append(f"jobs 2 vs jobs 1: {statistics.median(walls['jobs 1']) / statistics.median(walls['jobs 2']):.2f}x; "
                 f"{statistics.median(walls['jobs 2']) / 101 * 1000:.0f} ms of wall a cell at jobs 2")
    lines.append(f"identical choice and refit RMSE in every run: {len(chosen) == 1}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
