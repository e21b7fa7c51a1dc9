"""The execution engine: every bad cell recorded with its reason, every good cell as in-process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from benchmark.engine import (
    DaskExecutor, Finished, InlineExecutor, LocalExecutor, Progress, Started, Task, run_cells,
)
from benchmark.events import ExecutorSettings, Limits
from benchmark.progress import open_display

PLUGIN = """\
import ctypes, os, signal, time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl, report_progress

class Trouble(RatingModel):
    def __init__(self, mode: str = "ok"):
        self.mode = mode

    def fit(self, train):
        self.index_training(train)
        if self.mode == "hang":
            time.sleep(1000)
        elif self.mode == "segfault":
            ctypes.string_at(0)
        elif self.mode == "exit":
            os._exit(3)
        elif self.mode == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.mode == "raise":
            raise ValueError("bad model")
        elif self.mode == "memory":
            block = np.ones(2 * 2**30 // 8)  # 2 GB, limit 500 MB
            time.sleep(30)
        elif self.mode == "noisy":
            print("hello from fit")
            os.write(2, b"noise from C\\n")
        elif self.mode == "epochs":
            for epoch in range(3):
                report_progress(epoch + 1, 3)
        elif self.mode == "kill-dask-worker":  # the worker process's parent is the Dask worker
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(30)
        return self

    def estimate(self, users, items):
        return np.full(len(users), self.mean_)

@hookimpl
def bench_models():
    return [ModelSpec("trouble", {RATING: Trouble})]
"""

GOOD = ["global-mean", "bias-baseline", "svd", "truncated-svd", "{name: trouble, label: noisy, params: {mode: noisy}}",
        "{name: trouble, label: epochs, params: {mode: epochs}}"]
BAD = ["hang", "segfault", "exit", "sigkill", "raise", "memory"]
LIMITS = Limits(timeout=60.0, memory=500 * 2**20)
HANG = Limits(timeout=2.0, memory=500 * 2**20)  # only the hanging cell gets a short time limit


def cells_of(directory: Path, models: list[str]) -> list[Task]:
    """Tasks of a tiny synthetic-ratings suite (valid checksums and fingerprints) with ``models``."""
    from benchmark.execute import DataCache
    from benchmark.runner import plan
    from benchmark.suite import load_suite

    (directory / "trouble.py").write_text(PLUGIN)
    entries = "\n".join(f"  - {m}" for m in models)
    (directory / "suite.yaml").write_text(
        "name: engine\nsplit: {method: kfold, k: 2}\nplugins: [trouble.py]\n"
        "datasets: [{name: synthetic-ratings, options: {n_users: 60, n_items: 40, density: 0.3}}]\n"
        f"models:\n{entries}\nmetrics: [rmse, mae]\n")
    suite, registry = load_suite(directory / "suite.yaml")
    return [Task.of(cell, HANG if cell.model == "hang" else LIMITS)
            for cell in plan(suite, registry, DataCache(registry))]


def bad(mode: str) -> str:
    return f"{{name: trouble, label: {mode}, params: {{mode: {mode}}}}}"


def collect(executor, tasks: list[Task]) -> tuple[dict[str, dict], list]:
    events: list = []
    with executor:
        executor.run(tasks, events.append)
    rows = {e.cell_id: e.row for e in events if isinstance(e, Finished)}
    assert len(rows) == len(tasks) == sum(isinstance(e, Finished) for e in events), "one row per cell"
    return rows, events


def by_label(rows: dict[str, dict]) -> dict[tuple[str, int], dict]:
    return {(row["model"], row["fold"]): row for row in rows.values()}


@pytest.fixture(scope="module")
def inline_rows(tmp_path_factory):
    directory = tmp_path_factory.mktemp("inline")
    rows, _ = collect(InlineExecutor(), cells_of(directory, GOOD))
    assert all(row["status"] == "ok" for row in rows.values()), rows
    return by_label(rows)


def test_bad_cells_get_their_reason_and_every_other_cell_runs(tmp_path, inline_rows):
    tasks = cells_of(tmp_path, GOOD + [bad(mode) for mode in BAD])
    rows, events = collect(LocalExecutor(jobs=2, artifacts_root=tmp_path / "artifacts"), tasks)
    found = by_label(rows)
    for fold in (0, 1):
        assert found["hang", fold]["status"] == "timeout"
        assert found["hang", fold]["error"] == "timeout after 2 s"
        assert found["segfault", fold]["status"] == "crashed"
        assert found["segfault", fold]["error"] == "killed by signal 11 (SIGSEGV: Segmentation fault)"
        assert "Segmentation fault" in found["segfault", fold]["log"]  # faulthandler's traceback
        assert (found["exit", fold]["status"], found["exit", fold]["error"]) == ("crashed", "worker exited with code 3")
        assert (found["sigkill", fold]["status"], found["sigkill", fold]["error"]) == \
               ("killed", "killed by signal 9 (out of memory?)")
        assert found["raise", fold]["status"] == "error"
        assert found["raise", fold]["error"] == "ValueError: bad model"
        assert found["memory", fold]["status"] == "memory"
        assert found["memory", fold]["error"].startswith("memory limit 500 MB exceeded (resident ")
        for (model, index), expected in inline_rows.items():
            if index == fold:
                got = found[model, fold]
                assert got["status"] == "ok", got
                assert got["metrics"] == expected["metrics"], model
    assert "hello from fit" in found["noisy", 0]["log"] and "noise from C" in found["noisy", 0]["log"]
    started = {e.cell_id for e in events if isinstance(e, Started)}
    assert started == set(rows)
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress and progress[-1].done == 3 and progress[-1].total == 3 and progress[-1].unit == "epoch"


def test_jobs_2_gives_the_numbers_of_jobs_1(tmp_path, inline_rows):
    tasks = cells_of(tmp_path, GOOD)
    one, _ = collect(LocalExecutor(jobs=1), tasks)
    two, _ = collect(LocalExecutor(jobs=2), tasks)
    assert {k: r["metrics"] for k, r in one.items()} == {k: r["metrics"] for k, r in two.items()}
    assert {k: r["metrics"] for k, r in by_label(one).items()} == {k: r["metrics"] for k, r in inline_rows.items()}


def test_a_worker_is_reused_until_it_fails(tmp_path):
    tasks = cells_of(tmp_path, ["global-mean", bad("exit"), "bias-baseline"])
    rows, events = collect(LocalExecutor(jobs=1), tasks)
    workers = [e.worker for e in events if isinstance(e, Started)]
    assert workers == ["w1"] * 6
    assert [rows[t.id]["status"] for t in tasks] == ["ok", "crashed", "ok"] * 2  # fold by fold


def test_run_cells_stores_each_row_and_prints_a_line_per_cell(tmp_path):
    tasks = [Task(t.cell) for t in cells_of(tmp_path, ["global-mean", bad("raise")])]  # no limits
    stored: list = []
    stream = io.StringIO()
    run_cells(tasks, stored.extend, open_display(stream, total=6, done=2), ExecutorSettings("local", jobs=2))
    assert sorted(r.cell_id for r in stored) == sorted(t.id for t in tasks)
    lines = stream.getvalue().splitlines()
    assert [line.split("]")[0] for line in lines] == ["[3/6", "[4/6", "[5/6", "[6/6"]
    assert sum("ERROR: ValueError: bad model" in line for line in lines) == 2


def test_dask_local_cluster_runs_cells_and_records_a_killed_worker(tmp_path, inline_rows):
    tasks = cells_of(tmp_path, ["global-mean", "svd", bad("kill-dask-worker"), bad("segfault"), bad("hang")])
    rows, events = collect(DaskExecutor(jobs=2), tasks)
    found = by_label(rows)
    for fold in (0, 1):
        assert found["global-mean", fold]["metrics"] == inline_rows["global-mean", fold]["metrics"]
        assert found["svd", fold]["metrics"] == inline_rows["svd", fold]["metrics"]
        killed = found["kill-dask-worker", fold]
        assert killed["status"] == "killed" and killed["error"].startswith("worker died"), killed
        assert found["segfault", fold]["error"] == "killed by signal 11 (SIGSEGV: Segmentation fault)"
        assert found["hang", fold]["error"] == "timeout after 2 s"
    assert any(isinstance(e, Started) and e.worker.startswith("tcp://") for e in events)


def test_an_unreachable_dask_scheduler_is_one_line_and_exit_2(tmp_path):
    pytest.importorskip("distributed")
    from tests.conftest import run_bench

    (tmp_path / "s.yaml").write_text("name: s\ndatasets:\n  - name: synthetic-ratings\n"
                                     "    options: {n_users: 30, n_items: 20, density: 0.5}\n"
                                     "models: [global-mean]\nmetrics: [rmse]\n")
    result = run_bench("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--executor", "dask",
                       "--scheduler", "tcp://127.0.0.1:1", env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("bench: error: --scheduler: cannot reach the Dask scheduler 'tcp://127.0.0.1:1': ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.slow
def test_a_dask_runs_rows_are_read_back_and_ranked_on_its_first_run(tmp_path):
    """Rows travel back from Dask as msgpack, lists as tuples: the runner's leaderboard used to
    reject every fresh row ("no results yet") though cells.jsonl held them."""
    pytest.importorskip("distributed")
    from benchmark import resultset
    from benchmark.runner import RunOptions, run_suite

    (tmp_path / "s.yaml").write_text("name: s\ndatasets:\n  - name: synthetic-ratings\n"
                                     "    options: {n_users: 60, n_items: 30, density: 0.3}\n"
                                     "    split: {method: kfold, k: 2}\nmodels: [global-mean, bias-baseline]\n"
                                     "metrics: [rmse]\n")
    result = run_suite(tmp_path / "s.yaml", RunOptions(out=tmp_path / "out", executor="dask", jobs=1),
                       stream=io.StringIO())
    assert result.ran == 4 and all(resultset.check(row) is None for row in result.rows)
    assert all(isinstance(row["artifacts"], list) for row in result.rows)
    assert [line.rank for line in result.lines] == [1, 2] and "no results yet" not in result.text
