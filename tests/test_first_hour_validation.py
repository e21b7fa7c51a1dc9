"""What a user trial found: problems reported one at a time, a data directory silently ignored,
dataset options without declared ranges, ratings-file errors without a file line.

Each is a specification of what ``bench check`` / ``bench run`` print: every problem of a
``tune:`` or ``limits:`` block at once; a ``data_dir`` (suite, ``--data-dir``,
``$BENCH_DATA_DIR``) that is not a directory refused with one line naming where it came from;
synthetic-ratings' options bounded at check time; ratings-file errors as ``FILE:LINE: column
...`` quoting the field as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_bench
from tests.test_check_all import errors_of

SYNTHETIC = """\
name: v
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.3}
models:
  - name: truncated-svd
"""


@pytest.fixture(autouse=True)
def no_env_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)


# --- 1. every problem of a tune: or limits: block at once -----------------------------------------


def test_every_problem_of_a_tune_block_is_listed(write_suite):
    path = write_suite(SYNTHETIC + "    tune: {space: {n_components: {low: 0, high: 10}}, trials: 0, "
                                   "objective: ndcg@10, split: {method: kfold, k: 1}}\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: models[0].tune.space.n_components.low: expected a number >= 1, got 0",
        f"{path}:7: models[0].tune.trials: expected an integer >= 1 (the number of trials), got an integer 0",
        f"{path}:7: models[0].tune.objective: expected a metric of the 'rating' task of dataset "
        f"'synthetic-ratings', got 'ndcg@10' (a 'ranking' metric)",
        f"{path}:7: models[0].tune.split.k: expected a number >= 2, got 1",
    ]


def test_every_searched_parameter_and_both_bounds_are_checked(write_suite):
    path = write_suite(SYNTHETIC + "    tune:\n      space:\n"
                                   "        n_components: {low: 0, high: -1, lg: true}\n"
                                   "        n_iter: [0, 5, -2]\n"
                                   "        algorithm: [randomized]\n"
                                   "      budget: 3\n      objective: rmse\n      search: random\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: models[0].tune: missing required key 'trials' (the budget of a random search)",
        f"{path}:9: models[0].tune.space.n_components.lg: expected low, high, log (or choices alone), got 'lg'",
        f"{path}:9: models[0].tune.space.n_components.low: expected a number >= 1, got 0",
        f"{path}:9: models[0].tune.space.n_components.high: expected a number >= 1, got -1",
        f"{path}:10: models[0].tune.space.n_iter[0]: expected a number >= 1, got 0",
        f"{path}:10: models[0].tune.space.n_iter[2]: expected a number >= 1, got -2",
        f"{path}:11: models[0].tune.space.algorithm: expected a parameter of the model "
        f"(one of: n_components, n_iter, random_state), got 'algorithm'",
        f"{path}:12: models[0].tune.budget: expected a key of tune "
        f"(one of: space, objective, search, trials, split), got 'budget'",
    ]


def test_a_tune_problem_is_listed_beside_a_parameter_problem(write_suite):
    path = write_suite(SYNTHETIC + "    params: {n_iter: 0}\n    tune: {space: {n_components: [0, 2]}, "
                                   "objective: rmse}\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: models[0].params.n_iter: expected a number >= 1, got 0",
        f"{path}:8: models[0].tune.space.n_components[0]: expected a number >= 1, got 0",
    ]


@pytest.mark.parametrize("where, prefix", [("suite", "limits"), ("model", "models[0].limits")])
def test_both_limits_are_checked(write_suite, where, prefix):
    limits = "{memory: 4XB, timeout: -1}"
    text = SYNTHETIC + (f"limits: {limits}\n" if where == "suite" else f"    limits: {limits}\n")
    path = write_suite(text)
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: {prefix}.timeout: expected a number > 0, got -1",
        f"{path}:7: {prefix}.memory: expected a size such as '4 GB' or '500MB', got a string \"4XB\"",
    ]


# --- 2. a data directory that is not one ----------------------------------------------------------


ML100K = "name: v\ndata_dir: {data_dir}\ndatasets: [movielens-100k]\nmodels: [global-mean]\n"


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("dataset", ["movielens-100k", "movielens-latest-small"])
def test_a_suite_data_dir_that_does_not_exist_is_one_line(write_suite, tmp_path, command, dataset):
    missing = tmp_path / "dta"
    path = write_suite(ML100K.format(data_dir=missing).replace("movielens-100k", dataset))
    out = tmp_path / "out"
    extra = ("--out", str(out)) if command == "run" else ()
    assert errors_of(run_bench(command, str(path), *extra)) == [
        f"{path}:2: data_dir: directory '{missing}' not found"]
    assert not out.exists()


def test_a_relative_data_dir_is_looked_for_beside_the_suite_and_a_file_is_not_a_directory(write_suite, tmp_path):
    path = write_suite(ML100K.format(data_dir="dta"))
    assert errors_of(run_bench("check", str(path), cwd=Path("/"))) == [
        f"{path}:2: data_dir: directory '{tmp_path / 'dta'}' not found"]
    (tmp_path / "dta").write_text("")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:2: data_dir: '{tmp_path / 'dta'}' is not a directory"]
    (tmp_path / "dta").unlink()
    (tmp_path / "dta").mkdir()
    assert run_bench("check", str(path)).returncode == 0


def test_data_dir_option_and_environment_variable_are_checked_too(write_suite, tmp_path):
    path = write_suite(SYNTHETIC)
    out = tmp_path / "out"
    missing = tmp_path / "nowhere"
    assert errors_of(run_bench("run", str(path), "--data-dir", str(missing), "--out", str(out))) == [
        f"--data-dir: directory '{missing}' not found"]
    assert errors_of(run_bench("check", str(path), env={"BENCH_DATA_DIR": str(missing)})) == [
        f"$BENCH_DATA_DIR: directory '{missing}' not found"]
    assert not out.exists()


def test_data_dir_option_overrides_the_suites_which_is_then_not_checked(write_suite, tmp_path, shared_data):
    path = write_suite(ML100K.format(data_dir=tmp_path / "elsewhere"))
    from benchmark.suite import load_suite

    suite, _ = load_suite(path, data_dir=str(shared_data))
    assert suite.data_dir == str(shared_data.resolve())


def test_the_loader_names_the_directories_it_looked_in(tmp_path, monkeypatch):
    from bench_plugins import movielens

    from benchmark.api import PluginInputError

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(PluginInputError) as error:
        movielens.load_100k(data_dir=str(tmp_path / "dta"), download=False)
    assert str(error.value) == (
        f"ml-100k/u.data not found (looked in {tmp_path / 'dta' / 'ml-100k'} (data_dir {tmp_path / 'dta'} "
        f"does not exist) and in {tmp_path / 'cache' / 'movielens' / 'ml-100k'}), and download is off")
    with pytest.raises(PluginInputError) as error:
        movielens.load_100k(download=False)
    assert str(error.value) == (
        f"ml-100k/u.data not found (looked in {tmp_path / 'cache' / 'movielens' / 'ml-100k'}; give data_dir, "
        f"--data-dir or BENCH_DATA_DIR), and download is off")
