"""Which stored results belong to a run's suite (:mod:`benchmark.scoping`), and what the rows
say of directions and the primary metric (:mod:`benchmark.resultset`).

Runs are made from the committed ml-100k reference run, as in ``tests/test_resultset.py``.
"""

from __future__ import annotations

import json

from benchmark import resultset, scoping
from benchmark.record import SCHEMA_VERSION
from tests.test_resultset import REFERENCE, make_run, only_models, reference_rows

SUITE = (REFERENCE / "suite.yaml").read_text()


def test_a_model_removed_from_the_suite_is_out_of_scope(tmp_path):
    rows = only_models(reference_rows(), "svd", "nmf")
    run = make_run(tmp_path / "run", rows, SUITE.replace("  - nmf\n", ""))
    loaded = resultset.load([run])
    scoped = loaded.in_suite()
    assert {r.model for r in scoped.rows} == {"svd"} and len(scoped.rows) == 5
    nmf = {(r.dataset, r.config_id) for r in loaded.rows if r.model == "nmf"}
    assert scoped.hidden == nmf and len(nmf) == 1
    judge = scoping.in_suite(loaded.runs[0])
    assert judge is not None and not judge(next(r for r in loaded.rows if r.model == "nmf"))


def test_a_parameter_changed_under_the_same_label_is_out_of_scope(tmp_path):
    rows = only_models(reference_rows(), "svd")
    changed = SUITE.replace("  - svd\n", "  - {name: svd, label: svd, params: {n_factors: 7}}\n")
    loaded = resultset.load([make_run(tmp_path / "run", rows, changed)])
    assert loaded.in_suite().rows == []


def test_another_seed_or_dataset_is_out_of_scope(tmp_path):
    rows = only_models(reference_rows(), "svd")
    for changed in (SUITE.replace("seed: 0", "seed: 3"),
                    SUITE.replace("- name: movielens-100k", "- name: movielens-100k\n    label: other")):
        loaded = resultset.load([make_run(tmp_path / str(len(changed)), rows, changed)])
        assert loaded.in_suite().rows == []


def test_no_readable_suite_means_everything_belongs(tmp_path):
    rows = only_models(reference_rows(), "svd")
    for name, suite in (("none", ""), ("not-a-mapping", "- a\n- b\n"), ("binary", "\0\0")):
        run = make_run(tmp_path / name, rows, suite)
        loaded = resultset.load([run])
        assert scoping.in_suite(loaded.runs[0]) is None
        assert len(loaded.in_suite().rows) == 5


def test_the_plan_record_is_exact(tmp_path):
    rows = only_models(reference_rows(), "svd", "nmf")
    run = make_run(tmp_path / "run", rows, SUITE)
    svd = rows[0]
    planned = {"experiments": [[svd["dataset_checksum"], svd["split"], svd["split_params"], svd["config_id"]]],
               "seeds": [0]}
    (run / "environment.json").write_text(json.dumps({scoping.PLANNED: planned}))
    loaded = resultset.load([run])
    assert {r.model for r in loaded.in_suite().rows} == {"svd"}


# --- Directions and the primary metric: what the rows say --------------------------------------


def current(row: dict, primary: str) -> dict:
    return {**row, "schema": SCHEMA_VERSION, "primary_metric": primary}


def test_the_rows_primary_metric_ranks_not_the_stored_suites_order(tmp_path):
    rows = [current(row, "mae") for row in only_models(reference_rows(), "svd")]
    loaded = resultset.load([make_run(tmp_path / "run", rows, SUITE)])  # the suite says [rmse, mae]
    assert resultset.primary_metrics(loaded.runs) == {"rating": "mae"}
    assert loaded.metrics_by_task() == {"rating": ["mae", "rmse"]}


def test_an_old_rows_primary_metric_is_its_suites_first(tmp_path):
    rows = only_models(reference_rows(), "svd")
    loaded = resultset.load([make_run(tmp_path / "run", rows, SUITE.replace("[rmse, mae]", "[mae, rmse]"))])
    assert {r.primary_metric for r in loaded.rows} == {"mae"}
    assert resultset.primary_metrics(loaded.runs) == {"rating": "mae"}
    alone = resultset.load([make_run(tmp_path / "alone", rows, "")])  # no suite: the task's own
    assert resultset.primary_metrics(alone.runs) == {"rating": "rmse"}


def test_an_old_row_of_a_metric_not_installed_is_lower_is_better_and_said(tmp_path):
    rows = []
    for row in only_models(reference_rows(), "svd"):
        row = {k: v for k, v in row.items() if k != "metric_info"}
        rows.append({**row, "metrics": {**row["metrics"], "lift": 0.5}})
    loaded = resultset.load([make_run(tmp_path / "run", rows, SUITE)])
    assert loaded.directions(["lift", "rmse"]) == {"lift": False, "rmse": False}
    assert len(loaded.warnings) == 1 and "lift" in loaded.warnings[0] and "lower is better" in loaded.warnings[0]
    assert "lift" not in loaded.rows[0].metric_info  # the row does not claim what nobody said


def test_a_current_row_is_not_asked_about(tmp_path, monkeypatch):
    """Rows of the current format say their directions: the registry is never built."""
    import benchmark.registry

    def no_registry(*args, **kwargs):
        raise AssertionError("the registry was consulted")

    monkeypatch.setattr(benchmark.registry, "build_registry", no_registry)
    rows = [current(row, "rmse") for row in only_models(reference_rows(), "svd")]
    loaded = resultset.load([make_run(tmp_path / "run", rows, SUITE)])
    assert loaded.directions(["rmse", "mae"]) == {"rmse": False, "mae": False}
    assert resultset.primary_metrics(loaded.runs) == {"rating": "rmse"}
