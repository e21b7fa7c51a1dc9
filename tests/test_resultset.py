"""The typed result set (:mod:`benchmark.resultset`): one loader, one identity, one "latest",
directions stored with the rows, damaged rows set aside — read by every command that reads results.

The runs are built from the committed ml-100k reference run (55 real cells: 11 models × 5 folds),
copied and edited as a user or a second suite would, so no test here has to run a model.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from benchmark import resultset
from tests.test_compare import bench_cli

REFERENCE = Path(__file__).resolve().parent.parent / "results" / "reference" / "surprise-ml100k"


def reference_rows() -> list[dict]:
    return [json.loads(line) for line in (REFERENCE / "cells.jsonl").open()]


def make_run(path: Path, rows: list[dict], suite: str | None = None, raw_lines: dict[int, str] | None = None) -> Path:
    """A run directory with ``rows`` (and raw text lines inserted before the given positions)."""
    path.mkdir(parents=True)
    lines = [json.dumps(row) for row in rows]
    for position, text in sorted((raw_lines or {}).items(), reverse=True):
        lines.insert(position, text)
    (path / "cells.jsonl").write_text("".join(line + "\n" for line in lines))
    (path / "suite.yaml").write_text(suite if suite is not None else (REFERENCE / "suite.yaml").read_text())
    return path


def only_models(rows: list[dict], *models: str) -> list[dict]:
    return [row for row in rows if row["model"] in models]


# --- One experiment, counted once -------------------------------------------------------------


def test_two_suites_with_different_metric_lists_count_once(tmp_path):
    """The same 5 folds stored by a [rmse] suite and a [rmse, mae] suite: 5 cells, both metrics."""
    rows = only_models(reference_rows(), "svd", "baseline-only")
    first = [{**row, "metrics": {"rmse": row["metrics"]["rmse"]}, "cell_id": row["cell_id"] + "-a"} for row in rows]
    second = [{**row, "cell_id": row["cell_id"] + "-b", "finished_at": "2026-11-29T00:00:00+00:00"} for row in rows]
    a = make_run(tmp_path / "rmse-only", first)
    b = make_run(tmp_path / "rmse-mae", second)

    loaded = resultset.load([a, b])
    assert len(loaded.rows) == 10 and loaded.warnings == []
    assert all(set(row.metrics) == {"rmse", "mae"} for row in loaded.rows)

    from benchmark import results

    frame = results.load(a, b)
    assert len(frame) == 10
    assert frame.groupby("model")["metric.rmse"].count().tolist() == [5, 5]

    code, out, err = bench_cli("leaderboard", str(a), str(b), "--format", "csv")
    assert code == 0, err
    lines = list(csv.DictReader(io.StringIO(out)))
    assert [(line["model"], line["folds"], line["cells"]) for line in lines] == \
        [("svd", "5", "5"), ("baseline-only", "5", "5")]
    svd = [row["metrics"]["rmse"] for row in rows if row["model"] == "svd"]
    import statistics

    assert float(lines[0]["rmse_std"]) == pytest.approx(statistics.stdev(svd), abs=1e-6)


def test_one_run_loads_as_read_one_row_per_experiment(tmp_path):
    """A single run is not merged again: read_run already kept the latest row per experiment,
    filled with the metrics of its older rows (here both suites' rows stored in one run)."""
    rows = only_models(reference_rows(), "svd", "baseline-only")
    first = [{**row, "metrics": {"rmse": row["metrics"]["rmse"]}, "cell_id": row["cell_id"] + "-a"} for row in rows]
    second = [{**row, "cell_id": row["cell_id"] + "-b", "finished_at": "2026-11-29T00:00:00+00:00"} for row in rows]
    run = make_run(tmp_path / "both", first + second)
    loaded = resultset.load([run])
    assert len(loaded.rows) == 10 and all(set(row.metrics) == {"rmse", "mae"} for row in loaded.rows)
    assert loaded.rows == resultset.latest(loaded.runs[0].rows) == loaded.runs[0].rows
    assert [row.cell_id for row in loaded.rows] == [row["cell_id"] for row in second]


def test_the_same_metric_from_different_code_is_not_mixed(tmp_path):
    """A metric the latest row lacks is filled only from a row computed by the same code."""
    rows = only_models(reference_rows(), "svd")
    old = [{**row, "code_id": "old-code"} for row in rows]
    new = [{**row, "metrics": {"rmse": 0.5}, "cell_id": row["cell_id"] + "-n", "finished_at": "2026-12-01"}
           for row in rows]
    loaded = resultset.load([make_run(tmp_path / "old", old), make_run(tmp_path / "new", new)])
    assert [row.metrics for row in loaded.rows] == [{"rmse": 0.5}] * 5


def test_experiment_identity_leaves_out_metrics_labels_and_code():
    row = reference_rows()[0]
    same = {**row, "metrics": {}, "model": "another label", "code_id": "x", "cell_id": "y", "run": "z"}
    assert resultset.Experiment.of(row) == resultset.Experiment.of(same)
    for key, value in [("seed", 1), ("fold", 3), ("split_fingerprint", "f" * 16), ("dataset_checksum", "0"),
                       ("split_params", {"k": 5, "seed": 1}), ("config_id", "0" * 16),
                       ("task_options", {"threshold": 4})]:
        assert resultset.Experiment.of({**row, key: value}) != resultset.Experiment.of(row), key


# --- Directions travel with the rows ----------------------------------------------------------


def with_lift(rows: list[dict], boost: dict[str, float]) -> list[dict]:
    """Add a higher-is-better metric ``lift`` from a local plugin file, as execute stores it."""
    out = []
    for row in rows:
        row = json.loads(json.dumps(row))
        row["metrics"]["lift"] = 1.0 - row["metrics"]["rmse"] + boost.get(row["model"], 0.0) * (1 + 0.05 * row["fold"])
        row["metric_info"] = {"lift": {"greater_is_better": True, "task": "rating", "plugin": "my_metrics.py",
                                       "version": "sha256:0123"},
                              "rmse": {"greater_is_better": False, "task": "rating", "plugin": "bench-harness",
                                       "version": "0.1.0"}}
        out.append(row)
    return out


LIFT_SUITE = "name: lift\nseed: 0\nmetrics: [lift, rmse]\n"


def test_a_local_higher_is_better_metric_through_every_reader(tmp_path):
    rows = only_models(reference_rows(), "svd", "normal-predictor")
    a = make_run(tmp_path / "A", with_lift(rows, {}), LIFT_SUITE)
    b = make_run(tmp_path / "B", with_lift(rows, {"svd": 0.59}), LIFT_SUITE)
    assert resultset.load([a]).directions(["lift", "rmse"]) == {"lift": True, "rmse": False}

    code, out, err = bench_cli("leaderboard", str(a), "--format", "csv")
    assert code == 0, err
    assert [line["model"] for line in csv.DictReader(io.StringIO(out))] == ["svd", "normal-predictor"]

    code, out, err = bench_cli("compare", str(a), str(b), "--format", "csv", "--fail-on-regression")
    assert code == 0, err
    verdicts = {row["model"]: row["verdict"] for row in csv.DictReader(io.StringIO(out))}
    assert verdicts["svd"] == "better"
    code, _, err = bench_cli("compare", str(b), str(a), "--fail-on-regression")
    assert code == 1 and "svd" in err and "lift" in err

    from benchmark import report

    page = report.build_html([a, b])
    assert "lift (greater is better" in page or "lift ↑" in page
    svd_line = page.index("<td>svd</td>")
    assert page.rfind("<td>1</td>", 0, svd_line) > page.rfind("<tr>", 0, svd_line), "svd ranks first on lift"


# --- Old rows ---------------------------------------------------------------------------------


def test_old_rows_without_metric_info_config_or_code_load(tmp_path):
    old = []
    for row in reference_rows():
        old.append({k: v for k, v in row.items()
                    if k not in ("config", "code", "code_id", "run_id", "metric_info", "units", "machine",
                                 "started_at", "finished_at", "artifact_errors", "plugin")})
    run = make_run(tmp_path / "old", old)
    loaded = resultset.load([run])
    assert len(loaded.rows) == 55 and loaded.warnings == []
    assert loaded.directions(["rmse", "mae"]) == {"rmse": False, "mae": False}
    cells = loaded.cells()
    assert cells[0].metrics and cells[0].code_id == ""
    # a row from before metric_info gets its directions from the installed plugins, once, by the
    # migration of old rows (benchmark.record.migrate): the record says them from then on
    assert cells[0].metric_info == {"rmse": {"greater_is_better": False}, "mae": {"greater_is_better": False}}
    assert cells[0].primary_metric == "rmse"  # the stored suite's first metric
    code, out, err = bench_cli("leaderboard", str(run), "--format", "csv")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 11, err


# --- Damaged rows: set aside, one warning naming the line -------------------------------------

DAMAGED = {
    "fit_seconds": ("fit_seconds", "abc"),
    "fold": ("fold", "1"),
    "metrics": ("metrics", [0.9, 0.7]),
    "dataset": ("dataset", 5),
    "metric value": ("metrics", {"rmse": "0.9"}),
    "seed": ("seed", 1.5),
    "split_params": ("split_params", "k=5"),
    "metric_info": ("metric_info", {"rmse": {"greater_is_better": "no"}}),
    "model missing": ("model", None),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_hand_edited_row_is_set_aside_with_a_warning(tmp_path, case):
    key, value = DAMAGED[case]
    rows = only_models(reference_rows(), "svd", "baseline-only")
    bad = dict(rows[3])
    if value is None:
        del bad[key]
    else:
        bad[key] = value
    rows[3] = bad
    a = make_run(tmp_path / "A", rows)
    b = make_run(tmp_path / "B", only_models(reference_rows(), "svd", "baseline-only"))
    loaded = resultset.load([a])
    assert len(loaded.rows) == 9
    (warning,) = loaded.warnings
    expected = "metric 'rmse'" if case == "metric value" else key  # the store's own check says so
    assert "1 row set aside (line 4: " + expected in warning and str(a / "cells.jsonl") in warning

    for argv in (["leaderboard", str(a)], ["compare", str(a), str(b)], ["compare", str(b), str(a)],
                 ["results", str(a)], ["report", str(a), str(b), "-o", str(tmp_path / "r.html")]):
        code, out, err = bench_cli(*argv)
        assert code == 0, (argv, err)
        assert err.count("set aside (line 4:") == 1, (argv, err)


def test_a_non_finite_metric_is_a_metric_error_never_a_value(tmp_path):
    rows = only_models(reference_rows(), "svd", "baseline-only")
    lines = {2: json.dumps(rows[2]).replace(str(rows[2]["metrics"]["rmse"]), "NaN"),
             5: json.dumps(rows[5]).replace(str(rows[5]["metrics"]["rmse"]), "Infinity")}
    rows = [row for i, row in enumerate(rows) if i not in (2, 5)]
    run = make_run(tmp_path / "A", rows, raw_lines={2: lines[2], 4: lines[5]})
    loaded = resultset.load([run])
    assert len(loaded.rows) == 10
    assert any("2 non-finite metric value(s)" in w for w in loaded.warnings)
    assert all(math.isfinite(v) for row in loaded.rows for v in row.metrics.values())
    assert sum("rmse" in row.metric_errors for row in loaded.rows) == 2
    code, out, err = bench_cli("leaderboard", str(run), "--format", "csv")
    assert code == 0, err
    assert "nan" not in out.lower() and "inf" not in out.lower()


def test_json_lines_the_store_rejects_are_named_too(tmp_path):
    rows = only_models(reference_rows(), "svd")
    run = make_run(tmp_path / "A", rows, raw_lines={1: "not json", 3: "[1, 2]"})
    loaded = resultset.load([run])
    assert len(loaded.rows) == 5
    assert "2 rows set aside (line 2: not JSON; line 5: not a JSON object" in loaded.warnings[0]


# --- Stored suite.yaml and environment.json read with the hardened readers --------------------

BOMB = "name: x\na: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))


@pytest.mark.parametrize("what", ["suite-bomb", "suite-latin1", "suite-dir", "env-dir", "env-latin1", "env-list",
                                  "env-nested"])
def test_stored_suite_and_environment_damaged(tmp_path, what):
    rows = only_models(reference_rows(), "svd")
    run = make_run(tmp_path / "A", rows)
    target = run / ("suite.yaml" if what.startswith("suite") else "environment.json")
    if target.exists():
        target.unlink()
    if what.endswith("-dir"):
        target.mkdir()
    elif what == "suite-bomb":
        target.write_text(BOMB)
    elif what.endswith("latin1"):
        target.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    elif what == "env-list":
        target.write_text("[1, 2]")
    else:
        target.write_text("[" * 100_000 + "]" * 100_000)
    loaded = resultset.load([run])
    assert len(loaded.rows) == 5
    (warning,) = loaded.warnings
    assert target.name in warning and "ignored" in warning
    for argv in (["leaderboard", str(run)], ["report", str(run), "-o", str(tmp_path / "r.html")],
                 ["compare", str(run), str(run)]):
        code, _, err = bench_cli(*argv)
        assert code == 0 and "ignored" in err and "Traceback" not in err, (argv, err)


def test_a_fifo_in_place_of_a_stored_file_does_not_block(tmp_path):
    import os

    rows = only_models(reference_rows(), "svd")
    run = make_run(tmp_path / "A", rows)
    (run / "suite.yaml").unlink()
    os.mkfifo(run / "suite.yaml")
    os.mkfifo(run / "environment.json")
    loaded = resultset.load([run])
    assert len(loaded.rows) == 5 and len(loaded.warnings) == 2
    (run / "cells.jsonl").unlink()
    os.mkfifo(run / "cells.jsonl")
    code, _, err = bench_cli("leaderboard", str(run))
    assert code == 2 and "cells.jsonl" in err and len(err.splitlines()) == 1
