"""Scale and the engine's hardening: shared data, load time apart from the time limit, a worker
that cleans up after each cell, no more workers than cells, declared threads, quiet runs."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import engine
from benchmark.engine import Finished, LocalExecutor, Started, Stopped, Task
from benchmark.engine import local as local_engine
from benchmark.events import Limits
from benchmark.execute import DataCache
from benchmark.progress import LineDisplay
from benchmark.runner import RunOptions, run_suite
from benchmark.shared_data import ENVIRONMENT, SharedData
from tests.conftest import run_bench

PLUGIN = '''
import os, signal, subprocess, sys, time
import numpy as np
from benchmark.api import (RATING, DatasetSpec, ModelSpec, RatingData, RatingModel, hookimpl)
from bench_plugins.synthetic import load_synthetic

LOADS = []

def load_slow(seconds: float = 0.0, n_users: int = 40):
    LOADS.append(os.getpid())
    time.sleep(seconds)
    return load_synthetic(n_users=n_users, n_items=30, density=0.3)

class Probe(RatingModel):
    def __init__(self, mode: str = "ok", where: str = "", threads: int = 1, seconds: float = 0.0):
        self.mode, self.where, self.threads, self.seconds = mode, where, threads, seconds

    def fit(self, train):
        self.index_training(train)
        self.cwd_ = os.getcwd()
        self.loads_ = LOADS.count(os.getpid())  # a forked worker inherits the driver's list
        if self.mode == "chdir":
            os.chdir(self.where)
        elif self.mode == "fork":  # a child and a setsid daemon (double fork), both left running
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"])
            daemon = subprocess.Popen([sys.executable, "-c",
                "import os, subprocess, sys, time\\n"
                "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)'], start_new_session=True)\\n"
                f"open({self.where!r}, 'w').write(f'{child.pid} {{p.pid}}')\\n"])
            daemon.wait()
        elif self.mode == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
        time.sleep(self.seconds)
        return self

    def estimate(self, users, items):
        return np.full(len(users), self.mean_)

    def info(self):
        with open("/proc/self/cmdline", "rb") as cmdline:
            argv = cmdline.read().split(bytes(1))
        fds = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds[int(fd)] = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                pass
        from benchmark import execute
        driver = list(execute._DRIVER_REGISTRY.values())  # inherited by a forked worker only
        registries = {"driver's" if any(cache.registry is r for r in driver) else "own"
                      for cache in execute._WORKER_CACHES.values()}
        return {"cwd": self.cwd_, "loads": self.loads_, "spawned": b"benchmark.worker" in argv,
                "pid": os.getpid(), "fds": fds, "registries": sorted(registries)}

@hookimpl
def bench_models():
    return [ModelSpec("probe", {RATING: Probe})]

@hookimpl
def bench_datasets():
    return [DatasetSpec("slow-ratings", load_slow, RATING)]

@hookimpl
def bench_cell_artifacts(cell, model, predictions, directory):
    (directory / "note.txt").write_text(cell.model)
    return ["note.txt"]
'''


def write_suite(directory: Path, models: list[str], options: str = "{}", split: str = "{method: kfold, k: 2}",
                name: str = "scale") -> Path:
    (directory / "probe_plugin.py").write_text(PLUGIN)
    entries = "\n".join(f"  - {m}" for m in models)
    (directory / "suite.yaml").write_text(
        f"name: {name}\nsplit: {split}\nplugins: [probe_plugin.py]\n"
        f"datasets: [{{name: slow-ratings, options: {options}}}]\nmodels:\n{entries}\nmetrics: [rmse]\n")
    return directory / "suite.yaml"


def tasks_of(suite_path: Path, limits: Limits = Limits()) -> list[Task]:
    from benchmark.runner import plan
    from benchmark.suite import load_suite

    suite, registry = load_suite(suite_path)
    return [Task.of(cell, limits) for cell in plan(suite, registry, DataCache(registry))]


def quiet() -> io.StringIO:
    return io.StringIO()


# --- Issue 18.1: load once, share zero-copy ---------------------------------------------------


def test_a_shared_dataset_is_the_loaded_one_mapped_read_only(tmp_path):
    from bench_plugins.synthetic import load_synthetic

    data = load_synthetic(n_users=50, n_items=20, density=0.5)
    shared = SharedData(tmp_path / "data")
    mapped = shared.put_dataset("k", data, data.checksum())
    again, checksum = SharedData(tmp_path / "data").get_dataset("k")  # as a worker opens it
    for copy in (mapped, again):
        assert copy.ratings.equals(data.ratings)
        assert list(copy.ratings.dtypes) == list(data.ratings.dtypes)
        assert copy.checksum() == checksum == data.checksum()
        column = copy.ratings["rating"].to_numpy()
        assert mapped_from_file(column)
        with pytest.raises(ValueError):
            column[0] = 1.0  # read-only: a model cannot change the data of later cells
    folds = [engine_fold("1/1", np.arange(10), np.arange(10, 20))]
    assert [f.fingerprint for f in shared.put_folds("f", folds)] == [f.fingerprint for f in folds]
    assert SharedData(tmp_path / "data").get_folds("f")[0].train.tolist() == list(range(10))


def test_a_published_fold_is_verified_once_per_process_and_carries_its_recomputed_fingerprint(tmp_path, monkeypatch):
    from benchmark import shared_data

    folds = [engine_fold("1/2", np.arange(0, 20, 2), np.arange(1, 20, 2)),
             engine_fold("2/2", np.arange(1, 20, 2), np.arange(0, 20, 2))]
    expected = [f.fingerprint for f in folds]
    SharedData(tmp_path / "data").put_folds("f", folds)
    hashed = []
    real = shared_data.fingerprint_indices
    monkeypatch.setattr(shared_data, "fingerprint_indices", lambda *a: hashed.append(1) or real(*a))
    worker = SharedData(tmp_path / "data")  # as a worker opens them: every fold hashed once
    again = worker.get_folds("f")
    assert [f.fingerprint for f in again] == expected and len(hashed) == 2
    assert worker.get_folds("f") is again and [f.fingerprint for f in again] == expected and len(hashed) == 2
    assert [f.test.tolist() for f in again] == [f.test.tolist() for f in folds]


def mapped_from_file(array) -> bool:
    import mmap

    while array is not None:
        if isinstance(array, mmap.mmap):
            return True
        array = getattr(array, "base", None)
    return False


def engine_fold(name, train, test):
    from benchmark.api import Fold

    return Fold(name, train, test)


def test_workers_map_the_data_the_driver_loaded_and_give_the_same_numbers(tmp_path):
    suite = write_suite(tmp_path, ["global-mean", "bias-baseline", "probe"])
    inline = run_suite(suite, RunOptions(out=tmp_path / "inline", executor="inline"), stream=quiet())
    shared = run_suite(suite, RunOptions(out=tmp_path / "jobs2", jobs=2), stream=quiet())
    assert {r["cell_id"]: r["metrics"] for r in inline.rows} == {r["cell_id"]: r["metrics"] for r in shared.rows}
    probes = [r for r in shared.rows if r["model"] == "probe"]
    assert [r["model_info"]["loads"] for r in probes] == [0, 0], "no worker loaded the dataset itself"
    assert all(r["load_seconds"] >= 0 for r in shared.rows)
    from benchmark import execute

    assert not execute._DRIVER_REGISTRY, "the driver's registry is withdrawn when the run ends"


FORK_DRIVER = """
import io, json, sys
from benchmark import engine
from benchmark.runner import RunOptions, run_suite
held = open(sys.argv[3], "w")  # e.g. the run lock: no worker may keep it
print(json.dumps({"can_fork": engine.can_fork(),
                  "rows": run_suite(sys.argv[1], RunOptions(out=sys.argv[2], jobs=2), stream=io.StringIO()).rows}))
"""


def test_workers_fork_from_a_clean_driver_and_spawn_otherwise_with_the_same_numbers(tmp_path):
    suite = write_suite(tmp_path, ["global-mean", "probe"])
    results = {}
    for method in ("fork", "spawn"):  # a fresh driver each: one thread, no thread-pool library
        env = {**os.environ, engine.START_METHOD: method}
        out = subprocess.run([sys.executable, "-c", FORK_DRIVER, str(suite), str(tmp_path / method),
                              str(tmp_path / "held-by-the-driver")], env=env, capture_output=True, text=True,
                             check=True, cwd=tmp_path)
        results[method] = json.loads(out.stdout)
    assert results["fork"]["can_fork"] and not results["spawn"]["can_fork"]
    forked, spawned = results["fork"]["rows"], results["spawn"]["rows"]
    same = ("metrics", "plugin", "code", "code_id", "libraries", "dataset_shape", "split_fingerprint")
    assert {r["cell_id"]: [r.get(k) for k in same] for r in forked} == \
        {r["cell_id"]: [r.get(k) for k in same] for r in spawned}
    for rows, spawn in ((forked, False), (spawned, True)):
        for row in (r for r in rows if r["model"] == "probe"):
            info = row["model_info"]
            assert info["spawned"] is spawn
            # a forked worker uses the registry the driver built; a spawned one builds its own
            assert info["registries"] == (["own"] if spawn else ["driver's"])
            others = sorted(t for fd, t in info["fds"].items() if int(fd) > 2 and "bench-workers-" not in t)
            assert others and all(t.startswith(("socket:", "anon_inode:")) for t in others), others
    assert all(r["status"] == "ok" and r["log"] == "" for r in forked + spawned)


def test_workers_beyond_the_early_ones_fork_too(tmp_path):
    # 1 model x 1 seed: one worker starts before the data loads; cells long enough for one each
    suite = write_suite(tmp_path, ["{name: probe, params: {seconds: 1}}"])
    out = subprocess.run([sys.executable, "-c", FORK_DRIVER, str(suite), str(tmp_path / "out"),
                          str(tmp_path / "held")], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={k: v for k, v in os.environ.items() if k != engine.START_METHOD})
    rows = json.loads(out.stdout)["rows"]
    assert len({r["model_info"]["pid"] for r in rows}) == 2  # two workers, one cell each ...
    assert [r["model_info"]["spawned"] for r in rows] == [False, False]  # ... both forked (before the display's thread)


def test_a_driver_with_threads_or_a_thread_pool_library_spawns(monkeypatch):
    for name in engine.THREADED_LIBRARIES:  # as in a fresh driver (other tests may have loaded some)
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.delenv(engine.START_METHOD, raising=False)
    assert engine.can_fork()
    monkeypatch.setitem(sys.modules, "numba", sys)  # loaded: its OpenMP/TBB pool may be half-held
    assert not engine.can_fork()
    monkeypatch.delitem(sys.modules, "numba")
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # e.g. a heartbeat thread
    assert not engine.can_fork()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setenv(engine.START_METHOD, "spawn")
    assert not engine.can_fork()


def test_a_published_folds_rows_are_written_once_and_mapped_copy_on_write(tmp_path, monkeypatch):
    from benchmark import shared_data
    from bench_plugins.synthetic import load_synthetic

    monkeypatch.setattr(shared_data, "MATERIALIZE_BYTES", 0)
    data = load_synthetic(n_users=60, n_items=25, density=0.5)
    share = SharedData(tmp_path / "data")
    mapped = share.put_dataset("k", data, data.checksum())
    rng = np.random.default_rng(1)
    rows = rng.permutation(len(data))
    folds = [engine_fold("1/2", rows[:400], rows[400:]), engine_fold("2/2", rows[400:], rows[:400])]
    published = share.put_folds("f", folds, data, "k")  # the driver writes each fold's rows
    # ... once per distinct rows: here (as with k = 2) one fold's training rows are the other's test rows
    assert sorted(p.name for p in (tmp_path / "data" / "k").glob("rows-*")) == ["rows-f-0.test", "rows-f-0.train"]
    three = [engine_fold("1/2", rows[:400], rows[400:]), engine_fold("2/2", rows[:300], rows[300:])]
    share.put_folds("g", three, data, "k")
    assert len(list((tmp_path / "data" / "k").glob("rows-g-*"))) == 4
    for fold in published:
        for part in (fold.train, fold.test):
            subset = mapped.subset(part)
            expected = data.subset(np.asarray(part)).ratings
            assert subset.ratings.equals(expected) and list(subset.ratings.dtypes) == list(expected.dtypes)
            assert subset.ratings.index.equals(pd.RangeIndex(len(part)))
            assert mapped_from_file(subset.ratings["rating"].to_numpy())
            subset.ratings.loc[0, "rating"] = -1.0  # a model may change its frame: only its own
            assert mapped.subset(part).ratings["rating"].iloc[0] == expected["rating"].iloc[0]
    # folds published without their rows (another process's share): the first subset writes them
    again = SharedData(tmp_path / "data").get_folds("f")
    lazy = shared_data.MappedRatingData(mapped.ratings, mapped.scale, shared_directory=str(tmp_path / "other"),
                                        shared_key="k")
    (tmp_path / "other" / "k").mkdir(parents=True)
    assert lazy.subset(again[0].train).ratings.equals(data.subset(np.asarray(again[0].train)).ratings)
    assert (tmp_path / "other" / "k" / "rows-f-0.train" / "complete").exists()
    assert mapped.subset(np.asarray(again[0].train)[:10]).ratings.equals(data.subset(np.asarray(again[0].train)[:10]).ratings)


def test_rows_with_a_column_that_cannot_be_mapped_or_too_few_are_not_written(tmp_path, monkeypatch):
    from benchmark import shared_data
    from bench_plugins.synthetic import load_synthetic

    ratings = load_synthetic(n_users=60, n_items=25, density=0.5).ratings
    share = SharedData(tmp_path / "data")
    (tmp_path / "data" / "k").mkdir(parents=True)  # as put_dataset leaves it
    rows = np.arange(0, len(ratings), 2)
    assert share.write_rows("k", ratings, "small", rows) is None  # below MATERIALIZE_BYTES: copied
    monkeypatch.setattr(shared_data, "MATERIALIZE_BYTES", 0)
    for column, dtype in (("user", str), ("item", "Int64"), ("rating", object)):
        odd = ratings.assign(**{column: ratings[column].astype(dtype)})
        assert share.write_rows("k", odd, column, rows) is None, column
    assert list((tmp_path / "data" / "k").iterdir()) == []
    assert share.write_rows("k", ratings, "plain", rows) == tmp_path / "data" / "k" / "rows-plain"


def test_a_tuning_searchs_inner_folds_are_mapped_from_one_copy_on_a_shared_dataset(tmp_path, monkeypatch):
    from benchmark import shared_data, tuning
    from benchmark.registry import build_registry
    from bench_plugins.synthetic import load_synthetic

    monkeypatch.setattr(shared_data, "MATERIALIZE_BYTES", 0)
    data = load_synthetic(n_users=60, n_items=25, density=0.5)
    mapped = SharedData(tmp_path / "data").put_dataset("k", data, data.checksum())
    outer = engine_fold("1/2", np.arange(0, len(data), 2), np.arange(1, len(data), 2))
    registry = build_registry()
    inner = {"method": "kfold", "k": 2, "seed": 3}
    folds = tuning.inner_folds(registry, mapped, outer, inner)
    assert [f.fingerprint for f in folds] == [f.fingerprint for f in tuning.inner_folds(registry, data, outer, inner)]
    for fold in folds:
        for part in (fold.train, fold.test):
            subset = mapped.subset(part)  # as a trial cell takes its rows
            assert mapped_from_file(subset.ratings["rating"].to_numpy())
            assert subset.ratings.equals(data.subset(np.asarray(part)).ratings)
    written = sorted(p.name for p in (tmp_path / "data" / "k").glob("rows-inner-*"))
    assert len(written) == 4 and written[0].endswith("-0.test")


def test_large_folds_run_on_their_shared_rows_with_the_numbers_of_a_copy(tmp_path):
    from benchmark import shared_data

    ratings = shared_data.MATERIALIZE_BYTES // 32 * 2  # train and test above the threshold
    suite = tmp_path / "large.yaml"
    suite.write_text(f"name: large\ndatasets: [{{name: synthetic-ratings, options: {{n_users: 3000, n_items: 1000, "
                     f"n_ratings: {ratings}}}}}]\nsplit: {{method: kfold, k: 2}}\n"
                     "models: [global-mean, bias-baseline]\nmetrics: [rmse, mae]\n")
    inline = run_suite(suite, RunOptions(out=tmp_path / "inline", executor="inline"), stream=quiet())
    shared = run_suite(suite, RunOptions(out=tmp_path / "jobs2", jobs=2), stream=quiet())
    assert len(shared.rows) == 4 and all(r["status"] == "ok" for r in shared.rows)
    assert {r["cell_id"]: r["metrics"] for r in inline.rows} == {r["cell_id"]: r["metrics"] for r in shared.rows}
    assert {r["cell_id"]: r["dataset_shape"] for r in inline.rows} == {r["cell_id"]: r["dataset_shape"] for r in shared.rows}


def test_only_the_folds_still_to_run_get_their_rows_written(tmp_path, monkeypatch):
    from benchmark import shared_data
    from benchmark.runner import plan
    from benchmark.suite import load_suite

    monkeypatch.setattr(shared_data, "MATERIALIZE_BYTES", 0)
    suite, registry = load_suite(write_suite(tmp_path, ["global-mean"], split="{method: kfold, k: 3}"))
    cache = DataCache(registry)
    cells = plan(suite, registry, cache)
    assert cache.publish(SharedData(tmp_path / "data"), [c for c in cells if c.fold == 1]) is None
    written = sorted(p.name.rsplit("-", 1)[1] for p in (tmp_path / "data").glob("*/rows-*"))
    assert written == ["1.test", "1.train"]


def test_data_that_cannot_be_shared_is_loaded_by_each_worker_with_a_warning(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    suite = write_suite(tmp_path, ["global-mean", "probe"])
    inline = run_suite(suite, RunOptions(out=tmp_path / "inline", executor="inline"), stream=quiet())
    monkeypatch.setattr(SharedData, "put_dataset", full)
    stream = quiet()
    shared = run_suite(suite, RunOptions(out=tmp_path / "jobs2", jobs=2), stream=stream)
    assert "bench: warning: the data is not shared with the workers ([Errno 28] No space left on device)" \
        in stream.getvalue()
    assert {r["cell_id"]: r["metrics"] for r in inline.rows} == {r["cell_id"]: r["metrics"] for r in shared.rows}
    assert all(r["status"] == "ok" for r in shared.rows)


def test_a_worker_cache_maps_instead_of_loading(tmp_path, monkeypatch):
    from benchmark.registry import build_registry

    registry = build_registry()
    driver = DataCache(registry)
    data = driver.dataset("synthetic-ratings", {"n_users": 30, "n_items": 20}, None)
    folds = driver.folds(data, "kfold", {"k": 2}, 0)
    driver.publish(SharedData(tmp_path / "data"))
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "data"))

    class NoLoading(DataCache):
        def _load(self, *args):
            raise AssertionError("a worker must map the shared dataset")

    worker = NoLoading(registry)
    again = worker.dataset("synthetic-ratings", {"n_users": 30, "n_items": 20}, None)
    assert again.ratings.equals(data.ratings) and worker.checksum(again) == data.checksum()
    assert [f.fingerprint for f in worker.folds(again, "kfold", {"k": 2}, 0)] == [f.fingerprint for f in folds]


# --- Issue 19.7: the time limit covers the cell's work, not its data loading ---------------------


def test_a_slow_data_load_is_not_a_timeout_and_has_its_own_time(tmp_path):
    suite = write_suite(tmp_path, ["probe"], options="{seconds: 3}", split="{method: holdout}")
    tasks = tasks_of(suite, Limits(timeout=2.0))  # the worker loads itself: nothing is shared here
    rows = {}
    with LocalExecutor(jobs=1) as executor:
        executor.run(tasks, lambda e: rows.update({e.cell_id: e.row}) if isinstance(e, Finished) else None)
    (row,) = rows.values()
    assert row["status"] == "ok", row.get("error")
    assert row["load_seconds"] >= 3.0  # the loader slept 3 s: recorded apart, not timed out


def test_a_slow_model_still_times_out(tmp_path):
    suite = write_suite(tmp_path, ["{name: probe, params: {seconds: 30}}"], split="{method: holdout}")
    rows = {}
    with LocalExecutor(jobs=1) as executor:
        executor.run(tasks_of(suite, Limits(timeout=1.0)),
                     lambda e: rows.update({e.cell_id: e.row}) if isinstance(e, Finished) else None)
    (row,) = rows.values()
    assert (row["status"], row["error"]) == ("timeout", "timeout after 1 s")


# --- Issue 19.8: a model's chdir does not move later cells ---------------------------------------


def test_chdir_in_a_model_does_not_move_artifacts_or_later_cells(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    suite = write_suite(tmp_path, [f"{{name: probe, params: {{mode: chdir, where: {elsewhere}}}}}"])
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run_suite(suite, RunOptions(out="results-rel", jobs=1), stream=quiet())
    finally:
        os.chdir(cwd)
    run_dir = tmp_path / "results-rel"
    assert len(result.rows) == 2
    for row in result.rows:
        assert row["status"] == "ok", row.get("error")
        assert row["model_info"]["cwd"] == str(tmp_path), "each cell starts in the run's directory"
        assert row["artifacts"] and all((run_dir / a).is_file() for a in row["artifacts"])
    assert not list(elsewhere.iterdir())


# --- Issue 19.12: no more workers than cells to run -----------------------------------------------


@pytest.fixture
def started_workers(monkeypatch):
    count = []
    original = local_engine._Worker.__init__

    def counting(self, *args, **kwargs):
        count.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(local_engine._Worker, "__init__", counting)
    return count


def test_jobs_30_with_2_cells_starts_2_workers_and_a_finished_suite_none(tmp_path, started_workers):
    suite = write_suite(tmp_path, ["global-mean"])
    run_suite(suite, RunOptions(out=tmp_path / "out", jobs=30), stream=quiet())
    assert len(started_workers) == 2
    again = run_suite(suite, RunOptions(out=tmp_path / "out", jobs=30), stream=quiet())
    assert (again.ran, again.reused, len(started_workers)) == (0, 2, 2)


def test_an_invalid_suite_starts_no_worker(tmp_path, started_workers):
    from benchmark.errors import BenchError

    (tmp_path / "bad.yaml").write_text("name: bad\ndatasets: [digits]\nmodels: [no-such-model]\n")
    with pytest.raises(BenchError):
        run_suite(tmp_path / "bad.yaml", RunOptions(out=tmp_path / "out", jobs=30), stream=quiet())
    assert started_workers == []


# --- Issue 19.13: processes a cell leaves behind end with it -----------------------------------


def alive(pid: int) -> bool:
    return engine.process_state(pid) not in ("", "Z")  # gone, or a zombie


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_forked_children_and_setsid_daemons_end_with_their_cell(tmp_path):
    pids = tmp_path / "pids"
    suite = write_suite(tmp_path, [f"{{name: probe, params: {{mode: fork, where: {pids}}}}}"],
                        split="{method: holdout}")
    result = run_suite(suite, RunOptions(out=tmp_path / "out", jobs=1), stream=quiet())
    assert result.rows[0]["status"] == "ok", result.rows[0].get("error")
    child, daemon = map(int, pids.read_text().split())
    assert wait_until(lambda: not alive(child) and not alive(daemon))


def test_a_killed_driver_takes_the_cells_children_along_and_its_directory_goes_next_run(tmp_path):
    pids = tmp_path / "pids"
    suite = write_suite(tmp_path, [f"{{name: probe, params: {{mode: fork, where: {pids}, seconds: 1000}}}}"],
                        split="{method: holdout}")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    driver = subprocess.Popen([sys.executable, "-m", "benchmark", "run", str(suite), "--out", str(tmp_path / "out")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    assert wait_until(lambda: pids.exists() and pids.read_text().strip() != "", 60)
    child, daemon = map(int, pids.read_text().split())
    driver.kill()
    driver.wait()
    assert wait_until(lambda: not alive(child) and not alive(daemon))
    left = [p for p in tmp_path.iterdir() if p.name.startswith(engine.WORKER_DIRECTORY_PREFIX)]
    assert len(left) == 1  # SIGKILL: the driver could not remove it ...
    removed = engine.sweep_worker_directories(str(tmp_path))
    assert removed == [str(left[0])] and not left[0].exists()  # ... the next run does


# --- Issue 19.14: -q hides progress, not warnings; a stopped worker is reported ---------------------


def test_quiet_hides_progress_but_not_warnings(tmp_path):
    suite = write_suite(tmp_path, ["global-mean"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "cells.jsonl").write_text('{"torn')  # repaired with a warning
    result = run_bench("run", str(suite), "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    assert "bench: warning:" in result.stderr
    assert "[1/2]" not in result.stderr and "[1/2]" not in result.stdout


def test_a_stopped_worker_is_reported_by_the_heartbeat(tmp_path):
    suite = write_suite(tmp_path, ["{name: probe, params: {mode: stop}}"], split="{method: holdout}")
    stream = io.StringIO()
    display = LineDisplay(stream, total=1, heartbeat=3600)
    events: list = []

    with LocalExecutor(jobs=1) as executor:
        def on_event(event):
            events.append(event)
            display.handle(event)
            if isinstance(event, Stopped) and event.stopped:
                display.tally.clock = lambda: time.monotonic() + 7200  # the next heartbeat is due
                display.beat()
                (worker,) = executor._workers.values()
                os.kill(worker.process.pid, signal.SIGCONT)

        executor.run(tasks_of(suite, Limits(timeout=120)), on_event)
    assert any(isinstance(e, Stopped) and e.stopped for e in events)
    assert "... stopped after" in stream.getvalue() and "STOPPED" in stream.getvalue()
    assert [e.row["status"] for e in events if isinstance(e, Finished)] == ["ok"]


# --- Issue 18.3: declared threads count against --jobs -----------------------------------------------


def test_a_cell_declaring_threads_takes_that_many_of_the_jobs(tmp_path):
    suite = write_suite(tmp_path, ["{name: probe, params: {threads: 2, seconds: 0.3}}",
                                   "{name: probe, label: one, params: {threads: 1, seconds: 0.3}}"])
    tasks = tasks_of(suite)
    assert sorted(t.threads for t in tasks) == [1, 1, 2, 2]
    events: list = []
    with LocalExecutor(jobs=2) as executor:
        executor.run(tasks, events.append)
    running: set[str] = set()
    cores = {t.id: t.threads for t in tasks}
    for event in events:
        if isinstance(event, Started):
            running.add(event.cell_id)
            assert sum(cores[c] for c in running) <= 2, "never more cores than --jobs"
        elif isinstance(event, Finished):
            running.discard(event.cell_id)
            assert event.row["status"] == "ok", event.row.get("error")


# --- Issue 18.2: rows of one engine pass stored together, nothing lost on an interruption ----------


def test_rows_of_a_pass_are_stored_together_and_before_an_interruption():
    from benchmark.engine import Flush, run_cells
    from benchmark.record import CellResult

    def row(cell_id: str) -> CellResult:
        return CellResult.from_stored({"cell_id": cell_id, "status": "ok", "dataset": "d", "fold_name": "1",
                                       "model": "m", "metrics": {"rmse": 1.0}, "fit_seconds": 0.0})

    batches: list[list[str]] = []
    stream = io.StringIO()

    class OnePassThenCtrlC:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def run(self, tasks, on_event):
            on_event(Flush())  # a pass that finished no cell stores nothing
            on_event(Finished("a", row("a")))
            on_event(Finished("b", row("b")))
            assert batches == [] and stream.getvalue() == ""  # held until the pass ends
            on_event(Flush())
            assert batches == [["a", "b"]] and stream.getvalue().count("\n") == 2  # one write each
            on_event(Finished("c", row("c")))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cells([], lambda results: batches.append([r.cell_id for r in results]), LineDisplay(stream, total=3),
                  executor=OnePassThenCtrlC())
    assert batches == [["a", "b"], ["c"]]  # the row that arrived before Ctrl-C is stored too


def test_on_dask_workers_with_a_cores_resource_a_cell_reserves_its_declared_threads(tmp_path):
    import logging

    from distributed import LocalCluster

    from benchmark.engine import DaskExecutor

    suite = write_suite(tmp_path, ["{name: probe, params: {threads: 2, seconds: 0.5}}",
                                   "{name: probe, label: one, params: {threads: 1, seconds: 0.5}}"])
    tasks = tasks_of(suite)
    cores = {t.id: t.threads for t in tasks}
    events: list = []
    with LocalCluster(n_workers=1, threads_per_worker=2, resources={"cores": 2}, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster:
        with DaskExecutor(scheduler=cluster.scheduler_address) as executor:
            assert executor._reserves_cores()
            executor.run(tasks, events.append)
    finished = [e for e in events if isinstance(e, Finished)]
    assert sorted(e.cell_id for e in finished) == sorted(cores) and all(e.row["status"] == "ok" for e in finished)
    spans = {e.row["cell_id"]: (e.row["started_at"], e.row["finished_at"]) for e in finished}
    for cell, (start, end) in spans.items():  # whatever ran at once never needed more than 2 cores
        overlapping = [c for c, (s, e) in spans.items() if s < end and start < e]
        assert sum(cores[c] for c in overlapping) <= 2, (cell, overlapping)


# --- working memory in chunks, the same numbers ---------------------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 values: every chunked path runs several chunks on small data."""
    from benchmark import api
    from bench_plugins import baselines, metrics

    for module in (api, baselines, metrics):
        monkeypatch.setattr(module, "CHUNK", 7)


@pytest.mark.parametrize("values", [np.array([5, 3, 5, 9, 3, 1, 1, 8, 2, 9, 4, 5, 7, 0, 8, 6, 6, 2]),
                                    pd.Series(list("qwertyuiopasdfghjklzxcvbnmqwerty"), dtype="str")])
def test_distinct_in_order_is_pandas_unique_found_a_chunk_at_a_time(small_chunks, values):
    from benchmark.api import distinct_in_order

    found = distinct_in_order(values)
    expected = pd.Index(pd.unique(values))
    assert found.equals(expected) and found.dtype == expected.dtype
    assert distinct_in_order(values[:0]).empty


def reference_biases(ratings, n_epochs=10, reg_u=15.0, reg_i=10.0):
    """Surprise's baseline ALS over whole arrays (np.bincount), as Biases fitted it before."""
    users, items = pd.Index(pd.unique(ratings["user"])), pd.Index(pd.unique(ratings["item"]))
    u, i = users.get_indexer(ratings["user"]), items.get_indexer(ratings["item"])
    r = ratings["rating"].to_numpy(np.float64)
    mu = r.mean()
    n_u, n_i = np.bincount(u), np.bincount(i)
    bu, bi = np.zeros(len(users)), np.zeros(len(items))
    for _ in range(n_epochs):
        bi = np.bincount(i, (r - mu) - bu[u], len(items)) / (reg_i + n_i)
        bu = np.bincount(u, (r - mu) - bi[i], len(users)) / (reg_u + n_u)
    return bu, bi


def test_chunked_biases_predictions_and_per_user_errors_equal_whole_array_ones(small_chunks):
    from bench_plugins.baselines import BiasBaseline, Biases
    from bench_plugins.metrics import rmse_per_user
    from bench_plugins.synthetic import load_synthetic
    from benchmark.api import Predictions, RatingModel

    data = load_synthetic(n_users=40, n_items=15, density=0.4)
    ratings = data.ratings
    bu, bi = reference_biases(ratings)
    fitted = Biases().fit(ratings)
    assert np.array_equal(fitted.bu_, bu) and np.array_equal(fitted.bi_, bi)  # bit for bit

    model = BiasBaseline().fit(data)  # on int32 positions found 7 ratings at a time
    u, i = model.index_training(data)
    assert u.dtype == np.intp and np.array_equal(u, pd.Index(pd.unique(ratings["user"])).get_indexer(ratings["user"]))
    u32, i32 = model.index_training(data, np.int32)
    assert u32.dtype == np.int32 and np.array_equal(u32, u) and np.array_equal(i32, i)
    assert np.array_equal(model.biases_.bu_, bu) and np.array_equal(model.biases_.bi_, bi)
    rng = np.random.default_rng(3)
    users = rng.choice(np.append(ratings["user"].unique(), [-1, -2]), 60)  # some users unknown
    items = rng.choice(np.append(ratings["item"].unique(), [-5]), 60)
    chunked = model.predict(users, items)
    whole = RatingModel._predict_pairs(model, users, items)  # the template on all pairs at once
    assert len(chunked) == 60 and np.array_equal(chunked, whole)

    truth = rng.integers(1, 6, 60).astype(float)
    part = rmse_per_user(Predictions("rating", truth, chunked, users, items))
    codes, ids = pd.factorize(pd.Series(users))
    assert part.ids.tolist() == np.asarray(ids).astype(str).tolist()
    assert np.array_equal(part.num, np.bincount(codes, (truth - chunked) ** 2))
    assert np.array_equal(part.den, np.bincount(codes).astype(float))


def test_global_mean_learns_the_ids_without_positions():
    from bench_plugins.baselines import GlobalMean
    from bench_plugins.synthetic import load_synthetic

    data = load_synthetic(n_users=30, n_items=10, density=0.5)
    model = GlobalMean().fit(data)
    assert model.users_.equals(pd.Index(pd.unique(data.ratings["user"])))
    assert model.items_.equals(pd.Index(pd.unique(data.ratings["item"])))
    assert model.mean_ == data.ratings["rating"].mean()


def test_fast_mf_training_arrays_found_in_chunks_equal_the_whole_array_ones(monkeypatch):
    pytest.importorskip("numba", reason="needs the fast extra (numba)")
    from bench_plugins import fast_mf
    from bench_plugins.synthetic import load_synthetic

    monkeypatch.setattr(fast_mf, "_CHUNK", 7)
    data = load_synthetic(n_users=40, n_items=15, density=0.4)
    model = fast_mf.FastSVD()
    got = model._index(data)
    users, items = model.index_training(data)  # the whole-array reference, as _index was
    order = np.argsort(users, kind="stable")
    assert np.array_equal(got["indptr"], np.concatenate([[0], np.cumsum(np.bincount(users))]))
    assert got["items"].dtype == np.int32 and np.array_equal(got["items"], items[order])
    assert np.array_equal(got["ratings"], data.ratings["rating"].to_numpy(np.float64)[order])


def test_fast_mf_predictions_do_not_depend_on_how_many_factor_rows_are_gathered_at_once(monkeypatch):
    pytest.importorskip("numba", reason="needs the fast extra (numba)")
    from bench_plugins import fast_mf
    from bench_plugins.synthetic import load_synthetic

    data = load_synthetic(n_users=40, n_items=15, density=0.4)
    users, items = data.ratings["user"].to_numpy(), data.ratings["item"].to_numpy()
    for model in (fast_mf.FastSVD(n_factors=8, n_epochs=2, random_state=1),
                  fast_mf.FastSVDpp(n_factors=8, n_epochs=2, random_state=1)):
        model.fit(data)
        monkeypatch.setattr(fast_mf, "_GATHER_BYTES", 1 << 40)  # every pair at once
        whole = model.predict(users, items)
        monkeypatch.setattr(fast_mf, "_GATHER_BYTES", 16 * 8 * 3)  # three pairs at a time
        assert np.array_equal(model.predict(users, items), whole)


def test_a_checksum_streamed_in_chunks_is_the_hash_of_the_whole_columns(monkeypatch):
    import hashlib

    from benchmark import _internal
    from benchmark.api import RatingData

    def whole(column):  # the bytes each column stood for before it was streamed
        if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):
            return column.to_numpy(np.int64).tobytes()
        if pd.api.types.is_float_dtype(column):
            values = column.to_numpy(np.float64)
            if np.all(np.isfinite(values)) and np.array_equal(values, np.round(values)):
                return values.astype(np.int64).tobytes()
            return values.tobytes()
        return "\0".join(column.astype(str).tolist()).encode()

    monkeypatch.setattr(_internal, "HASH_CHUNK", 4)
    frame = pd.DataFrame({"user": np.arange(10, dtype=np.int32), "item": [f"i{k}" for k in range(10)],
                          "rating": [1.0, 2, 3, 4, 5, 1, 2, 3, 4, 4.5],  # whole numbers until the last chunk
                          "timestamp": np.arange(10) % 3 == 0})
    for data in (frame, frame.assign(rating=np.round(frame["rating"])), frame.iloc[:0]):
        expected = hashlib.sha256(b"".join(c.encode() + whole(data[c]) for c in data.columns)).hexdigest()[:16]
        assert RatingData(data, (1.0, 5.0)).checksum() == expected


def test_a_contract_1_1_subclass_that_overrides_index_training_is_still_called_as_before():
    from bench_plugins.baselines import BiasBaseline, GlobalMean
    from bench_plugins.synthetic import load_synthetic

    data = load_synthetic(n_users=30, n_items=12, density=0.5)
    classes: list[tuple[type, dict]] = [(BiasBaseline, {}), (GlobalMean, {})]
    try:
        from bench_plugins.fast_mf import FastSVD

        classes.append((FastSVD, {"random_state": 0, "n_epochs": 3}))
    except ImportError:
        pass
    for base, params in classes:
        calls = []

        class Mine(base):  # written for contract 1.1: index_training(self, train)
            def index_training(self, train):
                calls.append(len(train.ratings))
                return super().index_training(train)

        mine, plain = Mine(**params).fit(data), base(**params).fit(data)
        assert calls == [len(data.ratings)], base
        users, items = data.ratings["user"].to_numpy(), data.ratings["item"].to_numpy()
        assert np.array_equal(mine.predict(users, items), plain.predict(users, items)), base


def test_a_row_is_what_dataclasses_asdict_made_of_the_result():
    import collections
    import dataclasses

    from benchmark.cells import CellResult
    from benchmark.record import SCHEMA_VERSION

    @dataclasses.dataclass
    class Limits:
        seconds: int

    fields = {f.name: f"x{n}" for n, f in enumerate(dataclasses.fields(CellResult)) if f.default is dataclasses.MISSING
              and f.default_factory is dataclasses.MISSING}
    result = CellResult(**{**fields, "fold": 0, "seed": 1, "dataset_options": {}, "split_params": {}, "params": {},
                           "config": {}, "machine": {}})
    result.model_info = {"nested": Limits(3), "ordered": collections.OrderedDict(a=[1, (2, 3)]), "n": None}
    result.metrics = {"rmse": 0.5}
    row = result.to_row()
    assert row == {**{k: v for k, v in dataclasses.asdict(result).items() if v is not None and k != "_cell"},
                   "schema": SCHEMA_VERSION}
    assert row["model_info"]["nested"] == {"seconds": 3}
    assert type(row["model_info"]["ordered"]) is collections.OrderedDict
    row["metrics"]["rmse"] = 9.0  # a copy: the result keeps its own
    assert result.metrics == {"rmse": 0.5}
