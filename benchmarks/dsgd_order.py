"""How far ``threads: N`` lands from ``threads: 1``, and why: the order of each user's rows.

Stratified parallel SGD runs the serial SGD's updates in another order (each user's ratings in N
runs, one per item group: ``bench_plugins.fast_mf_parallel``). This script fits fast-svd and
fast-svdpp (defaults, ``random_state=0``) on the five folds of bench's ``kfold`` (seed 0) of
ml-latest-small — the copy shipped with bench, whose rows come sorted by user and, within a
user, by movieId, as bench's splits keep them — in three row orders of the same training rows:

- *as shipped*: each user's ratings in ascending movieId;
- *users' rows shuffled*: users in the same order, each user's ratings in a random order;
- *all rows shuffled*: a random order of all rows (Surprise's own ``KFold`` gives this).

For each order and thread count: the test RMSE (mean over folds), and the difference to
``threads: 1`` on the same rows (mean; the largest difference over folds in brackets).

Usage::

    python benchmarks/dsgd_order.py [--threads 1,2,4] [--out benchmarks/fast_mf.md]

``--out`` writes the table as a subsection of "## threads: stratified parallel SGD" (see
``benchmarks/dsgd.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dsgd import write_section  # noqa: E402

ORDERS = ("as shipped", "users' rows shuffled", "all rows shuffled")


def reordered(frame: pd.DataFrame, order: str) -> pd.DataFrame:
    """The same training rows in ``order`` (one of :data:`ORDERS`)."""
    if order == ORDERS[0]:
        return frame
    key = np.random.default_rng(1).random(len(frame))
    if order == ORDERS[1]:
        return frame.iloc[np.lexsort((key, pd.factorize(frame["user"])[0]))].reset_index(drop=True)
    return frame.iloc[np.argsort(key)].reset_index(drop=True)


def test_rmse(cls, train, test, threads: int) -> float:
    model = cls(random_state=0, threads=threads)
    model.prepare()
    model.fit(train)
    frame = test.ratings
    predicted = np.clip(model.predict(frame["user"].to_numpy(), frame["item"].to_numpy()), *test.scale)
    return float(np.sqrt(np.mean((predicted - frame["rating"].to_numpy()) ** 2)))


def measure(threads: list[int]) -> dict[tuple[str, str, int], list[float]]:
    """RMSE per (model, order, threads), one per fold."""
    from bench_plugins.fast_mf import FastSVD, FastSVDpp
    from bench_plugins.movielens import load_latest_small
    from bench_plugins.splits import kfold
    from benchmark.api import RatingData

    data = load_latest_small()
    out: dict[tuple[str, str, int], list[float]] = {}
    for number, fold in enumerate(kfold(data, seed=0, k=5), 1):
        train, test = data.subset(fold.train), data.subset(fold.test)
        for name, cls in (("fast-svd", FastSVD), ("fast-svdpp", FastSVDpp)):
            for order in ORDERS:
                rows = RatingData(reordered(train.ratings, order), train.scale)
                for n in threads:
                    out.setdefault((name, order, n), []).append(test_rmse(cls, rows, test, n))
            print(f"fold {number}: {name} done", file=sys.stderr, flush=True)
    return out


def report(results: dict[tuple[str, str, int], list[float]], threads: list[int]) -> str:
    command = "python benchmarks/dsgd_order.py" + ("" if threads == [1, 2, 4] else f" --threads {','.join(map(str, threads))}")
    head = ("| model | training rows | RMSE threads 1 | vs as shipped, threads 1 | "
            + " | ".join(f"threads {n} − threads 1 [largest]" for n in threads[1:]) + " |")
    lines = [f"### `{command}`", "",
             f"ml-latest-small (shipped copy), bench's kfold seed 0, 5 folds; defaults, `random_state=0`; "
             f"load {os.getloadavg()[0]:.1f} (RMSE does not depend on it).", "", head,
             "|" + "---|" * (4 + len(threads) - 1)]
    for model in ("fast-svd", "fast-svdpp"):
        shipped = np.array(results[(model, ORDERS[0], threads[0])])
        for order in ORDERS:
            base = np.array(results[(model, order, threads[0])])
            cells = [f"{base.mean():.4f}", f"{(base - shipped).mean():+.4f}"]
            for n in threads[1:]:
                delta = np.array(results[(model, order, n)]) - base
                cells.append(f"{delta.mean():+.4f} [{delta[np.argmax(np.abs(delta))]:+.4f}]")
            lines.append(f"| {model} | {order} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2,4", help="thread counts, comma-separated; the first is the baseline")
    parser.add_argument("--out", default=None, help="a Markdown file to write the subsection into")
    args = parser.parse_args()
    threads = [int(n) for n in args.threads.split(",")]
    section = report(measure(threads), threads)
    if args.out:
        write_section(Path(args.out), section)
    print(section)


if __name__ == "__main__":
    main()
