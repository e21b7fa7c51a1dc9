"""A stopped run's leaderboard is judged by what its runner planned: a line with fewer planned
(fold, seed) results than planned is ``incomplete (k/n folds)`` with n from the plan and not
ranked; a planned configuration with no row is listed ``no results yet``. The runner's own
leaderboard after Ctrl-C and ``bench leaderboard`` say the same; runs stored without the plan
record keep the old judgement (by the folds stored). A tuned model stopped during its trials is
listed too (``no results yet`` with its ``tuned: …`` note), and ``bench compare`` of a run with
only trials says one thing: nothing to compare."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmark import leaderboard, report, resultset
from benchmark.runner import RunInterrupted, RunOptions, run_suite
from tests.conftest import StopAfter, run_bench

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


# --- A tuned model stopped during its trials ----------------------------------------------------

TUNED = """\
name: stopped-tuned
datasets:
  - name: synthetic-ratings
    label: first
    options: {n_users: 40, n_items: 30, density: 0.3, rank: 2}
    split: {method: kfold, k: 3}
models:
  - {name: truncated-svd, label: tsvd, params: {n_components: 2}}
  - name: truncated-svd
    tune: {space: {n_components: [1, 2, 3]}, search: random, trials: 2, objective: rmse}
metrics: [rmse]
"""
TUNED_ONLY = TUNED.replace("  - {name: truncated-svd, label: tsvd, params: {n_components: 2}}\n", "")
NOTE = "tuned: 2 trials, random, inner holdout 10 %"


def test_a_run_stopped_during_the_trials_lists_the_tuned_line_with_no_results_yet(tmp_path):
    _, run, printed = stopped_run(tmp_path, TUNED, after=5)  # tsvd's 3 folds and 3 of 6 trials
    assert printed == leaderboard.show(resultset.load([run]))
    got = lines_of(run)
    assert (got[("first", "tsvd")].rank, got[("first", "tsvd")].note) == (1, "")
    tuned = got[("first", "truncated-svd tuned")]
    assert (tuned.note, tuned.tuned, tuned.rank, tuned.cells, tuned.expected_folds) == \
        ("no results yet", NOTE, None, 0, 3)
    assert "truncated-svd tuned" in printed and NOTE.removeprefix("tuned: ") in printed  # the column is "tuning"


def test_a_run_with_only_trials_lists_the_tuned_line_and_compare_says_one_thing(tmp_path):
    _, run, printed = stopped_run(tmp_path, TUNED_ONLY, after=3)
    assert [(line.model, line.note, line.tuned) for line in lines_of(run).values()] == \
        [("truncated-svd tuned", "no results yet", NOTE)]
    assert "no results yet" in printed
    shown = run_bench("compare", str(run), str(run))
    assert shown.returncode == 0, shown.stderr
    assert "nothing to compare" in shown.stdout
    assert "no paired cells" not in shown.stdout and "every cell was paired" not in shown.stdout
    page = report.build_html([run, run])
    assert "nothing to compare" in page and "every cell was paired" not in page


def test_a_tuned_line_with_some_refits_counts_the_planned_folds(tmp_path):
    _, run, _ = stopped_run(tmp_path, TUNED_ONLY, after=6)  # 6 trials, then the refit of fold 1
    tuned = lines_of(run)[("first", "truncated-svd tuned")]
    assert (tuned.note, tuned.tuned, tuned.rank, tuned.cells) == ("incomplete (1/3 folds)", NOTE, None, 1)


def test_resuming_a_stopped_tuned_run_completes_and_ranks_the_tuned_line(tmp_path):
    suite, run, _ = stopped_run(tmp_path, TUNED, after=5)
    run_suite(suite, RunOptions(out=run, executor="inline"), stream=QUIET)
    lines = leaderboard.board(resultset.load([run])).lines
    assert sorted(line.rank for line in lines) == [1, 2] and all(line.complete and not line.note for line in lines)
    assert [line.tuned for line in lines if line.model == "truncated-svd tuned"] == [NOTE]


def test_a_record_without_tuned_lines_shows_the_tuned_model_only_once_refits_exist(tmp_path):
    _, run, _ = stopped_run(tmp_path, TUNED, after=5)
    environment = json.loads((run / "environment.json").read_text())
    for table in environment[leaderboard.PLANNED]["tables"]:  # as bench wrote it before it recorded them
        tuned = table.pop("tuned")
        table["configurations"] = [i for i in table["configurations"] if i not in tuned]
    (run / "environment.json").write_text(json.dumps(environment))
    assert list(lines_of(run)) == [("first", "tsvd")]


def test_a_tuned_line_the_stored_suite_no_longer_tunes_is_not_planned(tmp_path):
    _, run, _ = stopped_run(tmp_path, TUNED, after=5)
    (run / "suite.yaml").write_text(TUNED.replace("objective: rmse", "objective: mae"))
    assert list(lines_of(run)) == [("first", "tsvd")], "as in_suite leaves out that search's refits"


def test_a_tpe_search_stopped_during_its_trials_is_planned_with_its_budget(tmp_path):
    pytest.importorskip("optuna")
    text = TUNED_ONLY.replace("search: random, trials: 2", "search: tpe, trials: 3")
    _, run, _ = stopped_run(tmp_path, text, after=2)
    [line] = lines_of(run).values()
    assert (line.model, line.note, line.tuned) == \
        ("truncated-svd tuned", "no results yet", "tuned: 3 trials, tpe, inner holdout 10 %")
