"""``bench compare``: paired cells, planted improvement and regression, unpaired cells with reasons.

Run A is a real run of a tiny synthetic-ratings suite (5 folds); run B is a copy of it where
one configuration's RMSE is lowered on every fold (an improvement), another's raised (a
regression) and the rest left as they are.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli_results import register
from benchmark.errors import BenchError

SUITE = """\
name: tiny-compare
seed: 0
split: {method: kfold, k: 5}
datasets:
  - name: synthetic-ratings
    options: {n_users: 150, n_items: 80, density: 0.12}
models:
  - global-mean
  - bias-baseline
  - {name: truncated-svd, label: svd4, params: {n_components: 4}}
metrics: [rmse, mae]
"""
IMPROVED, REGRESSED, UNTOUCHED = "svd4", "bias-baseline", "global-mean"


def bench_cli(*argv: str) -> tuple[int, str, str]:
    """Run one of cli_results' commands as ``bench`` would: (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="bench")
    handlers = register(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(list(argv))
            code = handlers[args.command](args)
        except BenchError as exc:
            print(f"bench: error: {exc}", file=sys.stderr)
            code = 2
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def perturbed_copy(a: Path, b: Path, change) -> Path:
    shutil.copytree(a, b)
    rows = [change(row) for row in read(a / "cells.jsonl")]
    write(b / "cells.jsonl", [row for row in rows if row is not None])
    return b


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("compare")
    (base / "suite.yaml").write_text(SUITE)
    done = subprocess.run([sys.executable, "-m", "benchmark", "run", str(base / "suite.yaml"), "--out",
                           str(base / "A"), "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = read(base / "A" / "cells.jsonl")
    assert len(rows) == 15 and all(row["status"] == "ok" for row in rows)

    def plant(row: dict) -> dict:
        wobble = 0.002 * (row["fold"] % 3)  # real-looking fold-to-fold variation of the change
        if row["model"] == IMPROVED:
            row["metrics"]["rmse"] -= 0.02 + wobble
        elif row["model"] == REGRESSED:
            row["metrics"]["rmse"] += 0.015 + wobble
        return row

    return base / "A", perturbed_copy(base / "A", base / "B", plant)


def verdicts(stdout: str) -> dict[str, str]:
    """model -> verdict from the CSV output."""
    import csv

    return {row["model"]: row["verdict"] for row in csv.DictReader(io.StringIO(stdout))}


def test_planted_improvement_and_regression_are_called_right(two_runs):
    a, b = two_runs
    code, out, err = bench_cli("compare", str(a), str(b), "--format", "csv")
    assert code == 0, err
    assert verdicts(out) == {IMPROVED: "better", REGRESSED: "worse", UNTOUCHED: "no verdict"}
    code, table, _ = bench_cli("compare", str(a), str(b))
    assert "Holm-corrected across the 2 tested rows" in table and "paired t-test over folds" in table
    assert "every cell was paired" in table and "the same in A and B" in table
    untouched = next(line for line in table.splitlines() if line.startswith("synthetic-ratings  global-mean"))
    assert "+0 " in untouched and "no verdict: zero variance of Δ (A and B are identical on every fold)" in untouched
    assert "5 folds" in untouched


def test_fail_on_regression_exits_1(two_runs):
    a, b = two_runs
    code, _, err = bench_cli("compare", str(a), str(b), "--fail-on-regression")
    assert code == 1 and "bias-baseline" in err and "significantly worse" in err
    # B against A: the regression becomes an improvement and the improvement a regression
    code, _, err = bench_cli("compare", str(b), str(a), "--fail-on-regression")
    assert code == 1 and IMPROVED in err
    # a threshold above the planted regression (0.015..0.019) passes, one below it fails
    assert bench_cli("compare", str(a), str(b), "--fail-on-regression", "0.03")[0] == 0
    assert bench_cli("compare", str(a), str(b), "--fail-on-regression", "0.01")[0] == 1


def test_fail_on_proven_regression_fires_on_the_ci_bound_not_the_point_estimate(two_runs):
    """The old threshold gate, now under its own name (issue 26: it proves harm, not safety).
    Δ is ≈ +0.0166 for the regressed row; its CI's lower bound is lower: a threshold between
    the two does not fire (the worsening beyond it is not established), one below the bound does."""
    import csv

    a, b = two_runs
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "csv")
    row = next(r for r in csv.DictReader(io.StringIO(out)) if r["model"] == REGRESSED)
    low, delta = float(row["ci_low"]), float(row["delta"])
    assert low < delta
    between = (low + delta) / 2
    assert bench_cli("compare", str(a), str(b), "--fail-on-proven-regression", f"{between:.6f}")[0] == 0
    assert bench_cli("compare", str(a), str(b), "--fail-on-proven-regression", f"{low * 0.98:.6f}")[0] == 1
    code, _, err = bench_cli("compare", str(a), str(b), "--fail-on-proven-regression")
    assert code == 1 and "significantly worse" in err


def test_fail_on_regression_with_a_margin_needs_proof_of_safety(two_runs):
    """--fail-on-regression T is non-inferiority: it passes only when the one-sided 95 % bound of
    the worsening (the 90 % two-sided t interval's upper end, from scipy) stays below T. A margin
    between Δ and that bound fails although the point estimate is within it — the old gate passed
    there."""
    import csv

    from scipy import stats as scipy_stats

    a, b = two_runs
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "csv")
    row = next(r for r in csv.DictReader(io.StringIO(out)) if r["model"] == REGRESSED)
    diffs = [fb["metrics"]["rmse"] - fa["metrics"]["rmse"]
             for fa, fb in zip(*(sorted((r for r in read(run / "cells.jsonl") if r["model"] == REGRESSED),
                                        key=lambda r: r["fold"]) for run in (a, b)))]
    upper = scipy_stats.ttest_1samp(diffs, 0).confidence_interval(0.90).high
    delta = float(row["delta"])
    assert delta < upper
    code, _, err = bench_cli("compare", str(a), str(b), "--fail-on-regression", f"{(delta + upper) / 2:.6f}")
    assert code == 1 and "not shown to be no worse" in err and REGRESSED in err
    assert bench_cli("compare", str(a), str(b), "--fail-on-regression", f"{upper * 1.001:.6f}")[0] == 0
    # B better than A: shown safe at any margin above its own (negative) bound
    code, _, err = bench_cli("compare", str(b), str(a), "--rows", REGRESSED, REGRESSED, "--fail-on-regression", "0")
    assert code == 0, err


def test_a_run_against_itself(two_runs):
    """Identical results: no p (zero variance), no verdict, the reason; the gate stays green."""
    a, _ = two_runs
    code, out, err = bench_cli("compare", str(a), str(a), "--format", "csv", "--fail-on-regression")
    assert code == 0 and "3 row(s) could not be tested" in err
    import csv

    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3
    assert all(float(r["delta"]) == 0 and r["p"] == "" and r["ci_low"] == "" and r["verdict"] == "no verdict"
               and "zero variance" in r["reason"] for r in rows)


def test_unpaired_cells_are_listed_with_the_reason(two_runs, tmp_path):
    a, _ = two_runs

    def change(row: dict) -> dict | None:
        if row["model"] == "global-mean" and row["fold"] == 4:
            return None  # missing in B
        if row["model"] == "bias-baseline" and row["fold"] == 0:
            row["split_fingerprint"] = "0" * 16  # another split
        if row["model"] == IMPROVED:
            row["dataset_checksum"] = "f" * 16  # other data
        return row

    b = perturbed_copy(a, tmp_path / "B", change)
    code, out, _ = bench_cli("compare", str(a), str(b))
    assert code == 0
    assert "1 cell of global-mean on synthetic-ratings only in A: fold 5/5 seed 0 missing in B" in out
    assert "1 cell of bias-baseline on synthetic-ratings only in A: different split (fold 1/5" in out
    assert "1 cell of bias-baseline on synthetic-ratings only in B: different split (fold 1/5" in out
    assert "5 cells of svd4 on synthetic-ratings only in A: different data (checksum" in out
    code, _, err = bench_cli("compare", str(a), str(b), "--format", "csv")
    assert "not paired: 1 cell of global-mean" in err, "CSV output still says what was not paired"


def test_two_configurations_of_one_run(two_runs):
    a, _ = two_runs
    code, out, _ = bench_cli("compare", str(a), "--rows", "global-mean", "bias-baseline", "--format", "csv")
    assert code == 0
    assert verdicts(out) == {"global-mean → bias-baseline": "better"}
    import csv

    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["a"], row["b"], row["n"], row["test"]) == ("global-mean", "bias-baseline", "5", "t")
    assert row["ci_level"] == "0.95" and float(row["ci_high"]) < 0 and float(row["p"]) < 0.05


def test_version_changes_are_reported(two_runs, tmp_path):
    a, _ = two_runs

    def bump(row: dict) -> dict:
        row["plugin"] = {**row["plugin"], "version": "9.9.9"}
        return row

    b = perturbed_copy(a, tmp_path / "B", bump)
    _, out, _ = bench_cli("compare", str(a), str(b))
    assert "versions that differ:" in out and "9.9.9 (B)" in out

    def only_in_a(row: dict) -> dict:  # a plugin B does not use is not a version difference
        row["plugin"] = {**row["plugin"], "name": "used-by-a-only"} if row["model"] == "global-mean" else row["plugin"]
        return row

    c = perturbed_copy(a, tmp_path / "C", only_in_a)
    _, out, _ = bench_cli("compare", str(c), str(a))
    assert "used-by-a-only" not in out and "absent" not in out


def test_too_few_pairs_say_so(two_runs, tmp_path):
    """One paired fold: no test over folds (n = 1), the reason says so; the stored per-user parts
    still make the fold testable (--test auto picks them)."""
    a, _ = two_runs
    b = perturbed_copy(a, tmp_path / "B", lambda row: row if row["fold"] == 0 else None)
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "csv", "--test", "t")
    assert set(verdicts(out).values()) == {"no verdict"}
    assert "n = 1: a test needs at least 2 folds" in out
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "json")
    assert {row["test"] for row in json.loads(out)} == {"units"}
    for row in b.glob("units/*.npz"):
        row.unlink()
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "json")
    assert all(row["verdict"] == "no verdict" and "per-unit file" in row["reason"] for row in json.loads(out))


def test_bad_input_is_one_line_exit_2(two_runs, tmp_path):
    a, b = two_runs
    code, _, err = bench_cli("compare", str(a), str(tmp_path / "nowhere"))
    assert code == 2 and "no such results directory" in err
    code, _, err = bench_cli("compare", str(a), str(b), "--metric", "rmsee")
    assert code == 2 and "did you mean 'rmse'?" in err
    code, _, err = bench_cli("compare", str(a), "--rows", "global-maen", "svd4")
    assert code == 2 and "did you mean 'global-mean'?" in err
    assert bench_cli("compare", str(a))[0] == 2


def test_holm():
    from benchmark.compare import holm

    assert holm([0.01, 0.04, 0.03, None])[3] is None
    assert holm([0.01, 0.04, 0.03, None])[:3] == pytest.approx([0.03, 0.06, 0.06])
    corrected = holm([0.01, 0.04, 0.03])
    assert corrected == pytest.approx([0.03, 0.06, 0.06])


def test_the_bench_command_has_compare(two_runs):
    """Through the real ``bench`` entry (cli.py wires cli_results.register)."""
    a, b = two_runs
    done = subprocess.run([sys.executable, "-m", "benchmark", "compare", str(a), str(b),
                           "--fail-on-regression"], capture_output=True, text=True)
    if "invalid choice" in done.stderr:
        pytest.skip("cli.py does not register benchmark.cli_results yet")
    assert done.returncode == 1 and "worse" in done.stdout


# --- The fold is the unit: crafted runs on the real ml-100k folds -------------------------------

REFERENCE = Path(__file__).resolve().parent.parent / "results" / "reference" / "surprise-ml100k"


def seeded_run(path: Path, value, model: str = "svd", seeds=range(5), split_seeds=None, units=None) -> Path:
    """A run of ``model`` on the reference folds, one cell per (fold, seed), rmse = value(fold, seed).
    ``split_seeds`` makes each seed its own partition (repeated CV); ``units(fold, seed)`` writes
    per-user parts as the worker does (contract 2), and the rmse they give."""
    import numpy as np

    base = [row for row in read(REFERENCE / "cells.jsonl") if row["model"] == model]
    path.mkdir(parents=True)
    rows = []
    for seed in seeds:
        for row in base:
            row = json.loads(json.dumps(row))
            row["seed"] = seed
            row["cell_id"] = f"{row['cell_id']}-{seed}"
            if split_seeds:
                row["split_params"] = {**row["split_params"], "seed": seed}
                row["split_fingerprint"] = f"{row['split_fingerprint'][:12]}{seed:04d}"
            row["metrics"] = {"rmse": value(row["fold"], seed)}
            if units is not None:
                ids, num, den = units(row["fold"], seed)
                (path / "units").mkdir(exist_ok=True)
                np.savez(path / "units" / f"{row['cell_id']}.npz", ids=np.array(ids, dtype=str),
                         **{"rmse.num": np.asarray(num, float), "rmse.den": np.asarray(den, float)})
                row["units"] = {"file": f"units/{row['cell_id']}.npz", "unit": "user", "transforms": {"rmse": "sqrt"}}
                row["metrics"]["rmse"] = float(np.sqrt(np.sum(num) / np.sum(den)))  # what the parts give
            rows.append(row)
    write(path / "cells.jsonl", rows)
    return path


def test_seeds_on_fixed_folds_are_averaged_not_pooled(tmp_path):
    """Five seeds on the same five folds: B − A differs by fold (fold difficulty, shared by every
    seed) and a little by seed. Pooling the 25 cells as pairs calls it "better"; the folds, the
    real unit, say there is no evidence."""
    from scipy import stats as scipy_stats

    fold_effect = [-0.004, -0.003, -0.005, 0.004, -0.001]
    noise = [[0.0003 * ((3 * f + 7 * s) % 5 - 2) for s in range(5)] for f in range(5)]
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94)
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.94 + fold_effect[fold] + noise[fold][seed])
    pooled = [fold_effect[f] + noise[f][s] for f in range(5) for s in range(5)]
    assert scipy_stats.ttest_1samp(pooled, 0).pvalue < 0.05, "the old, pooled test: 'better'"

    code, out, err = bench_cli("compare", str(a), str(b), "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["verdict"] == "no significant difference" and row["test"] == "t"
    assert row["n"] == 5 and row["seeds_averaged"] == 5 and row["p"] > 0.05
    assert row["ci_low"] < 0 < row["ci_high"]
    _, table, _ = bench_cli("compare", str(a), str(b))
    assert "5 folds (5 seeds averaged)" in table and "each fold's seeds averaged before the test" in table


def test_ignore_seed_pairs_fold_means_whatever_the_seeds(tmp_path):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94 + 0.001 * seed, seeds=[0, 1])
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.93 + 0.001 * seed + 0.0005 * fold, seeds=[2, 3, 4])
    code, out, err = bench_cli("compare", str(a), str(b), "--ignore-seed", "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["n"] == 5 and row["seeds_averaged"] == 3
    assert row["a_mean"] == pytest.approx(0.9405) and row["b_mean"] == pytest.approx(0.933 + 0.001)
    assert "not paired" not in err
    code, out, _ = bench_cli("compare", str(a), str(b))
    assert "no paired cells" in out and "seed 0 missing in B" in out


def test_repeated_cv_uses_the_nadeau_bengio_test(tmp_path):
    """Five partitions (split seeds 0..4) × 5 folds: the folds overlap in training data, so the
    plain t over 25 folds is too confident; auto picks the corrected test with n_test/n_train."""
    wobble = lambda fold, seed: 0.001 * ((fold + 2 * seed) % 5 - 2)  # noqa: E731
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94, split_seeds=True)
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.9388 + wobble(fold, seed), split_seeds=True)
    rows = {}
    for test in ("auto", "t", "nb"):
        code, out, err = bench_cli("compare", str(a), str(b), "--format", "json", "--test", test)
        assert code == 0, err
        (rows[test],) = json.loads(out)
    assert rows["auto"]["test"] == "nb" and rows["auto"]["n"] == 25
    assert rows["t"]["verdict"] == "better" and rows["nb"]["verdict"] == "no significant difference"
    width = {k: r["ci_high"] - r["ci_low"] for k, r in rows.items()}
    import math

    # n_test/n_train = 0.25: the corrected standard error is sqrt((1/25 + 0.25) / (1/25)) = 2.69 × wider
    assert width["nb"] / width["t"] == pytest.approx(math.sqrt((1 / 25 + 0.25) * 25), rel=1e-6)


def users(fold: int, seed: int, shift: float = 0.0):
    """943 users' per-user squared-error sums and counts on a holdout (deterministic)."""
    import numpy as np

    rng = np.random.default_rng(fold)
    counts = rng.integers(1, 60, size=943).astype(float)
    errors = rng.gamma(2.0, 0.45, size=943) * counts
    errors *= 1 + shift + 0.02 * rng.standard_normal(943) * (shift != 0)
    return [str(u) for u in range(943)], errors, counts


def test_a_single_holdout_is_tested_on_users(tmp_path):
    """n = 1 fold: no test over folds is possible; the per-user parts make it testable."""
    import numpy as np

    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94, seeds=[0], units=lambda f, s: users(0, s))
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.93, seeds=[0], units=lambda f, s: users(0, s, -0.02))
    for run in (a, b):  # keep one fold: a holdout
        write(run / "cells.jsonl", [r for r in read(run / "cells.jsonl") if r["fold"] == 0])
    code, out, err = bench_cli("compare", str(a), str(b), "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["test"] == "units" and row["n"] == 943 and row["folds"] == 1
    ids, num_a, den = users(0, 0)
    _, num_b, _ = users(0, 0, -0.02)
    exact = np.sqrt(num_b.sum() / den.sum()) - np.sqrt(num_a.sum() / den.sum())
    assert row["delta"] == pytest.approx(exact)
    assert row["verdict"] == "better" and row["ci_low"] < row["delta"] < row["ci_high"] < 0
    _, table, _ = bench_cli("compare", str(a), str(b))
    assert "1 fold, 943 users" in table and "conditional on the fitted models" in table

    # without the per-unit files: no verdict, and why
    for run in (a, b):
        write(run / "cells.jsonl", [{k: v for k, v in r.items() if k != "units"} for r in read(run / "cells.jsonl")])
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "json")
    assert json.loads(out)[0]["verdict"] == "no verdict"


def test_a_damaged_units_file_is_a_reason(tmp_path):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94, seeds=[0], units=lambda f, s: users(f, s))
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.93, seeds=[0], units=lambda f, s: users(f, s, -0.02))
    for path in (b / "units").iterdir():
        path.write_bytes(b"not a zip")
    code, out, err = bench_cli("compare", str(a), str(b), "--format", "json", "--test", "units")
    assert code == 0, err
    assert "unreadable" in json.loads(out)[0]["reason"]


def test_nan_and_infinite_values_are_unpaired_with_the_reason(tmp_path):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94, seeds=[0])
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.93 + 0.001 * fold, seeds=[0])
    rows = read(b / "cells.jsonl")
    rows[1]["metrics"]["rmse"], rows[2]["metrics"]["rmse"] = math.nan, math.inf
    write(b / "cells.jsonl", rows)  # json writes them as NaN and Infinity
    assert "NaN" in (b / "cells.jsonl").read_text()
    code, out, err = bench_cli("compare", str(a), str(b), "--format", "json", "--fail-on-proven-regression")
    assert code == 0, "B is better on the folds it has: no proven regression"
    (row,) = json.loads(out)
    assert row["n"] == 3 and all(math.isfinite(row[k]) for k in ("delta", "ci_low", "ci_high", "p"))
    assert "2 non-finite metric value(s)" in err
    assert "not paired: 1 cell of svd on movielens-100k only in A: no rmse value in B (non-finite value nan)" in err
    assert "non-finite value inf" in err
    # issue 26: the regression gate must not pass when B lost values A has, with or without a margin
    for margin in ([], ["0.01"]):
        code, _, err = bench_cli("compare", str(a), str(b), "--format", "json", "--fail-on-regression", *margin)
        assert code == 1 and "B lacks 2 finite value(s) A has" in err and "non-finite value nan" in err, err


def test_zero_variance_gives_no_p_and_no_verdict(tmp_path):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94 + 0.01 * fold, seeds=[0])
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.95 + 0.01 * fold, seeds=[0])
    for run in (a, b):
        write(run / "cells.jsonl", [r for r in read(run / "cells.jsonl") if r["fold"] < 2])
    code, out, err = bench_cli("compare", str(a), str(b), "--format", "json", "--fail-on-regression")
    (row,) = json.loads(out)
    assert row["p"] is None and row["ci_low"] is None and row["verdict"] == "no verdict"
    assert row["reason"] == "zero variance of Δ (every fold has the same Δ)"
    assert code == 0 and "could not be tested" in err


def test_nothing_paired_has_its_own_exit_code(two_runs, tmp_path):
    a, _ = two_runs
    b = perturbed_copy(a, tmp_path / "B", lambda row: {**row, "dataset_checksum": "f" * 16})
    code, out, err = bench_cli("compare", str(a), str(b), "--fail-on-regression")
    assert code == 3 and "no paired cells" in out
    (line,) = err.splitlines()
    assert line.startswith("bench: error: --fail-on-regression: nothing could be paired (15 cells: different data")
    # issue 26: "no paired cells" is not an answer, with or without a gate; the output says how to pair
    code, out, err = bench_cli("compare", str(a), str(b))
    assert code == 3 and "bench: error: bench compare: nothing could be paired" in err
    assert "to pair two configurations: bench compare A B --rows LABEL_A LABEL_B" in out


def test_every_pair_and_a_baseline(two_runs):
    a, _ = two_runs
    code, out, err = bench_cli("compare", str(a), "--all")
    assert code == 0, err
    assert "configurations sharing a letter are not significantly different" in out
    assert "p-values Holm-corrected across the 3 tested rows" in out
    code, out, _ = bench_cli("compare", str(a), "--all", "--format", "json")
    pairs = json.loads(out)
    assert {(r["a"], r["b"]) for r in pairs} == {("global-mean", "bias-baseline"), ("global-mean", "svd4"),
                                                  ("bias-baseline", "svd4")}
    for r in pairs:  # the interval agrees with the verdict, at the Holm step level
        significant = r["verdict"] in ("better", "worse")
        assert significant == (r["ci_low"] > 0 or r["ci_high"] < 0)
    code, out, _ = bench_cli("compare", str(a), "--baseline", "global-mean", "--format", "json")
    assert {r["b"] for r in json.loads(out)} == {"bias-baseline", "svd4"}
    code, _, err = bench_cli("compare", str(a), "--baseline", "global-maen")
    assert code == 2 and "did you mean 'global-mean'?" in err
    code, _, err = bench_cli("compare", str(a), "--all", "--rows", "svd4", "global-mean")
    assert code == 2 and "expected one of --rows, --all, --baseline" in err


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_machine_readable_output_has_the_columns(two_runs, fmt):
    import csv

    a, b = two_runs
    code, out, _ = bench_cli("compare", str(a), str(b), "--format", fmt)
    records = json.loads(out) if fmt == "json" else list(csv.DictReader(io.StringIO(out)))
    assert len(records) == 3
    assert list(records[0])[:11] == ["dataset", "metric", "a", "b", "n", "delta", "ci_low", "ci_high", "p", "test",
                                     "verdict"]


def test_a_real_holdout_run_is_tested_on_its_stored_users(tmp_path):
    """End to end: bench run stores per-user parts (units/<cell_id>.npz, contract 2) and
    bench compare tests a single holdout split on them."""
    suite = SUITE.replace("split: {method: kfold, k: 5}", "split: {method: holdout}")
    (tmp_path / "suite.yaml").write_text(suite)
    done = subprocess.run([sys.executable, "-m", "benchmark", "run", str(tmp_path / "suite.yaml"), "--out",
                           str(tmp_path / "A"), "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = read(tmp_path / "A" / "cells.jsonl")
    assert all(row.get("units", {}).get("unit") == "user" for row in rows)
    code, out, err = bench_cli("compare", str(tmp_path / "A"), "--rows", "global-mean", "bias-baseline",
                               "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["test"] == "units" and row["folds"] == 1 and row["n"] > 100
    assert row["verdict"] == "better" and row["ci_high"] < 0
    assert row["delta"] == pytest.approx(row["b_mean"] - row["a_mean"], abs=1e-9)


def test_every_pair_over_several_datasets_ranks_them(tmp_path):
    """--all with three datasets: Friedman, Nemenyi's CD and the groups; the same data from
    rank_datasets for a critical-difference diagram."""
    from benchmark import compare
    from benchmark.resultset import read_run

    rows = []
    for number, checksum in enumerate(("d1", "d2", "d3", "d4")):
        for row in read(REFERENCE / "cells.jsonl"):
            if row["model"] in ("svd", "svdpp", "baseline-only", "nmf"):
                row = {**row, "dataset": f"set{number}", "dataset_checksum": checksum * 8,
                       "cell_id": row["cell_id"] + checksum}
                rows.append(row)
    (tmp_path / "A").mkdir()
    write(tmp_path / "A" / "cells.jsonl", rows)
    code, out, err = bench_cli("compare", str(tmp_path / "A"), "--all")
    assert code == 0, err
    assert "rating rmse over 4 datasets: average ranks svdpp 1.00, svd 2.00, baseline-only 3.00, nmf 4.00" in out
    assert "Nemenyi CD = 2.35" in out
    run = read_run(tmp_path / "A")
    ranking = compare.rank_datasets(run.rows, {"rating": "rmse"}, {"rmse": False})
    cd = ranking[("rating", "rmse")]
    assert cd.average_ranks["svdpp"] == 1.0 and cd.cliques() == [["svdpp", "svd", "baseline-only"],
                                                                  ["svd", "baseline-only", "nmf"]]


def test_values_equal_to_rounding_are_no_difference_but_not_called_identical(tmp_path):
    """Two implementations equal up to float rounding (fast-svdpp vs svdpp: ~1e-16) are not
    'significantly different': their differences are below the values' resolution. They are not
    *identical* either (Δ −2.22e-17 is not 0): the reason says float rounding."""
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94 + 0.01 * fold, seeds=[0])
    b = seeded_run(tmp_path / "B", lambda fold, seed: (0.94 + 0.01 * fold) * (1 + 2e-16 * (fold % 2)), seeds=[0])
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "json")
    (row,) = json.loads(out)
    assert row["verdict"] == "no verdict" and row["delta"] != 0
    assert row["reason"] == "zero variance of Δ (A and B differ only by float rounding on every fold)"
    _, out, _ = bench_cli("compare", str(a), str(a), "--format", "json")
    assert "A and B are identical on every fold" in json.loads(out)[0]["reason"]


def _holdout(run: Path) -> Path:
    write(run / "cells.jsonl", [r for r in read(run / "cells.jsonl") if r["fold"] == 0])
    return run


def test_auto_on_one_fold_picks_units_only_when_the_metric_has_per_unit_values(tmp_path):
    """Per-unit values stored for rmse only: --metric mae on a holdout has no test, said plainly,
    and the size column does not call the fold count 'users'."""
    a = _holdout(seeded_run(tmp_path / "A", lambda fold, seed: 0.94, seeds=[0], units=lambda f, s: users(0, s)))
    b = _holdout(seeded_run(tmp_path / "B", lambda fold, seed: 0.93, seeds=[0],
                            units=lambda f, s: users(0, s, -0.02)))
    for run, mae in ((a, 0.74), (b, 0.73)):
        write(run / "cells.jsonl", [{**r, "metrics": {**r["metrics"], "mae": mae}} for r in read(run / "cells.jsonl")])
    code, out, err = bench_cli("compare", str(a), str(b), "--format", "json", "--metric", "mae")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["test"] != "units" and row["verdict"] == "no verdict"
    assert "one fold and no per-unit values of mae" in row["reason"] and "no test applies" in row["reason"]
    _, table, _ = bench_cli("compare", str(a), str(b), "--metric", "mae")
    assert "1 fold " in table and "users" not in table.split("no verdict")[0].split("\n")[-1]
    _, out, _ = bench_cli("compare", str(a), str(b), "--format", "json")  # rmse: units stored
    assert json.loads(out)[0]["test"] == "units"


def test_units_over_several_folds_count_distinct_users(tmp_path):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94, seeds=[0], units=lambda f, s: users(f, s))
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.93, seeds=[0], units=lambda f, s: users(f, s, -0.02))
    _, table, _ = bench_cli("compare", str(a), str(b), "--test", "units")
    assert "5 folds, 943 users (4,715 user–fold pairs)" in table


def test_unequal_seed_counts_are_shown_per_side(tmp_path):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94 + 0.001 * seed, seeds=[0, 1, 2])
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.93 + 0.002 * fold, seeds=[3, 4])
    _, table, err = bench_cli("compare", str(a), str(b), "--ignore-seed")
    assert "5 folds (3 vs 2 seeds averaged)" in table, table + err


def test_markdown_has_no_not_paired_heading_when_everything_paired(tmp_path):
    a = seeded_run(tmp_path / "A", lambda fold, seed: 0.94, seeds=[0])
    b = seeded_run(tmp_path / "B", lambda fold, seed: 0.93 + 0.001 * fold, seeds=[0])
    _, md, _ = bench_cli("compare", str(a), str(b), "--format", "md")
    assert "### Not paired" not in md and "every cell was paired" in md


def test_a_family_of_210_bootstrap_rows_can_be_significant(monkeypatch):
    """The user trial: 21 configurations on a holdout, --all = 210 rows. A clear difference must
    come out significant with its interval excluding 0; null rows stay consistent too."""
    import numpy as np

    from benchmark import compare, resultset

    rng = np.random.default_rng(0)
    den = rng.integers(1, 30, size=120).astype(float)
    base = rng.gamma(2.0, 0.45, size=120) * den
    table = {"a": base, "b": base * 0.8}
    for k in range(210):
        table[f"n{k}"] = base * (1 + 0.05 * rng.standard_normal(120))
    monkeypatch.setattr(compare, "read_units", lambda cell, metric: (np.arange(120).astype(str),
                                                                     table[cell.units["file"]], den, "sqrt"))

    def cell(name: str) -> resultset.StoredResult:
        return resultset.normalise({"cell_id": name, "status": "ok", "task": "rating", "dataset": "d", "model": name,
                                    "fold": 0, "seed": 0, "metrics": {"rmse": 1.0},
                                    "units": {"file": name, "unit": "user"}})

    def row(a: str, b: str) -> compare.Row:
        fold = compare.Fold(("c", "f", 0), "p", 1.0, 0.9, 1, None, [cell(a)], [cell(b)])
        return compare.Row("d", "rating", f"{a} → {b}", "", "rmse", False, a, b, [fold])

    rows = [row("a", "b")] + [row("a", f"n{k}") for k in range(209)]
    assert compare.decide(rows, 0.05)
    clear = rows[0]
    assert clear.test == "units" and clear.verdict == compare.BETTER and clear.p_adjusted < 0.05
    assert clear.ci is not None and clear.ci[1] < 0
    for r in rows:
        assert r.ci is not None and (r.verdict != compare.SAME) == (r.ci[0] > 0 or r.ci[1] < 0)


def test_several_metrics_are_one_holm_family(two_runs, tmp_path):
    """``--metric rmse,mae``: each metric's rows, as ``--metric`` alone gives them, adjusted together —
    the family's p equal Holm's step-down over the union of the single-metric runs' raw p."""
    a, planted = two_runs

    def mae_too(row: dict) -> dict:  # B's rmse as planted, and its mae moved too, differently per fold
        row["metrics"]["mae"] += {IMPROVED: -0.01, REGRESSED: 0.004, UNTOUCHED: 0.0}[row["model"]] \
            + 0.003 * ((row["fold"] * 7) % 5) / 4
        return row

    b = perturbed_copy(planted, tmp_path / "B", mae_too)
    singles = {}
    for metric in ("rmse", "mae"):
        code, out, err = bench_cli("compare", str(a), str(b), "--metric", metric, "--format", "json")
        assert code == 0, err
        singles.update({(r["model"], r["metric"]): r for r in json.loads(out)})
    code, out, err = bench_cli("compare", str(a), str(b), "--metric", "rmse, mae", "--format", "json")
    assert code == 0, err
    family = {(r["model"], r["metric"]): r for r in json.loads(out)}
    assert set(family) == set(singles) and {m for _, m in family} == {"rmse", "mae"}
    tested = [key for key, r in family.items() if r["p_unadjusted"] is not None]
    assert len(tested) >= 3
    for key in family:  # the same test on the same differences
        assert family[key]["p_unadjusted"] == singles[key]["p_unadjusted"] and family[key]["delta"] == singles[key]["delta"]
    raw = [family[key]["p_unadjusted"] for key in tested]
    order = sorted(range(len(raw)), key=raw.__getitem__)
    holm, running = [0.0] * len(raw), 0.0
    for rank, i in enumerate(order):  # Holm (1979): the running maximum of (m - rank) p_(rank)
        running = max(running, min(1.0, (len(raw) - rank) * raw[i]))
        holm[i] = running
    for key, expected in zip(tested, holm):
        assert family[key]["p"] == pytest.approx(expected, rel=1e-12)
        assert family[key]["p"] >= singles[key]["p"]  # a larger family never adjusts less
    code, table, _ = bench_cli("compare", str(a), str(b), "--metric", "rmse,mae")
    assert f"across the {len(tested)} tested rows (2 metrics: mae, rmse, one family)" in table
    code, _, err = bench_cli("compare", str(a), str(b), "--metric", "rmse,mea")
    assert code == 2 and "no cell has the metric 'mea'" in err and "did you mean 'mae'" in err


def test_several_metrics_rank_every_pair_per_metric(two_runs):
    a, _ = two_runs
    code, out, err = bench_cli("compare", str(a), "--all", "--metric", "rmse,mae")
    assert code == 0, err
    assert "synthetic-ratings: rmse" in out and "synthetic-ratings: mae" in out
    assert "(2 metrics: mae, rmse, one family)" in out
