"""Leaderboard lines: one per (dataset, configuration), folds and seeds counted apart, — for one value,
configuration id and combined split fingerprint, runs with other splits not ranked against the rest."""

from __future__ import annotations

import csv
import io
import json

from benchmark import leaderboard
from benchmark.results import configuration_id
from tests.test_compare import bench_cli, perturbed_copy, read, two_runs  # noqa: F401  (fixture)

METRICS = {"rating": ["rmse", "mae"]}
LOWER = {"rmse": False, "mae": False}


def row(model="m", seed=0, fold=0, rmse=1.0, params=None, fingerprint=None, status="ok", **extra):
    params = {"k": 1, "random_state": seed} if params is None else params
    return {"cell_id": f"{model}-{seed}-{fold}-{extra.get('dataset_checksum', 'c')}", "dataset": "d",
            "task": "rating", "model": model, "model_plugin": "p", "params": params, "seed": seed, "fold": fold,
            "split": "kfold", "split_fingerprint": fingerprint or f"fp{seed}{fold}", "dataset_checksum": "c",
            "status": status, "metrics": {"rmse": rmse, "mae": rmse / 2} if status == "ok" else {},
            "fit_seconds": 0.1, "predict_seconds": 0.01, **extra}


def test_seeds_are_one_configuration_counted_apart_from_folds():
    rows = [row(seed=s, fold=f, rmse=1 + s / 10 + f / 100) for s in range(3) for f in range(2)]
    [line] = leaderboard.build(rows, METRICS, LOWER)
    assert (line.folds, line.seeds, line.cells) == (2, 3, 6)
    assert line.params == {"k": 1}, "the seed-driven random_state is not shown"
    assert line.config_id == configuration_id(rows[0]) == configuration_id(rows[-1])
    text = leaderboard.render([line], METRICS)
    # each seed drew its own split here (repeated CV): 6 folds, 2 per split
    assert "folds" in text and "seeds" in text and " 6 (2 per split) " in text and " 3 " in text


def test_a_single_value_has_no_spread():
    [line] = leaderboard.build([row()], METRICS, LOWER)
    assert line.std("rmse") is None
    assert "1.000 ± —" in leaderboard.render([line], METRICS)
    [out] = list(csv.DictReader(io.StringIO(leaderboard.to_csv([line], METRICS))))
    assert out["rmse_mean"] == "1.000000" and out["rmse_std"] == ""


def test_the_label_shown_is_the_rows_and_lines_are_configurations():
    rows = [row(model="old", fold=0), row(model="new", fold=1), row(model="other", params={"k": 2}, fold=0)]
    lines = leaderboard.build(rows, METRICS, LOWER)
    assert [line.model for line in lines] == ["new", "other"] or {l.model for l in lines} == {"new", "other"}
    assert len(lines) == 2


def test_split_fingerprint_combines_all_folds_and_other_splits_are_not_ranked_together():
    same = [row(model=m, params={"k": k}, fold=f, rmse=1 + k / 10, fingerprint=f"f{f}")
            for m, k in (("a", 1), ("b", 2)) for f in range(3)]
    other = [row(model="c", params={"k": 3}, fold=f, rmse=0.5, fingerprint=f"g{f}") for f in range(3)]
    lines = leaderboard.build(same + other, METRICS, LOWER)
    by = {line.model: line for line in lines}
    assert by["a"].split_fingerprint == by["b"].split_fingerprint != by["c"].split_fingerprint
    assert (by["a"].rank, by["b"].rank) == (1, 2)
    assert by["c"].rank == 1 and by["c"].group == 1 and "different splits" in by["c"].note
    assert "*" in leaderboard.render(lines, METRICS)
    forced = {line.model: line for line in leaderboard.build(same + other, METRICS, LOWER, force=True)}
    assert (forced["c"].rank, forced["a"].rank) == (1, 2) and forced["c"].note


def test_failures_are_counted_not_averaged():
    rows = [row(fold=0), row(fold=1, status="error", error="boom")]
    [line] = leaderboard.build(rows, METRICS, LOWER)
    assert (line.cells, line.failed, line.error) == (1, 1, "boom")
    assert len(line.fingerprints) == 2, "a failed cell's fold still belongs to the line's splits"


def test_csv_columns(two_runs):
    a, _ = two_runs
    code, out, _ = bench_cli("leaderboard", str(a), "--format", "csv")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 3
    assert {"config_id", "split_fingerprint", "dataset_checksum", "folds", "seeds", "params"} <= set(table[0])
    assert all(r["folds"] == "5" and r["seeds"] == "1" for r in table)
    assert [int(r["rank"]) for r in table] == [1, 2, 3]
    assert all("random_state" not in json.loads(r["params"]) for r in table)


def test_merged_runs(two_runs, tmp_path):
    a, b = two_runs
    # the same experiments (cell ids) stored by both runs count once: the later run given wins
    code, out, _ = bench_cli("leaderboard", str(a), str(b), "--format", "csv")
    assert code == 0
    merged = list(csv.DictReader(io.StringIO(out)))
    alone = list(csv.DictReader(io.StringIO(bench_cli("leaderboard", str(b), "--format", "csv")[1])))
    assert [(r["model"], r["rmse_mean"]) for r in merged] == [(r["model"], r["rmse_mean"]) for r in alone]
    # a run whose data differ is marked, not ranked against the others (the perturbed rows are not
    # what C's stored suite planned, so only --all-stored shows them)
    c = perturbed_copy(a, tmp_path / "C", lambda r: {**r, "dataset_checksum": "e" * 16, "model": r["model"] + "'",
                                                             "cell_id": r["cell_id"] + "x"})
    _, out, _ = bench_cli("leaderboard", str(a), str(c), "--all-stored")
    assert out.count("different data") == 3
    _, forced, _ = bench_cli("leaderboard", str(a), str(c), "--force", "--all-stored")
    assert "ranked with the others because of --force" in forced


def test_one_configuration_on_two_split_protocols_is_two_lines():
    kfold = [row(fold=f, rmse=1.0, fingerprint=f"k{f}", split_params={"k": 5, "seed": 0}) for f in range(2)]
    predefined = [row(fold=f, rmse=2.0, fingerprint=f"u{f}", split="predefined",
                      split_params={"name": "u", "seed": 0}, cell_id=f"u{f}") for f in range(2)]
    seeds = [row(seed=1, fold=f, rmse=1.0, fingerprint=f"s{f}", split_params={"k": 5, "seed": 1})
             for f in range(2)]
    lines = leaderboard.build(kfold + predefined + seeds, METRICS, LOWER)
    assert sorted((line.split, line.cells, line.mean("rmse")) for line in lines) == [
        ("kfold", 4, 1.0), ("predefined", 2, 2.0)]
