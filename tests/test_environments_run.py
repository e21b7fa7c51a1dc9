"""A suite's environments in a run: the suite checks ``environments:`` and ``env:``, the run
builds each environment before any cell is sent, a failed build is one line and that model's
cells are recorded with the reason, and a model line with ``env:`` runs in workers of that
environment's pool (its interpreter, its variables), recording the environment in its cells.

No test here needs the network: a build fails on a Python that is not on PATH, and the
environment a worker runs in is a stand-in whose interpreter is this one (the real build is in
the slow tier of tests/test_environments.py)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import run_environments
from benchmark.environments import Environment, EnvironmentSpec
from benchmark.errors import BenchError
from benchmark.runner import RunOptions, run_suite
from benchmark.suite import check_suite

WHERE_PLUGIN = '''
import os, sys
import numpy as np
from benchmark.api import ModelSpec, RatingModel, hookimpl


class WhereAmI(RatingModel):
    """The global mean; its info says which interpreter and environment ran it."""

    def fit(self, train):
        self.mean_ = float(train.ratings["rating"].mean())
        return self

    def predict(self, users, items):
        return np.full(len(users), self.mean_)

    def info(self):
        return {"executable": sys.executable, "environment": os.environ.get("BENCH_ENVIRONMENT", "")}


@hookimpl
def bench_models():
    return [ModelSpec("where-am-i", {"rating": WhereAmI}, requires={"numpy": "numpy"})]
'''

SUITE = """name: envs
split: {{method: kfold, k: 2}}
plugins: [whereami.py]
environments:
{environments}
datasets: [{{name: synthetic-ratings, options: {{n_users: 30, n_items: 20, density: 0.3}}}}]
models:
  - {{name: where-am-i, label: here}}
  - {{name: where-am-i, label: there, env: {env}}}
metrics: [rmse]
"""


def _suite(directory: Path, environments: str, env: str) -> Path:
    (directory / "whereami.py").write_text(WHERE_PLUGIN)
    path = directory / "suite.yaml"
    path.write_text(SUITE.format(environments=environments, env=env))
    return path


# --- The suite ------------------------------------------------------------------------------------


def test_the_suite_names_each_mistake_of_its_environments_in_one_line(tmp_path):
    path = _suite(tmp_path, '  pandas2: {requirements: "pandas<3"}\n  old: {requirements: ["tabulate==0.9.0"]}',
                  "olde")
    errors = [str(e) for e in check_suite(path).errors]
    assert errors == [
        f"{path}:5: environments.pandas2.requirements: expected a non-empty list of pip requirements, found 'pandas<3'",
        f"{path}:10: models[1].env: expected the name of an environment of this suite (old, pandas2), found 'olde'; "
        f"did you mean 'old'?"]


def test_a_model_naming_a_broken_environment_is_not_reported_twice(tmp_path):
    path = _suite(tmp_path, '  old: {requirements: ["-e ."]}', "old")
    errors = [str(e) for e in check_suite(path).errors]
    assert errors == [f"{path}:5: environments.old.requirements[0]: expected a requirement, not a pip option, "
                      f"found '-e .'"]


def test_a_valid_suite_carries_each_model_s_environment(tmp_path):
    path = _suite(tmp_path, '  old: {requirements: ["tabulate==0.9.0"], python: "3.11"}', "old")
    checked = check_suite(path)
    assert checked.errors == ()
    old = EnvironmentSpec("old", ("tabulate==0.9.0",), "3.11")
    assert checked.suite.environments == {"old": old}
    assert [(m.label, m.env) for m in checked.suite.models] == [("here", None), ("there", old)]


def test_environments_need_the_local_executor(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    path = _suite(tmp_path, '  old: {requirements: ["tabulate==0.9.0"]}', "old")
    with pytest.raises(BenchError, match=r"^there run in environments \(old\), which need --executor local "
                                         r"\(not inline\)$"):
        run_suite(path, RunOptions(out=tmp_path / "out", executor="inline"), stream=io.StringIO())
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


# --- A failed build -------------------------------------------------------------------------------


def test_a_failed_build_is_one_line_and_its_model_s_cells_are_recorded_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    path = _suite(tmp_path, '  future: {requirements: ["tabulate==0.9.0"], python: "3.99"}', "future")
    stream = io.StringIO()
    result = run_suite(path, RunOptions(out=tmp_path / "out", quiet=True), stream=stream)
    said = [line for line in stream.getvalue().splitlines() if "future" in line]
    future = EnvironmentSpec("f", ("tabulate==0.9.0",), "3.99").hash
    assert said == [f"bench: building environment 'future' ({future}): tabulate==0.9.0",
                    "bench: environment 'future' could not be built: python3.99 is not on PATH (this bench runs "
                    f"Python {sys.version_info[0]}.{sys.version_info[1]}); its models' cells are recorded as "
                    "missing-dependency"]
    by_model = {(row["model"], row["fold"]): row for row in result.rows}
    assert len(by_model) == 4
    for fold in (0, 1):
        assert by_model["here", fold]["status"] == "ok"
        failed = by_model["there", fold]
        assert failed["status"] == "missing-dependency"
        assert failed["error"].startswith("environment 'future' could not be built: python3.99 is not on PATH")
        assert failed["code"]["environment"] == {"name": "future", "hash": future}
    assert result.failed == 2
    assert "there" in result.text  # the leaderboard still lists it (as failed)
    recorded = json.loads((tmp_path / "out" / "environment.json").read_text())["environments"]
    assert recorded == {"future": {"name": "future", "hash": future, "requirements": ["tabulate==0.9.0"],
                                   "error": f"python3.99 is not on PATH (this bench runs Python "
                                            f"{sys.version_info[0]}.{sys.version_info[1]})"}}


# --- Workers of an environment's pool -------------------------------------------------------------


def stand_in(directory: Path, spec: EnvironmentSpec) -> Environment:
    """A real virtual environment (``venv --without-pip``, a fraction of a second) that sees this
    interpreter's packages through a ``.pth`` file, recorded with the versions a real build
    would have read: the engine cannot tell it from one pip filled."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True)
    site_packages = next(directory.glob("lib/python*/site-packages"))
    driver = [p for p in sys.path if p.endswith("site-packages")]
    (site_packages / "driver.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in driver))
    probe = subprocess.run([str(directory / "bin" / "python"), "-I", "-c",
                            "import sys, json; print(json.dumps([p for p in sys.path if p]))"],
                           capture_output=True, text=True, check=True)
    return Environment(spec, spec.hash, directory, "2026-01-01T00:00:00", 1.0, "3.11.0", (spec.name,),
                       tuple(json.loads(probe.stdout)), {"numpy": "1.99.0", "tabulate": "0.9.0"})


def test_an_environment_s_cells_run_in_its_own_workers_and_record_it(tmp_path, monkeypatch):
    spec = EnvironmentSpec("old", ("tabulate==0.9.0",))
    built = stand_in(tmp_path / "env", spec)
    asked: list[EnvironmentSpec] = []
    monkeypatch.setattr(run_environments, "build", lambda s, log=None: asked.append(s) or built)
    path = _suite(tmp_path, '  old: {requirements: ["tabulate==0.9.0"]}\n  unused: {requirements: ["x"]}', "old")
    result = run_suite(path, RunOptions(out=tmp_path / "out", jobs=2, quiet=True), stream=io.StringIO())
    assert asked == [spec]  # built once, before the cells; an environment no model names is not built
    rows = {(row["model"], row["fold"]): row for row in result.rows}
    assert all(row["status"] == "ok" for row in rows.values()), [r.get("error") for r in rows.values()]
    for fold in (0, 1):
        there, here = rows["there", fold], rows["here", fold]
        assert there["model_info"]["executable"] == str(built.python)  # started with the environment's interpreter
        assert there["model_info"]["environment"] == f"old:{spec.hash}"
        assert there["code"]["environment"] == {"name": "old", "hash": spec.hash}
        assert there["code"]["libraries"] == {"numpy": "1.99.0"}  # the environment's versions, not the driver's
        assert here["model_info"]["executable"] == sys.executable and here["model_info"]["environment"] == ""
        assert "environment" not in here["code"]
        assert there["metrics"]["rmse"] == pytest.approx(here["metrics"]["rmse"])  # the same data reached both
    recorded = json.loads((tmp_path / "out" / "environment.json").read_text())["environments"]
    assert recorded == {"old": {"name": "old", "hash": spec.hash, "python": "3.11.0", "requirements": ["tabulate==0.9.0"],
                                "versions": {"tabulate": "0.9.0", "numpy": "1.99.0"}}}


def test_a_rebuilt_environment_recomputes_its_cells_and_only_those(tmp_path, monkeypatch):
    spec = EnvironmentSpec("old", ("tabulate==0.9.0",))
    built = stand_in(tmp_path / "env", spec)
    monkeypatch.setattr(run_environments, "build", lambda s, log=None: built)
    path = _suite(tmp_path, '  old: {requirements: ["tabulate==0.9.0"]}', "old")
    run_suite(path, RunOptions(out=tmp_path / "out", quiet=True), stream=io.StringIO())
    newer = Environment(spec, spec.hash, built.path, built.created, 1.0, "3.11.0", ("old",), built.site,
                        {"numpy": "1.99.1"})
    monkeypatch.setattr(run_environments, "build", lambda s, log=None: newer)
    stream = io.StringIO()
    again = run_suite(path, RunOptions(out=tmp_path / "out", quiet=True), stream=stream)
    assert (again.ran, again.reused) == (2, 2)
    assert "recomputing 2 stored cells: 2 whereami:where-am-i: numpy 1.99.0 -> 1.99.1" in stream.getvalue()


def test_pools_keep_to_jobs_and_group_each_environment_s_cells():
    from benchmark.engine.local import DEFAULT_POOL, LocalExecutor, pool_of
    from benchmark.events import Task

    def task(i: int, env: str | None) -> Task:
        code = {"model": "m", "libraries": {}, "metrics": {}} | ({"environment": {"name": env, "hash": env}}
                                                                 if env else {})
        return Task({"dataset": "d", "fold_name": f"f{i}", "model": "m", "code": code}, id=f"c{i}")

    tasks = [task(0, None), task(1, "a"), task(2, None), task(3, "b"), task(4, "a")]
    executor = LocalExecutor(jobs=2)
    assert [t.id for t in executor.grouped(tasks)] == ["c0", "c2", "c1", "c4", "c3"]
    assert [pool_of(t) for t in executor.grouped(tasks)] == [DEFAULT_POOL, DEFAULT_POOL, "a", "a", "b"]


def test_a_library_missing_here_is_not_warned_about_for_a_model_that_runs_in_an_environment(tmp_path):
    plugin = WHERE_PLUGIN.replace('requires={"numpy": "numpy"}', 'requires={"not_here_at_all": "not-here-at-all"}')
    path = _suite(tmp_path, '  old: {requirements: ["not-here-at-all"]}', "old")
    (tmp_path / "whereami.py").write_text(plugin)
    checked = check_suite(path)
    assert checked.errors == ()
    assert [w.split(": ", 2)[1:] for w in checked.warnings] == [
        ["models[0]", "where-am-i needs 'not_here_at_all': pip install not-here-at-all — its cells will be "
                      "recorded as missing-dependency"]]  # the line without env: only
