"""Each arena model's time in bench against its library called directly (ml-100k u1).

    BENCH_DATA_DIR=/path/to/data python benchmarks/arena_timing.py [--repeat 1] [--models a,b] [--out FILE]

For every ranking model line of ``suites/arena-ml100k.yaml`` (bench's own fast-svd left out: its
library is bench), in fresh processes and in alternation:

* **bench**: ``bench run --jobs CORES`` of a suite holding that one line (and its environment) on
  ml-100k's ``u1`` fold, ranking, NDCG@10: its one cell runs in one worker with one BLAS/OpenMP
  thread (``cores // jobs``). Timed: the cell (``fit_seconds + predict_seconds`` of its row:
  the data handed to the library, the fit, every test user's scores over all items, the ranking)
  and the whole process (interpreter start, plugin discovery, validation, loading and checksumming
  the dataset, the worker — started with the environment's interpreter for LensKit and RecBole —
  and the result files).
* **direct**: ``benchmarks/arena_direct.py``, the library called as its documentation does, with
  the same interpreter (the environment's for LensKit and RecBole) and the same one thread
  (bench's thread variables set to 1): read ``u1.base``, build the library's data, fit, every
  test user's top 10 by the library's own call. Timed: fit + top 10,
  and the whole process.

The cell ratio is what bench adds to the model's own work (target <= 1.2x); the process ratio
adds bench's fixed start-up, which a one-cell run cannot spread. The NDCG@10 of both sides is
printed: equal (to the sixth decimal) where the model is deterministic and the protocols agree,
so the two sides did the same work. Threads are pinned on both sides because on a loaded
machine a two-thread OpenBLAS is several times slower than one thread (EASE's fit: 1.3 s with one,
6.8 s with two, the same script): a ratio must not measure that. Load (``/proc/loadavg``) is printed before and after: the
development machine has two cores shared with other work.
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

import yaml

from benchmark.engine.processes import THREAD_VARIABLES, cores

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suites" / "arena-ml100k.yaml"
DIRECT = ROOT / "benchmarks" / "arena_direct.py"
SKIPPED = {"fast-svd"}


def _suite(line: dict, environments: dict) -> str:
    env = line.get("env")
    suite = {"name": "arena-timing", "seed": 0,
             "datasets": [{"name": "movielens-100k", "task": "ranking", "threshold": 4,
                           "split": {"method": "predefined", "name": "u", "folds": ["u1"]}}],
             "models": [{k: v for k, v in line.items() if k != "datasets"}], "metrics": ["ndcg@10"]}
    if env:
        suite["environments"] = {env: environments[env]}
    return yaml.safe_dump(suite, sort_keys=False)


def _interpreter(line: dict, environments: dict) -> str:
    if not line.get("env"):
        return sys.executable
    from benchmark.environments import build, parse_environments

    spec = parse_environments({"environments": environments}, str(SUITE))[line["env"]]
    return str(build(spec).python)


def run_bench(line: dict, environments: dict, data_dir: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-timing-") as folder:
        (Path(folder) / "suite.yaml").write_text(_suite(line, environments))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "benchmark", "run", str(Path(folder) / "suite.yaml"),
                               "--out", str(Path(folder) / "out"), "-q", "--data-dir", data_dir,
                               "--jobs", str(cores())],  # one cell: one worker with one thread
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        rows = [json.loads(line) for line in (Path(folder) / "out" / "cells.jsonl").read_text().splitlines()
                if line.strip()] if (Path(folder) / "out" / "cells.jsonl").exists() else []
    if done.returncode != 0 or not rows or rows[-1]["status"] != "ok":
        raise SystemExit(f"bench run of {line['name']} failed: {done.stderr[-1500:]} "
                         f"{rows[-1].get('error') if rows else ''}")
    row = rows[-1]
    return {"cell": row["fit_seconds"] + row["predict_seconds"], "wall": wall, "ndcg": row["metrics"]["ndcg@10"]}


def run_direct(line: dict, environments: dict, data_dir: str) -> dict:
    python = _interpreter(line, environments)
    variables = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    variables["PYTHONPATH"] = str(ROOT)  # bench's built-ins import bench_plugins from the checkout
    variables.update({name: "1" for name in THREAD_VARIABLES})  # as bench's worker: one thread
    started = time.perf_counter()
    done = subprocess.run([python, str(DIRECT), line["name"], json.dumps(line.get("params", {})), data_dir],
                          capture_output=True, text=True, env=variables)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"direct {line['name']} failed: {done.stderr[-1500:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cell": found["fit_seconds"] + found["score_seconds"], "wall": wall, "ndcg": found["ndcg@10"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--models", help="comma-separated model names (default: every ranking line)")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    data_dir = os.environ.get("BENCH_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    suite = yaml.safe_load(SUITE.read_text())
    environments = suite.get("environments", {})
    chosen = set(args.models.split(",")) if args.models else None
    lines = [m for m in suite["models"] if m["name"] not in SKIPPED and (chosen is None or m["name"] in chosen)
             and "ml-100k" in m.get("datasets", ["ml-100k"])]
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    table = ["| model | bench cell s | direct s | ratio | bench process s | direct process s | ratio | "
             "NDCG@10 bench | NDCG@10 direct |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for line in lines:
        bench, direct = [], []
        for _ in range(args.repeat):  # alternating: a change of load hits both sides
            bench.append(run_bench(line, environments, data_dir))
            direct.append(run_direct(line, environments, data_dir))
        b_cell, d_cell = (statistics.median(r["cell"] for r in side) for side in (bench, direct))
        b_wall, d_wall = (statistics.median(r["wall"] for r in side) for side in (bench, direct))
        label = line["name"] + (f" {json.dumps(line['params'], separators=(',', ':'))}" if line.get("params") else "")
        row = (f"| {label} | {b_cell:.2f} | {d_cell:.2f} | {b_cell / d_cell:.2f} | {b_wall:.2f} | "
               f"{d_wall:.2f} | {b_wall / d_wall:.2f} | {bench[-1]['ndcg']:.6f} | {direct[-1]['ndcg']:.6f} |")
        table.append(row)
        print(row, flush=True)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    text = "\n".join([f"load average before: {' '.join(load_before)}; after: {' '.join(load_after)}; "
                      f"repeat {args.repeat}; median of the repeats", "", *table, ""])
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
