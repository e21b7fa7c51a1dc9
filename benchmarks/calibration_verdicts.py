"""Calibration of issue 26's verdicts: the non-inferiority gate, the Bayesian tests with a ROPE and
the per-user bootstrap resampled jointly across folds.

    python benchmarks/calibration_verdicts.py --out benchmarks/calibration.md [gate] [bayes] [units]
    python benchmarks/calibration_verdicts.py [gate] [bayes] [units]     # the Markdown to stdout

Without names all three subsections run (§8.1 gate, §8.2 bayes, §8.3 units): ~4 min of CPU.
``--out`` rewrites in the page only the blocks of the subsections run, each with its own run time
(§8.3 between ``<!-- calibration_verdicts.py:units:begin -->`` and
``<!-- calibration_verdicts.py:units:end -->``, likewise ``gate`` and ``bayes``); the block
``calibration_verdicts.py`` (the section's title and this command) only on a run of all three or
when the page lacks it, so a partial run keeps the note on how the others were made. Sections 1–7
are ``calibration.py``'s and ``calibration_best.py``'s (``page_blocks.py``).

Every comparison goes through :func:`benchmark.compare.compare` (rows as the store writes them,
paired, tested) and the gates through the methods ``bench compare`` calls
(:meth:`Comparison.not_shown_safe`, :meth:`Comparison.regressions`). Only the per-unit file
reader is replaced by an in-memory table, as in ``benchmarks/calibration.py``. The worlds have
what the audit asked for: configurations share fold effects, per-user errors are heavy-tailed
(Student t, 3 df, user scales log-normal), users recur in every fold, and a seed changes what a
model does both per user (persistently across folds) and to a whole fold. Noise levels are the
ones measured on ml-100k in ``calibration.md`` §1 (fold s.d. of a one-seed difference 0.0024).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import page_blocks  # noqa: E402  (beside this script)
from benchmark import compare, stats  # noqa: E402
from benchmark.resultset import Run, normalise  # noqa: E402

WORLDS = int(os.environ.get("CALIBRATION_WORLDS", "300"))
RNG = np.random.default_rng(20261207)
FOLD_SD = 0.0024  # s.d. of a fold's B − A with one seed per cell (calibration.md §1, §4)
UNITS: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, str]] = {}
compare.read_units = lambda cell, metric: UNITS[cell.units["file"]]  # type: ignore[assignment]
stats.RESAMPLES = 1000
BLOCK = "calibration_verdicts.py"  # its blocks of calibration.md: this (the head) and BLOCK:name per subsection


def row(fold: int, value: float, partition: int = 0, n_test: int = 20_000, n_train: int = 80_000,
        dataset: str = "world", units: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cell_id": f"{dataset}-{partition}-{fold}", "status": "ok", "task": "rating", "dataset": dataset,
        "model": "m", "model_plugin": "m", "fold": fold, "seed": 0, "dataset_checksum": dataset,
        "split": "kfold", "split_params": {"k": 5, "seed": partition}, "split_fingerprint": f"p{partition}f{fold}",
        "config_id": "same", "metrics": {"rmse": value}, "metric_errors": {}, "n_test": n_test, "n_train": n_train,
        "metric_info": {"rmse": {"greater_is_better": False}}}
    if units is not None:
        out["units"] = {"file": units, "unit": "user", "transforms": {"rmse": "sqrt"}}
    return out


def run(rows: list[dict[str, Any]]) -> Run:
    return Run(Path("world"), [normalise(r) for r in rows])


def compared(a: list[dict], b: list[dict], **options: Any) -> compare.Comparison:
    return compare.compare(run(a), run(b), **options)


def subsection(title: str, intro: str, table_head: str, rows: list[str], closing: str) -> list[str]:
    """A §8 subsection as calibration.md lays it out: its title, the worlds it simulates, the table
    (``table_head``: the column names and the alignment line) and what the table shows."""
    return [title, "", intro, "", *table_head.split("\n"), *rows, "", closing, ""]


def wilson(rate: float, n: int, z: float = 1.96) -> str:
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"[{max(0.0, centre - half):.1%}, {min(1.0, centre + half):.1%}]"


# --- Fold worlds ---------------------------------------------------------------------------------


def fold_world(worse: float) -> tuple[list[dict], list[dict]]:
    """5 folds with a shared fold difficulty; B's RMSE ``worse`` higher on average, one seed."""
    difficulty = 0.94 + 0.004 * RNG.standard_normal(5)
    a = [row(f, float(difficulty[f])) for f in range(5)]
    b = [row(f, float(difficulty[f] + worse + FOLD_SD * RNG.standard_normal())) for f in range(5)]
    return a, b


def cv_world(worse: float, repeats: int, n: int = 2000, k: int = 5, example_sd: float = 0.045,
             training_sd: float = 0.0012, dataset: str = "world") -> tuple[list[dict], list[dict]]:
    """``calibration.py`` §3's world: n examples from a population where B − A has mean ``worse``,
    ``repeats`` × k-fold CV (folds that share training data are correlated), fold s.d. ≈ 0.0023."""
    g = worse + example_sd * RNG.standard_normal(n)
    a, b = [], []
    for r in range(repeats):
        for f, fold in enumerate(np.array_split(RNG.permutation(n), k)):
            value = float(g[fold].mean()) + training_sd * float(RNG.standard_normal())
            a.append(row(f, 0.94, r, len(fold), n - len(fold), dataset))
            b.append(row(f, 0.94 + value, r, len(fold), n - len(fold), dataset))
    return a, b


# --- 1. The non-inferiority gate -----------------------------------------------------------------


def gates(world: Any, margin: float, worse: float) -> dict[str, float]:
    """Shares of worlds where --fail-on-regression T passes, where the old threshold gate
    (--fail-on-proven-regression T) passes, and where the one-sided bound covers the truth."""
    new = old = covered = 0
    for _ in range(WORLDS):
        result = compared(*world(worse))
        new += not result.not_shown_safe(margin)
        old += not result.regressions(margin)
        (line,) = result.rows
        bound = line.worst_worsening(result.alpha)
        covered += bound is not None and bound >= worse
    return {"new": new / WORLDS, "old": old / WORLDS, "covered": covered / WORLDS}


def section_gate() -> list[str]:
    margin = 0.004
    rows = []
    for name, world in (("5 folds, t", fold_world), ("5×5 CV, nb", lambda w: cv_world(w, 5))):
        for worse in (-0.002, 0.0, 0.002, margin, 1.6 * margin):
            got = gates(world, margin, worse)
            flag = " (false safe)" if worse >= margin else ""
            rows.append(f"| {name} | {worse:+.4f}{' = T' if worse == margin else ''} | **{got['new']:.1%}**{flag} | "
                        f"{got['old']:.1%} | {got['covered']:.1%} |")
    return subsection(
        "### 8.1 `--fail-on-regression T`: non-inferiority (T = 0.004 RMSE, alpha 0.05)",
        f"{WORLDS} worlds per row. B's true RMSE is `worse` higher than A's. The gate should pass (exit 0) "
        "only when B is truly less than T worse: a pass at `worse` ≥ T is a false \"safe\" — at most 5 %. "
        "Fixed folds: 5 folds, fold s.d. of Δ 0.0024 (t-test); repeated CV: 5×5 folds of §3's world "
        "(Nadeau–Bengio). Coverage: share of worlds whose one-sided 95 % bound of the worsening is at "
        "least the true one.",
        "| design | true worsening | new gate passes | old threshold gate passes | one-sided bound covers |\n"
        "|---|---:|---:|---:|---:|", rows,
        "The old gate passes almost every world at a true regression of T (it fires only when the "
        "regression is *proven* larger than T); the new one passes only where the data show B within T. "
        "The price is power: with 5 folds and one seed a change must be clearly harmless to pass — more "
        "seeds (fold s.d. 0.0012 with 5) or repeated CV make the bound tighter.")


# --- 2. The Bayesian tests -----------------------------------------------------------------------


def bayes_rates(world: Any, better_by: float, rope: float) -> dict[str, float]:
    counts = {compare.BETTER: 0, compare.WORSE: 0, compare.EQUIVALENT: 0, compare.UNDECIDED: 0, compare.NONE: 0}
    covered = 0
    for _ in range(WORLDS):
        result = compared(*world(-better_by), test="bayes", rope=rope)
        line = result.rows[-1]
        counts[line.verdict] += 1
        if line.ci is not None:
            covered += line.ci[0] <= -better_by <= line.ci[1]
    return {**{k: v / WORLDS for k, v in counts.items()}, "covered": covered / WORLDS}


def datasets_world(worse: float, datasets: int = 8, spread: float = 0.001) -> tuple[list[dict], list[dict]]:
    a, b = [], []
    for d in range(datasets):
        x, y = cv_world(worse + spread * float(RNG.standard_normal()), 1, dataset=f"d{d}")
        a += x
        b += y
    return a, b


def section_bayes() -> list[str]:
    rope = 0.002
    rows = []
    designs = (("correlated t, 5 folds", lambda w: cv_world(w, 1)), ("correlated t, 5×5 CV", lambda w: cv_world(w, 5)),
               ("signed-rank, 8 datasets", datasets_world))
    for name, world in designs:
        for better_by in (0.0, 0.001, 0.002, 0.004, 0.006):
            got = bayes_rates(world, better_by, rope)
            cover = "" if name.startswith("signed") else f"{got['covered']:.1%}"
            rows.append(f"| {name} | {better_by:.3f} | {got[compare.BETTER]:.1%} | {got[compare.EQUIVALENT]:.1%} | "
                        f"{got[compare.WORSE]:.1%} | {got[compare.UNDECIDED]:.1%} | {cover} |")
    return subsection(
        "### 8.2 `--test bayes --rope 0.002`: verdict shares",
        f"{WORLDS} worlds per row; B's true RMSE `better by` lower. A better/worse verdict needs P ≥ 0.95 of "
        "that region, equivalent P ≥ 0.95 of the ROPE. False: `better` when B is better by at most the ROPE, "
        "`equivalent` when it is better by more. Correlated t over folds in §3's world (5 folds and 5×5 CV), "
        "coverage of the 95 % credible interval; signed-rank over 8 datasets (each dataset's true Δ spread "
        "with s.d. 0.001 around the mean), the row over datasets.",
        "| test, design | better by | better | equivalent | worse | undecided | 95 % interval covers |\n"
        "|---|---:|---:|---:|---:|---:|---:|", rows,
        "The correlated t's credible interval is the Nadeau–Bengio interval, so its coverage is §3's. "
        "A `better` verdict at a true Δ inside the ROPE is rare by construction (it needs 95 % of the posterior "
        "beyond the ROPE); `equivalent` needs the whole posterior inside ±ROPE, which 5 folds of this noise "
        "reach only for very small differences — more folds or repeated CV narrow the posterior.")


# --- 3. The per-user bootstrap over folds --------------------------------------------------------


@dataclass(frozen=True)
class Seeds:
    """What a seed does: a per-user effect of s.d. ``user`` that persists across folds with
    correlation ``persist``, per-rating noise of s.d. ``rating``, and ``fold_luck``: the s.d. of a
    bias of the whole fold's predictions."""

    user: float = 0.06
    persist: float = 0.8
    rating: float = 0.1
    fold_luck: float = 0.0


def user_world(better_by: float, seeds: Seeds, users: int = 400) -> tuple[list[dict], list[dict]]:
    """Seed-only worlds on 5 folds: every user in every fold with a heavy-tailed error scale; the
    data's noise (Student t, 3 df) is shared by A and B; each side's seed acts as :class:`Seeds`
    says. B's errors are scaled so its RMSE is ``better_by`` lower."""
    counts = np.clip(np.exp(RNG.normal(1.6, 0.9, users)), 1, 80).round()
    scale = 0.85 * np.exp(0.3 * RNG.standard_normal(users))
    persistent = {side: RNG.standard_normal(users) for side in "ab"}
    a: list[dict] = []
    b: list[dict] = []
    for f in range(5):
        count = (counts * RNG.uniform(0.6, 1.4, users)).round().clip(1).astype(int)
        owner = np.repeat(np.arange(users), count)
        noise = RNG.standard_t(3, owner.size) * scale[owner] / math.sqrt(3)
        sums = {}
        for side in "ab":
            per_user = seeds.user * (math.sqrt(seeds.persist) * persistent[side]
                                     + math.sqrt(1 - seeds.persist) * RNG.standard_normal(users))
            error = (noise + per_user[owner] + seeds.rating * RNG.standard_normal(owner.size)
                     + seeds.fold_luck * RNG.standard_normal())
            if side == "b":
                error *= 1 - better_by / 0.94
            sums[side] = np.bincount(owner, error ** 2, users)
        den = np.bincount(owner, None, users).astype(float)
        ids = np.arange(users).astype(str)
        for side, out in (("a", a), ("b", b)):
            key = f"{side}{f}-{len(UNITS)}"
            UNITS[key] = (ids, sums[side], den, "sqrt")
            out.append(row(f, float(np.sqrt(sums[side].sum() / den.sum())), units=key))
    return a, b


def old_units(a: list[dict], b: list[dict]) -> bool:
    """The bootstrap before issue 26 (users resampled in each fold on their own, no fold spread):
    whether it calls the difference significant at 0.05."""
    folds = []
    for x, y in zip(a, b):
        _, num_a, den, transform = UNITS[x["units"]["file"]]
        folds.append(stats.UnitFold(num_a, UNITS[y["units"]["file"]][1], den, transform))
    draws = stats._draw(folds, stats.RESAMPLES, np.random.default_rng(0)).mean(axis=1)
    return bool(min(np.mean(draws <= 0), np.mean(draws >= 0)) * 2 < 0.05)


def units_rates(better_by: float, seeds: Seeds, worlds: int = WORLDS) -> dict[str, float]:
    new = old = t = covered = 0
    for _ in range(worlds):
        a, b = user_world(better_by, seeds)
        (line,) = compared(a, b, test="units").rows
        wanted = (compare.BETTER,) if better_by > 0 else (compare.BETTER, compare.WORSE)
        new += line.verdict in wanted
        old += old_units(a, b) and (better_by == 0 or line.delta < 0)
        (fold_line,) = compared(a, b, test="t").rows
        t += fold_line.verdict in wanted
        covered += line.ci is not None and line.ci[0] <= 0 <= line.ci[1]
        UNITS.clear()
    return {"new": new / worlds, "old": old / worlds, "t": t / worlds, "covered": covered / worlds}


def section_units() -> list[str]:
    rows = []
    nulls = (("users recur", Seeds(0.1, 0.9, 0.05, 0.0)), ("fold luck", Seeds(fold_luck=0.06)),
             ("both", Seeds(0.1, 0.9, 0.05, 0.06)))
    for name, seeds in nulls:
        got = units_rates(0.0, seeds, 2 * WORLDS)
        rows.append(f"| seed-only null, {name} | {seeds.user} ({seeds.persist}) | {seeds.fold_luck} | 0 | "
                    f"{got['old']:.1%} | **{got['new']:.1%}** {wilson(got['new'], 2 * WORLDS)} | {got['t']:.1%} | "
                    f"{got['covered']:.1%} |")
    for better_by in (0.002, 0.004):
        seeds = Seeds()
        got = units_rates(better_by, seeds)
        rows.append(f"| power | {seeds.user} ({seeds.persist}) | 0 | {better_by} | {got['old']:.1%} | "
                    f"**{got['new']:.1%}** | {got['t']:.1%} | |")
    return subsection(
        "### 8.3 `--test units` over 5 folds: users resampled jointly",
        f"{2 * WORLDS} worlds per null row, {WORLDS} per power row, 400 users in every fold (rating counts "
        "log-normal, 1–80 per fold), heavy-tailed errors. *Seed-only null*: A and B are one configuration with "
        "two seeds — any better/worse verdict is false (target ≤ 6 %); 95 % interval covering 0. A seed acts per "
        "user (s.d., and the correlation of that effect from fold to fold), per rating (s.d. 0.1, 0.05 in the "
        "first world) and on a whole fold (*fold luck*, the s.d. of a bias of its predictions). Power rows: B's "
        "errors scaled so its RMSE is `better by` lower; share called better. Before: each fold's users "
        "resampled on their own, percentile interval (the test before issue 26). Now: users drawn once per "
        "resample for every fold; Student's t with variance s²/K (the t-test over folds) plus the mean "
        "covariance between two folds' Δ* of the joint draw (the users' effects every fold shares), "
        "Satterthwaite df.",
        "| world | per user (corr.) | fold luck | better by | units, before | **units, now** | t over folds "
        "| interval covers 0 |\n|---|---:|---:|---:|---:|---:|---:|---:|", rows,
        "A seed's luck on a whole fold shifts all of its users alike: no resampling of users can see it, "
        "and the bootstrap alone calls it an effect. The folds' spread (the t-test's s²/K) sees it; what "
        "that spread cannot see is the part of the users' effects every fold shares (the same users, the "
        "same seed), which the joint draw's covariance between folds measures. The test is therefore about "
        "as powerful as the t-test over folds (not more): its job over folds is to stay valid.")


SECTIONS = {"gate": ("8.1", section_gate), "bayes": ("8.2", section_bayes), "units": ("8.3", section_units)}
HEAD = ["## 8. Verdicts v2 (issue 26): the gate that proves safety, Bayesian answers, users across folds", "",
        "`python benchmarks/calibration_verdicts.py` (every comparison through `benchmark.compare.compare`; "
        "bootstrap 1,000 resamples)."]


def main(argv: list[str] | None = None) -> None:
    parser = page_blocks.arguments(__doc__)
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}: choose from {', '.join(SECTIONS)}")
    page_blocks.ready(args.out)
    chosen = list(dict.fromkeys(args.sections)) or list(SECTIONS)
    blocks = {}
    has_head = args.out is not None and args.out.exists() and BLOCK in page_blocks.blocks(args.out.read_text())
    if len(chosen) == len(SECTIONS) or not has_head:  # a partial run keeps the head that describes the full one
        blocks[BLOCK] = "\n".join(HEAD) + "\n"
    for name in chosen:
        started = time.time()
        number, section = SECTIONS[name]
        lines = section() + [f"Run time of §{number}: {time.time() - started:.0f} s ({os.cpu_count()} cores, "
                             f"load {os.getloadavg()[0]:.1f})."]
        blocks[f"{BLOCK}:{name}"] = "\n".join(lines) + "\n"
    page_blocks.publish(args.out, blocks)


if __name__ == "__main__":
    main()
