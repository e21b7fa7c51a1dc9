"""How ``bench leaderboard`` and ``bench report`` scale with the number of configurations.

Issue 19 item 15: 5,000 configurations took 52 s (leaderboard) and 112 s (report) on the old
readers: quadratic loops over lines (``any(...)`` over every line for every line, a comparison
group counted by scanning the group for each key, an O(n²) Pareto front) and charts that drew
every configuration. This script writes a synthetic results directory of N configurations ×
5 folds (one dataset, plus a second dataset for a third of them, so the critical-difference
path runs too) and times, each in a fresh process so that imports are counted once and alike:

* ``leaderboard``: ``bench leaderboard RUN`` (table to /dev/null);
* ``leaderboard csv``: ``bench leaderboard RUN --format csv``;
* ``report``: ``bench report RUN -o report.html``.

    python benchmarks/readers_scale.py [--sizes 500,1000,2000,5000] [--out benchmarks/readers_scale.md]

It prints a Markdown table and, with ``--out``, writes it. Linear scaling shows as a flat
"seconds per 1,000 configurations" column. The figures depend on the machine; the script says
which one. No test asserts a time: speed lives here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = """\
name: readers-scale
seed: 0
split: {method: kfold, k: 5}
datasets:
  - name: synthetic-ratings
    label: a
  - name: synthetic-ratings
    label: b
models:
  - {name: truncated-svd, grid: {n_components: [GRID]}}
metrics: [rmse, mae]
"""


def write_run(directory: Path, configurations: int, seed: int = 0, own_splits: bool = False) -> int:
    """A results directory of ``configurations`` × 5 folds on dataset ``a`` (and a third of them
    on ``b`` too); every 7th configuration was interrupted before its last fold, every 11th has a
    failed fold. ``own_splits``: each configuration on its own split seed (one comparison group
    per line: the worst case for grouping). The number of rows written."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(directory / "cells.jsonl", "w") as out:
        for c in range(configurations):
            quality = rng.gauss(0.0, 0.02)
            datasets = ("a", "b") if c % 3 == 0 else ("a",)
            for dataset in datasets:
                for fold in range(4 if c % 7 == 3 else 5):
                    rmse = 0.93 + quality + 0.01 * fold + rng.gauss(0, 0.002)
                    failed = c % 11 == 5 and fold == 2
                    row = {"cell_id": f"{dataset}{c:06d}{fold}", "config_id": f"cfg{c:013d}",
                           "config": {"n_components": c}, "run_id": "r1", "suite": "readers-scale",
                           "task": "rating", "dataset": dataset, "dataset_plugin": "synthetic-ratings",
                           "dataset_checksum": f"sum-{dataset}", "split": "kfold",
                           "split_params": {"k": 5, "seed": c if own_splits else 0}, "fold": fold,
                           "fold_name": f"{fold + 1}/5", "seed": 0,
                           "split_fingerprint": f"{dataset}-{c if own_splits else 0}-fold{fold}",
                           "model": f"truncated-svd(n_components={c})", "model_plugin": "truncated-svd",
                           "params": {"n_components": c}, "status": "error" if failed else "ok",
                           "error": "boom" if failed else None,
                           "metrics": {} if failed else {"rmse": rmse, "mae": rmse * 0.8},
                           "fit_seconds": 0.01 + rng.random() * 2, "predict_seconds": 0.001,
                           "peak_rss_mb": 100.0, "started_at": "2026-01-01T00:00:00",
                           "finished_at": f"2026-01-01T00:{fold:02d}:00"}
                    out.write(json.dumps(row) + "\n")
                    rows += 1
    # the stored suite names every configuration: the readers scope to it and show them all
    (directory / "suite.yaml").write_text(SUITE.replace("GRID", ", ".join(map(str, range(configurations)))))
    (directory / "environment.json").write_text(json.dumps({"run_id": "r1", "git_revision": "0" * 40}))
    return rows


def timed(argv: list[str], pythonpath: str | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): on a shared machine the CPU time is the steadier."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # from the measured checkout: "python -m" puts the working directory first on the path
    subprocess.run([sys.executable, "-m", "benchmark", *argv], check=True, stdout=subprocess.DEVNULL, env=env,
                   cwd=pythonpath or None)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,1000,2000,5000")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--own-splits", action="store_true",
                        help="each configuration on its own split (the worst case for grouping lines)")
    parser.add_argument("--code", help="another checkout's root to measure (its benchmark package is "
                                       "imported first), e.g. an export of the old main")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lines = [f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
             f"load average {os.getloadavg()[0]:.1f} at the start; "
             f"`python benchmarks/readers_scale.py --sizes {args.sizes}"
             + (" --own-splits" if args.own_splits else "") + (f" --code {args.code}`" if args.code else "`"), "",
             "Seconds: wall / CPU of the process (imports included).", "",
             "| configurations | rows | leaderboard | leaderboard csv | report | report CPU s per 1,000 configurations |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory(prefix="readers-scale-") as tmp:
        for n in sizes:
            run = Path(tmp) / f"run{n}"
            rows = write_run(run, n, own_splits=args.own_splits)
            board = timed(["leaderboard", str(run)], args.code)
            board_csv = timed(["leaderboard", str(run), "--format", "csv"], args.code)
            report = timed(["report", str(run), "-o", str(Path(tmp) / f"report{n}.html")], args.code)
            lines.append(f"| {n:,} | {rows:,} | {board[0]:.1f} / {board[1]:.1f} | {board_csv[0]:.1f} / "
                         f"{board_csv[1]:.1f} | {report[0]:.1f} / {report[1]:.1f} | {report[1] / n * 1000:.2f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
