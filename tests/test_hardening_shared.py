"""Issue 29, items 1-3: the shared data of a run (``$BENCH_SHARED_DATA``, the local executor's
private directory) is data, never code, is verified before it is used, and cannot carry one
cell's writes into another's numbers."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark import shared_data
from benchmark.errors import BenchError
from benchmark.execute import DataCache
from benchmark.registry import build_registry
from benchmark.runner import RunOptions, run_suite
from benchmark.shared_data import ENVIRONMENT, MANIFEST, SharedData, SharedDataRefused
from tests.conftest import run_bench

SYNTHETIC = ("synthetic-ratings", {"n_users": 40, "n_items": 25}, None)


class Payload:
    """Unpickling it makes the directory ``marker``: proof that a pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def plant_pickles(folder: Path, marker: Path, claimed: bool = True) -> None:
    """A ``manifest.pickle`` (format 1's name) and a ``manifest.json`` that points at a pickled
    array, under the deterministic names of the synthetic dataset and its folds."""
    key = shared_data.dataset_key(*SYNTHETIC)
    folder.mkdir(mode=0o700)
    if claimed:
        (folder / shared_data.CLAIM).write_text("{}")  # as if a driver had claimed it
    for name in (key, shared_data.folds_key(key, "kfold", {"k": 2}, 0)):
        (folder / name).mkdir(parents=True)
        (folder / name / "manifest.pickle").write_bytes(pickle.dumps(Payload(marker)))
    np.save(folder / key / "c0.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    (folder / key / MANIFEST).write_text(json.dumps({
        "format": shared_data.FORMAT, "kind": "rating", "columns": [["user", "c0"]], "rows": 1,
        "scale": {"t": [{"v": 1}, {"v": 5}]}, "info": {"d": {}}, "description": {"d": {}}, "checksum": "x",
        "arrays": {"c0": {"sha256": "0" * 64}}}))


def worker_cache(monkeypatch, folder: Path) -> DataCache:
    """A fresh worker's cache mapping from ``folder`` (a new process: nothing mapped yet)."""
    monkeypatch.setenv(ENVIRONMENT, str(folder))
    monkeypatch.setattr(shared_data, "_BY_DIRECTORY", {})
    return DataCache(build_registry())


# --- 1. nothing unpickled ------------------------------------------------------------------


def test_a_planted_pickle_is_never_loaded_by_a_worker_which_loads_its_own_copy(tmp_path, monkeypatch, capsys):
    folder, marker = tmp_path / "shared", tmp_path / "PWNED"
    plant_pickles(folder, marker)
    cache = worker_cache(monkeypatch, folder)
    data = cache.dataset(*SYNTHETIC)
    folds = cache.folds(data, "kfold", {"k": 2}, 0)
    assert not marker.exists()
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and warning.startswith("bench: warning: ") and "refused" in warning, warning
    monkeypatch.delenv(ENVIRONMENT)
    own = DataCache(build_registry())  # what a worker without shared data loads
    expected = own.dataset(*SYNTHETIC)
    assert data.ratings.equals(expected.ratings) and cache.checksum(data) == expected.checksum()
    assert [f.fingerprint for f in folds] == [f.fingerprint for f in own.folds(expected, "kfold", {"k": 2}, 0)]


@pytest.mark.parametrize("claimed", [False, True])
def test_a_run_on_a_shared_folder_it_did_not_create_is_refused_in_one_line_and_runs_nothing(tmp_path, claimed):
    folder, marker = tmp_path / "shared", tmp_path / "PWNED"
    plant_pickles(folder, marker, claimed)
    (tmp_path / "s.yaml").write_text("name: s\ndatasets: [{name: synthetic-ratings, options: {n_users: 40, "
                                     "n_items: 25}}]\nsplit: {method: kfold, k: 2}\nmodels: [global-mean]\n"
                                     "metrics: [rmse]\n")
    result = run_bench("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--executor", "dask",
                       "-q", env={ENVIRONMENT: str(folder)})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    # unclaimed, nothing there is read; a planted claim marker costs one warning of the plan's load
    assert len(lines) == 1 + claimed, result.stderr
    assert lines[-1].startswith(f"bench: error: ${ENVIRONMENT} {folder} already holds {2 + claimed} entries")
    assert "was not created by this run" in lines[-1] and "fresh directory" in lines[-1]
    assert not marker.exists()
    assert not (tmp_path / "out" / "cells.jsonl").exists() or not (tmp_path / "out" / "cells.jsonl").read_text()


@pytest.mark.parametrize("problem", ["other-writable", "a link"])
def test_a_shared_folder_others_may_write_or_a_link_is_refused(tmp_path, problem):
    folder = tmp_path / "shared"
    if problem == "a link":
        (tmp_path / "elsewhere").mkdir()
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir()
        folder.chmod(0o777)
    with pytest.raises(BenchError, match="refused: give each run a fresh directory"):
        SharedData(folder).claim()


def test_a_fresh_or_empty_private_folder_is_claimed_and_published_into(tmp_path):
    cache = DataCache(build_registry())
    cache.dataset(*SYNTHETIC)
    assert cache.publish(SharedData(tmp_path / "fresh")) is None
    manifests = list((tmp_path / "fresh").glob(f"*/{MANIFEST}"))
    assert len(manifests) == 1 and json.loads(manifests[0].read_text())["format"] == shared_data.FORMAT
    assert not list((tmp_path / "fresh").glob("*/*.pickle"))


# --- 3 (of the measurements). arrays that do not match their hashes ------------------


def published(tmp_path: Path) -> tuple[Path, str]:
    driver = DataCache(build_registry())
    data = driver.dataset(*SYNTHETIC)
    driver.folds(data, "kfold", {"k": 2}, 0)
    assert driver.publish(SharedData(tmp_path / "shared")) is None
    return tmp_path / "shared", shared_data.dataset_key(*SYNTHETIC)


def overwrite(path: Path, values) -> None:
    """What a model or another party does: make the file writable and change its numbers."""
    path.chmod(0o600)
    array = np.load(path, mmap_mode="r+")
    array[:] = values
    array.flush()
    del array


def test_an_altered_array_is_refused_and_the_worker_uses_its_own_copy(tmp_path, monkeypatch, capsys):
    folder, key = published(tmp_path)
    overwrite(folder / key / "c2.npy", 3.0)  # every rating 3.0: RMSE of the global mean 0
    cache = worker_cache(monkeypatch, folder)
    data = cache.dataset(*SYNTHETIC)
    assert data.ratings["rating"].nunique() > 1
    assert f"{folder / key / 'c2.npy'}: its SHA-256" in capsys.readouterr().err


def test_altered_arrays_with_their_hashes_rewritten_are_refused_by_the_recomputed_checksum(tmp_path):
    folder, key = published(tmp_path)
    overwrite(folder / key / "c2.npy", 3.0)
    manifest = json.loads((folder / key / MANIFEST).read_text())
    manifest["arrays"]["c2"]["sha256"] = shared_data._file_digest(folder / key / "c2.npy")[0]
    (folder / key / MANIFEST).chmod(0o600)
    (folder / key / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(SharedDataRefused, match="its arrays have checksum .* the manifest records"):
        SharedData(folder).get_dataset(key)


def test_altered_fold_indices_with_their_hashes_rewritten_are_refused_by_the_recomputed_fingerprint(tmp_path):
    folder, key = published(tmp_path)
    folds = shared_data.folds_key(key, "kfold", {"k": 2}, 0)
    overwrite(folder / folds / "0.test.npy", 0)
    manifest = json.loads((folder / folds / MANIFEST).read_text())
    manifest["arrays"]["0.test"]["sha256"] = shared_data._file_digest(folder / folds / "0.test.npy")[0]
    (folder / folds / MANIFEST).chmod(0o600)
    (folder / folds / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(SharedDataRefused, match="fold 0 has fingerprint .* the manifest records"):
        SharedData(folder).get_folds(folds)


# --- 2. one cell cannot corrupt the others -----------------------------------------------------

VANDAL = '''
import os
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Vandal(RatingModel):
    """Finds the files its worker maps and writes into them (chmod first: it owns them)."""

    def __init__(self, how: str = "maps"):
        self.how = how

    def fit(self, train):
        self.index_training(train)
        if self.how == "maps":
            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if line.rstrip().endswith(".npy")}
        else:
            root = os.environ["BENCH_SHARED_DATA"]
            paths = {os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".npy")}
        for path in sorted(paths):
            os.chmod(path, 0o600)
            array = np.load(path, mmap_mode="r+")
            array[:] = 3 if array.dtype.kind == "f" else 0
            array.flush()
        self.wrote_ = len(paths)
        return self

    def estimate(self, users, items):
        return np.full(len(users), self.mean_)

    def info(self):
        return {"wrote": self.wrote_}

@hookimpl
def bench_models():
    return [ModelSpec("vandal", {RATING: Vandal})]
'''


@pytest.mark.parametrize("how", ["maps", "environment"])
def test_a_model_that_writes_into_its_mapped_input_fails_its_own_cell_and_changes_no_other(tmp_path, how):
    (tmp_path / "vandal.py").write_text(VANDAL)
    head = ("name: s\ndatasets: [{name: synthetic-ratings, options: {n_users: 60, n_items: 30}}]\n"
            "split: {method: kfold, k: 2}\nmetrics: [rmse]\nplugins: [vandal.py]\n")
    (tmp_path / "clean.yaml").write_text(head + "models: [global-mean, bias-baseline]\n")
    (tmp_path / "s.yaml").write_text(head + f"models: [{{name: vandal, params: {{how: {how}}}}}, global-mean, "
                                     "bias-baseline]\n")
    clean = run_suite(tmp_path / "clean.yaml", RunOptions(out=tmp_path / "clean", executor="inline"),
                      stream=io.StringIO())
    attacked = run_suite(tmp_path / "s.yaml", RunOptions(out=tmp_path / "out", jobs=1), stream=io.StringIO())
    rows = {(r["model"], r["fold"]): r for r in attacked.rows}
    vandals = [r for r in attacked.rows if r["model"].startswith("vandal")]
    # the first cell that writes fails; the worker then maps nothing, so a later one writes into no input
    first = vandals[0]
    assert first["status"] == "error" and "the shared data changed while this cell ran" in first["error"]
    assert first["metrics"] == {} and first["model_info"]["wrote"] > 0
    assert {(r["model"], r["fold"]): r["metrics"] for r in clean.rows} == \
        {k: r["metrics"] for k, r in rows.items() if not k[0].startswith("vandal")}
    assert all(r["status"] == "ok" for k, r in rows.items() if not k[0].startswith("vandal"))
    assert attacked.failed == sum(r["status"] != "ok" for r in vandals) >= 1


# --- 3. per-unit files tied to their rows ---------------------------------------------------------

UNITS_SUITE = ("name: u\ndatasets: [{name: synthetic-ratings, options: {n_users: 60, n_items: 30}}]\n"
               "split: {method: holdout}\nmodels: [global-mean, bias-baseline]\nmetrics: [rmse]\n")


def units_runs(tmp_path: Path) -> tuple[Path, Path]:
    """Two runs of the same suite (A, B), their per-unit files written by the worker."""
    (tmp_path / "u.yaml").write_text(UNITS_SUITE)
    for name in ("A", "B"):
        run_suite(tmp_path / "u.yaml", RunOptions(out=tmp_path / name, executor="inline"), stream=io.StringIO())
    return tmp_path / "A", tmp_path / "B"


def stored(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "cells.jsonl").read_text().splitlines()]


def test_a_row_records_its_units_files_hash_and_compare_refuses_swapped_files(tmp_path):
    from benchmark import resultset
    from benchmark.compare import read_units

    a, _ = units_runs(tmp_path)
    rows = {r["model"]: r for r in stored(a)}
    for row in rows.values():
        path = a / row["units"]["file"]
        assert row["units"]["sha256"] == shared_data.hashlib.sha256(path.read_bytes()).hexdigest()
    results = {r.model: r for r in resultset.read_run(a).rows}
    assert not isinstance(read_units(results["global-mean"], "rmse"), str)
    first, second = (a / rows[m]["units"]["file"] for m in ("global-mean", "bias-baseline"))
    swap = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(swap)
    assert read_units(results["global-mean"], "rmse") == (
        f"per-unit file {rows['global-mean']['units']['file']} is not the one its row records (SHA-256 differs)")


def test_compare_refuses_per_unit_values_that_do_not_give_the_stored_metric(tmp_path):
    """Rows without a recorded hash (before issue 29) are still checked: by the mean."""
    from benchmark import resultset
    from benchmark.compare import read_units

    a, b = units_runs(tmp_path)
    rows = stored(b)
    by_model = {r["model"]: r for r in rows}
    for row in rows:
        del row["units"]["sha256"]
    swapped = by_model["global-mean"]["units"]["file"], by_model["bias-baseline"]["units"]["file"]
    by_model["global-mean"]["units"]["file"], by_model["bias-baseline"]["units"]["file"] = swapped[1], swapped[0]
    (b / "cells.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = {r.model: r for r in resultset.read_run(b).rows}
    reason = read_units(results["global-mean"], "rmse")
    assert isinstance(reason, str) and reason.startswith(f"per-unit values of rmse in {swapped[1]} give ")
    assert f"not the stored {by_model['global-mean']['metrics']['rmse']:.6g}" in reason
    result = run_bench("compare", str(a), str(b), "--format", "json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert all(entry["test"] != "units" for entry in json.loads(result.stdout))


def test_a_cell_whose_per_unit_values_could_not_be_stored_is_failed_and_retried(tmp_path, monkeypatch):
    (tmp_path / "u.yaml").write_text(UNITS_SUITE)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(np, "savez", full)
        first = run_suite(tmp_path / "u.yaml", RunOptions(out=tmp_path / "out", executor="inline"),
                          stream=io.StringIO())
    assert first.failed == 2
    assert all(r["status"] == "error" and r["error"] == "cannot store per-unit values: [Errno 28] No space "
               "left on device" for r in first.rows)
    listed = run_bench("results", str(tmp_path / "out"), "--failed", "--format", "json")
    assert len(json.loads(listed.stdout)) == 2
    again = run_suite(tmp_path / "u.yaml", RunOptions(out=tmp_path / "out", executor="inline", retry_failed=True),
                      stream=io.StringIO())
    assert again.ran == 2 and again.failed == 0 and all(r["units"]["sha256"] for r in again.rows)


def test_changed_names_a_written_file_by_its_signature_even_when_content_is_not_rehashed(tmp_path, monkeypatch):
    folder, key = published(tmp_path)
    worker = SharedData(folder)
    worker.get_dataset(key)
    assert worker.changed() == []
    monkeypatch.setattr(shared_data, "RECHECK_BYTES", 0)  # as for a dataset above the bound: stat only
    overwrite(folder / key / "c1.npy", 0)
    assert worker.changed() == [str(folder / key / "c1.npy")]
    worker.forget()
    assert worker.changed() == []
