"""Issue 18's figures: shared data, engine overhead, driver throughput, scaling, parallel fast-svd.

Parts (``--only m,o,t,s,f``), output in ``scale.md``:

(m) **Memory**: the peak of the summed PSS (proportional set size: a page shared by k processes
    counts 1/k in each) of a ``bench run``'s whole process tree, sampled every 0.05 s from
    ``/proc/PID/smaps_rollup``, for ``--jobs 1/2/4``: ``--ratings`` synthetic ratings (5M by
    default; 25M is ml-25m's shape), four cheap cells (global-mean and bias-baseline, kfold k=2;
    ``--grid``: four configurations of bias-baseline on one 90/10 holdout fold).
    ``--before DIR`` runs the same with the engine of another checkout (e.g. ``/work/main``,
    before sharing) for comparison. Also the time from the data being ready in the driver to
    the first cell starting on a worker.
(o) **Overhead**: a 1-cell suite (global-mean on ml-100k-sized synthetic ratings) with
    ``--jobs 1`` against ``--executor inline``; a finished suite's rerun; medians of ``--repeat``.
(t) **Driver throughput**: ``--cells`` trivial cells (a model that only takes the mean of a
    tiny dataset) with ``--jobs 1`` and ``--jobs J`` (``--throughput-jobs``, default the
    machine's cores); cells per second from the first cell started to the last one stored.
(s) **Scaling**: ``2 × cores`` equal cells of ``--cell-seconds`` (2 s) of CPU each with
    ``--jobs`` = cores, against the same work as plain parallel processes (one per core, each
    doing its share of the cells one after the other, the data loaded once per process).
(f) **Parallel fast-svd / fast-svdpp** (stratified parallel SGD above one thread): fit seconds,
    fit CPU and test RMSE with ``threads`` 1, 2, 4, ... up to ``--threads`` (default: the cores)
    on synthetic ratings of each ``--svd-ratings`` shape (ml-10m's and ml-25m's), holdout 0.1.

Usage::

    python benchmarks/scale.py [--only m,o,t,s,f] [--ratings 5000000] [--before /work/main]
    python benchmarks/scale.py                # issue 27 on a 16-core machine: every part, one command
    python benchmarks/scale.py --quick        # the same parts at small sizes (a check, on any machine)

On 16 cores the one command gives issue 27's figures: (s) 32 equal 2 s cells at ``--jobs 16``
against plain processes, (t) 1,000 trivial cells at ``--jobs 16``, (f) fast-svd and fast-svdpp at
``threads`` 1/2/4/8/16 at ml-10m's and ml-25m's shapes (20 epochs: about ten minutes of fits).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = '''
import time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

def spin(seconds):
    """``seconds`` of this process's CPU time, whatever else runs on the machine."""
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        for _ in range(10000):
            x += 1
    return x

class Spin(RatingModel):
    def __init__(self, seconds: float = 0.0, i: int = 0):
        self.seconds, self.i = seconds, i
    def fit(self, train):
        self.mean_ = float(train.ratings["rating"].mean())
        spin(self.seconds)
        return self
    def predict(self, users, items):
        return np.full(len(users), self.mean_)

@hookimpl
def bench_models():
    return [ModelSpec("spin", {RATING: Spin})]
'''


def write(directory: Path, name: str, text: str) -> Path:
    (directory / name).write_text(text)
    return directory / name


def spin_suite(tmp: Path, name: str, options: str, cells: int, params: str = "") -> Path:
    """``name``.yaml: ``cells`` configurations of the spin model (its plugin written beside it,
    with ``params``) on synthetic ratings of ``options``, one holdout fold."""
    write(tmp, "spin.py", PLUGIN)
    params_line = f"    params: {params}\n" if params else ""
    return write(tmp, f"{name}.yaml", f"""\
name: {name}
plugins: [spin.py]
datasets:
  - name: synthetic-ratings
    options: {options}
    split: {{method: holdout}}
models:
  - name: spin
{params_line}    grid: {{i: {list(range(cells))}}}
metrics: [rmse]
""")


class Clocked:
    """A display that shows nothing and notes when the first cell started and the last one
    finished (wall and the driver's CPU clock)."""

    def __init__(self):
        self.first = self.last = self.cpu_first = self.cpu_last = 0.0
        self.finished = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def handle(self, event):
        from benchmark import engine

        if isinstance(event, engine.Started) and not self.first:
            self.first, self.cpu_first = time.perf_counter(), time.process_time()
        elif isinstance(event, engine.Finished):
            self.finished += 1
            self.last, self.cpu_last = time.perf_counter(), time.process_time()


# --- PSS of a process tree ------------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it (the engine's own walk of ``/proc``)."""
    from benchmark.engine import descendants

    return [pid, *descendants(pid)]


def pss(pid: int) -> tuple[int, dict[int, int]]:
    """Summed PSS bytes of ``pid``'s tree and each process's own."""
    each = {}
    for current in tree(pid):
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        each[current] = int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return sum(each.values()), each


def run_sampled(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall seconds and peak PSS figures of ``command``'s process tree: ``total`` (summed over
    the tree), ``driver`` (the command's own process), ``workers`` (summed over the others) and
    ``worker`` (the largest other process)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = {"total": 0, "driver": 0, "workers": 0, "worker": 0}
    while process.poll() is None:
        total, each = pss(process.pid)
        others = [v for pid, v in each.items() if pid != process.pid]
        for key, value in (("total", total), ("driver", each.get(process.pid, 0)),
                           ("workers", sum(others)), ("worker", max(others, default=0))):
            peak[key] = max(peak[key], value)
        time.sleep(0.05)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    return {"wall": time.perf_counter() - started, **peak}


def gb(size: float) -> str:
    return f"{size / 2**30:.2f} GB"


def memory(tmp: Path, ratings: int, before: str | None, grid: bool = False) -> None:
    users = max(100, ratings // 150)
    if grid:  # a grid search's shape: configurations of one model on one fold
        split, models = "{method: holdout, test_size: 0.1}", "[{name: bias-baseline, grid: {reg_u: [5, 10, 15, 20]}}]"
        what = "bias-baseline x 4 configurations (reg_u) x holdout 90/10"
    else:
        split, models = "{method: kfold, k: 2}", "[global-mean, bias-baseline]"
        what = "global-mean and bias-baseline x kfold k=2"
    suite = write(tmp, "memory.yaml", f"""\
name: memory
datasets:
  - name: synthetic-ratings
    options: {{n_users: {users}, n_items: {max(50, users // 3)}, n_ratings: {ratings}}}
    split: {split}
models: {models}
metrics: [rmse]
""")
    print(f"{ratings:,} synthetic ratings ({users:,} users), {what} "
          "(4 cells); peak of the summed PSS of bench's process tree\n")
    print("| engine | --jobs | wall | peak summed PSS (vs --jobs 1) | driver | workers together | largest worker |\n"
          "|---|---|---|---|---|---|---|")
    for label, path in [("before", before), ("after", str(ROOT))] if before else [("after", str(ROOT))]:
        env = {**os.environ, "PYTHONPATH": path}
        base = None
        for jobs in (1, 2, 4):
            got = run_sampled([sys.executable, "-m", "benchmark", "run", str(suite), "--out",
                               str(tmp / f"m-{label}-{jobs}"), "--jobs", str(jobs), "-q"], env)
            base = base or got["total"]
            print(f"| {label} | {jobs} | {got['wall']:.1f} s | {gb(got['total'])} ({got['total'] / base:.2f}x) | "
                  f"{gb(got['driver'])} | {gb(got['workers'])} | {gb(got['worker'])} |", flush=True)
    first_cell_delay(tmp, suite)


def first_cell_delay(tmp: Path, suite: Path) -> None:
    """From the dataset shared (published) in the driver to the first cell started on a worker."""
    from benchmark.execute import DataCache
    from benchmark.runner import RunOptions, run_suite

    marks: dict[str, float] = {}
    publish = DataCache.publish

    def timed_publish(self, share, cells=None):
        warning = publish(self, share, cells)
        marks["published"] = time.perf_counter()
        return warning

    clock = Clocked()
    DataCache.publish = timed_publish  # type: ignore[method-assign]
    try:
        with open(os.devnull, "w") as devnull:
            run_suite(suite, RunOptions(out=tmp / "delay", jobs=2), stream=devnull, progress=clock)
    finally:
        DataCache.publish = publish  # type: ignore[method-assign]
    print(f"\nfirst cell started {clock.first - marks['published']:.3f} s after the data was shared "
          "(--jobs 2; target <= 0.5 s)")


# --- Overhead ----------------------------------------------------------------------------------


def overhead(tmp: Path, repeat: int, before: str | None) -> None:
    suite = write(tmp, "one.yaml", """\
name: one
datasets:
  - name: synthetic-ratings
    options: {n_users: 943, n_items: 1682, n_ratings: 100000}
    split: {method: holdout}
models: [global-mean]
metrics: [rmse]
""")
    for label, path in [("before", before), ("after", str(ROOT))] if before else [("after", str(ROOT))]:
        env = {**os.environ, "PYTHONPATH": path}
        times: dict[str, list[float]] = {"inline": [], "jobs 1": [], "rerun": []}
        cpu: dict[str, list[float]] = {"inline": [], "jobs 1": [], "rerun": []}

        def timed(variant: str, command: list[str]) -> None:
            import resource

            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
            times[variant].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the driver and its workers
            cpu[variant].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

        for n in range(repeat):
            for variant in ("inline", "jobs 1") if n % 2 == 0 else ("jobs 1", "inline"):
                out = tmp / f"o-{label}-{variant.replace(' ', '')}-{n}"
                extra = ["--executor", "inline"] if variant == "inline" else ["--jobs", "1"]
                timed(variant, [sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(out), "-q",
                                *extra])
            timed("rerun", [sys.executable, "-m", "benchmark", "run", str(suite), "--out",
                            str(tmp / f"o-{label}-jobs1-{n}"), "-q", "--jobs", "1"])
        median = {k: statistics.median(v) for k, v in times.items()}
        print(f"{label}: CPU seconds (driver and workers, median): " + ", ".join(
            f"{k} {statistics.median(v):.2f}" for k, v in cpu.items()))
        ratios = [a / b for a, b in zip(times["jobs 1"], times["inline"])]
        print(f"{label}: 1-cell suite: --executor inline {median['inline']:.2f} s, --jobs 1 {median['jobs 1']:.2f} s "
              f"(median of {repeat}; paired ratio {statistics.median(ratios):.2f}x, target <= 1.3x); "
              f"finished suite rerun {median['rerun']:.2f} s (target <= 1 s; "
              f"{', '.join(f'{t:.2f}' for t in times['rerun'])})", flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import benchmark.runner"], check=True)
    print(f"for scale: python -c 'import benchmark.runner' alone takes {time.perf_counter() - started:.2f} s here")


# --- Driver throughput ---------------------------------------------------------------------------


def throughput(tmp: Path, cells: int, jobs_list: list[int]) -> None:
    from benchmark.runner import RunOptions, run_suite

    suite = spin_suite(tmp, "trivial", "{n_users: 20, n_items: 10, density: 0.5}", cells)
    store = "batched fsync"  # ResultStore.append_rows: one write + fsync per engine pass
    for jobs in jobs_list:
        clock = Clocked()
        started = time.perf_counter()
        workers_before = children_cpu()
        with open(os.devnull, "w") as devnull:
            result = run_suite(suite, RunOptions(out=tmp / f"t-{jobs}", jobs=jobs, max_configurations=cells),
                               stream=devnull, progress=clock)
        wall = time.perf_counter() - started
        workers = children_cpu() - workers_before  # the workers, reaped when the run ended
        assert result.ran == cells and result.failed == 0
        rate = clock.finished / (clock.last - clock.first)
        capacity = clock.finished / (clock.cpu_last - clock.cpu_first)
        print(f"{cells} trivial cells, --jobs {jobs}, store {store}: {rate:.0f} cells/s from the first start "
              f"to the last row stored ({wall:.1f} s in all, planning included); the driver's own CPU: "
              f"{1000 / capacity:.2f} ms a cell, i.e. at most {capacity:.0f} cells/s; the workers' CPU: "
              f"{1000 * workers / cells:.2f} ms a cell", flush=True)


def children_cpu() -> float:
    """CPU seconds (user and system) of this process's children that have ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- Scaling -------------------------------------------------------------------------------------


PLAIN = """
import sys, time
sys.path.insert(0, {tmp!r})
from spin import spin
from bench_plugins.synthetic import load_synthetic
data = load_synthetic(n_users=943, n_items=1682, n_ratings=100000)
for _ in range({cells}):
    float(data.ratings["rating"].mean())
    spin({seconds})
"""


def scaling(tmp: Path, seconds: float, cores: int, rounds: int = 3) -> None:
    cells = 2 * cores
    suite = spin_suite(tmp, "equal", "{n_users: 943, n_items: 1682, n_ratings: 100000}", cells,
                       params=f"{{seconds: {seconds}}}")

    def plain() -> float:
        started = time.perf_counter()
        processes = [subprocess.Popen([sys.executable, "-c", PLAIN.format(tmp=str(tmp), cells=cells // cores,
                                                                          seconds=seconds)]) for _ in range(cores)]
        for process in processes:
            process.wait()
        return time.perf_counter() - started

    def bench(n: int) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(tmp / f"s{n}"), "-q",
                        "--jobs", str(cores)], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started

    plains, benches = [], []
    for n in range(rounds):  # alternating, so that a burst of load elsewhere hits both alike
        if n % 2 == 0:
            plains.append(plain())
            benches.append(bench(n))
        else:
            benches.append(bench(n))
            plains.append(plain())
    ratios = [p / b for p, b in zip(plains, benches)]
    print(f"{cells} cells of {seconds:g} s CPU, {cores} cores, {rounds} alternating rounds: plain processes "
          f"{', '.join(f'{p:.1f}' for p in plains)} s; bench --jobs {cores} {', '.join(f'{b:.1f}' for b in benches)} s: "
          f"median {statistics.median(ratios):.0%} of plain (target >= 85%)")


# --- Parallel fast-svd ----------------------------------------------------------------------------


SHAPES = {10_000_054: (69_878, 10_677), 25_000_095: (162_541, 59_047)}
"""Users and items of MovieLens 10M and 25M, by their number of ratings: (f) at ``--svd-ratings``
10000054 or 25000095 has their shape; another count gets ratings / 150 users and a third as many items."""


def thread_counts(most: int) -> list[int]:
    """1, 2, 4, ... up to ``most``, and ``most`` itself: the ``threads`` (f) fits with."""
    counts, n = [], 1
    while n < most:
        counts.append(n)
        n *= 2
    return [*counts, most]


def parallel_svd(ratings: int, threads: list[int], epochs: int) -> None:
    import numpy as np

    from bench_plugins.fast_mf import FastSVD, FastSVDpp
    from bench_plugins.synthetic import load_synthetic
    from benchmark.api import RatingData

    users, items = SHAPES.get(ratings, (max(1000, ratings // 150), max(500, ratings // 450)))
    data = load_synthetic(n_users=users, n_items=items, n_ratings=ratings, seed=1)
    order = np.random.default_rng(0).permutation(ratings)
    cut = int(ratings * 0.9)
    train = RatingData(data.ratings.iloc[np.sort(order[:cut])].reset_index(drop=True), data.scale)
    test = data.ratings.iloc[order[cut:]]
    truth = test["rating"].to_numpy()
    print(f"{ratings:,} synthetic ratings ({users:,} users x {items:,} items), holdout 0.1, n_epochs {epochs}\n")
    print("| model | threads | fit | speed-up | fit CPU (vs 1 thread) | RMSE | Δ RMSE |\n|---|---|---|---|---|---|---|")
    for cls in (FastSVD, FastSVDpp):
        serial = None
        for count in threads:
            model = cls(random_state=0, n_epochs=epochs, threads=count)
            model.prepare()
            started, cpu = time.perf_counter(), time.process_time()
            model.fit(train)
            fit, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
            predicted = np.clip(model.predict(test["user"].to_numpy(), test["item"].to_numpy()), *data.scale)
            rmse = float(np.sqrt(np.mean((predicted - truth) ** 2)))
            serial = serial or (fit, rmse, fit_cpu)
            print(f"| {cls.__name__} | {count} | {fit:.1f} s | {serial[0] / fit:.2f}x | {fit_cpu:.1f} s "
                  f"({fit_cpu / serial[2]:.2f}x) | {rmse:.4f} | {rmse - serial[1]:+.4f} |", flush=True)


QUICK = {"ratings": 200_000, "repeat": 1, "cells": 100, "cell_seconds": 0.2, "svd_ratings": "100000",
         "svd_epochs": 2}
"""``--quick``: every part at a size that runs in a minute or two on 2 cores (a check that the
script works, not a measurement)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="m,o,t,s,f")
    parser.add_argument("--ratings", type=int, default=5_000_000)
    parser.add_argument("--before", default=None, help="another checkout's root, for (m) before/after")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--throughput-jobs", type=int, default=None)
    parser.add_argument("--cell-seconds", type=float, default=2.0)
    parser.add_argument("--svd-ratings", default="10000054,25000095",
                        help="(f): ratings of each shape, comma-separated (ml-10m's and ml-25m's by default)")
    parser.add_argument("--svd-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="(f): the most threads (default: the cores)")
    parser.add_argument("--grid", action="store_true",
                        help="(m): 4 configurations of bias-baseline on one holdout fold instead of 2 models x 2 folds")
    parser.add_argument("--quick", action="store_true", help="every part at a small size: checks that the "
                        "script runs (" + ", ".join(f"{k} {v}" for k, v in QUICK.items()) + ")")
    args = parser.parse_args()
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    from benchmark.engine import cores

    n = cores()
    parts = set(args.only.split(","))
    print(f"machine: {n} cores, Python {sys.version.split()[0]}\n")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if "m" in parts:
            print("## (m) memory\n")
            memory(tmp, args.ratings, args.before, args.grid)
        if "o" in parts:
            print("\n## (o) overhead\n")
            overhead(tmp, args.repeat, args.before)
        if "t" in parts:
            print("\n## (t) driver throughput\n")
            throughput(tmp, args.cells, sorted({1, args.throughput_jobs or n}))
        if "s" in parts:
            print("\n## (s) scaling\n")
            scaling(tmp, args.cell_seconds, n)
        if "f" in parts:
            print("\n## (f) parallel fast-svd\n")
            for ratings in args.svd_ratings.split(","):
                parallel_svd(int(ratings), thread_counts(args.threads or n), args.svd_epochs)
                print()


if __name__ == "__main__":
    main()
