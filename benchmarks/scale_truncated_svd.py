"""truncated-svd on ratings at the shape of MovieLens 25M, without a dense user x item matrix.

Generates synthetic low-rank ratings with 162,541 users, 59,047 items and 25,000,095 ratings
(ml-25m's shape), holds out 10%, fits TruncatedSVDRating and predicts the held-out pairs.
Prints the wall time of each step and the process's peak resident memory. Also shows that pca
refuses the same data with its memory estimate instead of exhausting memory.

    python benchmarks/scale_truncated_svd.py [--scale 1.0] [--components 20]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from bench_plugins import metrics, splits
from bench_plugins.baselines import BiasBaseline
from bench_plugins.sklearn_models import PCARating, TruncatedSVDRating
from bench_plugins.synthetic import load_synthetic
from benchmark.api import PluginInputError

ML25M = {"n_users": 162_541, "n_items": 59_047, "n_ratings": 25_000_095}


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(label: str, func):
    start = time.perf_counter()
    value = func()
    print(f"{label:<32} {time.perf_counter() - start:8.1f} s   peak RSS so far {peak_gb():6.2f} GB", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the ml-25m shape")
    parser.add_argument("--components", type=int, default=20)
    args = parser.parse_args()
    shape = {k: int(v * args.scale) for k, v in ML25M.items()}
    print(f"shape: {shape}")
    data = timed("generate synthetic ratings", lambda: load_synthetic(
        **shape, rank=10, scale_min=0.5, scale_max=5.0, step=0.5, seed=0))
    fold = timed("holdout split (10%)", lambda: splits.holdout(data, seed=0, test_size=0.1)[0])
    train = timed("train subset", lambda: data.subset(fold.train))
    test = data.ratings.iloc[fold.test]
    users, items, truth = test["user"].to_numpy(), test["item"].to_numpy(), test["rating"].to_numpy()
    for name, model in (("bias-baseline", BiasBaseline()),
                        (f"truncated-svd k={args.components}",
                         TruncatedSVDRating(n_components=args.components, random_state=0))):
        timed(f"fit {name}", lambda: model.fit(train))
        prediction = timed(f"predict {name}", lambda: np.clip(model.predict(users, items), *data.scale))
        print(f"  {name}: test RMSE {metrics.rmse(truth, prediction):.4f}")
    try:
        PCARating(n_components=args.components).fit(train)
    except PluginInputError as exc:
        print(f"pca refuses: {exc}")
    print(f"peak resident memory of the whole process: {peak_gb():.2f} GB")


if __name__ == "__main__":
    main()
