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
        [--shuffle] [--work] [--out benchmarks/fast_mf.md]

``--out`` writes the result into the section "## threads: stratified parallel SGD" of that file,
as a subsection titled by the command (replacing the one of the same command), and prints it
either way; ``--work`` adds each thread count above 1 run by one thread (the work without
waiting), ``--shuffle`` shuffles the training rows. On a 16-core machine:
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


def data_split(n_users: int, n_items: int, n_ratings: int, shuffle: bool = False):
    """(train, test frame, scale): the synthetic ratings, 10 % held out at random; the training
    rows sorted by user then item as generated, or in a random order (``shuffle``)."""
    from bench_plugins.synthetic import load_synthetic
    from benchmark.api import RatingData

    data = load_synthetic(n_users=n_users, n_items=n_items, n_ratings=n_ratings, seed=1)
    order = np.random.default_rng(0).permutation(n_ratings)
    cut = int(n_ratings * 0.9)
    rows = order[:cut] if shuffle else np.sort(order[:cut])
    train = RatingData(data.ratings.iloc[rows].reset_index(drop=True), data.scale)
    return train, data.ratings.iloc[order[cut:]], data.scale


def fit_once(cls, train, threads: int, factors: int, epochs: int, one_core: bool = False):
    """(wall s, CPU s, the fitted model); ``one_core``: the grid of ``threads`` run by a single
    numba thread, so its work without any wait."""
    from bench_plugins import fast_mf_parallel

    model = cls(random_state=0, n_factors=factors, n_epochs=epochs, threads=threads)
    model.prepare()
    set_threads = fast_mf_parallel.usable_threads
    if one_core:
        fast_mf_parallel.usable_threads = lambda threads: set_threads(1)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(train)
        return time.perf_counter() - wall, time.process_time() - cpu, model
    finally:
        fast_mf_parallel.usable_threads = set_threads


def measure(name: str, cls, split, threads: list[int], args: argparse.Namespace) -> list[dict]:
    """Each thread count (and, with ``args.work``, each count above 1 on one core: key -n) fitted
    ``args.repeat`` times, the order alternating; medians and ratios to ``threads[0]``."""
    train, test, scale = split
    runs = threads + ([-n for n in threads if n > 1] if args.work else [])
    rows = {n: {"wall": [], "cpu": [], "load": [], "rmse": None, "predicted": None, "grid": None} for n in runs}
    model_of: dict[int, object] = {}
    for rep in range(args.repeat):
        for n in (runs if rep % 2 == 0 else runs[::-1]):
            load = os.getloadavg()[0]
            wall, cpu, model = fit_once(cls, train, abs(n), args.factors, args.epochs, one_core=n < 0)
            predicted = model.predict(test["user"].to_numpy(), test["item"].to_numpy())
            row = rows[n]
            model_of[n] = model
            if row["predicted"] is not None and not np.array_equal(row["predicted"], predicted):
                raise AssertionError(f"{name} threads {n}: two fits with the same seed differ")
            clipped = np.clip(predicted, *scale)
            row.update(predicted=predicted, grid=model.info()["grid"],
                       rmse=float(np.sqrt(np.mean((clipped - test["rating"].to_numpy()) ** 2))))
            row["wall"].append(wall)
            row["cpu"].append(cpu)
            row["load"].append(load)
            print(f"{name} threads {abs(n)}{' (1 core)' if n < 0 else ''} rep {rep + 1}: "
                  f"wall {wall:.2f} s, CPU {cpu:.2f} s, "
                  f"load {load:.2f}, RMSE {row['rmse']:.5f}", file=sys.stderr, flush=True)
    base = rows[threads[0]]
    out = []
    for n in runs:
        row = rows[n]
        out.append({"model": name, "threads": f"{abs(n)} (1 core)" if n < 0 else str(n),
                    "wall": statistics.median(row["wall"]),
                    "cpu": statistics.median(row["cpu"]),
                    "speedup": statistics.median(b / w for b, w in zip(base["wall"], row["wall"])),
                    "cpu_ratio": statistics.median(c / b for b, c in zip(base["cpu"], row["cpu"])),
                    "rmse": row["rmse"], "delta": row["rmse"] - base["rmse"], "grid": row["grid"],
                    "walls": row["wall"], "load": (min(row["load"]), max(row["load"])),
                    "balance": wave_balance(model_of[n], train, abs(n)) if abs(n) > 1 else None})
    return out


def wave_balance(model, train, threads: int) -> float:
    """The grid's critical path over its ideal, counted in ratings: the largest block of each wave
    summed over an epoch's waves, against the ratings / threads (1.0: every thread as busy)."""
    from bench_plugins import fast_mf_parallel

    rounds = model.info()["grid"]["rounds"]
    grid = fast_mf_parallel.build_grid(model._index(train), len(model.items_), threads, rounds,
                                       np.random.RandomState(0))
    sizes = np.diff(grid.block_ptr).reshape(rounds, threads, threads)  # round, thread (row), column
    path = sum(max(sizes[rho, t, (t + s) % threads] for t in range(threads))
               for rho in range(rounds) for s in range(threads))
    return float(path / (grid.block_ptr[-1] / threads))


def report(results: list[dict], args: argparse.Namespace, loads: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    """The run's subsection: what was run, on what, and the table."""
    import numba

    command = " ".join(["python benchmarks/dsgd.py"] + sys.argv[1:])
    environment = " ".join(f"{key}={os.environ[key]}" for key in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
                           if key in os.environ)
    lines = [f"### `{(environment + ' ') if environment else ''}{command}`", "",
             f"{os.cpu_count()} CPUs, numba {numba.__version__} (threading layer {numba.threading_layer()}); "
             f"{args.ratings:,} synthetic ratings ({args.users:,} users × {args.items:,} items, seed 1), "
             f"10 % held out, {args.factors} factors, {args.epochs} epochs, fast mode, random_state 0, "
             f"training rows {'shuffled' if args.shuffle else 'sorted by user and item'}; {args.repeat} "
             "repetitions, the thread counts alternating in order; medians. Load average (1, 5, 15 min) "
             f"at the start {', '.join(f'{x:.2f}' for x in loads[0])}, at the end "
             f"{', '.join(f'{x:.2f}' for x in loads[1])}.", "",
             "| model | threads | grid (threads × rounds) | fit wall s | speed-up | fit CPU s | CPU / 1 thread "
             "| cores used (CPU / wall) | wave balance | RMSE | Δ RMSE | wall s per repetition | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        grid = f"{r['grid']['threads']} × {r['grid']['rounds']}" if r["grid"] else "serial"
        balance = f"{r['balance']:.3f}" if r.get("balance") else ""
        lines.append(f"| {r['model']} | {r['threads']} | {grid} | {r['wall']:.2f} | **{r['speedup']:.2f}×** | "
                     f"{r['cpu']:.2f} | **{r['cpu_ratio']:.2f}×** | {r['cpu'] / r['wall']:.2f} | {balance} | "
                     f"{r['rmse']:.5f} | {r['delta']:+.5f} | {', '.join(f'{w:.2f}' for w in r['walls'])} | "
                     f"{r['load'][0]:.1f}-{r['load'][1]:.1f} |")
    return "\n".join(lines) + "\n"


INTRO = """Written by `benchmarks/dsgd.py` (one subsection per command; see its docstring). `speed-up`
and `CPU / 1 thread`: medians of each repetition's ratio to the one-thread fit of that
repetition. `N (1 core)`: the grid of N threads run by a single thread, i.e. the work of the
parallel fit without any waiting. `cores used`: CPU time over wall time. `wave balance`: the
grid's critical path (each wave's largest block, summed) over ratings / N: 1.000 when every
thread has as many ratings in every wave.
"""


def write_section(path: Path, subsection: str) -> None:
    """Put ``subsection`` under :data:`HEADING` in ``path``: in place of the subsection with the
    same heading line, or last in the section (made, with its :data:`INTRO`, if absent)."""
    text = path.read_text() if path.exists() else ""
    start = text.find(HEADING + "\n")
    if start < 0:
        path.write_text(text.rstrip("\n") + "\n\n" + HEADING + "\n\n" + INTRO + "\n" + subsection)
        return
    end = text.find("\n## ", start + len(HEADING))
    end = len(text) if end < 0 else end + 1
    section = text[start:end].rstrip("\n") + "\n"
    title = subsection.split("\n", 1)[0] + "\n"
    at = section.find(title)
    if at >= 0:
        following = section.find("\n### ", at + len(title))
        section = section[:at] + subsection + ("\n" + section[following + 1:] if following >= 0 else "")
    else:
        section = section + "\n" + subsection
    path.write_text(text[:start] + section + ("\n" + text[end:] if end < len(text) else ""))


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
    parser.add_argument("--shuffle", action="store_true", help="training rows in a random order, not sorted")
    parser.add_argument("--work", action="store_true",
                        help="also each thread count above 1 run by one thread: the work without waiting")
    parser.add_argument("--out", default=None, help="a Markdown file to write the section into")
    args = parser.parse_args()
    from bench_plugins.fast_mf import FastSVD, FastSVDpp

    classes = {"fast-svd": FastSVD, "fast-svdpp": FastSVDpp}
    threads = [int(n) for n in args.threads.split(",")]
    start = os.getloadavg()
    split = data_split(args.users, args.items, args.ratings, args.shuffle)
    results = []
    for name in args.models.split(","):
        results += measure(name, classes[name], split, threads, args)
    section = report(results, args, (start, os.getloadavg()))
    if args.out:
        write_section(Path(args.out), section)
    print(section)


if __name__ == "__main__":
    main()
