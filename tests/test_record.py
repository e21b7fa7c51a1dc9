"""The typed record: ids and stored rows are what they were before the types, old rows load.

The expected ids are computed here the way ``benchmark/cells.py`` computed them before
:mod:`benchmark.record` existed (a plain dict hashed as it is), and two are pinned as literals
taken from that code, so a change of the typed tuning information that moved any id fails here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from benchmark.cells import Cell, CellResult
from benchmark.record import (SCHEMA_VERSION, Legacy, Refit, Trial, migrate, row_version,
                              tuning_from_mapping)


def old_hash(value):
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def old_id(cell: dict) -> str:
    """Cell.id as the untyped code computed it, from the cell's fields as plain values."""
    config_id = old_hash({"model": cell["model_plugin"], "task": cell["task"], "params": cell["config"]})
    identity = {"checksum": cell["dataset_checksum"], "split": cell["split"],
                "split_params": cell["split_params"], "fold": cell["fold"],
                "fingerprint": cell["fingerprint"], "config": config_id,
                "seed": cell["seed"], "metrics": sorted(cell["metrics"])}
    if cell.get("task_options"):
        identity["task_options"] = dict(cell["task_options"])
    if cell.get("tuning") is not None:
        identity["tuning"] = cell["tuning"]
    return old_hash(identity)


BASE = dict(suite="s", task="rating", dataset="toy", dataset_plugin="synthetic-ratings",
            dataset_options={"n_users": 30}, dataset_checksum="abc", split="kfold",
            split_params={"k": 3, "seed": 1}, seed=1, fold=0, fold_name="fold 1", fingerprint="f0",
            model="svd", model_plugin="svd", params={"n_components": 4, "random_state": 1},
            config={"n_components": 4}, metrics=("rmse", "mae"))

TRIAL = {"role": "trial", "outer_fold": 0, "outer_fingerprint": "f0",
         "inner": {"method": "holdout", "test_size": 0.1, "seed": 1}, "inner_fold": 0,
         "fit_rows": "r1", "eval_rows": "r2"}
PLANNED = {"role": "refit", "search": "random", "trials": 3,
           "inner": {"method": "holdout", "test_size": 0.1, "seed": 1}, "objective": "rmse",
           "greater_is_better": False}
DECIDED = {**PLANNED, "chosen": {"n_components": 8}, "trial": 2, "objective_value": 0.93,
           "trial_cell_ids": ["a", "b", "c"], "failed_trials": 0}
FAILED = {**PLANNED, "chosen": None, "trial": None, "objective_value": None,
          "trial_cell_ids": ["a", "b", "c"], "failed_trials": 3,
          "error": "no trial of outer fold fold 1 succeeded (3 failed; first error: boom)"}
TUNINGS = [None, TRIAL, PLANNED, DECIDED, FAILED]


@pytest.mark.parametrize("tuning", TUNINGS)
@pytest.mark.parametrize("task_options", [{}, {"threshold": 4.0}])
def test_cell_ids_are_the_untyped_codes(tuning, task_options):
    fields = {**BASE, "task_options": task_options, "tuning": tuning}
    cell = Cell(**fields)
    assert cell.id == old_id(fields)
    assert Cell.from_dict(cell.to_dict()).id == cell.id  # what a worker process gets


def test_three_ids_pinned_from_the_untyped_code():
    assert Cell(**BASE).id == "337983a6d3f205b6"
    assert Cell(**{**BASE, "tuning": DECIDED}).id == "8d2f105dac37a73e"
    assert Cell(**{**BASE, "tuning": TRIAL, "task_options": {"threshold": 4.0}}).id == "9cb30cd5f688db80"


@pytest.mark.parametrize("mapping", TUNINGS[1:])
def test_tuning_round_trips_byte_for_byte(mapping):
    typed = tuning_from_mapping(mapping)
    assert isinstance(typed, Trial if mapping["role"] == "trial" else Refit)
    assert typed.role == mapping["role"]
    assert typed.to_mapping() == mapping
    assert list(typed.to_mapping()) == list(mapping)  # and in the order tuning.py wrote them
    assert json.dumps(typed.to_mapping()) == json.dumps(mapping)


def test_tuning_attributes_are_named_like_the_keys():
    decided = tuning_from_mapping(DECIDED)
    assert isinstance(decided, Refit) and decided.decided
    assert (decided.chosen, decided.trial, decided.objective_value, decided.trial_cell_ids) == \
        ({"n_components": 8}, 2, 0.93, ("a", "b", "c"))
    planned = tuning_from_mapping(PLANNED)
    assert isinstance(planned, Refit) and not planned.decided and planned.chosen is None
    trial = tuning_from_mapping(TRIAL)
    assert isinstance(trial, Trial) and trial.inner_fold == 0 and trial.fit_rows == "r1"
    assert tuning_from_mapping({"role": "other"}) is None and tuning_from_mapping(None) is None
    unknown = {**TRIAL, "later": 1}  # a key a later version adds survives a round trip
    assert tuning_from_mapping(unknown).to_mapping() == unknown


def _result(tuning=None) -> CellResult:
    cell = Cell(**{**BASE, "tuning": tuning})
    result = CellResult.start(cell, "run-1", {"host": "h"}, "2026-01-01T00:00:00+00:00")
    result.metrics = {"rmse": 0.9, "mae": 0.7}
    result.metric_info = {"rmse": {"greater_is_better": False}, "mae": {"greater_is_better": False}}
    return result


@pytest.mark.parametrize("tuning", TUNINGS)
def test_a_row_is_todays_keys_plus_the_version_and_reads_back(tuning):
    result = _result(tuning)
    assert result.cell.id == result.cell_id and result.tuning == tuning_from_mapping(tuning)
    row = result.to_row()
    assert row["schema"] == SCHEMA_VERSION and row["primary_metric"] == "rmse"
    assert row.get("tuning") == tuning and row["cell_id"] == old_id({**BASE, "tuning": tuning})
    back = CellResult.from_row(json.loads(json.dumps(row)))
    assert back.to_row() == row
    assert back.cell.id == result.cell_id  # the cell a stored row describes has the stored id


def test_a_result_keeps_every_attribute_of_its_cell():
    result = _result(TRIAL)
    assert (result.model, result.split_fingerprint, result.fold_name, result.metrics["rmse"]) == \
        ("svd", "f0", "fold 1", 0.9)
    assert result.cell.metrics == ("rmse", "mae") and result.cell.primary_metric == "rmse"
    assert result.tuning is not None and result.tuning.role == "trial"


def test_a_row_without_schema_is_version_1_and_migrates():
    old = _result().to_row()
    del old["schema"], old["primary_metric"], old["metric_info"]
    assert row_version(old) == 1
    legacy = Legacy(suite_metrics=("mae", "rmse"),
                    direction=lambda name: {"rmse": False}.get(name))
    new = migrate(old, legacy)
    assert new["schema"] == SCHEMA_VERSION and new["primary_metric"] == "mae"
    assert new["metric_info"] == {"rmse": {"greater_is_better": False}}
    assert legacy.guessed == {"mae"}  # not installed: the reader says so
    assert "schema" not in old  # a copy
    assert CellResult.from_row(old).primary_metric is None  # nothing known: not guessed
    assert migrate(old, Legacy(primary=lambda task: "rmse"))["primary_metric"] == "rmse"
    assert migrate(new) == new  # a current row is copied as it is


def test_replace_keeps_typed_tuning():
    cell = replace(Cell(**BASE), tuning=dict(TRIAL))
    assert isinstance(cell.tuning, Trial) and cell.id == old_id({**BASE, "tuning": TRIAL})


def test_the_store_takes_a_typed_result_and_reads_it_back(tmp_path):
    from benchmark.store import ResultStore, read_rows

    store = ResultStore(tmp_path)
    result = _result(DECIDED)
    store.append(result)
    store.append_rows([result.to_row()])  # a mapping, as before
    first, second = read_rows(store.cells_path)
    assert first == second == json.loads(json.dumps(result.to_row()))
    assert CellResult.from_row(first).to_row() == first


def test_the_store_gives_back_typed_results_of_the_rows_a_reader_accepts(tmp_path):
    """What the runner reuses: every row that passes the record's schema, typed, in the order
    written; a hand-edited row (``fit_seconds`` as text) is not among them (it is computed again)."""
    from benchmark.record import check
    from benchmark.store import ResultStore

    store = ResultStore(tmp_path)
    result = _result(DECIDED)
    edited = {**result.to_row(), "cell_id": "edited", "fit_seconds": "fast"}
    old = {k: v for k, v in result.to_row().items() if k not in ("schema", "primary_metric", "config_id")}
    store.append_rows([result, edited, {**old, "cell_id": "old"}])
    assert check(edited) == "fit_seconds: expected a number, got 'fast'"
    typed = store.results()
    assert [r.cell_id for r in typed] == [result.cell_id, "old"]
    assert all(isinstance(r, CellResult) for r in typed)
    assert typed[0].to_row() == json.loads(json.dumps(result.to_row()))
    assert isinstance(typed[0].tuning, Refit) and typed[1].config_id == ""  # a field an old row lacks: empty
