"""fast-svd / fast-svdpp against Surprise's SVD / SVDpp: same folds, fit times, RMSE, ratios.

1. **MovieLens 100k, 5-fold** (``kfold k=5 seed=0``, the folds of ``suites/surprise-ml100k.yaml``):
   bench's ``svd`` and ``svdpp`` (Surprise, through bench's wrappers: ``fit`` builds the Trainset
   and trains) against ``fast-svd`` and ``fast-svdpp`` in both modes, all at Surprise's defaults
   with ``random_state=0``. Fit time is what bench records as ``fit_seconds`` (compilation is in
   ``prepare``, timed apart; the numba cache is warmed first). Each fast fit and Surprise SVD fit
   is timed ``--repeat`` times per fold and the fastest kept (the machine is shared); Surprise
   SVD++ (~11 s a fold) once. RMSE per fold side by side, on predictions clipped to [1, 5].
2. **Synthetic sets at the shapes of ml-1m, ml-10m, ml-25m** (``bench_plugins.synthetic``,
   seed 0): ``fast-svdpp`` (fast mode, defaults) fitted on all ratings, each shape in its own
   process: fit time, compile time, and peak resident memory (the kernel's high-water mark,
   reset just before ``fit``; and the whole process's, including the data). Surprise's SVDpp is
   run for 0 and 1 epoch at the ml-1m shape (its per-epoch cost, measured), and projected to the
   larger shapes by its cost per implicit term: an epoch of Surprise SVD++ does
   ``Σ_u |I_u|² · k`` work (every rating recomputes and updates all y_j of its user).
3. Optionally **Cornac MF** (k = 100, Surprise's SVD settings; and k = 10, its defaults) on the
   same ml-100k folds, if a Python with cornac is given (``--cornac-python``; cornac is not a
   bench dependency).

Usage::

    BENCH_DATA_DIR=/path/to/data python benchmarks/fast_mf.py [--repeat 3] [--out benchmarks/fast_mf.md]
        [--cornac-python /path/to/venv/bin/python] [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DSGD_HEADING = "## threads: stratified parallel SGD"  # benchmarks/dsgd.py's section of the same file
SHAPES = {"ml-1m": (6_040, 3_706, 1_000_209), "ml-10m": (69_878, 10_677, 10_000_054),
          "ml-25m": (162_541, 59_047, 25_000_095)}


def peak_reset() -> None:
    """Reset the kernel's high-water mark of resident memory (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_fit(model, train, repeat: int) -> tuple[float, float, object]:
    """Fastest of ``repeat`` fits (wall and CPU seconds of that fit) and the fitted model."""
    best = (float("inf"), float("inf"), None)
    for _ in range(repeat):
        fresh = model.clone()
        fresh.prepare()
        wall, cpu = time.perf_counter(), time.process_time()
        fresh.fit(train)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best[0]:
            best = (wall, cpu, fresh)
    return best


def rmse(model, test) -> float:
    frame = test.ratings
    predicted = np.clip(model.predict(frame["user"].to_numpy(), frame["item"].to_numpy()), 1, 5)
    return float(np.sqrt(np.mean((predicted - frame["rating"].to_numpy()) ** 2)))


# --- 1. ml-100k ------------------------------------------------------------------------------

def ml100k(data_dir: str, repeat: int) -> dict:
    from bench_plugins.fast_mf import FastSVD, FastSVDpp
    from bench_plugins.movielens import load_release
    from bench_plugins.splits import kfold
    from bench_plugins.surprise_models import SVD, SVDpp

    data = load_release("movielens-100k", data_dir=data_dir, download=False)
    folds = kfold(data, seed=0, k=5)
    models = {"svd (Surprise)": (SVD(random_state=0), repeat),
              "fast-svd": (FastSVD(random_state=0), repeat),
              "fast-svd exact": (FastSVD(random_state=0, mode="exact"), repeat),
              "svdpp (Surprise)": (SVDpp(random_state=0), 1),
              "fast-svdpp": (FastSVDpp(random_state=0), repeat),
              "fast-svdpp exact": (FastSVDpp(random_state=0, mode="exact"), repeat)}
    compile_seconds = {}
    for name, (model, _) in models.items():  # warm numba's on-disk cache, then time a warm prepare
        if name.startswith("fast"):
            model.clone().prepare()
            fresh = model.clone()
            started = time.perf_counter()
            fresh.prepare()
            compile_seconds[name] = time.perf_counter() - started
    rows = {name: {"fit": [], "cpu": [], "rmse": []} for name in models}
    for n, fold in enumerate(folds):
        train, test = data.subset(fold.train), data.subset(fold.test)
        for name, (model, times) in models.items():
            wall, cpu, fitted = timed_fit(model, train, times)
            rows[name]["fit"].append(wall)
            rows[name]["cpu"].append(cpu)
            rows[name]["rmse"].append(rmse(fitted, test))
            print(f"ml-100k fold {n + 1} {name}: fit {wall:.3f} s, RMSE {rows[name]['rmse'][-1]:.6f}",
                  file=sys.stderr, flush=True)
    return {"rows": rows, "compile_warm": compile_seconds,
            "folds": [(fold.train.tolist(), fold.test.tolist()) for fold in folds]}


# --- 2. synthetic shapes (one process each) ----------------------------------------------------

def synthetic_child(shape: str, surprise_epochs: int | None) -> dict:
    from bench_plugins.synthetic import load_synthetic

    n_users, n_items, n_ratings = SHAPES[shape]
    started = time.perf_counter()
    data = load_synthetic(n_users=n_users, n_items=n_items, n_ratings=n_ratings, rank=10, seed=0,
                          scale_min=0.5, scale_max=5.0, step=0.5)
    generate = time.perf_counter() - started
    counts = data.ratings["user"].value_counts().to_numpy().astype(np.float64)
    out = {"shape": shape, "generate_seconds": generate, "n_ratings": len(data),
           "users": int(len(counts)), "sum_iu2": float((counts ** 2).sum())}
    if surprise_epochs is not None:
        from bench_plugins.surprise_models import SVDpp

        model = SVDpp(random_state=0, n_epochs=surprise_epochs)
        peak_reset()
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(data)
        out.update(fit_seconds=time.perf_counter() - wall, fit_cpu_seconds=time.process_time() - cpu,
                   fit_peak_mb=peak_mb())
        return out
    from bench_plugins.fast_mf import FastSVDpp

    model = FastSVDpp(random_state=0)
    started = time.perf_counter()
    model.prepare()
    out["prepare_seconds"] = time.perf_counter() - started
    peak_reset()
    before = peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(data)
    out.update(fit_seconds=time.perf_counter() - wall, fit_cpu_seconds=time.process_time() - cpu,
               rss_before_fit_mb=before, fit_peak_mb=peak_mb(), kernel=model.info()["kernel"])
    sample = data.ratings.sample(200_000, random_state=0)
    predicted = np.clip(model.predict(sample["user"].to_numpy(), sample["item"].to_numpy()), 0.5, 5)
    out["train_rmse_sample"] = float(np.sqrt(np.mean((predicted - sample["rating"].to_numpy()) ** 2)))
    return out


def compile_child() -> dict:
    """Compile time with an empty numba cache (a first run on a machine), fast mode."""
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp()
    import numba  # noqa: F401  (imported by the harness before prepare, likewise)
    from bench_plugins.fast_mf import FastSVD, FastSVDpp

    out = {}
    for name, model in [("fast-svd", FastSVD()), ("fast-svdpp", FastSVDpp())]:
        model.prepare()
        out[name] = model.compile_seconds_
    return out


def run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_peak_mb"] = _child_peak(done)
    return result


def _child_peak(done) -> float:
    for line in done.stderr.splitlines():
        if line.startswith("process peak MB:"):
            return float(line.split(":")[1])
    return float("nan")


# --- 3. Cornac (optional) -----------------------------------------------------------------------

CORNAC_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
import cornac
from cornac.data import Dataset
frame = pd.read_csv(sys.argv[1], sep="\t", names=["user", "item", "rating", "timestamp"])
folds = json.load(open(sys.argv[2]))
out = {"version": cornac.__version__, "k100": {"fit": [], "rmse": []}, "k10": {"fit": [], "rmse": []}}
for train_rows, test_rows in folds:
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    for key, params in [("k100", dict(k=100, max_iter=20, learning_rate=0.005, lambda_reg=0.02)),
                        ("k10", {})]:
        best = None
        for _ in range(3):
            triples = train[["user", "item", "rating"]].itertuples(index=False, name=None)
            data = Dataset.from_uir(list(triples), seed=0)
            model = cornac.models.MF(seed=0, verbose=False, **params)
            start = time.perf_counter()
            model.fit(data)
            took = time.perf_counter() - start
            best = took if best is None else min(best, took)
        uid, iid = data.uid_map, data.iid_map
        mu = data.global_mean
        predicted = []
        for u, i in zip(test["user"], test["item"]):
            if u in uid and i in iid:
                predicted.append(model.score(uid[u], iid[i]))
            else:
                predicted.append(mu)
        predicted = np.clip(np.asarray(predicted, dtype=float).ravel(), 1, 5)
        out[key]["fit"].append(best)
        out[key]["rmse"].append(float(np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2))))
print(json.dumps(out))
"""


def cornac(python: str, data_dir: str, folds: list) -> dict | str:
    with tempfile.TemporaryDirectory() as tmp:
        script, fold_file = Path(tmp, "cornac_mf.py"), Path(tmp, "folds.json")
        script.write_text(CORNAC_SCRIPT)
        fold_file.write_text(json.dumps(folds))
        done = subprocess.run([python, str(script), str(Path(data_dir, "ml-100k", "u.data")),
                               str(fold_file)], capture_output=True, text=True)
    if done.returncode:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- Report ------------------------------------------------------------------------------------

def report(small: dict, synthetic: list[dict], surprise_1m: list[dict], cornac_result, args) -> str:
    rows = small["rows"]
    lines = ["# fast-svd and fast-svdpp against Surprise", "",
             f"Measured by `python benchmarks/fast_mf.py --repeat {args.repeat}` on this machine "
             f"({os.cpu_count()} CPUs, shared with other work; numpy {np.__version__}, "
             f"numba {_version('numba')}, scikit-surprise {_version('scikit-surprise')}).", "",
             "## MovieLens 100k, 5-fold (kfold k=5 seed=0: the reference suite's folds)", "",
             "Fit seconds per fold (what bench records as `fit_seconds`; numba compilation is in "
             "`prepare`, not here) and RMSE (predictions clipped to [1, 5]).", ""]
    names = list(rows)
    lines.append("| fold | " + " | ".join(f"{n} fit s" for n in names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for f in range(5):
        lines.append(f"| {f + 1} | " + " | ".join(f"{rows[n]['fit'][f]:.3f}" for n in names) + " |")
    lines.append("| total | " + " | ".join(f"**{sum(rows[n]['fit']):.3f}**" for n in names) + " |")
    lines += ["", "| fold | " + " | ".join(f"{n} RMSE" for n in names) + " |",
              "|---" * (len(names) + 1) + "|"]
    for f in range(5):
        lines.append(f"| {f + 1} | " + " | ".join(f"{rows[n]['rmse'][f]:.6f}" for n in names) + " |")
    lines.append("| mean | " + " | ".join(f"{np.mean(rows[n]['rmse']):.6f}" for n in names) + " |")
    lines += ["", "| comparison | fit-time ratio (Surprise / fast, 5-fold total) | CPU-time ratio "
              "| max \\|ΔRMSE\\| over folds |", "|---|---|---|---|"]
    for ours, theirs in [("fast-svd", "svd (Surprise)"), ("fast-svd exact", "svd (Surprise)"),
                         ("fast-svdpp", "svdpp (Surprise)"), ("fast-svdpp exact", "svdpp (Surprise)")]:
        ratio = sum(rows[theirs]["fit"]) / sum(rows[ours]["fit"])
        cpu = sum(rows[theirs]["cpu"]) / sum(rows[ours]["cpu"])
        delta = max(abs(a - b) for a, b in zip(rows[ours]["rmse"], rows[theirs]["rmse"]))
        lines.append(f"| {ours} vs {theirs} | **{ratio:.1f}×** | {cpu:.1f}× | {delta:.2e} |")
    cold = small["compile_cold"]
    lines += ["", "`prepare` (`compile_seconds` in `info()`, recorded as `prepare_seconds`, never as fit "
              f"time): with an empty numba cache (a first run) fast-svd {cold['fast-svd']:.1f} s, fast-svdpp "
              f"{cold['fast-svdpp']:.1f} s (its four kernels); in a fresh process loading the on-disk cache "
              "about 0.6-0.9 s (the `prepare s` column below); again in the same process "
              + ", ".join(f"{n} {s:.3f} s" for n, s in small["compile_warm"].items()) + "."]
    if cornac_result is not None:
        lines += ["", "### Cornac MF on the same folds", ""]
        if isinstance(cornac_result, dict):
            k100, k10 = cornac_result["k100"], cornac_result["k10"]
            svd = sum(rows["svd (Surprise)"]["fit"])
            fast = sum(rows["fast-svd"]["fit"])
            lines += [f"cornac {cornac_result['version']} (its own venv), `MF.fit` only (its Dataset "
                      "built outside the clock), fastest of 3 per fold:", "",
                      "| model | 5-fold fit s | vs Surprise SVD | fast-svd vs it | mean RMSE |",
                      "|---|---|---|---|---|",
                      f"| Cornac MF k=100, lr 0.005, λ 0.02, 20 epochs | {sum(k100['fit']):.3f} | "
                      f"{svd / sum(k100['fit']):.1f}× | {sum(k100['fit']) / fast:.1f}× | "
                      f"{np.mean(k100['rmse']):.4f} |",
                      f"| Cornac MF defaults (k=10) | {sum(k10['fit']):.3f} | {svd / sum(k10['fit']):.1f}× | "
                      f"{sum(k10['fit']) / fast:.1f}× | {np.mean(k10['rmse']):.4f} |"]
        else:
            lines.append(f"Not measured: {cornac_result}")
    if synthetic:
        lines += ["", "## fast-svdpp at the shapes of MovieLens 1M, 10M and 25M (synthetic)", "",
                  "`load_synthetic(n_users, n_items, n_ratings, rank=10, scale 0.5-5 step 0.5, seed=0)`, "
                  "fast-svdpp at its defaults (k = 20, 20 epochs, fast mode) fitted on all ratings, one "
                  "process per shape. Peak memory: the kernel's high-water mark reset just before `fit` "
                  "(so it includes the data already loaded) and the whole process's. `fit s` is wall time; "
                  "where `fit CPU s` is lower, another process was using the 2 cores.", "",
                  "| shape | users × items | ratings | generate s | prepare s | fit s | fit CPU s "
                  "| RSS before fit MB | peak during fit MB | process peak MB | train RMSE (200k sample) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in synthetic:
            n_users, n_items, _ = SHAPES[r["shape"]]
            lines.append(f"| {r['shape']} | {n_users:,} × {n_items:,} | {r['n_ratings']:,} | "
                         f"{r['generate_seconds']:.1f} | {r['prepare_seconds']:.2f} | "
                         f"**{r['fit_seconds']:.1f}** | {r['fit_cpu_seconds']:.1f} | "
                         f"{r['rss_before_fit_mb']:.0f} | {r['fit_peak_mb']:.0f} | "
                         f"{r['process_peak_mb']:.0f} | {r['train_rmse_sample']:.4f} |")
        lines += ["", "### Surprise SVDpp at those shapes", ""]
        if surprise_1m:
            zero, one = surprise_1m
            epoch = one["fit_seconds"] - zero["fit_seconds"]
            build = zero["fit_seconds"]
            per_term = epoch / one["sum_iu2"]
            lines += [f"Measured at the ml-1m shape: Trainset + initialisation {build:.1f} s, one epoch "
                      f"{epoch:.1f} s (Σ_u |I_u|² = {one['sum_iu2']:.3g}, i.e. {per_term * 1e9:.1f} ns "
                      f"per implicit term at k = 20), peak memory {one['fit_peak_mb']:.0f} MB. "
                      "Projected 20-epoch fit = build (scaled by ratings) + 20 × epoch (scaled by "
                      "Σ_u |I_u|²; the synthetic users' counts are near-uniform, real MovieLens users' "
                      "are skewed, which makes Σ_u |I_u|² and Surprise's time several times larger):", "",
                      "| shape | Σ_u \\|I_u\\|² | Surprise SVDpp projected | (linear in ratings) "
                      "| fast-svdpp measured | ratio |",
                      "|---|---|---|---|---|---|"]
            for r in synthetic:
                scale = r["n_ratings"] / one["n_ratings"]
                projected = build * scale + 20 * per_term * r["sum_iu2"]
                linear = (build + 20 * epoch) * scale
                lines.append(f"| {r['shape']} | {r['sum_iu2']:.3g} | {_duration(projected)} | "
                             f"{_duration(linear)} | {r['fit_seconds']:.1f} s | "
                             f"{projected / r['fit_seconds']:,.0f}× |")
            lines += ["", "The linear column scales Surprise's measured ml-1m time by the number of "
                      "ratings alone (its per-rating cost); the projected column scales the epochs by "
                      "Σ_u |I_u|², the work Surprise's loop does."]
    return "\n".join(lines) + "\n"


def _kept_section(path: Path) -> str:
    """The section that ``benchmarks/dsgd.py`` writes into the same file, kept as it was."""
    text = path.read_text() if path.exists() else ""
    start = text.find(DSGD_HEADING + "\n")
    if start < 0:
        return ""
    after = text.find("\n## ", start + len(DSGD_HEADING))
    return "\n" + (text[start:] if after < 0 else text[start:after + 1])


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".md")))
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    parser.add_argument("--cornac-python")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--shape", choices=SHAPES, help=argparse.SUPPRESS)
    parser.add_argument("--surprise-epochs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--compile-cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compile_cold:
        print(json.dumps(compile_child()))
        return
    if args.shape:  # a child process: one synthetic shape
        print(json.dumps(synthetic_child(args.shape, args.surprise_epochs)))
        print(f"process peak MB: {peak_mb()}", file=sys.stderr)
        return
    if not args.data_dir:
        parser.error("set BENCH_DATA_DIR or --data-dir (the folder holding ml-100k/)")
    small = ml100k(args.data_dir, args.repeat)
    small["compile_cold"] = run_child("--compile-cold")
    cornac_result = cornac(args.cornac_python, args.data_dir, small["folds"]) if args.cornac_python else None
    synthetic, surprise_1m = [], []
    if not args.skip_synthetic:
        for shape in SHAPES:
            synthetic.append(run_child("--shape", shape))
            print(f"{shape}: {synthetic[-1]}", file=sys.stderr, flush=True)
        for epochs in (0, 1):
            surprise_1m.append(run_child("--shape", "ml-1m", "--surprise-epochs", str(epochs)))
            print(f"Surprise ml-1m {epochs} epoch(s): {surprise_1m[-1]}", file=sys.stderr, flush=True)
    text = report(small, synthetic, surprise_1m, cornac_result, args)
    Path(args.out).write_text(text + _kept_section(Path(args.out)))
    print(text)


if __name__ == "__main__":
    main()
