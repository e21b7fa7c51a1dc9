"""fast-svd / fast-svdpp with ``threads: N`` (stratified parallel SGD) against ``threads: 1``: wall, CPU, RMSE.

The issue-27 set: 2M synthetic ratings (30,000 users × 8,000 items, ``load_synthetic`` seed 1,
rank 5), 10 % held out at random, 100 factors, 20 epochs, fast mode, ``random_state=0``. Each
repetition fits every thread count once, in an order that alternates (1, 2, … then …, 2, 1), so
that load from other processes falls on all alike; the table gives the medians over
``--repeat`` repetitions of the fit's wall time and CPU time (``time.process_time``: every thread
of the process), their ratios to one thread (median of the per-repetition ratios), the RMSE on
the held-out ratings (the same in every repetition: the fit is deterministic for a seed and a
thread count, which the script checks), and the 1-minute load average seen before the fits.
Compilation is done before the clock (``prepare``), as bench does.

Usage::

    python benchmarks/dsgd.py [--threads 1,2] [--repeat 5] [--models fast-svd,fast-svdpp]
        [--ratings 2000000 --users 30000 --items 8000 --factors 100 --epochs 20]
        [--out benchmarks/fast_mf.md]

``--out`` writes the result as the section "## threads: stratified parallel SGD" of that file
(replacing the section if there), and prints it either way. On a 16-core machine:
``python benchmarks/dsgd.py --threads 1,2,4,8,16``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HEADING = "## threads: stratified parallel SGD"


def data_split(n_users: int, n_items: int, n_ratings: int):
    from bench_plugins.synthetic import load_synthetic
    from benchmark.api import RatingData

    data = load_synthetic(n_users=n_users, n_items=n_items, n_ratings=n_ratings, seed=1)
    order = np.random.default_rng(0).permutation(n_ratings)
    cut = int(n_ratings * 0.9)
    train = RatingData(data.ratings.iloc[np.sort(order[:cut])].reset_index(drop=True), data.scale)
    return train, data.ratings.iloc[order[cut:]], data.scale


def fit_once(cls, train, threads: int, factors: int, epochs: int) -> tuple[float, float, object]:
    model = cls(random_state=0, n_factors=factors, n_epochs=epochs, threads=threads)
    model.prepare()
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(train)
    return time.perf_counter() - wall, time.process_time() - cpu, model


def measure(name: str, cls, split, threads: list[int], repeat: int, factors: int, epochs: int) -> list[dict]:
    train, test, scale = split
    rows = {n: {"wall": [], "cpu": [], "load": [], "rmse": None, "predicted": None, "grid": None} for n in threads}
    for rep in range(repeat):
        for n in (threads if rep % 2 == 0 else threads[::-1]):
            load = os.getloadavg()[0]
            wall, cpu, model = fit_once(cls, train, n, factors, epochs)
            predicted = model.predict(test["user"].to_numpy(), test["item"].to_numpy())
            row = rows[n]
            if row["predicted"] is not None and not np.array_equal(row["predicted"], predicted):
                raise AssertionError(f"{name} threads {n}: two fits with the same seed differ")
            clipped = np.clip(predicted, *scale)
            row.update(predicted=predicted, grid=model.info()["grid"],
                       rmse=float(np.sqrt(np.mean((clipped - test["rating"].to_numpy()) ** 2))))
            row["wall"].append(wall)
            row["cpu"].append(cpu)
            row["load"].append(load)
            print(f"{name} threads {n} rep {rep + 1}: wall {wall:.2f} s, CPU {cpu:.2f} s, "
                  f"load {load:.2f}, RMSE {row['rmse']:.5f}", file=sys.stderr, flush=True)
    base = rows[threads[0]]
    out = []
    for n in threads:
        row = rows[n]
        out.append({"model": name, "threads": n, "wall": statistics.median(row["wall"]),
                    "cpu": statistics.median(row["cpu"]),
                    "speedup": statistics.median(b / w for b, w in zip(base["wall"], row["wall"])),
                    "cpu_ratio": statistics.median(c / b for b, c in zip(base["cpu"], row["cpu"])),
                    "rmse": row["rmse"], "delta": row["rmse"] - base["rmse"], "grid": row["grid"],
                    "walls": row["wall"], "load": (min(row["load"]), max(row["load"]))})
    return out


def report(results: list[dict], args: argparse.Namespace, loads: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    import numba

    command = " ".join(["python benchmarks/dsgd.py"] + sys.argv[1:])
    lines = [HEADING, "",
             f"Measured by `{command}` ({os.cpu_count()} CPUs, numba {numba.__version__}, threading layer "
             f"{numba.threading_layer()}): {args.ratings:,} synthetic ratings ({args.users:,} users × "
             f"{args.items:,} items, seed 1), 10 % held out, {args.factors} factors, {args.epochs} epochs, "
             f"fast mode, random_state 0; {args.repeat} repetitions, the thread counts alternating in "
             "order; medians. Load average (1, 5, 15 min) at the start "
             f"{', '.join(f'{x:.2f}' for x in loads[0])}, at the end {', '.join(f'{x:.2f}' for x in loads[1])}.",
             "",
             "| model | threads | grid (threads × rounds) | fit wall s (median) | speed-up | fit CPU s (median) "
             "| CPU / 1 thread | RMSE | Δ RMSE | wall s per repetition | load avg during |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        grid = f"{r['grid']['threads']} × {r['grid']['rounds']}" if r["grid"] else "serial"
        lines.append(f"| {r['model']} | {r['threads']} | {grid} | {r['wall']:.2f} | **{r['speedup']:.2f}×** | "
                     f"{r['cpu']:.2f} | **{r['cpu_ratio']:.2f}×** | {r['rmse']:.5f} | {r['delta']:+.5f} | "
                     f"{', '.join(f'{w:.2f}' for w in r['walls'])} | {r['load'][0]:.1f}-{r['load'][1]:.1f} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Put ``section`` in ``path`` in place of its own heading's section, or at the end."""
    text = path.read_text() if path.exists() else ""
    start = text.find(HEADING + "\n")
    if start < 0:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    after = text.find("\n## ", start + len(HEADING))
    path.write_text(text[:start] + section + ("\n" + text[after + 1:] if after >= 0 else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated; the first is the baseline")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models", default="fast-svd,fast-svdpp")
    parser.add_argument("--ratings", type=int, default=2_000_000)
    parser.add_argument("--users", type=int, default=30_000)
    parser.add_argument("--items", type=int, default=8_000)
    parser.add_argument("--factors", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default=None, help="a Markdown file to write the section into")
    args = parser.parse_args()
    from bench_plugins.fast_mf import FastSVD, FastSVDpp

    classes = {"fast-svd": FastSVD, "fast-svdpp": FastSVDpp}
    threads = [int(n) for n in args.threads.split(",")]
    start = os.getloadavg()
    split = data_split(args.users, args.items, args.ratings)
    results = []
    for name in args.models.split(","):
        results += measure(name, classes[name], split, threads, args.repeat, args.factors, args.epochs)
    section = report(results, args, (start, os.getloadavg()))
    if args.out:
        write_section(Path(args.out), section)
    print(section)


if __name__ == "__main__":
    main()
