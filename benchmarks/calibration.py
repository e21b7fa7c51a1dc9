"""Calibration of ``bench compare``'s verdicts: false verdicts, interval coverage, power.

    BENCH_DATA_DIR=../shared/data python benchmarks/calibration.py --out benchmarks/calibration.md
    BENCH_DATA_DIR=../shared/data python benchmarks/calibration.py      # the same text to stdout

``--out`` rewrites only this script's block of the page (sections 1–5, between the markers
``<!-- calibration.py:begin -->`` and ``<!-- calibration.py:end -->``); sections 6–7 are
``calibration_best.py``'s and section 8 ``calibration_verdicts.py``'s (``page_blocks.py``).

Every simulated comparison goes through :func:`benchmark.compare.compare` itself — rows built as
the store writes them, paired, seed-averaged, tested, Holm-adjusted — so what is measured is what
``bench compare`` prints. Only the per-unit file reader is replaced by an in-memory table (the
files are tested in ``tests/test_compare.py``), and the bootstrap uses 1,000 resamples instead of
4,000 to keep the run under ~5 minutes on one core.

The noise levels are measured on MovieLens 100k when the data is there (section 1): a real run of
fast-svd (10 seeds) and baseline-only on the canonical folds u1…u5 gives the seed-to-seed s.d.
within a fold and the fold-to-fold s.d. of a real difference; two real predictors (a biased
baseline at two regularisations, fitted here in numpy) give the per-rating error correlation
and the users' rating counts used by the per-user world. Without the data the script uses the
values measured on 2026-11-30 (written in the defaults below).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import page_blocks  # noqa: E402  (beside this script)
from benchmark import compare, stats  # noqa: E402
from benchmark.resultset import Run, normalise  # noqa: E402

WORLDS = int(os.environ.get("CALIBRATION_WORLDS", "1000"))
RNG = np.random.default_rng(20261130)
SUITE = """name: calibration-seeds
seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
datasets:
  - movielens-100k
models:
  - fast-svd
  - baseline-only
metrics: [rmse]
"""
# measured on ml-100k u1..u5 (section 1), used when the data is not at hand
MEASURED = {"seed_sd": 0.0016, "fold_sd": 0.0023, "rho": 0.97, "rmse": 0.94}
BLOCK = "calibration.py"  # its block of calibration.md


# --- Rows as the store writes them ---------------------------------------------------------------


def row(model: str, fold: int, seed: int, value: float, partition: int = 0, n_test: int = 20_000,
        n_train: int = 80_000, units: str | None = None) -> dict[str, Any]:
    out = {"cell_id": f"{model}-{partition}-{fold}-{seed}", "status": "ok", "task": "rating", "dataset": "world",
           "model": model, "fold": fold, "seed": seed, "dataset_checksum": "c", "split": "kfold",
           "split_params": {"k": 5, "seed": partition}, "split_fingerprint": f"p{partition}f{fold}",
           "config_id": "same", "metrics": {"rmse": value}, "metric_errors": {}, "n_test": n_test,
           "n_train": n_train, "metric_info": {"rmse": {"greater_is_better": False}}}
    if units is not None:
        out["units"] = {"file": units, "unit": "user", "transforms": {"rmse": "sqrt"}}
    return out


def run(rows: list[dict[str, Any]]) -> Run:
    return Run(Path("world"), [normalise(r) for r in rows])


def verdict(a_rows: list[dict], b_rows: list[dict], test: str = "auto", ignore_seed: bool = False) -> compare.Row:
    (line,) = compare.compare(run(a_rows), run(b_rows), test=test, ignore_seed=ignore_seed).rows
    return line


UNITS: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, str]] = {}
compare.read_units = lambda cell, metric: UNITS[cell.units["file"]]  # type: ignore[assignment]
stats.RESAMPLES = 1000


# --- 1. Measured on ml-100k ---------------------------------------------------------------------


def measure(data_dir: str | None) -> dict[str, Any]:
    found: dict[str, Any] = dict(MEASURED, source="defaults (no data)")
    if not data_dir or not (Path(data_dir) / "ml-100k" / "u.data").exists():
        return found
    out = Path(os.environ.get("CALIBRATION_RUN") or tempfile.mkdtemp(prefix="calibration-"))
    (out.parent / "calibration-seeds.yaml").write_text(SUITE)
    started = time.time()
    subprocess.run([sys.executable, "-m", "benchmark", "run", str(out.parent / "calibration-seeds.yaml"), "--out",
                    str(out), "--data-dir", data_dir, "-q", "--executor", "inline"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    rows = [json.loads(line) for line in (out / "cells.jsonl").open()]
    value = {(r["model"], r["fold"], r["seed"]): r["metrics"]["rmse"] for r in rows if r["status"] == "ok"}
    svd = np.array([[value[("fast-svd", f, s)] for s in range(10)] for f in range(5)])
    base = np.array([[value[("baseline-only", f, s)] for s in range(10)] for f in range(5)])
    found["seed_sd"] = float(np.sqrt(np.mean(np.var(svd, axis=1, ddof=1))))
    found["fold_sd"] = float(np.std(svd.mean(axis=1) - base.mean(axis=1), ddof=1))
    found["fold_delta"] = float(np.mean(svd.mean(axis=1) - base.mean(axis=1)))
    found["rmse"] = float(svd.mean())
    found["run_seconds"] = time.time() - started
    # the same fixed folds, seeds 0-4 against seeds 5-9: pooled 25 pairs (the old rule) vs folds
    pooled = (svd[:, 5:] - svd[:, :5]).ravel()
    found["pooled_p"] = float(scipy_stats.ttest_1samp(pooled, 0).pvalue)
    a = [r for r in rows if r["model"] == "fast-svd" and r["seed"] < 5]
    b = [dict(r, seed=r["seed"] - 5) for r in rows if r["model"] == "fast-svd" and r["seed"] >= 5]
    for r in a + b:
        r["run_dir"] = str(out)
    line = verdict(a, b)
    found["fold_p"], found["fold_verdict"] = line.p, line.verdict
    found.update(per_rating(Path(data_dir) / "ml-100k"))
    found["source"] = f"measured on {data_dir}/ml-100k"
    return found


def per_rating(folder: Path) -> dict[str, Any]:
    """Two real predictors on u1: biased baselines (alternating least squares) at reg 5 and 25."""
    def read(name: str) -> np.ndarray:
        return np.loadtxt(folder / name, dtype=np.int64, usecols=(0, 1, 2))

    train, test = read("u1.base"), read("u1.test")
    errors = []
    for reg in (5.0, 25.0):
        mu = train[:, 2].mean()
        bu, bi = np.zeros(944), np.zeros(1683)
        for _ in range(10):
            r = train[:, 2] - mu - bu[train[:, 0]]
            bi = np.bincount(train[:, 1], r, 1683) / (reg + np.bincount(train[:, 1], None, 1683))
            r = train[:, 2] - mu - bi[train[:, 1]]
            bu = np.bincount(train[:, 0], r, 944) / (reg + np.bincount(train[:, 0], None, 944))
        errors.append(test[:, 2] - np.clip(mu + bu[test[:, 0]] + bi[test[:, 1]], 1, 5))
    counts = np.bincount(test[:, 0])
    return {"rho": float(np.corrcoef(errors[0], errors[1])[0, 1]),
            "user_counts": counts[counts > 0].tolist(),
            "baseline_rmse": [float(np.sqrt(np.mean(e ** 2))) for e in errors]}


# --- 2. False verdicts: seed-only differences on fixed folds -------------------------------------


def false_verdicts(seeds: int, m: dict[str, Any], interaction: float = 0.0) -> tuple[float, float]:
    """A and B equal on average on the same 5 folds, S seeds each. ``interaction``: the s.d. of a
    fold × configuration effect (one configuration luckier on a fold, the same for every seed).
    Returns the rate of better/worse verdicts of bench compare, and of the old pooled test."""
    wrong = pooled_wrong = 0
    for _ in range(WORLDS):
        folds = m["rmse"] + 0.004 * RNG.standard_normal(5)  # fold difficulty, shared by A and B
        a_values = folds[:, None] + m["seed_sd"] * RNG.standard_normal((5, seeds))
        b_values = (folds + interaction * RNG.standard_normal(5))[:, None] + m["seed_sd"] * RNG.standard_normal((5, seeds))
        a = [row("m", f, s, a_values[f, s]) for f in range(5) for s in range(seeds)]
        b = [row("m", f, s, b_values[f, s]) for f in range(5) for s in range(seeds)]
        wrong += verdict(a, b).verdict in (compare.BETTER, compare.WORSE)
        if seeds > 1:
            pooled_wrong += scipy_stats.ttest_1samp((b_values - a_values).ravel(), 0).pvalue < 0.05
        else:
            pooled_wrong += verdict(a, b).verdict in (compare.BETTER, compare.WORSE)
    return wrong / WORLDS, pooled_wrong / WORLDS


# --- 3. Coverage with a known true difference ---------------------------------------------------


def cv_world(delta: float, repeats: int, n: int = 2000, k: int = 5, example_sd: float = 0.045,
             training_sd: float = 0.0012) -> tuple[list[dict], list[dict]]:
    """A data set of ``n`` examples drawn from a population where B − A has mean ``delta``
    (per-example differences with s.d. ``example_sd``), evaluated by ``repeats`` × ``k``-fold CV;
    each fit adds its own training noise. Fold-level s.d. ≈ 0.0023, as measured on ml-100k."""
    g = delta + example_sd * RNG.standard_normal(n)
    a, b = [], []
    for r in range(repeats):
        order = RNG.permutation(n)
        for f, fold in enumerate(np.array_split(order, k)):
            value = float(g[fold].mean()) + training_sd * float(RNG.standard_normal())
            a.append(row("m", f, 0, 0.94, partition=r, n_test=len(fold), n_train=n - len(fold)))
            b.append(row("m", f, 0, 0.94 + value, partition=r, n_test=len(fold), n_train=n - len(fold)))
    return a, b


def coverage(repeats: int, delta: float = 0.002) -> dict[str, float]:
    hits = {"t": 0, "nb": 0}
    for _ in range(WORLDS):
        a, b = cv_world(delta, repeats)
        for test in hits:
            line = verdict(a, b, test)
            assert line.ci is not None
            hits[test] += line.ci[0] <= delta <= line.ci[1]
    return {test: n / WORLDS for test, n in hits.items()}


# --- 4. Power -----------------------------------------------------------------------------------


def pure_fold_sd(m: dict[str, Any]) -> float:
    """The fold × configuration part of the measured fold s.d. (which still holds the seed noise
    left after averaging 10 seeds per side)."""
    return math.sqrt(max(m["fold_sd"] ** 2 - 2 * m["seed_sd"] ** 2 / 10, 0.0))


def one_seed_sd(m: dict[str, Any]) -> float:
    return math.sqrt(pure_fold_sd(m) ** 2 + 2 * m["seed_sd"] ** 2)


def power_folds(delta: float, m: dict[str, Any], worlds: int) -> float:
    found = 0
    for _ in range(worlds):
        folds = m["rmse"] + 0.004 * RNG.standard_normal(5)
        a = [row("m", f, 0, folds[f]) for f in range(5)]
        b = [row("m", f, 0, folds[f] - delta + one_seed_sd(m) * RNG.standard_normal()) for f in range(5)]
        found += verdict(a, b, "t").verdict == compare.BETTER
    return found / worlds


def power_nb(delta: float, worlds: int) -> float:
    return sum(verdict(*cv_world(-delta, 5), test="nb").verdict == compare.BETTER for _ in range(worlds)) / worlds


def user_world(delta: float, m: dict[str, Any], folds: int = 5) -> tuple[list[dict], list[dict]]:
    """Per-rating errors of A ~ N(0, rmse²); B's are correlated with A's (rho, as two real
    predictors on ml-100k) and scaled so that B's RMSE is ``delta`` lower; summed per user with
    ml-100k's per-user test counts."""
    counts = np.array(m["user_counts"], dtype=float)
    a, b = [], []
    rho, sigma = m["rho"], m["rmse"]
    target = sigma - delta
    for f in range(folds):
        total = int(counts.sum())
        e_a = sigma * RNG.standard_normal(total)
        e_b = rho * e_a + math.sqrt(1 - rho ** 2) * sigma * RNG.standard_normal(total)
        e_b *= target / sigma
        users = np.repeat(np.arange(len(counts)), counts.astype(int))
        num_a, num_b = np.bincount(users, e_a ** 2), np.bincount(users, e_b ** 2)
        ids = np.arange(len(counts)).astype(str)
        key_a, key_b = f"a{f}-{len(UNITS)}", f"b{f}-{len(UNITS)}"
        UNITS[key_a] = (ids, num_a, counts, "sqrt")
        UNITS[key_b] = (ids, num_b, counts, "sqrt")
        a.append(row("m", f, 0, float(np.sqrt(num_a.sum() / counts.sum())), units=key_a))
        b.append(row("m", f, 0, float(np.sqrt(num_b.sum() / counts.sum())), units=key_b))
    return a, b


def power_users(delta: float, m: dict[str, Any], worlds: int, folds: int) -> float:
    found = 0
    for _ in range(worlds):
        a, b = user_world(delta, m, folds)
        found += verdict(a, b, "units").verdict == compare.BETTER
        UNITS.clear()
    return found / worlds


def false_verdicts_users(m: dict[str, Any], worlds: int, family: int) -> tuple[float, float]:
    """A holdout where A and B have the same expected RMSE (Δ = 0), ``family`` such pairs in one
    comparison (Holm over them; the bootstrap sized from the family): the share of rows called
    better/worse, and the share of worlds with any false verdict (the family-wise rate)."""
    rows, worlds_with_one = 0, 0
    for _ in range(worlds):
        a_rows, b_rows = [], []
        for k in range(family):
            a, b = user_world(0.0, m, folds=1)
            for cell in a + b:
                cell["config_id"] = f"c{k}"
            a_rows += a
            b_rows += b
        lines = compare.compare(run(a_rows), run(b_rows), test="units").rows
        false = sum(line.verdict in (compare.BETTER, compare.WORSE) for line in lines)
        rows += false
        worlds_with_one += false > 0
        UNITS.clear()
    return rows / (worlds * family), worlds_with_one / worlds


def wilson(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson interval of a rate observed in ``n`` trials."""
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def detectable(sd: float, n: int = 5, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest Δ the two-sided paired t over n folds detects with ``power`` (noncentral t)."""
    crit = scipy_stats.t.ppf(1 - alpha / 2, n - 1)
    low, high = 0.0, 20 * sd
    for _ in range(60):
        middle = (low + high) / 2
        nc = middle / (sd / math.sqrt(n))
        reach = scipy_stats.nct.sf(crit, n - 1, nc) + scipy_stats.nct.cdf(-crit, n - 1, nc)
        low, high = (middle, high) if reach < power else (low, middle)
    return high


def main(argv: list[str] | None = None) -> None:
    out_page = page_blocks.arguments(__doc__).parse_args(argv).out
    page_blocks.ready(out_page)
    started = time.time()
    m = measure(os.environ.get("BENCH_DATA_DIR"))
    out = ["# Calibration of `bench compare`", "",
           f"`BENCH_DATA_DIR=../shared/data python benchmarks/calibration.py` ({WORLDS} simulated worlds per "
           "figure unless said; every comparison through `benchmark.compare.compare`, alpha 0.05, two-sided). "
           "Noise levels " + m["source"] + ".", ""]
    out += ["## 1. Measured on MovieLens 100k (canonical folds u1…u5)", ""]
    if "run_seconds" in m:
        out += [f"- fast-svd, 10 seeds × 5 folds: mean RMSE {m['rmse']:.4f}; seed-to-seed s.d. within a fold "
                f"**{m['seed_sd']:.4f}**",
                f"- fast-svd − baseline-only, seeds averaged per fold: Δ {m['fold_delta']:+.4f}, fold-to-fold s.d. "
                f"**{m['fold_sd']:.4f}**",
                f"- seeds 0–4 against seeds 5–9 of fast-svd (a seed-only difference): the old pooled test "
                f"(25 cells as pairs) p = {m['pooled_p']:.4f}; bench compare (5 folds, 5 seeds averaged) "
                f"p = {m['fold_p']:.4f} → {m['fold_verdict']}",
                f"- two real predictors (biased baselines, reg 5 and 25, RMSE "
                f"{m['baseline_rmse'][0]:.4f} / {m['baseline_rmse'][1]:.4f}) on u1.test: per-rating error "
                f"correlation **{m['rho']:.3f}**; {len(m['user_counts'])} test users, "
                f"{int(np.median(m['user_counts']))} ratings each (median)",
                f"- (the real run took {m['run_seconds']:.0f} s)", ""]
    else:
        out += ["data not found: the defaults in the script are used", ""]

    pure = pure_fold_sd(m)
    out += ["## 2. False verdicts when B is not better (fixed folds, target ≤ 6 %)", "",
            f"Same 5 folds (fold difficulty s.d. 0.004, shared), S seeds per side, seed s.d. {m['seed_sd']:.4f} per "
            "cell. *Seed-only*: A and B are one configuration with other seeds. *Equal on average*: two "
            f"configurations with the same expected RMSE, one luckier on some folds than the other (a fold × "
            f"configuration effect of s.d. {pure:.4f}, measured in section 1, the same for every seed). A "
            "better/worse verdict is false in both.", "",
            "| seeds per side | seed-only: bench compare | seed-only: old rule (cells as pairs) | equal on average: "
            "bench compare | equal on average: old rule |", "|---:|---:|---:|---:|---:|"]
    for seeds in (1, 5, 10):
        new, old = false_verdicts(seeds, m)
        new_i, old_i = false_verdicts(seeds, m, pure)
        out.append(f"| {seeds} | **{new:.1%}** | {old:.1%} | **{new_i:.1%}** | {old_i:.1%} |")
    out += ["", "With pure seed noise the cells are independent and both rules hold their 5 %; once a "
            "configuration's luck on a fold is shared by its seeds, pooling the seeds as pairs counts that luck "
            "S times and the old rule's false verdicts grow with S, while the fold-level test stays at 5 %.", ""]

    out += ["## 3. Coverage of the printed 95 % interval (target ≥ 93 %)", "",
            "A data set of 2,000 examples is drawn from a population where B − A has mean 0.002; each fit adds "
            "training noise; fold-level s.d. ≈ 0.0023 as on ml-100k. The true difference is the population's. "
            "Single CV: one 5-fold partition; repeated CV: 5 × 5 folds (split seeds differ).", "",
            "| protocol | t over folds | Nadeau–Bengio | what `--test auto` uses |", "|---|---:|---:|---|"]
    for repeats, name, auto in ((1, "single 5-fold CV", "t"), (5, "repeated 5×5 CV", "nb")):
        cov = coverage(repeats)
        out.append(f"| {name} | {cov['t']:.1%} | {cov['nb']:.1%} | {auto} → **{cov[auto]:.1%}** |")
    out.append("")

    worlds = max(WORLDS // 5, 100)
    deltas = (0.001, 0.002, 0.003, 0.004, 0.005)
    out += ["## 4. Power: share of worlds where B (ΔRMSE lower) is called better", "",
            f"{worlds} worlds per cell, one seed per cell. Fold level: 5 folds, s.d. of a fold's difference "
            f"{one_seed_sd(m):.4f} (measured, one seed; section 5 for more seeds). NB: the repeated 5×5 CV world of "
            "section 3 (fold s.d. ≈ 0.0023). Per-user: paired bootstrap over ml-100k's "
            f"test users, per-rating error correlation {m['rho']:.3f} (measured), 1 fold and 5 folds "
            f"({max(worlds // 2, 50)} worlds).", "",
            "| ΔRMSE | t over 5 folds | NB, 5×5 CV | per-user, 1 fold | per-user, 5 folds |", "|---:|---:|---:|---:|---:|"]
    for delta in deltas:
        users = max(worlds // 2, 50)
        per_user = (f"{power_users(delta, m, users, 1):.0%} | {power_users(delta, m, users, 5):.0%}"
                    if "user_counts" in m else "needs ml-100k | needs ml-100k")  # its users' test counts
        out.append(f"| {delta:.3f} | {power_folds(delta, m, worlds):.0%} | {power_nb(delta, worlds):.0%} | {per_user} |")
    if "user_counts" in m:
        out += ["", "## 4b. False verdicts of the per-user bootstrap (holdout, Δ = 0, target ≤ 6 %)", "",
                "Each row a holdout of ml-100k's test users where A and B have the same expected "
                "RMSE (per-rating errors correlated as in section 1); a family of m such rows is Holm-adjusted "
                "and the bootstrap is sized from m (`stats.resamples_for`). In brackets: the 95 % Wilson "
                "interval of the simulated rate (the worlds are few).", "",
                "| rows in the family | worlds | false verdicts per row | worlds with any false verdict |",
                "|---:|---:|---:|---:|"]
        for family, worlds_here in ((1, WORLDS), (10, max(WORLDS * 3 // 10, 100))):
            per_row, any_row = false_verdicts_users(m, worlds_here, family)
            low, high = wilson(any_row, worlds_here)
            out.append(f"| {family} | {worlds_here} | **{per_row:.1%}** | {any_row:.1%} [{low:.1%}, {high:.1%}] |")
    out += ["", "## 5. Smallest ΔRMSE detectable at 80 % power, paired t over 5 folds (ml-100k)", "",
            f"Noncentral t; the s.d. of a fold's difference is sqrt(fold² + 2·seed²/S) with the fold part "
            f"{pure:.4f} (section 1, seed noise removed) and seed s.d. {m['seed_sd']:.4f}, S seeds per side.", "",
            "| seeds per side | s.d. of a fold's Δ | detectable ΔRMSE |", "|---:|---:|---:|"]
    for seeds in (1, 5, 10):
        sd = math.sqrt(pure ** 2 + 2 * m["seed_sd"] ** 2 / seeds)
        out.append(f"| {seeds} | {sd:.4f} | **{detectable(sd):.4f}** |")
    out += ["",
            f"Run time: {time.time() - started:.0f} s ({os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.1f} at the end)."]
    page_blocks.publish(out_page, {BLOCK: "\n".join(out) + "\n"})


if __name__ == "__main__":
    main()
