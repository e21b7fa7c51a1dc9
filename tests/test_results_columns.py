"""``bench results --columns`` selects columns; ``bench results --tuned`` shows what each outer
fold's search chose, one command away from a tuned leaderboard line."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run_bench

SUITE = """
name: tuned-columns
seed: 0
datasets:
  - name: synthetic-ratings
    options: {n_users: 40, n_items: 30, density: 0.3, rank: 2}
    split: {method: kfold, k: 2}
models:
  - global-mean
  - name: truncated-svd
    tune: {space: {n_components: [1, 2, 3]}, search: grid, objective: rmse}
metrics: [rmse, mae]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tuned")
    (root / "suite.yaml").write_text(SUITE)
    result = run_bench("run", str(root / "suite.yaml"), "--out", str(root / "out"), "--executor", "inline", "-q")
    assert result.returncode == 0, result.stderr
    return root / "out"


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_columns_selects_and_orders_and_metrics_need_no_prefix(run):
    result = run_bench("results", str(run), "--columns", "model,fold,rmse,metric.mae")
    assert result.returncode == 0, result.stderr
    got = rows(result.stdout)
    assert list(got[0]) == ["model", "fold", "metric.rmse", "metric.mae"]
    assert {r["model"] for r in got} == {"global-mean", "truncated-svd tuned"} and len(got) == 4


def test_an_unknown_column_is_one_line_with_the_nearest(run):
    result = run_bench("results", str(run), "--columns", "model,rmsee")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--columns" in result.stderr and "'rmsee'" in result.stderr and "'rmse'" in result.stderr


def test_tuned_shows_the_parameters_each_outer_fold_chose(run):
    result = run_bench("results", str(run), "--tuned")
    assert result.returncode == 0, result.stderr
    got = rows(result.stdout)
    assert [r["fold"] for r in got] == ["0", "1"] and {r["model"] for r in got} == {"truncated-svd tuned"}
    for r in got:
        assert set(json.loads(r["chosen"])) == {"n_components"}
        assert json.loads(r["chosen"])["n_components"] in (1, 2, 3)
        assert float(r["metric.rmse"]) > 0
    stored = [json.loads(line) for line in (run / "cells.jsonl").read_text().splitlines()]
    refits = {row["fold"]: row["tuning"]["chosen"] for row in stored if (row.get("tuning") or {}).get("role") == "refit"}
    assert {int(r["fold"]): json.loads(r["chosen"]) for r in got} == refits
    both = run_bench("results", str(run), "--tuned", "--columns", "fold,chosen")
    assert list(rows(both.stdout)[0]) == ["fold", "chosen"]


def test_tuned_on_a_run_without_tuning_says_so(tmp_path, run):
    result = run_bench("results", str(run), "--tuned", "--format", "md")
    assert "truncated-svd tuned" in result.stdout
    plain = tmp_path / "plain"
    plain.mkdir()
    lines = [line for line in (run / "cells.jsonl").read_text().splitlines() if '"refit"' not in line]
    (plain / "cells.jsonl").write_text("\n".join(lines) + "\n")
    result = run_bench("results", str(plain), "--tuned")
    assert result.returncode == 0 and "no tuned configuration" in result.stderr
