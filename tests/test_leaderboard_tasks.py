"""One table per (dataset label, task): two runs that use one dataset label for a rating and a
ranking task keep both leaderboards — in the table, the Markdown, the CSV, the report and its
analysis across datasets — and ``bench compare`` never pairs a rating cell with a ranking one."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from benchmark import compare, leaderboard, report, resultset
from tests.conftest import inline_runs
from tests.test_compare import bench_cli

DATASETS = """\
datasets:
  - name: synthetic-ratings
    label: small
    {task}options: {{n_users: 40, n_items: 30, density: 0.3, rank: 2}}
    split: {{method: kfold, k: 2}}
  - name: synthetic-ratings
    label: large
    {task}options: {{n_users: 60, n_items: 30, density: 0.3, rank: 2}}
    split: {{method: kfold, k: 2}}
"""
RATING = ("name: rating\nseed: 0\n" + DATASETS.format(task="")
          + "models: [global-mean, bias-baseline, {name: truncated-svd, params: {n_components: 2}}]\n"
            "metrics: [rmse, mae]\n")
RANKING = ("name: ranking\nseed: 0\n" + DATASETS.format(task="task: ranking\n    ")
           + "models: [most-popular, global-mean, bias-baseline]\nmetrics: [ndcg@10, recall@10]\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """``(rating, ranking)``: two runs of the same data under the same labels."""
    rating, ranking = inline_runs(tmp_path_factory.mktemp("tasks"), {"rating": RATING, "ranking": RANKING})
    return rating, ranking


def _tables(text: str) -> dict[str, str]:
    """``{title: table}`` of a rendered leaderboard."""
    blocks = [block.split("\n", 1) for block in text.strip().split("\n\n")]
    return {title: body for title, body in blocks if "(" in title}


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["rating-first", "ranking-first"])
def test_each_task_of_a_label_has_its_own_ranked_table(runs, order):
    loaded = resultset.load([runs[i] for i in order])
    lines = leaderboard.board(loaded).lines
    assert {(line.dataset, line.task) for line in lines} == {
        (d, t) for d in ("small", "large") for t in ("rating", "ranking")}
    for (_, task), table in leaderboard.by_table(lines).items():
        assert sorted(line.rank for line in table) == [1, 2, 3], task
        assert all(line.complete and not line.note for line in table)
    tables = _tables(leaderboard.show(loaded))
    assert set(tables) == {"small (rating)", "small (ranking)", "large (rating)", "large (ranking)"}
    assert " rmse " in tables["small (rating)"] and "ndcg@10" not in tables["small (rating)"]
    assert " ndcg@10 " in tables["small (ranking)"] and "rmse" not in tables["small (ranking)"]
    assert "no result" not in leaderboard.show(loaded)


def test_markdown_and_csv_keep_both_tasks(runs):
    code, markdown, _ = bench_cli("leaderboard", str(runs[1]), str(runs[0]), "--format", "md")
    assert code == 0 and "## small (rating)" in markdown and "## small (ranking)" in markdown
    code, out, _ = bench_cli("leaderboard", str(runs[1]), str(runs[0]), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    rating = [r for r in rows if r["dataset"] == "small" and r["task"] == "rating"]
    assert sorted(r["rank"] for r in rating) == ["1", "2", "3"] and all(r["rmse_mean"] for r in rating)


def test_the_report_shows_both_leaderboards_charts_and_analyses(runs):
    page = report.build_html([runs[1], runs[0]])
    for title in ("small (rating)", "small (ranking)", "large (rating)", "large (ranking)"):
        assert page.count(f"<h3>{title}</h3>") == 2, title  # the leaderboard and the charts
    assert "rmse on small (rating)" not in page and "rmse on small" in page and "ndcg@10 on small" in page
    # each task analysed apart; with 2 datasets no pair can differ (issue 26): the reason, no diagram
    assert "rating on 2 datasets: Friedman p = " in page and "ranking on 2 datasets: Friedman p = " in page
    assert page.count("so no critical-difference diagram") == 2


def test_compare_pairs_only_within_a_task(runs):
    rating, ranking = (resultset.read_run(run) for run in runs)
    result = compare.compare(rating, ranking, by="label")
    assert result.rows == []  # global-mean and bias-baseline are in both runs, under other tasks
    reasons = {(u.side, u.model, u.reason) for u in result.unpaired}
    assert ("A", "global-mean", "different task (rating in A, ranking in B)") in reasons
    assert ("B", "bias-baseline", "different task (ranking in B, rating in A)") in reasons
