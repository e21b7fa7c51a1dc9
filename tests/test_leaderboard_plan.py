"""A stopped run's leaderboard is judged by what its runner planned: a line with fewer planned
(fold, seed) results than planned is ``incomplete (k/n folds)`` with n from the plan and not
ranked; a planned configuration with no row is listed ``no results yet``. The runner's own
leaderboard after Ctrl-C and ``bench leaderboard`` say the same; runs stored without the plan
record keep the old judgement (by the folds stored)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmark import leaderboard, report, resultset
from benchmark.runner import RunInterrupted, RunOptions, run_suite
from tests.conftest import StopAfter

QUIET = open(os.devnull, "w")
SUITE = """\
name: stopped
seeds: [0, 1, 2]
datasets:
  - name: synthetic-ratings
    label: first
    options: {n_users: 40, n_items: 30, density: 0.3, rank: 2}
    split: {method: kfold, k: 3}
  - name: synthetic-ratings
    label: second
    options: {n_users: 50, n_items: 30, density: 0.3, rank: 2}
    split: {method: kfold, k: 3}
models:
  - global-mean
  - bias-baseline
  - {name: truncated-svd, label: tsvd, params: {n_components: 2}}
metrics: [rmse, mae]
"""


def stopped_run(base: Path, suite: str = SUITE, after: int = 4) -> tuple[Path, Path, str]:
    """``(suite path, run directory, the leaderboard the runner printed)`` of a run stopped once
    ``after`` + 1 cells finished (cells run dataset by dataset, seed, fold, model)."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "suite.yaml").write_text(suite)
    with pytest.raises(RunInterrupted) as stopped:
        run_suite(base / "suite.yaml", RunOptions(out=base / "out", executor="inline", jobs=1),
                  stream=StopAfter(after))
    return base / "suite.yaml", base / "out", stopped.value.result.text


def lines_of(run: Path) -> dict[tuple[str, str], leaderboard.Line]:
    return {(line.dataset, line.model): line for line in leaderboard.board(resultset.load([run])).lines}


def test_a_stopped_run_ranks_no_line_with_fewer_folds_than_planned(tmp_path):
    _, run, _ = stopped_run(tmp_path)
    assert len((run / "cells.jsonl").read_text().splitlines()) == 5  # first: seed 0, folds 1 and 2
    got = lines_of(run)
    # 3 folds x 3 seeds, each seed its own split: 9 folds per line, not the 2 stored
    for model, k in (("global-mean", 2), ("bias-baseline", 2), ("tsvd", 1)):
        line = got[("first", model)]
        assert line.note == f"incomplete ({k}/9 folds)" and line.rank is None and not line.complete, model
        assert line.expected_folds == 9 and line.group == 0, "one split protocol planned: one group"
    for model in ("global-mean", "bias-baseline", "tsvd"):  # planned, never started: still listed
        line = got[("second", model)]
        assert (line.note, line.rank, line.cells, line.complete) == ("no results yet", None, 0, False)


def test_the_runners_leaderboard_after_ctrl_c_is_bench_leaderboards(tmp_path):
    _, run, printed = stopped_run(tmp_path)
    assert printed == leaderboard.show(resultset.load([run]))
    assert "incomplete (2/9 folds)" in printed and "no results yet" in printed
    written = (run / "leaderboard.md").read_text()
    assert "incomplete (2/9 folds)" in written and "no results yet" in written


def test_csv_and_report_carry_the_planned_count(tmp_path):
    _, run, _ = stopped_run(tmp_path)
    table = leaderboard.show(resultset.load([run]), "csv").splitlines()
    assert len(table) == 1 + 6, "every planned line, started or not"
    page = report.build_html([run])
    assert "incomplete (1/9 folds)" in page and "no results yet" in page


def test_resuming_completes_every_line(tmp_path):
    suite, run, _ = stopped_run(tmp_path)
    run_suite(suite, RunOptions(out=run, executor="inline"), stream=QUIET)
    lines = leaderboard.board(resultset.load([run])).lines
    assert all(line.complete and not line.note and line.expected_folds == 9 for line in lines)
    assert sorted(line.rank for line in lines if line.dataset == "first") == [1, 2, 3]


def test_a_fold_shared_by_seeds_counts_each_planned_seed(tmp_path):
    fixed = SUITE.replace("split: {method: kfold, k: 3}\n  - name", "split: {method: kfold, k: 3, seed: 7}\n  - name")
    _, run, _ = stopped_run(tmp_path, fixed, after=5)  # first: seed 0 folds 1 and 2 of the one split
    got = lines_of(run)
    assert got[("first", "global-mean")].note == "incomplete (2/9 folds × seeds)"
    assert got[("first", "global-mean")].expected_folds == 3


def test_a_run_without_the_planned_folds_is_judged_as_before(tmp_path):
    _, run, _ = stopped_run(tmp_path)
    environment = json.loads((run / "environment.json").read_text())
    for key in ("tables", "configurations"):  # as bench wrote it before it recorded them
        del environment[leaderboard.PLANNED][key]
    (run / "environment.json").write_text(json.dumps(environment))
    got = lines_of(run)
    assert {dataset for dataset, _ in got} == {"first"}
    assert got[("first", "tsvd")].note == "incomplete (1/2 folds)"
    assert got[("first", "bias-baseline")].rank == 1, "judged by the folds stored, as before"
