"""The README's main command: the default suite runs offline and prints its leaderboard."""

from __future__ import annotations

import csv

from tests.conftest import ROOT, run_bench


def test_quickstart_runs_offline(tmp_path):
    (tmp_path / "empty").mkdir()  # an empty data_dir: no local copies (a missing one is an error)
    env = {"BENCH_DATA_DIR": str(tmp_path / "empty"), "BENCH_CACHE_DIR": str(tmp_path / "cache")}
    result = run_bench("run", str(ROOT / "suites" / "quickstart.yaml"), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    assert "movielens-latest-small (rating)" in result.stdout
    assert "digits (reconstruction)" in result.stdout
    assert "0 failed" in result.stdout
    with (tmp_path / "out" / "leaderboard.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    ratings = [r for r in rows if r["dataset"] == "movielens-latest-small"]
    by_model = {r["model"]: float(r["rmse_mean"]) for r in ratings}
    assert all(r["folds"] == "5" for r in ratings)
    # model-based CF beats the baselines on real data, and the baselines are sane
    assert by_model["truncated-svd(n_components=16)"] < by_model["bias-baseline"] < by_model["global-mean"]
    assert 0.8 < by_model["truncated-svd(n_components=16)"] < 0.9 < 1.0 < by_model["global-mean"] < 1.1
    assert not list((tmp_path / "cache").glob("**/*")), "nothing is downloaded"
