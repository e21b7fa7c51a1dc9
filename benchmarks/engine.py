"""What does the execution engine cost, and what does it buy? Four measurements, output in engine.md.

(a) **Overhead of isolation, jobs=1**: Surprise SVD on ml-100k, kfold k=5 seed 0 (the cells of
    ``surprise_overhead.py``), each variant a fresh process, in rotating order, ``--repeat`` rounds:

    * ``direct``  — the plain Surprise script of ``surprise_overhead.py`` (same folds, same rows);
    * ``inline``  — ``bench run --executor inline``: every cell in the bench process (no isolation);
    * ``local``   — ``bench run --jobs 1``: every cell in one worker process, as wired today
      (the runner calls ``engine.run_cells``, which starts the worker after planning);
    * ``prestart``— the same, with the worker started before the suite is loaded (the wiring
      proposed for the runner: ``with LocalExecutor(...)`` around load + plan + run), so the
      worker's imports overlap the parent's.

    All four must give bit-identical RMSE/MAE on every fold.
(b) **jobs=2 vs jobs=1**: 8 equal CPU-bound cells (Surprise SVD, single-threaded Cython, n_epochs
    100, ml-100k kfold k=4, seeds 0 and 1) through ``LocalExecutor``; timed from starting the
    executor (workers included) to the last row. The machine's own ceiling for this work is
    measured first: the same SVD fit in plain processes, one alone, then two at once.
(c) **Dask LocalCluster(2) vs jobs=2** on the same 8 cells: ``DaskExecutor(jobs=2)`` timed with
    the cluster's start-up, and with the cluster already up (as when it starts while the runner
    plans, or for a long-lived cluster).
(d) **A suite with a hanging, a segfaulting and a memory-hungry model** beside svd and
    bias-baseline on ml-100k u1..u5 (``--timeout 20``, ``--memory-limit 1GB``), ``jobs=2``: every
    other cell finishes; the reasons recorded.

Usage (the ``__main__`` guard matters: Dask's LocalCluster spawns processes that import this file)::

    BENCH_DATA_DIR=/path/to/data python benchmarks/engine.py [--repeat 5] [--only a,b,c,d]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SUITE_A = """\
name: engine-overhead
seed: 0
datasets:
  - name: movielens-100k
    split: {method: kfold, k: 5}
models:
  - svd
metrics: [rmse, mae]
"""

SUITE_B = """\
name: engine-parallel
seeds: [0, 1]
datasets:
  - name: movielens-100k
    split: {method: kfold, k: 4}
models:
  - {name: svd, params: {n_epochs: 100}}
metrics: [rmse]
"""

TROUBLE = """\
import ctypes, time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Trouble(RatingModel):
    def __init__(self, mode: str = "hang"):
        self.mode = mode

    def fit(self, train):
        if self.mode == "hang":
            time.sleep(1000)
        elif self.mode == "segfault":
            ctypes.string_at(0)
        elif self.mode == "memory":
            blocks = [np.ones(2**27) for _ in range(16)]  # 16 GB in 1 GB steps
        return self

@hookimpl
def bench_models():
    return [ModelSpec("trouble", {RATING: Trouble})]
"""

SUITE_D = """\
name: engine-trouble
plugins: [trouble.py]
datasets:
  - name: movielens-100k
    split: {method: predefined, name: u}
models:
  - svd
  - bias-baseline
  - {name: trouble, label: hang, params: {mode: hang}}
  - {name: trouble, label: segfault, params: {mode: segfault}}
  - {name: trouble, label: memory, params: {mode: memory}}
metrics: [rmse, mae]
"""


def tasks_of(suite_path: Path, data_dir: str, limits=None):
    from benchmark.engine import Task
    from benchmark.execute import DataCache
    from benchmark.runner import plan
    from benchmark.suite import Limits, load_suite

    suite, registry = load_suite(suite_path, data_dir=data_dir)
    return [Task.of(cell, limits or Limits()) for cell in plan(suite, registry, DataCache(registry))]


def run_tasks(executor, tasks) -> list[dict]:
    from benchmark.engine import Finished

    rows: list[dict] = []
    executor.run(tasks, lambda event: rows.append(event.row) if isinstance(event, Finished) else None)
    return rows


# --- (a) -------------------------------------------------------------------------------------


def prestarted(suite_path: str, data_dir: str, out: str) -> None:
    """The proposed runner flow: worker first, then load + plan, run, append rows."""
    from benchmark.engine import LocalExecutor

    with LocalExecutor(jobs=1) as executor:
        tasks = tasks_of(Path(suite_path), data_dir)
        rows = run_tasks(executor, tasks)
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(Path(out) / "cells.jsonl", "w") as cells:
        for row in rows:
            cells.write(json.dumps(row) + "\n")


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started, done.stdout


def overhead(data_dir: str, repeat: int, tmp: Path) -> None:
    suite = tmp / "engine-overhead.yaml"
    suite.write_text(SUITE_A)
    variants = ["direct", "inline", "local", "prestart"]
    times: dict[str, list[float]] = {v: [] for v in variants}
    fits: dict[str, list[float]] = {v: [] for v in variants if v != "direct"}
    for round_ in range(repeat):
        order = variants[round_ % 4:] + variants[:round_ % 4]
        metrics = {}
        for variant in order:
            out = tmp / f"a-{variant}-{round_}"
            bench = [sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(out),
                     "--data-dir", data_dir, "-q"]
            command = {
                "direct": [sys.executable, str(Path(__file__).parent / "surprise_overhead.py"), "--direct",
                           "--data-dir", data_dir],
                "inline": bench + ["--executor", "inline"],
                "local": bench + ["--jobs", "1"],
                "prestart": [sys.executable, __file__, "--prestarted", str(suite), str(out), "--data-dir", data_dir],
            }[variant]
            seconds, stdout = timed(command)
            times[variant].append(seconds)
            if variant == "direct":
                plain = json.loads(stdout)
                metrics[variant] = (plain["rmse"], plain["mae"])
            else:
                rows = sorted((json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()),
                              key=lambda row: row["fold"])
                metrics[variant] = ([r["metrics"]["rmse"] for r in rows], [r["metrics"]["mae"] for r in rows])
                fits[variant].append(sum(r["fit_seconds"] + r["predict_seconds"] for r in rows))
        if len({json.dumps(m) for m in metrics.values()}) != 1:
            sys.exit(f"metrics differ between variants: {metrics}")
        print("round %d: " % (round_ + 1) + " | ".join(f"{v} {times[v][-1]:5.2f}s" for v in variants))
    print(f"RMSE and MAE bit-identical on all 5 folds in all variants (mean RMSE "
          f"{statistics.mean(metrics['direct'][0]):.4f})")
    median = {v: statistics.median(times[v]) for v in variants}
    for v in variants:
        extra = f", cells' fit+predict {statistics.median(fits[v]):.2f}s" if v in fits else ""
        print(f"median wall {v:8s} {median[v]:6.2f}s{extra}")
    for v in ("local", "prestart"):
        paired = statistics.median(a / b for a, b in zip(times[v], times["inline"]))
        direct = statistics.median(a / b for a, b in zip(times[v], times["direct"]))
        print(f"{v}: median paired ratio vs inline {paired:.3f}, vs direct {direct:.3f} (target <= 1.03)")


# --- (b), (c) --------------------------------------------------------------------------------


def plain_fit(data_dir: str) -> float:
    """One Surprise SVD(n_epochs=100) fit on the whole of ml-100k, no bench; its seconds."""
    import pandas as pd
    from surprise import SVD, Dataset, Reader

    frame = pd.read_csv(Path(data_dir) / "ml-100k" / "u.data", sep="\t", names=["u", "i", "r", "t"])
    trainset = Dataset.load_from_df(frame[["u", "i", "r"]], Reader(rating_scale=(1, 5))).build_full_trainset()
    started = time.perf_counter()
    SVD(n_epochs=100, random_state=0).fit(trainset)
    return time.perf_counter() - started


def ceiling(data_dir: str) -> float:
    """How much faster two plain processes finish two fits than one process one fit after the other."""
    command = [sys.executable, __file__, "--plain-fit", "--data-dir", data_dir]
    alone = [float(subprocess.run(command, capture_output=True, text=True, check=True).stdout) for _ in range(2)]
    pair = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    together = [float(p.communicate()[0]) for p in pair]
    limit = sum(alone) / max(together)
    print(f"machine: one plain SVD fit alone {statistics.mean(alone):.2f}s; two at once "
          f"{together[0]:.2f}s and {together[1]:.2f}s: two processes give at most {limit:.2f}x here")
    return limit


def parallel(data_dir: str, tmp: Path) -> None:
    from benchmark.engine import DaskExecutor, LocalExecutor

    limit = ceiling(data_dir)

    suite = tmp / "engine-parallel.yaml"
    suite.write_text(SUITE_B)
    tasks = tasks_of(suite, data_dir)
    assert len(tasks) == 8
    results = {}
    for name, make in [("jobs=1", lambda: LocalExecutor(jobs=1)), ("jobs=2", lambda: LocalExecutor(jobs=2)),
                       ("dask LocalCluster(2)", lambda: DaskExecutor(jobs=2))]:
        started = time.perf_counter()
        with make() as executor:
            up = time.perf_counter()
            rows = run_tasks(executor, tasks)
            done = time.perf_counter()
            if name.startswith("dask"):  # again, the cluster and its worker processes already up
                again = run_tasks(executor, tasks)
                warm = time.perf_counter() - done
                assert sorted(r["metrics"]["rmse"] for r in again) == sorted(r["metrics"]["rmse"] for r in rows)
        total = done - started
        results[name] = (total, sorted((r["cell_id"], r["metrics"]["rmse"]) for r in rows))
        fit = sum(r["fit_seconds"] for r in rows)
        print(f"{name:21s} {total:6.2f}s from start to the last row (start-up {up - started:.2f}s), "
              f"cells' fit {fit:.2f}s")
        if name.startswith("dask"):
            print(f"{'':21s} {warm:6.2f}s a second time on the running cluster")
    assert len({json.dumps(r[1]) for r in results.values()}) == 1, "same numbers everywhere"
    print("identical RMSE on all 8 cells with jobs=1, jobs=2 and Dask")
    one, two = results["jobs=1"][0], results["jobs=2"][0]
    print(f"(b) speed-up jobs=2 / jobs=1: {one / two:.2f}x (target >= 1.8; this machine's ceiling "
          f"{limit:.2f}x, so {one / two / limit:.0%} of it)")
    dask = results["dask LocalCluster(2)"][0]
    print(f"(c) Dask / jobs=2: {dask / two:.3f} with the cluster's start-up, {warm / two:.3f} on a running "
          f"cluster (target <= 1.1)")


# --- (d) -------------------------------------------------------------------------------------


def trouble(data_dir: str, tmp: Path) -> None:
    from benchmark.engine import LocalExecutor
    from benchmark.suite import Limits

    (tmp / "trouble.py").write_text(TROUBLE)
    suite = tmp / "engine-trouble.yaml"
    suite.write_text(SUITE_D)
    tasks = tasks_of(suite, data_dir, Limits(timeout=20, memory=2**30))
    started = time.perf_counter()
    with LocalExecutor(jobs=2) as executor:
        rows = run_tasks(executor, tasks)
    seconds = time.perf_counter() - started
    print("| model | fold | status | error / rmse |\n|---|---|---|---|")
    for row in sorted(rows, key=lambda r: (r["model"], r["fold_name"])):
        what = f"{row['metrics']['rmse']:.4f}" if row["status"] == "ok" else row["error"]
        print(f"| {row['model']} | {row['fold_name']} | {row['status']} | {what} |")
    ok = sum(r["status"] == "ok" for r in rows)
    print(f"\n{len(rows)} of {len(tasks)} cells recorded in {seconds:.1f}s: {ok} ok "
          f"(every svd and bias-baseline cell), {len(rows) - ok} failed with their reason")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="a,b,c,d")
    parser.add_argument("--prestarted", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--plain-fit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_fit and args.data_dir:
        print(plain_fit(args.data_dir))
        return
    if not args.data_dir:
        parser.error("give --data-dir or set BENCH_DATA_DIR")
    if args.prestarted:
        prestarted(args.prestarted[0], args.data_dir, args.prestarted[1])
        return
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if "a" in parts:
            print("## (a) overhead, jobs=1\n")
            overhead(args.data_dir, args.repeat, tmp)
        if parts & {"b", "c"}:
            print("\n## (b, c) 8 equal CPU-bound cells\n")
            parallel(args.data_dir, tmp)
        if "d" in parts:
            print("\n## (d) hanging, segfaulting and memory-hungry cells\n")
            trouble(args.data_dir, tmp)


if __name__ == "__main__":
    main()
