"""A tuned line aggregates one search per (outer fold, seed): its ``(N failed)`` counts the failed
trials of every one of those searches, not only of the last refit it was given."""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.runner import RunOptions, run_suite
from tests.test_hardening_tuning import suite

QUIET = open(os.devnull, "w")

# random points of p in 0..9: the model crashes at p = 1 and p = 3, so each search (outer fold,
# seed) draws its own points and fails its own number of trials
RANDOM = "{space: {p: {low: 0, high: 9}}, objective: rmse, search: random, trials: 5, split: {method: holdout}}"


def _run(tmp_path: Path, tune: str, seeds: str = "seeds: [0, 1]\n", outer: str = "{method: kfold, k: 2}"):
    path = suite(tmp_path, tune)
    text = path.read_text().replace("name: t\n", "name: t\n" + seeds).replace("{method: kfold, k: 2}", outer)
    path.write_text(text)
    return run_suite(path, RunOptions(out=tmp_path / "out", executor="inline"), stream=QUIET)


def test_the_tuned_line_counts_the_failed_trials_of_every_search(tmp_path):
    result = _run(tmp_path, RANDOM)
    refits = [r for r in result.rows if r.get("tuning", {}).get("role") == "refit"]
    assert sorted((r["seed"], r["fold"]) for r in refits) == [(0, 0), (0, 1), (1, 0), (1, 1)]  # 4 searches
    per_search = [r["tuning"]["failed_trials"] for r in refits]
    assert len(set(per_search)) > 1  # the searches failed different numbers of trials
    crashed = [t for t in result.failed_trials if "flaky crash" in str(t["error"])]
    assert sum(per_search) == len(crashed) == len(result.failed_trials) > max(per_search)
    (line,) = result.lines
    expected = f"tuned: 5 trials ({len(crashed)} of 20 failed), random, inner holdout"
    assert line.tuned == expected
    text = " ".join(result.text.split())
    assert expected.removeprefix("tuned: ") in text  # the leaderboard's tuning column
    assert f'"{len(crashed)} of 20 failed": 20 trials in 4 searches' in text  # and its legend


def test_one_search_keeps_its_own_count(tmp_path):
    result = _run(tmp_path, "{space: {p: [0, 1, 2, 3, 4]}, objective: rmse, split: {method: holdout}}",
                  seeds="seed: 0\n", outer="{method: holdout}")
    (refit,) = [r for r in result.rows if r.get("tuning", {}).get("role") == "refit"]
    assert refit["tuning"]["failed_trials"] == 2  # p = 1 and p = 3
    (line,) = result.lines
    assert line.tuned == "tuned: 5 trials (2 failed), grid, inner holdout"
    assert "failed trials: counted over" not in result.text
