"""``bench check`` says which datasets are not on this machine and would be downloaded by the run."""

from __future__ import annotations

import os

from tests.conftest import run_bench

SUITE = """
name: presence
datasets:
  - name: movielens-100k
    split: {method: holdout}
  - name: movielens-latest-small      # embedded in bench: always present
    split: {method: holdout}
models: [global-mean]
metrics: [rmse]
"""


def clean_env(tmp_path, **extra):
    env = {key: value for key, value in os.environ.items() if key != "BENCH_DATA_DIR"}
    return {**env, "BENCH_CACHE_DIR": str(tmp_path / "empty-cache"), **extra}


def check(suite, env):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "benchmark", "check", str(suite)], capture_output=True,
                          text=True, env=env, timeout=300)


def test_a_dataset_not_present_is_named_with_where_it_would_come_from(tmp_path, write_suite):
    result = check(write_suite(SUITE), clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    (note,) = result.stderr.strip().splitlines()
    assert note.startswith("bench: note: dataset 'movielens-100k' is not present locally (ml-100k/u.data")
    assert "will download it from https://files.grouplens.org/datasets/movielens/ml-100k.zip" in note
    assert "bench data download movielens-100k" in note and "latest-small" not in note


def test_nothing_is_said_when_the_data_directory_has_it(tmp_path, write_suite, shared_data):
    result = check(write_suite(SUITE), clean_env(tmp_path, BENCH_DATA_DIR=str(shared_data)))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    with_option = run_bench("check", str(write_suite(SUITE + f"data_dir: {shared_data}\n", "other.yaml")),
                            env={"BENCH_CACHE_DIR": str(tmp_path / "empty-cache")})
    assert with_option.returncode == 0 and "not present" not in with_option.stderr, with_option.stderr
