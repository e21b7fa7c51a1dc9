"""Warm workers (issue 27): a model's first cell in a worker against its next ones, and a cold
numba cache under ``--timeout 1``. Output in ``warm_workers.md``.

(a) **EASE at ml-100k**: ``bench run --jobs 1`` of EASE (l2 500) on the five folds u1..u5 of
    ml-100k (ranking, relevance >= 4): one worker runs the five cells one after the other. Each
    cell's ``fit_seconds``, ``fit_cpu_seconds`` and ``warmup_seconds`` from ``cells.jsonl``, in
    the order they ran; the figure is the first cell's fit over the median of the other four
    (issue 27: within 1.3x).
(b) **fast-svd on a cold numba cache at** ``--timeout 1``: ml-100k u1, ``NUMBA_CACHE_DIR`` an
    empty temporary directory, so the worker compiles the kernels; its status, fit and warm-up.

``--before DIR`` runs the same with another checkout's ``benchmark`` and ``plugins`` (e.g.
``git archive main | tar -x -C /tmp/before``) through ``PYTHONPATH``, alternating with this
tree, ``--repeat`` rounds. Every run is pinned to ``--cores`` cores (1 by default: its worker then
runs BLAS on one thread, and another job's load cannot stretch a BLAS thread's waits).

    BENCH_DATA_DIR=/path/to/data python benchmarks/warm_workers.py [--repeat 3] [--before /tmp/before] [--cores 1]

``BENCH_DATA_DIR`` must hold ``ml-100k/`` (its ``u.data`` and ``u1``..``u5`` files).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

EASE_SUITE = """name: warm-ease
seed: 0
datasets:
  - name: movielens-100k
    task: ranking
    split: {method: predefined, name: u}
models:
  - {name: ease, params: {l2: 500.0}}
metrics: [ndcg@10]
"""

FAST_SVD_SUITE = """name: warm-fast-svd
seed: 0
datasets:
  - name: movielens-100k
    split: {method: predefined, name: u, folds: [u1]}
models:
  - fast-svd
metrics: [rmse]
"""


CORES: set[int] = set()
"""The cores every run is pinned to (``--cores``): the engine gives its one worker that many BLAS
threads, so on a shared machine one core keeps other jobs' load from stretching BLAS's waits."""


def tree_path(before: str, tmp: Path) -> str:
    """A PYTHONPATH under which ``benchmark`` and ``bench_plugins`` are ``before``'s."""
    path = tmp / "before-path"
    if not path.exists():
        path.mkdir()
        (path / "benchmark").symlink_to(Path(before, "benchmark").resolve())
        (path / "bench_plugins").symlink_to(Path(before, "plugins").resolve())
    return str(path)


def run(suite: str, tmp: Path, name: str, extra: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    """``bench run`` of ``suite`` into a fresh directory; its rows in the order the cells started."""
    folder = Path(tempfile.mkdtemp(dir=tmp, prefix=f"{name}-"))
    (folder / "suite.yaml").write_text(suite)
    done = subprocess.run([sys.executable, "-m", "benchmark", "run", str(folder / "suite.yaml"),
                           "--out", str(folder / "out"), "--jobs", "1", *extra],
                          capture_output=True, text=True, env={**os.environ, **env},
                          cwd=folder,  # not the checkout's root: its benchmark/ would hide PYTHONPATH's
                          preexec_fn=lambda: os.sched_setaffinity(0, CORES))  # the run's cores (inherited)
    rows = [json.loads(line) for path in sorted((folder / "out").rglob("cells.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"no rows from {name}: {done.stdout[-1500:]}{done.stderr[-1500:]}")
    return sorted(rows, key=lambda row: row.get("started_at", ""))


def figure(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def ease(tmp: Path, label: str, env: dict[str, str]) -> float:
    rows = run(EASE_SUITE, tmp, "ease", [], env)
    fits = [row["fit_seconds"] for row in rows]
    ratio = fits[0] / statistics.median(fits[1:])
    print(f"| {label} | " + " / ".join(figure(f) for f in fits) + " | "
          + " / ".join(figure(row.get("fit_cpu_seconds")) for row in rows) + " | "
          + " / ".join(figure(row.get("warmup_seconds")) for row in rows) + f" | **{ratio:.2f}x** |", flush=True)
    return ratio


def cold_fast_svd(tmp: Path, label: str, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(dir=tmp, prefix="numba-cache-") as cache:
        row = run(FAST_SVD_SUITE, tmp, "fast-svd", ["--timeout", "1"], {**env, "NUMBA_CACHE_DIR": cache})[0]
    print(f"| {label} | {row['status']} | {figure(row.get('fit_seconds'))} | "
          f"{figure(row.get('prepare_seconds'))} | {figure(row.get('warmup_seconds'))} | "
          f"{(row.get('error') or '')[:60]} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", default=None, help="another checkout's root, run through PYTHONPATH")
    parser.add_argument("--only", default="a,b")
    parser.add_argument("--cores", type=int, default=1, help="cores each run is pinned to (its worker's threads)")
    args = parser.parse_args()
    CORES.update(sorted(os.sched_getaffinity(0))[:args.cores])
    if not os.environ.get("BENCH_DATA_DIR"):
        raise SystemExit("set BENCH_DATA_DIR to a folder holding ml-100k/")
    with open("/proc/loadavg") as load:
        print(f"{os.cpu_count()} cores, each run pinned to {sorted(CORES)}; load average "
              f"{' '.join(load.read().split()[:3])}\n")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        trees = [("this tree", {})]
        if args.before:
            trees.insert(0, ("before", {"PYTHONPATH": tree_path(args.before, tmp)}))
        if "a" in args.only:
            print("| tree | fit s, cells in order | fit CPU s | warm-up s | first / median of the rest |\n"
                  "|---|---|---|---|---|")
            ratios: dict[str, list[float]] = {label: [] for label, _ in trees}
            for _ in range(args.repeat):
                for label, env in trees:
                    ratios[label].append(ease(tmp, label, env))
            for label, values in ratios.items():
                print(f"\n{label}: median first-cell ratio {statistics.median(values):.2f}x over {len(values)} runs")
        if "b" in args.only:
            print("\n| tree | status | fit s | prepare s | warm-up s | error |\n|---|---|---|---|---|---|")
            for label, env in trees:
                cold_fast_svd(tmp, label, env)


if __name__ == "__main__":
    main()
