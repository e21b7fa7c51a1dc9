"""When a ranking cell asks for N sampled negatives and a user has fewer items to draw from, the
row records what was actually drawn, and the warning reaches the run's output and the leaderboard
(issue 29.7)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run_bench

SUITE = """
name: negatives
seed: 0
datasets:
  - name: synthetic-ratings
    task: ranking
    threshold: 4
    negatives: 35
    options: {n_users: 60, n_items: 40, density: 0.3}
    split: {method: user-holdout, test_size: 0.25}
models: [most-popular]
metrics: [ndcg@10, recall@50]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("negatives")
    (root / "suite.yaml").write_text(SUITE)
    result = run_bench("run", str(root / "suite.yaml"), "--out", str(root / "out"))
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(line) for line in (root / "out" / "cells.jsonl").read_text().splitlines()]
    return root, result, row


def test_the_row_records_the_negatives_actually_drawn(run):
    root, _, row = run
    counts = row["counts"]
    assert counts["n_sampled_negatives"] == 35  # asked
    # 40 items, each user touched ~12 in training and test: fewer than 35 left to draw from
    assert 0 < counts["n_users_short_of_negatives"] <= counts["n_users_evaluated"]
    assert counts["n_negatives_drawn_min"] < 35
    exported = run_bench("results", str(root / "out"), "--rankings", str(root / "trec"))
    assert exported.returncode == 0, exported.stderr
    lists: dict[str, int] = {}
    for line in (root / "trec" / f"{row['cell_id']}.run").read_text().splitlines():
        user = line.split()[0]
        lists[user] = lists.get(user, 0) + 1
    relevant: dict[str, int] = {}
    for line in (root / "trec" / f"{row['cell_id']}.qrels").read_text().splitlines():
        user = line.split()[0]
        relevant[user] = relevant.get(user, 0) + 1
    drawn = [lists[user] - relevant[user] for user in relevant]  # every candidate is listed (k = 50 > 40 items)
    assert min(drawn) == counts["n_negatives_drawn_min"]
    assert sum(d < 35 for d in drawn) == counts["n_users_short_of_negatives"]


def test_the_warning_is_on_the_cells_line_and_under_the_leaderboard(run):
    root, result, row = run
    short, fewest = row["counts"]["n_users_short_of_negatives"], row["counts"]["n_negatives_drawn_min"]
    expected = f"{short} user(s) had fewer than 35 sampled negatives (fewest {fewest})"
    cell_line = next(line for line in result.stderr.splitlines() if line.startswith("[1/1]"))
    assert cell_line.endswith("warning: " + expected)
    board = run_bench("leaderboard", str(root / "out")).stdout
    assert f"most-popular: {expected}" in " ".join(board.split())
    (line,) = csv.DictReader(io.StringIO(run_bench("leaderboard", str(root / "out"), "--format", "csv").stdout))
    assert line["warning"] == "warning: " + expected
