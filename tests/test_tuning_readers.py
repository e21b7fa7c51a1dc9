"""Reading a tuned run: the trials of a ``tune:`` search are stored cells, but not results.

One real, small tuned run (truncated-svd searching a 2-point grid on an inner holdout of each
of 2 outer folds, beside global-mean) read by every reader: the leaderboard has one marked line
per tuned model, compare never pairs or lists a trial, ``bench results`` shows what each outer
fold chose, the report draws each search, and no trial leaves a units file behind.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import compare, leaderboard, report, results, resultset, tuning
from tests.conftest import inline_runs
from tests.test_compare import bench_cli
from tests.test_lazy_imports import PROBE

NOTE = "tuned: 2 trials, grid, inner holdout 20 %"

TUNED = """\
name: tuned-tiny
seed: 1
datasets:
  - name: synthetic-ratings
    options: {n_users: 40, n_items: 30, density: 0.3, rank: 2}
    split: {method: kfold, k: 2}
models:
  - global-mean
  - name: truncated-svd
    tune:
      space: {n_components: [1, 3]}
      objective: rmse
      split: {method: holdout, test_size: 0.2}
metrics: [rmse, mae]
"""
UNTUNED = TUNED[:TUNED.index("  - name: truncated-svd")] + "metrics: [rmse, mae]\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """``(tuned, untuned)`` run directories of the same data and outer folds."""
    tuned, untuned = inline_runs(tmp_path_factory.mktemp("tuned-readers"), {"tuned": TUNED, "untuned": UNTUNED})
    return tuned, untuned


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


# --- The result set: trials apart ---------------------------------------------------------------


def test_trials_are_kept_apart_from_the_results(runs):
    tuned, _ = runs
    run = resultset.read_run(tuned)
    assert sorted(row.model for row in run.rows) == ["global-mean"] * 2 + ["truncated-svd tuned"] * 2
    assert not any(tuning.is_trial(row) for row in run.rows) and run.warnings == []
    assert len(run.trials) == 2 * 2 and all(tuning.is_trial(row) for row in run.trials)
    refits = [row for row in run.rows if row.tuning is not None]
    assert len(refits) == 2 and all(resultset.is_refit(row) for row in refits)
    assert not any(resultset.is_refit(row) for row in run.trials + [r for r in run.rows if r not in refits])
    assert {i for row in refits for i in row.tuning.trial_cell_ids} == {row.cell_id for row in run.trials}
    loaded = resultset.load([tuned])
    assert len(loaded.rows) == 4 and len(loaded.trials) == 4




@pytest.mark.parametrize("command", [["leaderboard"], ["compare", "--all"]])
def test_reading_a_tuned_run_loads_neither_pandas_nor_the_tuning_machinery(runs, command):
    argv = [command[0], str(runs[0]), *command[1:]]
    probe = PROBE.format(argv=argv, heavy=["pandas", "benchmark.tuning"])
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"bench {' '.join(command)} imported {result.stdout.strip()}"


def test_a_rerun_trial_counts_once_and_bad_rows_are_named_by_their_line(runs, tmp_path):
    run = _copy(runs[0], tmp_path / "edited")
    rows = [json.loads(line) for line in (run / "cells.jsonl").open()]
    trial = next(row for row in rows if tuning.is_trial(row))
    with (run / "cells.jsonl").open("a") as handle:  # the trial retried, then two damaged rows
        handle.write(json.dumps({**trial, "metrics": {"rmse": 9.0}}) + "\n")
        handle.write(json.dumps({**trial, "cell_id": "t-bad", "fold": "x"}) + "\n")
        handle.write(json.dumps({**rows[0], "cell_id": "r-bad", "seed": "y"}) + "\n")
    read = resultset.read_run(run)
    again = [row for row in read.trials if row.cell_id == trial["cell_id"]]
    assert len(read.trials) == 4 and [row.metrics["rmse"] for row in again] == [9.0]
    n = len(rows)
    assert read.warnings == [f"{run / 'cells.jsonl'}: 2 rows set aside (line {n + 2}: fold: expected an integer, "
                             f"got 'x'; line {n + 3}: seed: expected an integer, got 'y')"]


# --- Leaderboard: one marked line per tuned model -----------------------------------------------


def test_the_leaderboard_has_one_line_per_tuned_model_marked_alike_in_table_md_and_csv(runs):
    tuned, _ = runs
    code, table, err = bench_cli("leaderboard", str(tuned))
    assert code == 0 and err == ""
    lines = [line for line in table.splitlines() if "global-mean" in line or "truncated-svd" in line]
    assert len(lines) == 2  # not one line per trial point
    shown = NOTE.removeprefix("tuned: ")  # the terminal table's column is headed "tuning"
    assert shown in next(line for line in lines if "truncated-svd tuned" in line)
    assert shown not in next(line for line in lines if "global-mean" in line)
    assert "tuning" in table.splitlines()[1] and "not in the current suite" not in table

    _, markdown, _ = bench_cli("leaderboard", str(tuned), "--format", "md")
    header = next(line for line in markdown.splitlines() if line.startswith("| #"))
    row = next(line for line in markdown.splitlines() if "truncated-svd tuned" in line)
    cells = [c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]
    assert dict(zip(*cells))["tuning"] == NOTE

    _, text, _ = bench_cli("leaderboard", str(tuned), "--format", "csv")
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"global-mean", "truncated-svd tuned"}
    assert rows["truncated-svd tuned"]["tuning"] == NOTE and rows["global-mean"]["tuning"] == ""
    assert rows["truncated-svd tuned"]["folds"] == "2" and rows["truncated-svd tuned"]["complete"] == "true"


def test_the_runner_and_the_reader_write_the_same_tuned_line(runs):
    tuned, _ = runs
    written = {r["model"]: r for r in csv.DictReader((tuned / "leaderboard.csv").open())}
    assert written["truncated-svd tuned"]["tuning"] == NOTE
    read = leaderboard.build(resultset.read_run(tuned).rows + resultset.read_run(tuned).trials,
                             {"rating": ["rmse", "mae"]}, {"rmse": False, "mae": False})
    assert [line.model for line in read] == [m for m in written]  # trial rows given directly: left out


def test_refits_stay_in_the_current_suite_with_or_without_the_planned_record(runs, tmp_path):
    tuned, _ = runs
    assert leaderboard.PLANNED in json.loads((tuned / "environment.json").read_text())
    old = _copy(tuned, tmp_path / "old")  # a run stored before the runner recorded what it planned
    environment = json.loads((old / "environment.json").read_text())
    del environment[leaderboard.PLANNED]
    (old / "environment.json").write_text(json.dumps(environment))
    for run in (tuned, old):
        board = leaderboard.board(resultset.load([run]))
        assert [line.model for line in board.lines] == ["truncated-svd tuned", "global-mean"] and board.note == ""
    for run in (tuned, old):  # the stored suite now tunes for another objective: that search is not its
        (run / "suite.yaml").write_text(TUNED.replace("objective: rmse", "objective: mae"))
        board = leaderboard.board(resultset.load([run]))
        assert [line.model for line in board.lines] == ["global-mean"] and board.note.startswith("1 stored")
        assert [line.model for line in leaderboard.board(resultset.load([run]), all_stored=True).lines] == \
            ["truncated-svd tuned", "global-mean"]
        (run / "suite.yaml").write_text(TUNED)


# --- Compare: refits paired, trials never listed ----------------------------------------------


def test_compare_pairs_the_refits_and_never_lists_a_trial(runs, tmp_path):
    tuned, untuned = runs
    again = _copy(tuned, tmp_path / "again")
    same = compare.compare(resultset.read_run(tuned), resultset.read_run(again))
    assert sorted(row.model for row in same.rows) == ["global-mean", "truncated-svd tuned"]
    assert same.unpaired == []
    other = compare.compare(resultset.read_run(tuned), resultset.read_run(untuned))
    assert [row.model for row in other.rows] == ["global-mean"]
    assert sorted((u.side, u.model, u.fold) for u in other.unpaired) == [
        ("A", "truncated-svd tuned", "1/2"), ("A", "truncated-svd tuned", "2/2")]  # the refits; no trial
    code, out, _ = bench_cli("compare", str(tuned), str(untuned))
    assert code == 0 and "trial" not in out


def test_compare_rows_pairs_a_tuned_line_with_an_untuned_one_fold_by_fold(runs):
    tuned, _ = runs
    result = compare.compare_inside(resultset.read_run(tuned), compare.Inside(rows=("global-mean", "truncated-svd tuned")))
    assert [(row.model, row.n) for row in result.rows if row.metric == "rmse"] == [
        ("global-mean → truncated-svd tuned", 2)]


# --- bench results: what each outer fold chose ----------------------------------------------------


def test_results_show_the_chosen_parameters_per_outer_fold(runs):
    tuned, _ = runs
    frame = results.load(tuned)
    assert len(frame) == 4 and set(frame["tuning"].dropna()) == {"refit"}
    refits = {row.fold: row for row in resultset.read_run(tuned).rows if row.tuning is not None}
    for _, row in frame[frame["tuning"] == "refit"].iterrows():
        assert json.loads(row["chosen"]) == refits[row["fold"]].tuning.chosen
        assert set(json.loads(row["chosen"])) == {"n_components"}
    assert frame[frame["model"] == "global-mean"]["chosen"].isna().all()

    code, out, _ = bench_cli("results", str(tuned), "--trials", "--format", "json")
    records = json.loads(out)
    trials = [r for r in records if r["tuning"] == "trial"]
    assert code == 0 and len(records) == 8 and len(trials) == 4
    assert sorted(r["fold"] for r in trials) == [0, 0, 1, 1]  # each with its outer fold
    assert all(r["chosen"] is None and "trial" in r["fold_name"] for r in trials)
    assert all(r["cell_id"] in refits[r["fold"]].tuning.trial_cell_ids for r in trials)
    _, plain, _ = bench_cli("results", str(tuned), "--format", "json")
    assert len(json.loads(plain)) == 4

    trial_id = trials[0]["cell_id"]
    code, record, _ = bench_cli("results", str(tuned), "--cell", trial_id[:10])
    assert code == 0 and json.loads(record)["tuning"]["role"] == "trial"


# --- bench report: each search drawn -----------------------------------------------------------------


def test_the_report_draws_each_search_with_the_chosen_points(runs):
    tuned, untuned = runs
    page = report.build_html([tuned])
    assert page.count("<h2>Searches</h2>") == 1
    assert 'alt="search of truncated-svd tuned on synthetic-ratings"' in page
    section = page[page.index("<h2>Searches</h2>"):page.index("<h2>Provenance</h2>")]
    assert f"<h4>truncated-svd tuned ({NOTE.removeprefix('tuned: ')})</h4>" in section
    for row in resultset.read_run(tuned).rows:
        if row.tuning is not None:  # the key: every outer fold with the point it chose
            chosen = json.dumps(row.tuning.chosen, sort_keys=True).replace('"', "&quot;")
            assert f"<td>fold {row.fold_name}</td><td>{chosen}</td>" in section
    assert "<h2>Searches</h2>" not in report.build_html([untuned])


def test_search_history_numbers_trials_as_the_refit_did():
    """Trial n is the n-th group of the refit's trial cells, even when two trials drew one point."""
    def trial(cell_id: str, value: float, rmse: float) -> dict:
        return {"cell_id": cell_id, "status": "ok", "config": {"value": value, "other": 1},
                "metrics": {"rmse": rmse}, "tuning": {"role": "trial"}}

    rows = [trial("a1", 1.0, 0.9), trial("a2", 1.0, 0.7), trial("b1", 2.0, 0.5), trial("b2", 2.0, 0.6)]
    refit = {"config": {"tune": {"space": {"value": [1.0, 2.0]}}},
             "tuning": {"role": "refit", "objective": "rmse", "trials": 3, "trial": 3, "chosen": {"value": 2.0},
                        "trial_cell_ids": ["a1", "a2", "b1", "b2", "b1", "b2"]}}
    history = tuning.search_history(refit, rows)
    assert [(h["trial"], h["params"], h["objective"], h["chosen"]) for h in history] == [
        (1, {"value": 1.0}, pytest.approx(0.8), False), (2, {"value": 2.0}, pytest.approx(0.55), False),
        (3, {"value": 2.0}, pytest.approx(0.55), True)]
    assert tuning.search_history(refit, {r["cell_id"]: r for r in rows}) == history  # indexed once by a reader
    missing = tuning.search_history(refit, rows[:2])
    assert [h["objective"] for h in missing] == [pytest.approx(0.8), None, None]


# --- execute: no units file for a trial -------------------------------------------------------------


def test_trials_leave_no_units_file_and_refits_keep_theirs(runs):
    tuned, _ = runs
    run = resultset.read_run(tuned)
    assert all(row.units is None for row in run.trials)
    assert all(row.units for row in run.rows)
    assert sorted(p.name for p in (tuned / "units").iterdir()) == sorted(f"{row.cell_id}.npz" for row in run.rows)
