"""The report's leaderboard shows only the parameters that differ from the model's defaults, and
on the core install (no matplotlib) the report is made without charts, saying so."""

from __future__ import annotations

import sys

import pytest

from benchmark import report
from benchmark.report.sections import params_text
from tests.conftest import run_bench

SUITE = """
name: report-params
seed: 0
datasets:
  - name: synthetic-ratings
    options: {n_users: 50, n_items: 30, density: 0.3, rank: 2}
    split: {method: kfold, k: 2}
  - name: synthetic-ratings
    label: other
    options: {n_users: 40, n_items: 30, density: 0.3, rank: 2}
    split: {method: kfold, k: 2}
models:
  - bias-baseline
  - {name: truncated-svd, params: {n_components: 3}}
  - global-mean
metrics: [rmse]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "suite.yaml").write_text(SUITE)
    result = run_bench("run", str(root / "suite.yaml"), "--out", str(root / "out"), "--executor", "inline", "-q")
    assert result.returncode == 0, result.stderr
    return root / "out"


def test_the_leaderboard_shows_only_parameters_that_differ_from_the_defaults(run, tmp_path):
    page = report.build_html([run])
    table = page[page.index("<h2>Leaderboard</h2>"):page.index("<h2>Charts</h2>")]
    assert "parameters (not the defaults)" in table
    assert "n_components=3" in table
    assert table.count(">defaults<") == 4  # bias-baseline and global-mean on two datasets
    assert "n_iter" not in table and "algorithm" not in table  # truncated-svd's other parameters


def test_params_text_compares_values_as_stored():
    assert params_text({"a": 1, "b": [1, 2]}, {"a": 1, "b": (1, 2)}) == "defaults"
    assert params_text({"a": 2, "b": [1, 2]}, {"a": 1, "b": (1, 2)}) == "a=2"
    assert params_text({"a": 2, "b": "x"}, None) == 'a=2, b="x"'  # defaults unknown: every parameter


def test_without_matplotlib_the_report_has_no_charts_and_says_so(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    told: list[str] = []
    path = report.write([run], tmp_path / "report.html", warn=told.append)
    page = path.read_text()
    assert told == ["matplotlib is not installed: the report has no charts "
                    "(pip install 'bench-harness[plots]' draws them)"]
    assert "matplotlib is not installed" in page and "data:image/svg" not in page
    assert "<h2>Leaderboard</h2>" in page and "<h2>Provenance</h2>" in page and "<h2>Charts</h2>" not in page
    assert "Across datasets" in page  # the Friedman analysis stays, as a table


def test_the_command_says_it_in_one_warning_line(run, tmp_path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "matplotlib.py").write_text("raise ImportError('not installed (test)')\n")
    result = run_bench("report", str(run), "-o", str(tmp_path / "r.html"),
                       env={"PYTHONPATH": str(hide)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("matplotlib is not installed") == 1 and (tmp_path / "r.html").is_file()
