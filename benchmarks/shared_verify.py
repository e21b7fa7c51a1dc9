"""What verifying shared data costs (issue 29): a worker's first map of a dataset and its folds,
verified (every array's SHA-256, the checksum and fingerprints recomputed) against mapped
unverified, and the check after each cell (content while small, else inode/size/mtime/ctime).

    python benchmarks/shared_verify.py 100000 1000000 5000000
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from benchmark import shared_data
from benchmark.api import Fold, RatingData
from benchmark.shared_data import SharedData


def measure(n: int) -> str:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user": rng.integers(0, 100_000, n), "item": rng.integers(0, 20_000, n),
                          "rating": rng.integers(1, 6, n).astype(float), "timestamp": rng.integers(0, 10**9, n)})
    data = RatingData(frame, (1, 5))
    checksum = data.checksum()
    directory = tempfile.mkdtemp()
    try:
        driver = SharedData(f"{directory}/shared")
        driver.claim()
        driver.put_dataset("k", data, checksum)
        order = rng.permutation(n)
        driver.put_folds("f", [Fold("1/2", order[: n // 2], order[n // 2:]), Fold("2/2", order[n // 2:], order[: n // 2])])
        worker = SharedData(f"{directory}/shared")
        start = time.perf_counter()
        worker.get_dataset("k")
        dataset = time.perf_counter() - start
        start = time.perf_counter()
        worker.get_folds("f")
        folds = time.perf_counter() - start
        start = time.perf_counter()
        SharedData(f"{directory}/shared")._open_dataset("k", worker._manifest("k"), checksum)
        unverified = time.perf_counter() - start
        mapped = sum(signature[1] for _, signature in worker._watched.values())
        start = time.perf_counter()
        worker.changed()
        after = time.perf_counter() - start
        how = "content" if mapped <= shared_data.RECHECK_BYTES else "stat"
        return (f"{n:>10,} ratings, {mapped / 1e6:6.0f} MB mapped: verify dataset {dataset:.3f} s, folds {folds:.3f} s "
                f"(unverified map {unverified * 1000:.1f} ms); after each cell ({how}) {after * 1000:.2f} ms")
    finally:
        shutil.rmtree(directory)


if __name__ == "__main__":
    with open("/proc/loadavg") as load:
        print(f"load {load.read().split()[0]}")
    for size in sys.argv[1:] or ["100000", "1000000", "5000000"]:
        print(measure(int(size)))
