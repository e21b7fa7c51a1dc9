"""A pip-installed third-party plugin is found through its entry point and runs in a suite."""

from __future__ import annotations

import os
import subprocess
import sys

from benchmark.store import read_rows
from tests.conftest import ROOT, run_bench


def test_installed_plugin_is_discovered_and_runs(tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(ROOT / "examples" / "bench-item-mean")],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = run_bench("plugins", env=env)
    line = next(l for l in listed.stdout.splitlines() if l.startswith("item-mean"))
    assert "bench-item-mean 1.0.0" in line and "yes" in line
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: third-party\nsplit: {method: holdout}\ndatasets: [movielens-latest-small]\n"
                     "models: [item-mean, global-mean]\nmetrics: [rmse]\n")
    result = run_bench("run", str(suite), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["model"]: r for r in read_rows(tmp_path / "out" / "cells.jsonl")}
    assert rows["item-mean"]["plugin"] == {"name": "item-mean", "distribution": "bench-item-mean",
                                           "version": "1.0.0"}
    assert rows["item-mean"]["metrics"]["rmse"] < rows["global-mean"]["metrics"]["rmse"]
