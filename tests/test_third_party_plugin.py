"""A pip-installed third-party plugin is found through its entry point, runs in a suite, shows
its parameters, and passes its own tests (which use the conformance kit)."""

from __future__ import annotations

import os
import subprocess
import sys

from benchmark.store import read_rows
from tests.conftest import ROOT, run_bench

EXAMPLE = ROOT / "examples" / "bench-item-mean"


def test_installed_plugin_is_discovered_and_runs(tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(EXAMPLE)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = run_bench("plugins", env=env)
    line = next(l for l in listed.stdout.splitlines() if l.startswith("item-mean"))
    assert "bench-item-mean 1.0.0" in line and "yes" in line
    assert "unusable plugins" not in listed.stdout, listed.stdout
    detail = run_bench("plugins", "item-mean", env=env)
    assert detail.returncode == 0, detail.stderr
    shrinkage = next(l for l in detail.stdout.splitlines() if l.startswith("shrinkage"))
    assert shrinkage.split()[:5] == ["shrinkage", "number", "5.0", ">=", "0"], detail.stdout
    assert "pseudo-ratings at the global mean added to every" in shrinkage

    suite = tmp_path / "suite.yaml"
    suite.write_text("name: third-party\nsplit: {method: holdout}\ndatasets: [movielens-latest-small]\n"
                     "models: [item-mean, global-mean]\nmetrics: [rmse]\n")
    result = run_bench("run", str(suite), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["model"]: r for r in read_rows(tmp_path / "out" / "cells.jsonl")}
    assert rows["item-mean"]["plugin"] == {"name": "item-mean", "distribution": "bench-item-mean",
                                           "version": "1.0.0"}
    assert rows["item-mean"]["metrics"]["rmse"] < rows["global-mean"]["metrics"]["rmse"]

    # the package's own tests, as its author runs them, against the installed copy
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), str(EXAMPLE / "tests")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env})
    assert own.returncode == 0, own.stdout + own.stderr
    assert "3 passed" in own.stdout


def test_the_write_a_plugin_example_runs_and_passes_its_tests(tmp_path):
    """docs/writing-plugins.md walks through examples/write-a-plugin: it must keep working."""
    folder = ROOT / "examples" / "write-a-plugin"
    log = tmp_path / "finished.jsonl"
    result = run_bench("run", str(folder / "suite.yaml"), "--out", str(tmp_path / "out"), "-q",
                       env={"MY_PLUGIN_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    rows = read_rows(tmp_path / "out" / "cells.jsonl")
    assert len(rows) == 6 and all(r["status"] == "ok" and not r.get("metric_errors") for r in rows)
    toy = {r["model"]: r["metrics"]["rmse"] for r in rows if r["dataset"] == "toy-ratings"}
    assert toy["user-mean(shrinkage=0)"] < toy["global-mean"]
    assert all(any(a.endswith("worst-users.csv") for a in r["artifacts"]) for r in rows)
    assert len(log.read_text().splitlines()) == 6
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), str(folder / "test_my_plugin.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert own.returncode == 0, own.stdout + own.stderr
