"""Reproduce issue 8's silent-wrong-number cases against any bench executable.

    python benchmarks/silent_wrong_numbers.py --bench /path/to/bench [--data ../shared/data]

Prints, for each case, what that bench did. Run it with an old checkout's ``bench`` (before the
fix) and with this one's to see each case reproduced and then fixed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = """\
name: integrity
seed: 1
split: {method: kfold, k: 3}
datasets: [{name: synthetic-ratings, options: {n_users: 60, n_items: 40, density: 0.3, rank: 2}}]
models:
MODELS
metrics: [rmse]
"""
PLUGIN = """
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl
class Shifted(RatingModel):
    def fit(self, train):
        self.mean_ = float(train.ratings["rating"].mean())
        return self
    def predict(self, users, items):
        return np.full(len(users), self.mean_ + SHIFT)
@hookimpl
def bench_models():
    return [ModelSpec("shifted", {RATING: Shifted})]
"""


def bench(exe: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([exe, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def board(result: subprocess.CompletedProcess) -> list[str]:
    return [" ".join(line.split()[:5]) for line in result.stdout.splitlines() if " ± " in line]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    suite = tmp / "suite.yaml"

    def run(models: str, out: str, extra: str = "") -> subprocess.CompletedProcess:
        suite.write_text(SUITE.replace("MODELS", models) + extra)
        return bench(args.bench, "run", str(suite), "--out", str(tmp / out))

    run("  - {name: bias-baseline, label: old-name}", "rename")
    print("1. rename a model:", board(run("  - {name: bias-baseline, label: new-name}", "rename")))

    first = run("  - {name: global-mean, label: a}\n  - {name: bias-baseline, label: b}", "swap")
    swapped = run("  - {name: global-mean, label: b}\n  - {name: bias-baseline, label: a}", "swap")
    print("2. swap labels: before", board(first), "after", board(swapped))

    run("  - {name: bias-baseline, label: before}", "partial")
    cells = tmp / "partial" / "cells.jsonl"
    cells.write_text(cells.read_text().splitlines(keepends=True)[0])
    print("3. rename after a partial run:", board(run("  - {name: bias-baseline, label: after}", "partial")))

    (tmp / "shift.py").write_text("SHIFT = 0.0\n" + PLUGIN)
    before = run("  - shifted", "edit", "plugins: [shift.py]\n")
    (tmp / "shift.py").write_text("SHIFT = 1.5\n" + PLUGIN)
    after = run("  - shifted", "edit", "plugins: [shift.py]\n")
    fresh = run("  - shifted", "edit-fresh", "plugins: [shift.py]\n")
    print("4. edit a local plugin: before", board(before), "rerun", board(after), "fresh", board(fresh),
          [l for l in after.stderr.splitlines() if "recomputing" in l])

    data = tmp / "data"
    shutil.copytree(Path(args.data) / "ml-100k", data / "ml-100k")
    udata = data / "ml-100k" / "u.data"
    udata.write_bytes(udata.read_bytes()[: udata.stat().st_size // 2])
    suite.write_text("name: cut\nsplit: {method: holdout}\ndatasets: [movielens-100k]\nmodels: [global-mean]\n")
    cut = bench(args.bench, "run", str(suite), "--out", str(tmp / "cut"), env={"BENCH_DATA_DIR": str(data)})
    rows = (tmp / "cut" / "cells.jsonl")
    shape = rows.read_text().split('"rows": ')[1].split(",")[0] if rows.exists() else "-"
    print(f"5. ml-100k u.data cut in half: exit {cut.returncode}, rows {shape}, {cut.stderr.strip()[-200:]}")

    suite.write_text("name: minimal\ndatasets: [digits]\nmodels: [pca]\n")
    minimal = bench(args.bench, "run", str(suite), "--out", str(tmp / "minimal"))
    print(f"6. minimal suite without a split: exit {minimal.returncode}",
          minimal.stderr.strip().splitlines()[-1] if minimal.returncode else minimal.stdout.splitlines()[-1])
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
