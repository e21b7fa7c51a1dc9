"""Per-model environments (benchmark/environments.py): the suite block, the hash, the build's
atomicity and lock, and (slow tier) one real environment whose worker runs a cell."""

from __future__ import annotations

import re

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmark import environments as envs
from benchmark.environments import Environment, EnvironmentSpec, parse_environments
from benchmark.errors import BenchError, BenchErrors

PANDAS2 = EnvironmentSpec("pandas2", ("pandas>=2.2,<3",))


# --- The suite's environments: block ------------------------------------------------------------


def test_the_issue_syntax_parses_into_specs():
    data = {"environments": {"pandas2": {"requirements": ["pandas>=2.2,<3"]},
                             "recbole": {"requirements": ["recbole==1.2.1", " torch==2.13.0 "],
                                         "python": "3.11"}}}
    found = parse_environments(data, "suite.yaml")
    assert found["pandas2"] == PANDAS2
    assert found["recbole"] == EnvironmentSpec("recbole", ("recbole==1.2.1", "torch==2.13.0"), "3.11")
    assert parse_environments({"models": []}, "suite.yaml") == {}


@pytest.mark.parametrize("block, expected", [
    ([1, 2], "environments: expected a mapping of names to {requirements: [...]}, found [1, 2]"),
    ({"p": ["pandas"]}, "environments.p: expected a mapping {requirements: [...], python: '3.x'}, found ['pandas']"),
    ({"p": {}}, "environments.p.requirements: expected a list of pip requirements, found nothing"),
    ({"p": {"requirements": "pandas"}}, "environments.p.requirements: expected a non-empty list of pip "
                                        "requirements, found 'pandas'"),
    ({"p": {"requirements": []}}, "environments.p.requirements: expected a non-empty list"),
    ({"p": {"requirements": [3]}}, "environments.p.requirements[0]: expected a requirement such as "
                                   "'pandas>=2.2,<3', found 3"),
    ({"p": {"requirements": ["-e ."]}}, "environments.p.requirements[0]: expected a requirement, not a pip option"),
    ({"p": {"requirements": ["x"], "python": 3.10}}, "environments.p.python: expected a version in quotes "
                                                     "such as '3.11' (YAML reads 3.10 as the number 3.1)"),
    ({"p": {"requirements": ["x"], "python": "three"}}, "environments.p.python: expected a version such as "
                                                        "'3.11', found 'three'"),
    ({"p": {"requirement": ["x"]}}, "environments.p: unknown key 'requirement', expected one of requirements, "
                                    "python; did you mean 'requirements'?"),
    ({"bad name": {"requirements": ["x"]}}, "environments.bad name: expected a name of letters, digits"),
])
def test_each_mistake_is_one_line_with_key_expected_and_found(block, expected):
    with pytest.raises(BenchError) as raised:
        parse_environments({"environments": block}, "suite.yaml")
    assert str(raised.value).startswith("suite.yaml: " + expected), str(raised.value)
    assert "\n" not in str(raised.value)


def test_every_mistake_of_the_block_is_reported_at_once():
    with pytest.raises(BenchErrors) as raised:
        parse_environments({"environments": {"a": {}, "b": {"requirements": [1]}}}, "s.yaml")
    assert [line.split(":")[1].strip() for line in raised.value.lines()] == [
        "environments.a.requirements", "environments.b.requirements[0]"]


def test_a_model_line_names_a_declared_environment():
    declared = {"pandas2": PANDAS2}
    assert envs.model_environment({"name": "lenskit-ease", "env": "pandas2"}, declared, "m") == PANDAS2
    assert envs.model_environment({"name": "ease"}, declared, "m") is None
    with pytest.raises(BenchError, match=r"^models\[0\]\.env: expected the name of an environment of this "
                                         r"suite \(pandas2\), found 'pandas3'; did you mean 'pandas2'\?$"):
        envs.model_environment({"env": "pandas3"}, declared, "models[0].env")


# --- The hash -------------------------------------------------------------------------------------


def test_the_hash_covers_requirements_python_and_bench_but_not_the_name_or_order():
    a = EnvironmentSpec("a", ("numpy<2", "pandas>=2.2,<3"))
    assert a.hash == EnvironmentSpec("b", ("pandas>=2.2,<3", "numpy<2")).hash  # a set; the name is a label
    assert a.hash == EnvironmentSpec("a", ("numpy<2", "pandas>=2.2,  <3")).hash  # spaces inside ignored
    assert a.hash != EnvironmentSpec("a", ("numpy<2",)).hash
    assert a.hash != EnvironmentSpec("a", a.requirements, "3.12").hash
    identity = a.identity()
    assert identity["worker"]["requires"] and all("extra" not in r for r in identity["worker"]["requires"])
    assert identity["worker"]["source"] == str(Path(envs.__file__).resolve().parents[1])  # this checkout


def test_the_hash_changes_with_bench_s_worker_side(monkeypatch):
    before = PANDAS2.hash
    monkeypatch.setattr(envs, "bench_version", lambda: "99.0")
    assert PANDAS2.hash != before


# --- Pip's last meaningful line ---------------------------------------------------------------------

NO_VERSION = """WARNING: Location 'file:///opt/x/' is ignored: it is neither a file nor a directory.
ERROR: Could not find a version that satisfies the requirement tabulate==0.0.1 (from versions: 0.1, 0.9.0)
ERROR: No matching distribution found for tabulate==0.0.1
"""
CONFLICT = """ERROR: Cannot install bench-harness==0.4.0 and tabulate==0.8.10 because these package versions have conflicting dependencies.

The conflict is caused by:
    The user requested tabulate==0.8.10
    bench-harness 0.4.0 depends on tabulate>=0.9

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/
"""


def test_the_meaningful_line_is_pip_s_last_real_error():
    assert envs.meaningful_line(NO_VERSION) == "No matching distribution found for tabulate==0.0.1"
    assert envs.meaningful_line(CONFLICT).startswith("Cannot install bench-harness==0.4.0 and tabulate==0.8.10")
    assert envs.meaningful_line("Traceback...\n  File x\nModuleNotFoundError: No module named 'pandas'\n"
                                "WARNING: x\n") == "ModuleNotFoundError: No module named 'pandas'"
    assert envs.meaningful_line("") == "no output"


# --- What the engine uses to start a worker there -----------------------------------------------------


def _environment(path: Path, spec: EnvironmentSpec = PANDAS2) -> Environment:
    site = (f"{sys.base_prefix}/lib/python3.11", str(path / "lib/python3.11/site-packages"))
    return Environment(spec, spec.hash, path, "2026-01-01T00:00:00", 1.0, "3.11.7", (spec.name,), site,
                       {"pandas": "2.3.3", "numpy": "2.4.6", "other": "1"})


def test_the_worker_sees_the_environment_s_packages_not_the_driver_s(tmp_path):
    env = _environment(tmp_path / "env")
    driver = ["", str(tmp_path / "suite"), f"{sys.prefix}/lib/python3.11/site-packages",
              "/elsewhere/lib/python3.11/site-packages", f"{sys.base_prefix}/lib/python3.11", *env.site]
    assert env.worker_sys_path(driver) == [*env.site, str(tmp_path / "suite")]
    assert env.worker_command(5, "/tmp/c.log", 2) == [str(tmp_path / "env/bin/python"), "-m", "benchmark.worker",
                                                      "5", "/tmp/c.log", "2"]
    assert env.worker_command(5, "", 1, verbose=True)[-3:] == ["-", "1", "--verbose"]
    variables = env.worker_variables({"PYTHONPATH": "/driver", "VIRTUAL_ENV": "/v", "OMP_NUM_THREADS": "2"})
    assert variables == {"OMP_NUM_THREADS": "2", "BENCH_ENVIRONMENT": f"pandas2:{PANDAS2.hash}"}


def test_provenance_names_the_environment_and_the_versions_of_what_it_was_asked_for(tmp_path):
    record = _environment(tmp_path).provenance()
    assert record["name"] == "pandas2" and record["hash"] == PANDAS2.hash and record["python"] == "3.11.7"
    assert record["versions"] == {"pandas": "2.3.3", "numpy": "2.4.6"}  # requested and bench's core; not "other"
    assert envs.requirement_name("Scikit_Learn[x]>=1.4; python_version>'3'") == "scikit-learn"
    assert _environment(tmp_path).library_versions({"pandas": "pandas", "lenskit": "lenskit"}) == {"pandas": "2.3.3"}


# --- Building: once, atomically, under a lock (pip and the probe replaced by fakes) --------------------


class FakeBuild:
    """Stands in for ``python -m venv``, ``pip install`` and the probe; counts builds."""

    def __init__(self, monkeypatch, fail: str = "", delay: float = 0.0):
        self.fail, self.delay, self.builds = fail, delay, 0
        monkeypatch.setattr(envs, "_step", self.step)
        monkeypatch.setattr(envs, "_probe", self.probe)

    def step(self, spec, what, command, transcript):
        transcript.append("$ " + " ".join(command))
        if what == "python -m venv":
            self.builds += 1
            target = Path(command[-1])
            (target / "bin").mkdir(parents=True)
            (target / "bin" / "python").write_text("")
            (target / "bin" / "tool").write_text(f"#!{target}/bin/python\n")
            (target / "pyvenv.cfg").write_text(f"command = python -m venv {target}\n")
            time.sleep(self.delay)
        elif self.fail:
            raise BenchError(f"environment {spec.name!r}: {what} failed: {self.fail}")
        return ""

    def probe(self, python, base, spec=None, transcript=None):
        return {"python": "3.11.7", "versions": {"pandas": "2.3.3"},
                "sys_path": [str(python.parent.parent / "lib/python3.11/site-packages")]}


def test_an_environment_is_built_once_renamed_into_place_and_reused(monkeypatch, tmp_path):
    fake = FakeBuild(monkeypatch)
    lines: list[str] = []
    env = envs.build(PANDAS2, tmp_path, log=lines.append)
    assert env.path == tmp_path / "envs" / PANDAS2.hash and env.python == env.path / "bin/python"
    assert [p.name for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")] == [PANDAS2.hash]
    assert not list((tmp_path / "envs").glob(".tmp-*"))
    assert (env.path / "bin/tool").read_text() == f"#!{env.path}/bin/python\n"  # scripts point at the final place
    assert str(env.path) in (env.path / "pyvenv.cfg").read_text()
    assert env.site == (str(env.path / "lib/python3.11/site-packages"),)
    assert lines[0].startswith(f"building environment 'pandas2' ({PANDAS2.hash}): pandas>=2.2,<3")
    again = envs.build(EnvironmentSpec("pd2", PANDAS2.requirements), tmp_path, log=lines.append)
    assert fake.builds == 1 and len(lines) == 2  # reused: no line, no build
    assert again.names == ("pandas2", "pd2") and again.versions() == {"pandas": "2.3.3"}
    assert [e.names for e in envs.list_environments(tmp_path)] == [("pandas2", "pd2")]


def test_a_failed_build_is_one_line_and_leaves_nothing_half_built(monkeypatch, tmp_path):
    FakeBuild(monkeypatch, fail="No matching distribution found for pandas==0.0.1")
    with pytest.raises(BenchError) as raised:
        envs.build(PANDAS2, tmp_path)
    assert str(raised.value) == ("environment 'pandas2': pip install failed: No matching distribution found "
                                 "for pandas==0.0.1")
    left = sorted(p.name for p in (tmp_path / "envs").iterdir() if p.name != ".locks")
    assert left == [f"{PANDAS2.hash}-failed.log"]  # the transcript, for whoever wants more than the line
    assert envs.list_environments(tmp_path) == []


def test_a_build_killed_half_way_is_cleared_by_the_next_build(monkeypatch, tmp_path):
    fake = FakeBuild(monkeypatch)
    stale = tmp_path / "envs" / f".tmp-{PANDAS2.hash}-dead"
    (stale / "bin").mkdir(parents=True)
    unrecorded = tmp_path / "envs" / PANDAS2.hash  # a directory without its record is not an environment
    unrecorded.mkdir()
    assert envs.list_environments(tmp_path) == []
    envs.build(PANDAS2, tmp_path)
    assert not stale.exists() and fake.builds == 1 and envs.load(unrecorded) is not None


def test_two_builds_of_one_environment_at_once_build_it_once(monkeypatch, tmp_path):
    fake = FakeBuild(monkeypatch, delay=0.5)
    results: list[Environment] = []
    threads = [threading.Thread(target=lambda: results.append(envs.build(PANDAS2, tmp_path))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.builds == 1 and len(results) == 2 and results[0].path == results[1].path


def test_list_find_and_remove_by_name_or_hash_prefix(monkeypatch, tmp_path):
    FakeBuild(monkeypatch)
    old = envs.build(EnvironmentSpec("old-tabulate", ("tabulate==0.9.0",)), tmp_path)
    envs.build(PANDAS2, tmp_path)
    assert {e.spec.name for e in envs.list_environments(tmp_path)} == {"old-tabulate", "pandas2"}
    assert envs.find(old.hash[:8], tmp_path) == [old] and envs.find(old.hash[:3], tmp_path) == []
    assert [e.hash for e in envs.remove("old-tabulate", tmp_path)] == [old.hash]
    assert not old.path.exists() and [e.spec.name for e in envs.list_environments(tmp_path)] == ["pandas2"]
    with pytest.raises(BenchError, match=r"^no environment named 'nothing' or with that hash \(built: pandas2\)$"):
        envs.remove("nothing", tmp_path)


def test_a_python_version_not_on_path_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BenchError, match=r"^environment 'p': python3\.99 is not on PATH \(this bench runs Python 3\."):
        envs.interpreter(EnvironmentSpec("p", ("x",), "3.99"))
    assert envs.interpreter(EnvironmentSpec("p", ("x",))) == getattr(sys, "_base_executable", sys.executable)


# --- bench env ------------------------------------------------------------------------------------------


def bench_env(*argv: str) -> int:
    """``bench env ...`` through bench's own parser and handler."""
    from benchmark.cli import main

    try:
        return main(["env", *argv])
    except SystemExit as exit:
        return int(exit.code or 0)


SUITE = """
name: arena
environments:
  pandas2: {requirements: ["pandas>=2.2,<3"]}
  old-tabulate: {requirements: ["tabulate==0.9.0"]}
datasets: [movielens-100k]
models:
  - {name: lenskit-ease, env: pandas2}
metrics: [ndcg@10]
"""


def test_bench_env_builds_lists_and_removes(monkeypatch, tmp_path, capsys):
    fake = FakeBuild(monkeypatch)
    cache = str(tmp_path / "cache")
    assert bench_env("--cache", cache, "list") == 0
    assert capsys.readouterr().out.startswith("no environment built under")
    (tmp_path / "suite.yaml").write_text(SUITE)
    assert bench_env("--cache", cache, "build", str(tmp_path / "suite.yaml"), "pandas2") == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"pandas2: {PANDAS2.hash} at ") and "building environment 'pandas2'" in err
    assert bench_env("--cache", cache, "build", str(tmp_path / "suite.yaml")) == 0  # pandas2 reused
    assert fake.builds == 2
    capsys.readouterr()
    assert bench_env("--cache", cache, "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["name", "hash", "python", "requirements"] and len(table) == 4
    assert bench_env("--cache", cache, "remove", "pandas2", "old-tabulate") == 0
    assert capsys.readouterr().out.splitlines() == [f"removed pandas2 ({PANDAS2.hash})",
                                                   f"removed old-tabulate ({EnvironmentSpec('o', ('tabulate==0.9.0',)).hash})"]


def test_bench_env_build_names_what_the_suite_lacks_and_lists_every_failure(monkeypatch, tmp_path, capsys):
    FakeBuild(monkeypatch, fail="No matching distribution found")
    (tmp_path / "suite.yaml").write_text(SUITE)
    assert bench_env("build", str(tmp_path / "suite.yaml"), "pandas3") == 2
    assert re.search(r"suite\.yaml: no environment 'pandas3'; this suite declares old-tabulate, "
                     r"pandas2; did you mean 'pandas2'\?$", capsys.readouterr().err.strip())
    assert bench_env("--cache", str(tmp_path), "build", str(tmp_path / "suite.yaml")) == 2
    errors = [line.removeprefix("bench: error: ") for line in capsys.readouterr().err.strip().splitlines()
              if line.startswith("bench: error: ")]
    assert [line.split(":")[0] for line in errors] == ["environment 'pandas2'", "environment 'old-tabulate'"]
    (tmp_path / "none.yaml").write_text("name: x\nmodels: [ease]\n")
    assert bench_env("build", str(tmp_path / "none.yaml")) == 2
    assert "environments: expected a block declaring the suite's environments" in capsys.readouterr().err


# --- Slow tier: a real environment, and a cell run by a worker started with its interpreter -----------

WORKER_PLUGIN = '''
import sys
import pandas, tabulate
from benchmark.api import ModelSpec, RatingModel, hookimpl


class WhereAmI(RatingModel):
    """The global mean; its info says which interpreter and libraries ran it."""

    def fit(self, train):
        self.mean_ = float(train.ratings["rating"].mean())
        return self

    def predict(self, users, items):
        import numpy as np
        return np.full(len(users), self.mean_)

    def info(self):
        return {"executable": sys.executable, "pandas": pandas.__version__, "tabulate": tabulate.__version__}


@hookimpl
def bench_models():
    return [ModelSpec("where-am-i", {"rating": WhereAmI})]
'''


def _one_cell(directory: Path) -> dict:
    from benchmark.execute import DataCache
    from benchmark.runner import plan
    from benchmark.suite import load_suite

    (directory / "whereami.py").write_text(WORKER_PLUGIN)
    (directory / "suite.yaml").write_text(
        "name: env\nsplit: {method: holdout, test_size: 0.2}\nplugins: [whereami.py]\n"
        "datasets: [{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.3}}]\n"
        "models: [where-am-i]\nmetrics: [rmse]\n")
    suite, registry = load_suite(directory / "suite.yaml")
    return plan(suite, registry, DataCache(registry))[0].to_dict()


def _run_in_worker(env: Environment, cell: dict) -> dict:
    """Start ``env.python -m benchmark.worker`` as the engine would, and run one cell there."""
    from multiprocessing.connection import Connection

    parent_end, child_end = socket.socketpair()
    process = subprocess.Popen(env.worker_command(child_end.fileno(), "", 1, verbose=True),
                               pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL,
                               env=env.worker_variables(os.environ), start_new_session=True)
    child_end.close()
    conn = Connection(parent_end.detach())
    try:
        conn.send(("setup", env.worker_sys_path(sys.path)))
        assert conn.poll(120) and conn.recv()[0] == "ready"
        conn.send(("cell", "c1", cell, None, "run-env", 1))
        while True:
            assert conn.poll(120), "the worker sent nothing for 120 s"
            message = conn.recv()
            if message[0] == "row":
                return message[2]
    finally:
        conn.send(("stop",))
        process.wait(timeout=60)


OLD_LIBS = EnvironmentSpec("old-libs", ("tabulate==0.9.0", "pandas>=2.2,<3"))


@pytest.fixture(scope="module")
def env_cache(tmp_path_factory) -> Path:
    """One cache for the slow tests of this module: the old-libs environment is built once."""
    return tmp_path_factory.mktemp("env-cache")


@pytest.mark.slow
def test_a_real_environment_runs_bench_s_worker_with_its_pinned_libraries(tmp_path, env_cache):
    spec = OLD_LIBS
    started = time.monotonic()
    env = envs.build(spec, env_cache)
    print(f"built {spec.hash} in {time.monotonic() - started:.1f}s")
    versions = env.versions()
    assert versions["tabulate"] == "0.9.0" and versions["pandas"].startswith("2.")
    assert versions["bench-harness"]  # bench's worker side, installed from this checkout
    record = json.loads((env.path / envs.METADATA).read_text())
    assert record["versions"] == versions and record["identity"] == spec.identity()
    probe = subprocess.run([str(env.python), "-c", "import benchmark.worker, tabulate; print(tabulate.__version__)"],
                           capture_output=True, text=True, env=env.worker_variables(os.environ), timeout=120)
    assert probe.stdout.strip() == "0.9.0", probe.stderr
    row = _run_in_worker(env, _one_cell(tmp_path))
    assert row["status"] == "ok", row.get("error")
    assert row["model_info"]["executable"] == str(env.python)
    assert row["model_info"]["tabulate"] == "0.9.0" and row["model_info"]["pandas"] == versions["pandas"]


@pytest.mark.slow
def test_a_requirement_bench_cannot_live_with_fails_the_build_in_one_line(tmp_path):
    spec = EnvironmentSpec("too-old", ("tabulate==0.8.10",))  # bench needs tabulate>=0.9
    with pytest.raises(BenchError) as raised:
        envs.build(spec, tmp_path)
    message = str(raised.value)
    assert message.startswith("environment 'too-old': pip install failed: ") and "\n" not in message
    assert "tabulate" in message, message
    assert envs.list_environments(tmp_path) == [] and not list((tmp_path / "envs").glob(".tmp-*"))


RUN_PLUGIN = WORKER_PLUGIN.replace('ModelSpec("where-am-i", {"rating": WhereAmI})',
                                   'ModelSpec("where-am-i", {"rating": WhereAmI}, '
                                   'requires={"tabulate": "tabulate", "pandas": "pandas"})')


@pytest.mark.slow
def test_bench_run_builds_the_environment_and_its_cells_record_the_versions_there(tmp_path, env_cache, monkeypatch):
    """The issue's syntax end to end: ``bench run`` builds (or reuses) the environment, runs the
    model line naming it in workers of that interpreter, and each cell records the environment
    and the library versions seen there; the same model without ``env:`` runs in bench's own."""
    import tabulate

    from benchmark.runner import RunOptions, run_suite

    monkeypatch.setenv("BENCH_CACHE_DIR", str(env_cache))
    (tmp_path / "whereami.py").write_text(RUN_PLUGIN)
    (tmp_path / "suite.yaml").write_text(
        "name: env-run\nsplit: {method: kfold, k: 2}\nplugins: [whereami.py]\n"
        "environments:\n  old-libs: {requirements: [\"tabulate==0.9.0\", \"pandas>=2.2,<3\"]}\n"
        "datasets: [{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.3}}]\n"
        "models:\n  - {name: where-am-i, label: bench}\n  - {name: where-am-i, label: old, env: old-libs}\n"
        "metrics: [rmse]\n")
    result = run_suite(tmp_path / "suite.yaml", RunOptions(out=tmp_path / "out", jobs=2, quiet=True),
                       stream=open(os.devnull, "w"))
    env = envs.build(OLD_LIBS, env_cache)  # built by the run (or the test before): found at once
    rows = {(row["model"], row["fold"]): row for row in result.rows}
    assert all(row["status"] == "ok" for row in rows.values()), [row.get("error") for row in rows.values()]
    for fold in (0, 1):
        old, own = rows["old", fold], rows["bench", fold]
        assert old["code"]["environment"] == {"name": "old-libs", "hash": OLD_LIBS.hash}
        assert old["code"]["libraries"]["tabulate"] == "0.9.0" == old["libraries"]["tabulate"]
        assert old["libraries"]["pandas"] == env.versions()["pandas"] and old["libraries"]["pandas"].startswith("2.")
        assert old["model_info"] == {"executable": str(env.python), "pandas": old["libraries"]["pandas"],
                                     "tabulate": "0.9.0"}
        assert own["libraries"]["tabulate"] == tabulate.__version__ != "0.9.0"
        assert old["metrics"]["rmse"] == pytest.approx(own["metrics"]["rmse"])  # the same shared data
