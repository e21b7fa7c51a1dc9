"""A terminal's leaderboard fits 100 columns by default; ``--wide``, the Markdown and the CSV keep
every column (hashes, every metric, the full tuning note)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import run_bench

SUITE = """
name: compact
seed: 0
datasets:
  - name: synthetic-ratings
    label: a-long-dataset-label
    options: {n_users: 60, n_items: 40, density: 0.3, rank: 2}
    split: {method: kfold, k: 3}
models:
  - global-mean
  - bias-baseline
  - name: truncated-svd
    grid: {n_components: [2, 3]}
metrics: [rmse, mae, fcp]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("compact")
    (root / "suite.yaml").write_text(SUITE)
    result = run_bench("run", str(root / "suite.yaml"), "--out", str(root / "out"), "--executor", "inline", "-q")
    assert result.returncode == 0, result.stderr
    return root / "out", result.stdout


def test_the_printed_and_the_default_leaderboard_fit_100_columns(run):
    directory, printed = run
    shown = run_bench("leaderboard", str(directory))
    assert shown.returncode == 0, shown.stderr
    for text in (printed, shown.stdout):
        assert max(len(line) for line in text.splitlines()) <= 100, text
        header = next(line for line in text.splitlines() if line.startswith("#"))
        assert "rmse" in header and "config" not in header and "split" not in header
        assert "left out to fit 100 columns:" in " ".join(text.split()) and "--wide" in text
    assert "truncated-svd(n_components=3)" in shown.stdout  # every line is there, only columns go


def test_wide_markdown_and_csv_keep_every_column(run):
    directory, _ = run
    wide = run_bench("leaderboard", str(directory), "--wide").stdout
    header = next(line for line in wide.splitlines() if line.startswith("#"))
    for column in ("rmse (mean ± s.d. over folds)", "fcp (mean", "seeds", "predict s", "config", "split"):
        assert column in header, column
    assert max(len(line) for line in wide.splitlines()) > 100
    markdown = run_bench("leaderboard", str(directory), "--format", "md").stdout
    assert "| config" in markdown.replace("|  ", "| ") or " config " in markdown
    rows = list(csv.DictReader(io.StringIO(run_bench("leaderboard", str(directory), "--format", "csv").stdout)))
    assert len(rows) == 4 and all(r["config_id"] and r["split_fingerprint"] and r["fcp_mean"] for r in rows)


def test_columns_are_left_out_in_a_stated_order_until_the_table_fits():
    from benchmark.leaderboard.lines import Line
    from benchmark.leaderboard.tables import Columns, fitted, left_out

    line = Line("d", "rating", "model-" + "x" * 30, {}, config_id="c" * 16, dataset_checksum="k", split="kfold")
    for metric, value in (("rmse", 0.9), ("mae", 0.7), ("mse", 0.8), ("fcp", 0.6)):
        line.fold_values[metric] = {"f1": [value], "f2": [value + 0.01]}
    columns = Columns.of([line], ["rmse", "mae", "mse", "fcp"])
    narrow = fitted(columns, [line], width=70)
    assert {"config", "split", "seeds", "predict s", "fit s"} <= narrow.hidden
    assert "rmse" not in narrow.hidden and "model" not in narrow.hidden
    assert "fcp" in narrow.hidden or "mse" not in narrow.hidden  # the last metrics go first
    assert sum(len(h) for h in narrow.headers()) < 70
    assert left_out(narrow, 70).startswith("left out to fit 70 columns: ")
    roomy = fitted(columns, [line], width=300)
    assert roomy.hidden == {"config", "split", "runs"} and roomy.headers()[2] == "rmse"
