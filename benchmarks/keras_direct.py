"""MNIST autoencoder: plain Keras (the tutorial, no bench) against the same cell run by bench.

Each measurement runs in its own Python process, so both pay the TensorFlow import::

    python benchmarks/keras_direct.py                 # direct, then bench, then PCA; prints a table
    python benchmarks/keras_direct.py --repeat 3      # three alternating direct/bench pairs
    python benchmarks/keras_direct.py direct          # only the plain Keras run (JSON on stdout)
    python benchmarks/keras_direct.py bench           # only the bench run of the AE cell
    python benchmarks/keras_direct.py pca             # PCA(k) BCE/MSE, raw and clipped to [0, 1]

Options: ``--data-dir`` (holding ``mnist/mnist.npz``; default ``$BENCH_DATA_DIR`` or
``../shared/data``), ``--scale`` (pixels / scale; 256 reproduces the reference figures),
``--encoding-dim``, ``--epochs``, ``--seed``.

*direct*: load the npz, scale, build 784 → k (relu) → 784 (sigmoid), Adam, binary
cross-entropy, ``fit(epochs, batch_size=256, shuffle=True, validation_data=(test, test))``;
reports the last validation BCE, the test MSE, the fit time and the whole process's wall time.
*bench*: ``bench run`` of a one-cell suite (MNIST official split, ``autoencoder`` with the same
parameters, seed) into a temporary directory; reports the cell's BCE/MSE, fit seconds and the
process's wall time.
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

ROOT = Path(__file__).resolve().parents[1]


def _data_dir(option: str | None) -> Path:
    return Path(option or os.environ.get("BENCH_DATA_DIR") or ROOT.parent / "shared" / "data")


def _load(data_dir: Path, scale: float):
    import numpy as np

    with np.load(data_dir / "mnist" / "mnist.npz") as archive:
        x_train, x_test = archive["x_train"], archive["x_test"]
    x_train = (x_train.reshape(len(x_train), 784) / np.float32(scale)).astype("float32")
    x_test = (x_test.reshape(len(x_test), 784) / np.float32(scale)).astype("float32")
    return x_train, x_test


def direct(args: argparse.Namespace) -> dict:
    """The Keras tutorial, verbatim apart from the seed and the code size."""
    started = time.perf_counter()
    import keras
    import numpy as np

    x_train, x_test = _load(_data_dir(args.data_dir), args.scale)
    keras.utils.set_random_seed(args.seed)
    inputs = keras.Input(shape=(784,))
    encoded = keras.layers.Dense(args.encoding_dim, activation="relu")(inputs)
    decoded = keras.layers.Dense(784, activation="sigmoid")(encoded)
    autoencoder = keras.Model(inputs, decoded)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    fit_started = time.perf_counter()
    history = autoencoder.fit(x_train, x_train, epochs=args.epochs, batch_size=256, shuffle=True,
                              validation_data=(x_test, x_test), verbose=0)
    fit_seconds = time.perf_counter() - fit_started
    reconstruction = autoencoder.predict(x_test, batch_size=1024, verbose=0)
    return {"run": "direct", "val_bce": history.history["val_loss"][-1],
            "test_mse": float(np.mean((x_test.astype("float64") - reconstruction) ** 2)),
            "fit_seconds": fit_seconds, "wall_seconds": time.perf_counter() - started}


SUITE = """\
name: keras-direct-check
seed: {seed}
datasets:
  - name: mnist
    options: {{scale: {scale}}}
    split: {{method: predefined, name: official}}
models:
  - name: autoencoder
    params: {{encoding_dim: {encoding_dim}, epochs: {epochs}}}
metrics: [bce, mse]
"""


def bench(args: argparse.Namespace) -> dict:
    """``bench run`` of the same configuration, timed as a whole process."""
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.yaml"
        suite.write_text(SUITE.format(seed=args.seed, scale=args.scale, encoding_dim=args.encoding_dim,
                                      epochs=args.epochs))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "benchmark", "run", str(suite), "--out", f"{tmp}/out",
                               "--data-dir", str(_data_dir(args.data_dir)), "-q"],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"bench run failed:\n{done.stderr}")
        row = json.loads((Path(tmp) / "out" / "cells.jsonl").read_text().splitlines()[0])
    if row["status"] != "ok":
        raise SystemExit(f"bench cell failed: {row['error']}")
    return {"run": "bench", "val_bce": row["metrics"]["bce"], "test_mse": row["metrics"]["mse"],
            "fit_seconds": row["fit_seconds"], "wall_seconds": wall}


def pca(args: argparse.Namespace) -> dict:
    """PCA(k) on the same data: BCE and MSE of raw reconstructions and of those clipped to [0, 1]."""
    import numpy as np
    from sklearn.decomposition import PCA

    from bench_plugins.metrics import bce, mse

    x_train, x_test = _load(_data_dir(args.data_dir), args.scale)
    model = PCA(args.encoding_dim, random_state=args.seed).fit(x_train)
    raw = model.inverse_transform(model.transform(x_test)).astype("float64")
    clipped, truth = np.clip(raw, 0, 1), x_test.astype("float64")
    return {"run": "pca", "bce_raw": bce(truth, raw), "mse_raw": mse(truth, raw),
            "bce_clipped": bce(truth, clipped), "mse_clipped": mse(truth, clipped),
            "share_outside_0_1": float(np.mean((raw < 0) | (raw > 1)))}


def _child(mode: str, args: argparse.Namespace) -> dict:
    argv = [f"--scale={args.scale}", f"--encoding-dim={args.encoding_dim}", f"--epochs={args.epochs}",
            f"--seed={args.seed}"] + ([f"--data-dir={args.data_dir}"] if args.data_dir else [])
    done = subprocess.run([sys.executable, __file__, mode, *argv], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["direct", "bench", "pca", "all"], default="all")
    parser.add_argument("--data-dir")
    parser.add_argument("--scale", type=float, default=256.0)
    parser.add_argument("--encoding-dim", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="direct/bench pairs to run (all mode)")
    args = parser.parse_args()
    if args.mode != "all":
        print(json.dumps({"direct": direct, "bench": bench, "pca": pca}[args.mode](args)))
        return
    runs = []
    for _ in range(args.repeat):  # alternate, so that changing machine load hits both alike
        runs += [_child("direct", args), _child("bench", args)]
    p = _child("pca", args)
    print(f"MNIST, pixels / {args.scale:g}, 784-{args.encoding_dim}-784, {args.epochs} epochs, "
          f"seed {args.seed}")
    print(f"{'run':8} {'BCE':>8} {'MSE':>9} {'fit s':>7} {'wall s':>7}")
    for r in runs:
        print(f"{r['run']:8} {r['val_bce']:8.4f} {r['test_mse']:9.5f} {r['fit_seconds']:7.1f} "
              f"{r['wall_seconds']:7.1f}")
    d = [r for r in runs if r["run"] == "direct"]
    b = [r for r in runs if r["run"] == "bench"]
    for key in ("wall_seconds", "fit_seconds"):
        ratios = [y[key] / x[key] for x, y in zip(d, b)]
        print(f"bench/direct {key.split('_')[0]} time: median {statistics.median(ratios):.3f} "
              f"(each pair: {', '.join(f'{q:.3f}' for q in ratios)})")
    print(f"BCE difference bench - direct: {b[0]['val_bce'] - d[0]['val_bce']:+.5f}")
    print(f"PCA({args.encoding_dim}): BCE {p['bce_raw']:.4f} (clipped to [0,1]: {p['bce_clipped']:.4f}), "
          f"MSE {p['mse_raw']:.5f} (clipped: {p['mse_clipped']:.5f}); "
          f"{100 * p['share_outside_0_1']:.1f}% of values outside [0, 1]")
    print(json.dumps({"runs": runs, "pca": p}))

if __name__ == "__main__":
    main()
