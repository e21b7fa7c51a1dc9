"""What does bench cost on top of Surprise? SVD on ml-100k, 5 folds: ``bench run`` vs a plain script.

Both sides run the same work in fresh Python processes, in pairs (alternating which goes
first), ``--repeat`` times; one run takes about 8 s on 2 cores, and run-to-run noise on a shared
machine is about ±10 %, hence the default of 10 pairs:

* **bench**: ``bench run`` (the CLI, ``python -m benchmark run``) of a one-model suite: svd at
  Surprise's defaults, random_state 0 (the suite seed), ``movielens-100k`` split by
  ``kfold k=5 seed=0``, metrics rmse and mae, into a fresh results directory. Counted: everything
  the process does, i.e. interpreter start, imports, plugin discovery, suite validation, reading
  ``u.data``, checksum, folds, the 5 cells (subset, Trainset, fit, predict, score, provenance,
  memory sampling), writing cells.jsonl, environment.json and the leaderboard.
* **direct**: a plain script: read ``u.data`` with pandas, the same folds from
  ``bench_plugins.splits.kfold`` (so the training rows are the same, in the same order), then per
  fold ``Dataset.load_from_df(...).build_full_trainset()``, ``SVD(random_state=0).fit``,
  ``algo.test`` and ``accuracy.rmse``/``mae``. Counted: the whole process likewise.

The script checks that both sides got bit-identical RMSE and MAE on every fold, then prints the
median wall and CPU times and the ratio bench/direct (target: at most 1.03). bench's wrapper
predicts faster than ``algo.test`` (it calls ``estimate`` with inner ids, and the metrics are
vectorised), which hides part of the harness's cost; the last line therefore also compares
with the direct time had its ``algo.test`` + ``accuracy`` taken only bench's predict time.
Usage::

    BENCH_DATA_DIR=/path/to/data python benchmarks/surprise_overhead.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = """\
name: surprise-overhead
seed: 0
datasets:
  - name: movielens-100k
    split: {method: kfold, k: 5}
models:
  - svd
metrics: [rmse, mae]
"""


def direct(data_dir: str) -> dict:
    """The plain Surprise script; returns per-fold metrics and its own elapsed time."""
    started = time.perf_counter()
    import pandas as pd
    from surprise import SVD, Dataset, Reader, accuracy

    from benchmark.api import RatingData
    from bench_plugins.splits import kfold

    frame = pd.read_csv(Path(data_dir) / "ml-100k" / "u.data", sep="\t",
                        names=["user", "item", "rating", "timestamp"])
    folds = kfold(RatingData(frame, (1.0, 5.0)), seed=0, k=5)
    rmse, mae, evaluation = [], [], 0.0
    for fold in folds:
        train, test = frame.iloc[fold.train], frame.iloc[fold.test]
        reader = Reader(rating_scale=(1, 5))
        trainset = Dataset.load_from_df(train[["user", "item", "rating"]], reader).build_full_trainset()
        algo = SVD(random_state=0).fit(trainset)
        evaluating = time.perf_counter()
        testset = list(zip(test["user"], test["item"], test["rating"].astype(float)))
        predictions = algo.test(testset)
        rmse.append(accuracy.rmse(predictions, verbose=False))
        mae.append(accuracy.mae(predictions, verbose=False))
        evaluation += time.perf_counter() - evaluating
    return {"rmse": rmse, "mae": mae, "evaluation": evaluation,
            "seconds": time.perf_counter() - started}


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run ``command``; return its wall seconds, CPU seconds (user + system) and stdout."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"),
                        help="folder holding ml-100k/u.data (default: $BENCH_DATA_DIR)")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--direct", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("give --data-dir or set BENCH_DATA_DIR")
    if args.direct:
        print(json.dumps(direct(args.data_dir)))
        return

    times: dict[str, list[tuple[float, float]]] = {"bench": [], "direct": []}
    like_for_like = []  # direct, had it predicted as fast as bench's wrapper
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "surprise-overhead.yaml"
        suite.write_text(SUITE)
        for repeat in range(args.repeat):
            out = Path(tmp) / f"out{repeat}"
            commands = {
                "bench": [sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(out),
                          "--data-dir", args.data_dir, "-q"],
                "direct": [sys.executable, __file__, "--direct", "--data-dir", args.data_dir],
            }
            stdout = {}
            for side in sorted(commands, reverse=repeat % 2 == 1):  # alternate who goes first
                wall, cpu, stdout[side] = timed(commands[side])
                times[side].append((wall, cpu))
            rows = sorted((json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()),
                          key=lambda row: row["fold"])
            plain = json.loads(stdout["direct"])
            for name in ("rmse", "mae"):  # same folds, same rows, same numbers
                ours = [row["metrics"][name] for row in rows]
                if ours != plain[name]:
                    sys.exit(f"{name} differs: bench {ours} vs direct {plain[name]}")
            fit = sum(row["fit_seconds"] for row in rows)
            predict = sum(row["predict_seconds"] for row in rows)
            (bench_wall, bench_cpu), (direct_wall, direct_cpu) = times["bench"][-1], times["direct"][-1]
            like_for_like.append(direct_wall - plain["evaluation"] + predict)
            print(f"run {repeat + 1}: bench {bench_wall:5.2f}s wall {bench_cpu:5.2f}s cpu (cells: fit "
                  f"{fit:.2f}s, predict {predict:.2f}s) | direct {direct_wall:5.2f}s wall "
                  f"{direct_cpu:5.2f}s cpu (test+accuracy {plain['evaluation']:.2f}s)")
    print(f"RMSE and MAE bit-identical on all 5 folds (mean RMSE {statistics.mean(plain['rmse']):.4f})")
    for index, kind in enumerate(("wall", "cpu")):
        bench = statistics.median(t[index] for t in times["bench"])
        plain_time = statistics.median(t[index] for t in times["direct"])
        print(f"median {kind:4s} time: bench {bench:6.2f}s, direct {plain_time:6.2f}s, "
              f"ratio bench/direct {bench / plain_time:.3f} (target <= 1.03)")
    paired = [b[0] / d[0] for b, d in zip(times["bench"], times["direct"])]
    print(f"median of the {len(paired)} paired wall-time ratios: {statistics.median(paired):.3f} "
          f"(from {min(paired):.3f} to {max(paired):.3f})")
    bench = statistics.median(t[0] for t in times["bench"])
    print(f"like for like (direct's algo.test + accuracy replaced by bench's predict time): "
          f"{statistics.median(like_for_like):.2f}s, ratio {bench / statistics.median(like_for_like):.3f}")


if __name__ == "__main__":
    main()
