"""Issue 29, item 4: a finite metric value so large that averaging it overflows (1e308: two of
them overflow ``math.fsum``) is that metric's error, never a reader's crash -- at the source
(a new cell records it as a metric error) and for a row stored before the rule (the reader
moves it to the row's metric errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.numbers import LARGEST, metric_problem
from tests.conftest import run_bench

HUGE = '''
from benchmark.api import RATING, MetricSpec, hookimpl

def huge(y_true, y_pred):
    return 1e308

@hookimpl
def bench_metrics():
    return [MetricSpec("huge", huge, RATING, greater_is_better=False)]
'''

SUITE = """\
name: overflow
plugins: [huge.py]
datasets: [{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.5}}]
split: {method: kfold, k: 3}
metrics: [huge, rmse]
models: [{name: global-mean}, {name: bias-baseline}]
"""


def test_the_rule_bounds_magnitude_and_finiteness_alike():
    assert metric_problem(0.93) == "" and metric_problem(-LARGEST) == ""
    assert metric_problem(float("nan")) == "non-finite value nan"
    assert metric_problem(1e308) == "value 1e+308 too large to average (beyond ±1e+150)"
    assert metric_problem(-1e200).startswith("value -1e+200 too large")


@pytest.fixture(scope="module")
def huge_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("overflow")
    (root / "huge.py").write_text(HUGE)
    (root / "s.yaml").write_text(SUITE)
    result = run_bench("run", str(root / "s.yaml"), "--out", str(root / "out"))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1  # metric errors are failures of their cells
    assert result.stderr.count("huge: value 1e+308 too large to average") == 6, result.stderr
    return root / "out"


def _readers_work(run: Path, tmp_path: Path) -> None:
    board = run_bench("leaderboard", str(run), "--wide")
    assert board.returncode == 0 and "Traceback" not in board.stderr, board.stderr
    assert "too large to average" in board.stdout + board.stderr
    report = run_bench("report", str(run), "-o", str(tmp_path / "r.html"))
    assert report.returncode == 0 and (tmp_path / "r.html").is_file(), report.stderr
    compare = run_bench("compare", str(run), "--rows", "global-mean", "bias-baseline", "--format", "json")
    assert compare.returncode == 0, compare.stderr
    rows = json.loads(compare.stdout)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert {r["metric"] for r in rows} == {"rmse"}  # the huge metric is no row: it has no values


def test_a_new_cell_records_the_value_as_its_metric_error_and_every_reader_works(huge_run, tmp_path):
    rows = [json.loads(line) for line in (huge_run / "cells.jsonl").read_text().splitlines()]
    assert all("huge" not in r["metrics"] and "rmse" in r["metrics"] for r in rows)
    assert all(r["metric_errors"]["huge"].startswith("value 1e+308 too large") for r in rows)
    _readers_work(huge_run, tmp_path)


def test_a_row_stored_before_the_rule_is_read_with_the_value_as_its_error(huge_run, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for path in huge_run.iterdir():
        if path.is_file():
            (old / path.name).write_bytes(path.read_bytes())
    lines = []
    for line in (huge_run / "cells.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["metrics"]["huge"] = 1e308  # as the store kept it before the rule
        del row["metric_errors"]["huge"]
        lines.append(json.dumps(row))
    (old / "cells.jsonl").write_text("\n".join(lines) + "\n")
    _readers_work(old, tmp_path)
