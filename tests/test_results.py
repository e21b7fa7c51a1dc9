"""benchmark.results.load and ``bench results``: one flat row per cell."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas
import pytest

from benchmark import results
from benchmark.errors import BenchError
from tests.test_compare import bench_cli, two_runs  # noqa: F401  (fixture)

REFERENCE = Path(__file__).resolve().parent.parent / "results" / "reference"


def test_one_row_per_cell_with_metric_columns(two_runs):
    a, b = two_runs
    frame = results.load(a)
    assert len(frame) == 15 and set(frame["run"]) == {"A"}
    assert {"metric.rmse", "metric.mae", "config_id", "dataset_checksum", "split_fingerprint", "seed",
            "fold", "params", "fit_seconds", "plugin_version"} <= set(frame.columns)
    assert frame["metric.rmse"].notna().all()
    # B is A's copy with planted changes: the same experiments, so merged they count once,
    # the later run given winning the tie of finished_at
    both = results.load(a, b)
    assert len(both) == 15 and set(both["run"]) == {"B"}
    assert len(results.load([a, b])) == 15


def test_old_rows_get_the_seedless_configuration_id(tmp_path):
    """Rows written before config_id left out the seed (no ``config`` field, a seeded id) join new ones."""
    from benchmark.cells import stable_hash

    new = [json.loads(line) for line in (REFERENCE / "surprise-ml100k" / "cells.jsonl").open()]
    old = []
    for row in new:
        row = {k: v for k, v in row.items() if k not in ("config", "code", "code_id", "run_id")}
        row["config_id"] = stable_hash({"model": row["model_plugin"], "params": row["params"], "seed": 7})
        old.append(row)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "cells.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    fresh = results.load(REFERENCE / "surprise-ml100k").set_index("cell_id")["config_id"]
    frame = results.load(tmp_path / "old")
    assert len(frame) == len(new) == 55
    assert frame.groupby("model")["config_id"].nunique().eq(1).all()
    assert (frame.set_index("cell_id")["config_id"] == fresh).all()
    assert not frame["params"].str.contains("random_state").any()


def test_not_a_results_directory(tmp_path):
    with pytest.raises(BenchError, match="no cells.jsonl"):
        results.load(tmp_path)


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_bench_results_formats(two_runs, fmt):
    a, _ = two_runs
    code, out, _ = bench_cli("results", str(a), "--format", fmt)
    assert code == 0
    if fmt == "csv":
        assert len(pandas.read_csv(io.StringIO(out))) == 15
    elif fmt == "json":
        records = json.loads(out)
        assert len(records) == 15 and "metric.rmse" in records[0]
    else:
        assert out.startswith("| run") and out.count("\n") == 17


def relabelled_run(directory: Path, first: str, others: str) -> None:
    """A run of the reference's first 10 cells, its first model labelled ``first``, the rest ``others``."""
    rows = [json.loads(line) for line in (REFERENCE / "surprise-ml100k" / "cells.jsonl").open()][:10]
    for row in rows:
        row["model"] = first if row["model"] == rows[0]["model"] else others
    directory.mkdir()
    (directory / "cells.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_csv_labels_cannot_start_a_formula(tmp_path):
    """Issue 19 (3): a label such as ``=HYPERLINK(...)`` reaches the CSV as text, not a formula."""
    relabelled_run(tmp_path / "A", "=cmd|' /C calc'!A0", "@SUM(1)")
    code, out, _ = bench_cli("results", str(tmp_path / "A"), "--format", "csv")
    frame = pandas.read_csv(io.StringIO(out))
    assert set(frame["model"]) == {"'=cmd|' /C calc'!A0", "'@SUM(1)"}
    assert (frame["metric.rmse"] > 0).all(), "numbers stay numbers"
    code, out, _ = bench_cli("compare", str(tmp_path / "A"), "--rows", "@SUM(1)", "=cmd|' /C calc'!A0",
                             "--format", "csv")
    assert "\n@" not in out and ",=" not in out and ",'@SUM(1)," in out


def test_csv_writes_a_carriage_return_in_a_label_as_backslash_r(tmp_path):
    """A bare CR is not quoted by the csv module and splits the row for readers: every bench CSV
    writes it as the two characters ``\\r`` (as leaderboard.csv always did)."""
    relabelled_run(tmp_path / "A", "svd\r=1", "\rknn")
    code, out, _ = bench_cli("results", str(tmp_path / "A"), "--format", "csv")
    assert code == 0 and "\r" not in out
    frame = pandas.read_csv(io.StringIO(out))
    assert len(frame) == 10 and set(frame["model"]) == {"svd\\r=1", "'\\rknn"}
    code, out, _ = bench_cli("compare", str(tmp_path / "A"), "--rows", "svd\r=1", "\rknn", "--format", "csv")
    assert code == 0 and "\r" not in out
    assert ",svd\\r=1 → \\rknn," in out


FAILING_PLUGIN = '''
from benchmark.api import ModelSpec, RatingModel, hookimpl

class Boom(RatingModel):
    def __init__(self, fail: bool = True):
        self.fail = fail

    def fit(self, train):
        raise RuntimeError("the fit went wrong")

    def estimate(self, u, i):
        return u * 0.0

@hookimpl
def bench_models():
    return [ModelSpec("boom", {"rating": Boom})]
'''

FAILING_SUITE = """
name: failing
plugins: [boom.py]
datasets:
  - name: synthetic-ratings
    options: {n_users: 50, n_items: 40, density: 0.2}
split: {method: kfold, k: 2}
models: [global-mean, boom]
metrics: [rmse]
"""


def test_failed_cells_and_one_record_by_id(tmp_path):
    """``--failed`` lists the failed cells with error and traceback; ``--cell`` prints one record."""
    from tests.conftest import run_bench

    (tmp_path / "boom.py").write_text(FAILING_PLUGIN)
    (tmp_path / "suite.yaml").write_text(FAILING_SUITE)
    out = tmp_path / "out"
    assert run_bench("run", str(tmp_path / "suite.yaml"), "--out", str(out), "-q").returncode == 1
    failed = json.loads(run_bench("results", str(out), "--failed", "--format", "json").stdout)
    assert [row["model"] for row in failed] == ["boom", "boom"]
    assert all(row["error"] == "RuntimeError: the fit went wrong" for row in failed)
    assert all("in fit" in row["traceback"] for row in failed)
    table = run_bench("results", str(out), "--failed", "--format", "md").stdout.splitlines()
    assert len(table) == 2 + 2  # header, rule, one line per failed cell: a traceback stays in its cell
    assert all(line.startswith("|") and line.endswith("|") for line in table)
    assert "<br>" in table[2] and "File &quot;" not in table[2] and "&lt;" not in table[0]
    every = run_bench("results", str(out), "--format", "csv").stdout
    assert "traceback" not in every.splitlines()[0] and len(every.splitlines()) == 5
    record = run_bench("results", str(out), "--cell", failed[0]["cell_id"][:6])
    assert record.returncode == 0 and json.loads(record.stdout)["traceback"] == failed[0]["traceback"]
    missing = run_bench("results", str(out), "--cell", "zzzz")
    assert missing.returncode == 2 and missing.stderr.strip() == \
        "bench: error: --cell: no cell id starts with 'zzzz'"


def test_a_ranking_cells_task_options_sizes_and_counts_are_columns():
    from pathlib import Path

    from benchmark import results

    run = Path(__file__).resolve().parent.parent / "results" / "reference" / "ranking-ml100k"
    frame = results.load(run)
    first = frame.iloc[0]
    assert json.loads(first["task_options"]) == {"negatives": 0, "threshold": 4}
    assert first["n_train"] > first["n_test"] > 0
    assert first["count.n_users_evaluated"] + first["count.n_users_no_relevant"] == first["count.n_test_users"]
