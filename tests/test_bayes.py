"""``bench compare --test bayes --rope R`` (issue 26): the correlated Bayesian t-test over folds
and the Bayesian signed-rank test over datasets equal ``baycomp`` on the same differences, and
the output's ``prob_better``/``prob_equivalent``/``prob_worse`` read them in the metric's
direction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark import bayes
from tests.test_compare import REFERENCE, bench_cli, read, write



@pytest.fixture
def baycomp():
    """The reference implementation (the ``test`` extra installs it)."""
    return pytest.importorskip("baycomp")


@pytest.mark.parametrize("folds, runs, rope", [(5, 1, 0.002), (10, 1, 0.0), (25, 5, 0.001), (10, 2, 0.01)])
def test_correlated_t_equals_baycomp(baycomp, folds, runs, rope):
    rng = np.random.default_rng(folds + runs)
    x = 0.94 + 0.003 * rng.standard_normal(folds)
    y = x - 0.002 + 0.002 * rng.standard_normal(folds)
    k = folds // runs  # k-fold: n_test/n_train = 1/(k − 1), baycomp's rho/(1 − rho) with rho = 1/k
    result = bayes.correlated_t(y - x, 1 / (k - 1), rope, greater_is_better=True)
    expected = baycomp.CorrelatedTTest.probs(x, y, rope, runs=runs)
    left, right = expected[0], expected[-1]
    better, equivalent, worse = result.probabilities
    assert (better, worse) == pytest.approx((right, left), abs=1e-12)
    assert equivalent == pytest.approx(expected[1] if rope > 0 else 0.0, abs=1e-12)
    # the credible interval is Student's, with the Nadeau–Bengio scale
    posterior = baycomp.CorrelatedTTest(x, y, rope, runs=runs)
    from scipy import stats

    low, high = result.ci(0.05)
    assert (low, high) == pytest.approx(stats.t.interval(0.95, posterior.df, posterior.mean, np.sqrt(posterior.var)),
                                        rel=1e-10)


@pytest.mark.parametrize("datasets, rope", [(6, 0.002), (12, 0.0), (3, 0.01)])
def test_signed_rank_equals_baycomp(baycomp, datasets, rope):
    rng = np.random.default_rng(datasets)
    x = 0.9 + 0.05 * rng.random(datasets)
    y = x - 0.003 + 0.004 * rng.standard_normal(datasets)
    mine = bayes.signed_rank_regions(y - x, rope, samples=20_000, seed=7)
    theirs = baycomp.SignedRankTest.probs(x, y, rope, nsamples=20_000, random_state=7)
    if rope == 0:
        theirs = (theirs[0], 0.0, theirs[1])
    assert mine == pytest.approx(tuple(theirs), abs=1e-12)


def _datasets_run(path, models, shift):
    """The reference folds of ``models`` copied onto 3 datasets, B's RMSE moved by ``shift(dataset, fold)``."""
    rows = []
    for number in range(3):
        for row in read(REFERENCE / "cells.jsonl"):
            if row["model"] in models:
                row = {**row, "dataset": f"set{number}", "dataset_checksum": f"d{number}" * 8,
                       "cell_id": f"{row['cell_id']}{number}"}
                row["metrics"] = {"rmse": row["metrics"]["rmse"] + shift(number, row["fold"])}
                rows.append(row)
    path.mkdir()
    write(path / "cells.jsonl", rows)
    return path


def test_bench_compare_bayes_columns_equal_baycomp(baycomp, tmp_path):
    """RMSE is lower-is-better: prob_better is baycomp's p_left (B − A below −ROPE)."""
    a = _datasets_run(tmp_path / "A", ("svd",), lambda d, f: 0.0)
    b = _datasets_run(tmp_path / "B", ("svd",), lambda d, f: -0.003 - 0.001 * d + 0.0015 * ((f * 3 + d) % 4 - 1.5))
    code, out, err = bench_cli("compare", str(a), str(b), "--test", "bayes", "--rope", "0.001", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["dataset"] for r in rows] == ["set0", "set1", "set2", "(3 datasets)"]
    a_rows, b_rows = read(a / "cells.jsonl"), read(b / "cells.jsonl")
    means = []
    for row in rows[:3]:
        x = np.array([r["metrics"]["rmse"] for r in sorted(a_rows, key=lambda r: r["fold"]) if r["dataset"] == row["dataset"]])
        y = np.array([r["metrics"]["rmse"] for r in sorted(b_rows, key=lambda r: r["fold"]) if r["dataset"] == row["dataset"]])
        left, inside, right = baycomp.CorrelatedTTest.probs(x, y, 0.001)  # 5 folds: n_test/n_train = 0.25 = 1/4
        assert (row["prob_better"], row["prob_equivalent"], row["prob_worse"]) == pytest.approx((left, inside, right),
                                                                                                abs=1e-12)
        assert row["test"] == "bayes" and row["p"] is None and row["rope"] == 0.001
        means.append((x.mean(), y.mean()))
    over = rows[3]
    x, y = np.array([m[0] for m in means]), np.array([m[1] for m in means])
    left, inside, right = baycomp.SignedRankTest.probs(x, y, 0.001, random_state=0)
    assert (over["prob_better"], over["prob_equivalent"], over["prob_worse"]) == pytest.approx((left, inside, right),
                                                                                               abs=1e-12)
    assert over["n"] == 3 and over["folds"] == 3
    for row in rows:
        probs = (row["prob_better"], row["prob_equivalent"], row["prob_worse"])
        expected = ("better" if probs[0] >= 0.95 else "worse" if probs[2] >= 0.95
                    else "practically equivalent" if probs[1] >= 0.95 else "undecided")
        assert row["verdict"] == expected
    _, table, _ = bench_cli("compare", str(a), str(b), "--test", "bayes", "--rope", "0.001")
    assert "ROPE ±0.001" in table and "(3 datasets)  svd" in table and "3 datasets" in table


def test_bayes_needs_a_rope(tmp_path):
    a = _datasets_run(tmp_path / "A", ("svd",), lambda d, f: 0.0)
    code, _, err = bench_cli("compare", str(a), str(a), "--test", "bayes")
    assert code == 2 and len(err.splitlines()) == 1 and "expected --rope R with --test bayes" in err
    code, _, err = bench_cli("compare", str(a), str(a), "--test", "bayes", "--rope", "-1")
    assert code == 2 and "expected a number ≥ 0" in err
    code, _, err = bench_cli("compare", str(a), str(a), "--rope", "0.01")
    assert code == 2 and len(err.splitlines()) == 1 and "expected --test bayes with --rope" in err


def test_a_practically_equivalent_change_is_called_so(tmp_path):
    a = _datasets_run(tmp_path / "A", ("svd",), lambda d, f: 0.0)
    b = _datasets_run(tmp_path / "B", ("svd",), lambda d, f: 0.0001 * ((f + d) % 3 - 1))
    code, out, err = bench_cli("compare", str(a), str(b), "--test", "bayes", "--rope", "0.01", "--format", "json",
                               "--fail-on-regression", "0.01")
    assert code == 0, err
    assert {r["verdict"] for r in json.loads(out)[:3]} == {"practically equivalent"}
