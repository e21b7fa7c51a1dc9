"""Bad input: one line on stderr naming file, line and key; exit code 2; never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.cli import main
from tests.conftest import run_bench

GOOD = """\
name: tiny
seed: 0
split: {method: holdout, test_size: 0.2}
datasets:
  - name: synthetic-ratings
    options: {n_users: 60, n_items: 40, density: 0.3}
models:
  - global-mean
  - name: truncated-svd
    params: {n_components: 3}
metrics: [rmse]
"""


def error_of(capsys, *argv: str) -> str:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("bench: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


def run_text(capsys, write_suite, text: str, *extra: str) -> str:
    path = write_suite(text)
    return error_of(capsys, "run", str(path), "--out", str(path.parent / "out"), *extra)


def test_good_suite_runs(capsys, write_suite, tmp_path):
    path = write_suite(GOOD)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert "truncated-svd(n_components=3)" in capsys.readouterr().out


def test_unknown_model_suggests_closest(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("name: truncated-svd", "name: truncated-svdd"))
    assert re.search(r"suite\.yaml:9: models\[1\]\.name: unknown model 'truncated-svdd'; "
                     r"did you mean 'truncated-svd'", line), line


def test_unknown_dataset_suggests_closest(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("synthetic-ratings", "synthetic-rating"))
    assert "suite.yaml:5: datasets[0].name: unknown dataset 'synthetic-rating'; did you mean 'synthetic-ratings'" in line


def test_unknown_top_level_key(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("models:", "modles:"))
    assert "suite.yaml:7: modles: unknown key 'modles'; did you mean 'models'?" in line


def test_unknown_model_parameter(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("{n_components: 3}", "{n_componets: 3}"))
    assert "suite.yaml:10: models[1].params.n_componets: unknown parameter 'n_componets'; " \
           "did you mean 'n_components'?" in line


def test_wrong_type_of_parameter(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("{n_components: 3}", "{n_components: three}"))
    assert "suite.yaml:10: models[1].params.n_components: expected an integer (default 10), " \
           "got a string \"three\"" in line


def test_wrong_type_of_suite_key(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("seed: 0", "seed: zero"))
    assert "suite.yaml:2: seed: expected an integer, got a string \"zero\"" in line


@pytest.mark.parametrize("fraction", ["0", "1", "1.5", "-0.2"])
def test_split_fraction_outside_unit_interval(capsys, write_suite, fraction):
    line = run_text(capsys, write_suite, GOOD.replace("test_size: 0.2", f"test_size: {fraction}"))
    assert "suite.yaml:3: split.test_size: expected a number > 0 and < 1" in line


def test_kfold_needs_two_folds(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("{method: holdout, test_size: 0.2}",
                                                      "{method: kfold, k: 1}"))
    assert "suite.yaml:3: split.k: expected a number >= 2, got 1" in line


def test_unknown_split_parameter(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("test_size: 0.2", "test_fraction: 0.2"))
    assert "suite.yaml:3: split.test_fraction: unknown split parameter 'test_fraction'; expected one of: seed, test_size" in line


def test_yaml_syntax_error(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("  - global-mean", "  - global-mean: [unclosed"))
    assert re.search(r"suite\.yaml:\d+: YAML syntax error", line), line


def test_yaml_cannot_execute_code(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("seed: 0", "seed: !!python/object/apply:os.system [echo]"))
    assert "suite.yaml:2: YAML syntax error" in line


def test_missing_suite_file(capsys, tmp_path):
    line = error_of(capsys, "run", str(tmp_path / "nope.yaml"))
    assert line == f"bench: error: {tmp_path / 'nope.yaml'}: suite file not found"


def test_missing_local_plugin_file(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD + "plugins: [./missing_plugin.py]\n")
    assert "suite.yaml:12: plugins[0]: plugin file" in line and "not found" in line


def test_missing_plugin_file_on_command_line(capsys, write_suite, tmp_path):
    line = run_text(capsys, write_suite, GOOD, "-p", str(tmp_path / "gone.py"))
    assert f"-p {tmp_path / 'gone.py'}: plugin file" in line


def test_plugin_that_fails_to_import(capsys, write_suite, tmp_path):
    (tmp_path / "broken.py").write_text("import numpy\nraise RuntimeError('boom at import')\n")
    line = run_text(capsys, write_suite, GOOD + "plugins: [broken.py]\n")
    assert "suite.yaml:12: plugins[0]: plugin file 'broken.py'" in line or \
           "plugins[0]: plugin file" in line
    assert "failed to import: RuntimeError: boom at import" in line


def test_model_restricted_to_dataset_of_wrong_task(capsys, write_suite):
    text = GOOD.replace("  - global-mean\n", "  - name: global-mean\n    datasets: [digits]\n").replace(
        "datasets:\n  - name: synthetic", "datasets:\n  - digits\n  - name: synthetic").replace(
        "metrics: [rmse]", "metrics: [rmse, mse]")
    line = run_text(capsys, write_suite, text)
    assert re.search(r"models\[0\]\.datasets\[0\]: model 'global-mean' supports rating, next-item, ranking, but dataset "
                     r"'digits' is a 'reconstruction' dataset", line), line


def test_model_without_any_dataset_of_its_task(capsys, write_suite):
    text = GOOD.replace("  - name: synthetic-ratings\n    options: {n_users: 60, n_items: 40, density: 0.3}\n",
                        "  - digits\n").replace("metrics: [rmse]", "metrics: [mse]")
    text = text.replace("  - name: truncated-svd\n    params: {n_components: 3}\n", "")
    line = run_text(capsys, write_suite, text)
    assert "suite.yaml:7: models[0].name: model 'global-mean' supports rating, next-item, ranking; no dataset in this suite " \
           "has that task (datasets: digits (reconstruction))" in line


def test_metric_of_a_task_the_suite_does_not_have(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("metrics: [rmse]", "metrics: [rmse, bce]"))
    assert "suite.yaml:11: metrics[1]: metric 'bce' is for the 'reconstruction' task" in line


def test_unknown_dataset_option(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("density: 0.3", "densty: 0.3"))
    assert "suite.yaml:6: datasets[0].options.densty: unknown option 'densty'; did you mean 'density'?" in line


def test_missing_required_key(capsys, write_suite):
    line = run_text(capsys, write_suite, GOOD.replace("name: tiny\n", ""))
    assert "suite.yaml:1: missing required key 'name'" in line


def test_not_a_mapping(capsys, write_suite):
    line = run_text(capsys, write_suite, "- just\n- a list\n")
    assert "suite.yaml:1: expected a mapping of suite keys, got a list" in line


def test_bad_input_through_the_real_command(write_suite):
    """The installed entry point too: exit 2, one line, no traceback."""
    path = write_suite(GOOD.replace("name: truncated-svd", "name: truncated-svdd"))
    result = run_bench("run", str(path), "--out", str(Path(path).parent / "out"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "did you mean 'truncated-svd'" in result.stderr


def test_split_method_of_the_wrong_task(capsys, write_suite):
    text = GOOD.replace("  - name: synthetic-ratings\n    options: {n_users: 60, n_items: 40, density: 0.3}\n",
                        "  - name: digits\n    split: {method: temporal}\n").replace("metrics: [rmse]", "metrics: [mse]")
    text = text.replace("  - global-mean\n", "")
    line = run_text(capsys, write_suite, text)
    assert "suite.yaml:6: datasets[0].split.method: split 'temporal' is for rating data; " \
           "dataset 'digits' is 'reconstruction'" in line


@pytest.mark.parametrize("entry_extra, expected", [
    ("    task: reconstruction\n",
     "suite.yaml:7: datasets[0].task: dataset 'synthetic-ratings' holds 'rating' data, which task "
     "'reconstruction' does not run on; it serves rating"),
    ("    task: ratin\n", "suite.yaml:7: datasets[0].task: unknown task 'ratin'; did you mean 'rating' or 'ranking'?"),
    ("    splt: {method: kfold}\n", "suite.yaml:7: datasets[0].splt: unknown key 'splt'; did you mean 'split'?"),
])
def test_a_dataset_entrys_task_and_keys_are_checked(capsys, write_suite, entry_extra, expected):
    text = GOOD.replace("    options: {n_users: 60, n_items: 40, density: 0.3}\n",
                        "    options: {n_users: 60, n_items: 40, density: 0.3}\n" + entry_extra)
    line = run_text(capsys, write_suite, text)
    assert expected in line, line
