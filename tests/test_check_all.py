"""``bench check`` and ``bench run`` list every problem of a suite at once.

Each problem is one line ``bench: error: FILE:LINE: key: expected X, got Y``, in file order;
the exit code is 2 and nothing is written. A mistake is reported once: what depends on a
broken entry (a model restricted to a dataset entry that failed) is not reported again. A model
whose library is not installed is a warning, not an error: its cells would be recorded as
missing-dependency.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.limits import SEED_MAX
from tests.conftest import run_bench
from tests.test_bad_input import GOOD  # the same valid suite the one-error tests start from


def errors_of(result) -> list[str]:
    """The error lines of a finished ``bench`` process (exit 2, nothing but error lines)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("bench: error: ") for line in lines), lines
    return [line.removeprefix("bench: error: ") for line in lines]


def check_in_process(capsys, path: Path, *extra: str) -> tuple[int, list[str], list[str], str]:
    """``bench check`` through :func:`benchmark.cli.main`: (code, errors, warnings, stdout)."""
    code = main(["check", str(path), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    errors = [line.removeprefix("bench: error: ") for line in lines if line.startswith("bench: error: ")]
    warnings = [line.removeprefix("bench: warning: ") for line in lines
                if line.startswith("bench: warning: ")]
    assert len(errors) + len(warnings) == len(lines), lines
    return code, errors, warnings, captured.out


def test_two_mistakes_are_both_listed_with_their_lines(write_suite):
    path = write_suite(GOOD.replace("density: 0.3", "densty: 0.3").replace("{n_components: 3}",
                                                                            "{n_components: -3}"))
    errors = errors_of(run_bench("check", str(path)))
    assert errors == [
        f"{path}:6: datasets[0].options.densty: unknown option 'densty'; did you mean 'density'?",
        f"{path}:10: models[1].params.n_components: expected a number >= 1, got -3",
    ]


def test_a_schema_error_and_an_unknown_model_are_both_listed(write_suite):
    path = write_suite(GOOD.replace("seed: 0", "seed: zero").replace("name: truncated-svd",
                                                                      "name: truncated-svdd"))
    errors = errors_of(run_bench("check", str(path)))
    assert errors[0] == f'{path}:2: seed: expected an integer, got a string "zero"'
    assert errors[1].startswith(f"{path}:9: models[1].name: unknown model 'truncated-svdd'; "
                                f"did you mean 'truncated-svd'")
    assert len(errors) == 2


def test_a_bad_suite_given_to_run_lists_the_same_problems_and_writes_nothing(write_suite, tmp_path):
    path = write_suite(GOOD.replace("seed: 0", "seed: -1").replace("name: truncated-svd",
                                                                    "name: truncated-svdd"))
    before = sorted(tmp_path.rglob("*"))
    ran = errors_of(run_bench("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path))
    assert ran == errors_of(run_bench("check", str(path)))
    assert [line.split(": ")[0] for line in ran] == [f"{path}:2", f"{path}:9"]
    assert sorted(tmp_path.rglob("*")) == before  # no out/, no results/, no lock


def test_svd_n_factors_below_one_is_listed_with_another_mistake(capsys, write_suite):
    """Issue 17's acceptance: Surprise's parameters declare ranges, so ``n_factors: -3`` is
    refused by ``bench check`` (not by Surprise inside a cell), beside the suite's other mistake."""
    from benchmark.params import model_params
    from bench_plugins.surprise_models import SVD

    if "minimum" not in model_params(SVD)["n_factors"].schema:
        pytest.skip("Surprise's svd declares no range for n_factors in this checkout")
    path = write_suite(GOOD.replace("{n_components: 3}", "{n_components: 3}\n  - name: svd\n"
                                                         "    params: {n_factors: -3}").replace(
        "metrics: [rmse]", "metrics: [rmse, maee]"))
    code, errors, _, _ = check_in_process(capsys, path)
    assert code == 2
    assert errors[0] == f"{path}:12: models[2].params.n_factors: expected a number >= 1, got -3"
    assert errors[1].startswith(f"{path}:13: metrics[1]: unknown metric 'maee'")
    assert len(errors) == 2


def test_every_unknown_key_and_every_bad_grid_value_has_its_own_line(capsys, write_suite):
    path = write_suite(GOOD.replace("  - global-mean\n", "  - name: pca\n    grid: {n_components: [2, 0, -1]}\n"
                                                       "    datasets: [digits]\n    lable: x\n    parms: {}\n")
                       .replace("datasets:\n  - name: synthetic", "datasets:\n  - digits\n  - name: synthetic")
                       .replace("metrics: [rmse]", "metrics: [rmse, mse]"))
    code, errors, _, _ = check_in_process(capsys, path)
    assert code == 2
    assert errors == [
        f"{path}:10: models[0].grid.n_components[1]: expected a number >= 1, got 0",
        f"{path}:10: models[0].grid.n_components[2]: expected a number >= 1, got -1",
        f"{path}:12: models[0].lable: unknown key 'lable'; did you mean 'label'?",
        f"{path}:13: models[0].parms: unknown key 'parms'; did you mean 'params'?",
    ]


def test_what_depends_on_a_broken_entry_is_not_reported_again(capsys, write_suite):
    """A dataset entry with a wrong option is left out: the model restricted to it and the
    metric of its task are not errors of their own; a typo'd key is not also a missing key."""
    text = GOOD.replace("  - name: synthetic-ratings\n", "  - name: synthetic-ratings\n    label: small\n") \
        .replace("density: 0.3", "densty: 0.3").replace("  - global-mean\n",
                                                        "  - name: global-mean\n    datasets: [small]\n") \
        .replace("  - name: truncated-svd\n", "  - nmae: truncated-svd\n")
    path = write_suite(text)
    code, errors, _, _ = check_in_process(capsys, path)
    assert code == 2
    assert errors == [
        f"{path}:7: datasets[0].options.densty: unknown option 'densty'; did you mean 'density'?",
        f"{path}:11: models[1].nmae: unknown key 'nmae'; did you mean 'name'?",
    ]


@pytest.mark.parametrize("split, where", [
    ("split: {method: holdout, test_size: 0.2, seed: 4294967296}", "3: split.seed"),
    ("split: {method: holdout, test_size: 0.2, seed: -1}", "3: split.seed"),
])
def test_a_split_seed_outside_numpys_range_is_refused(capsys, write_suite, split, where):
    path = write_suite(GOOD.replace("split: {method: holdout, test_size: 0.2}", split))
    code, errors, _, _ = check_in_process(capsys, path)
    assert code == 2
    assert len(errors) == 1 and errors[0].startswith(f"{path}:{where}: expected a seed from 0 to "
                                                     f"4,294,967,295"), errors


def test_every_seed_of_a_suite_is_range_checked_at_once(write_suite):
    """The split's, a dataset entry's split's and the models' ``random_state``: bench check and
    bench run alike, each at its own line."""
    text = GOOD.replace("split: {method: holdout, test_size: 0.2}",
                        "split: {method: holdout, test_size: 0.2, seed: 4294967296}") \
        .replace("    options: {n_users: 60, n_items: 40, density: 0.3}\n",
                 "    options: {n_users: 60, n_items: 40, density: 0.3}\n  - name: synthetic-ratings\n"
                 "    label: other\n    split: {method: kfold, k: 2, seed: -7}\n") \
        .replace("{n_components: 3}", "{n_components: 3, random_state: 100000000000000000000000}") \
        .replace("  - global-mean\n", "  - name: truncated-svd\n    label: t\n    grid: {random_state: [1, -2]}\n")
    path = write_suite(text)
    errors = errors_of(run_bench("run", str(path), "--out", str(path.parent / "out")))
    assert [line.split(": expected a seed from 0 to 4,294,967,295")[0] for line in errors] == [
        f"{path}:3: split.seed", f"{path}:9: datasets[1].split.seed", f"{path}:13: models[0].grid.random_state[1]",
        f"{path}:15: models[1].params.random_state"]
    assert not (path.parent / "out").exists()


def test_the_largest_seed_numpy_takes_is_valid(capsys, write_suite):
    path = write_suite(GOOD.replace("test_size: 0.2}", f"test_size: 0.2, seed: {SEED_MAX}}}")
                       .replace("{n_components: 3}", "{n_components: 3, random_state: 0}"))
    code, errors, _, out = check_in_process(capsys, path)
    assert (code, errors) == (0, []) and "valid" in out


MISSING_LIBRARY_PLUGIN = '''\
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl


class NeedsLib(RatingModel):
    """Predicts the mean; would import a library that is not installed."""

    requires = {"bench_no_such_library": "bench-no-such-library"}

    def fit(self, train):
        import bench_no_such_library  # noqa: F401
        return self

    def predict(self, users, items):
        return np.zeros(len(users))


@hookimpl
def bench_models():
    return [ModelSpec("needs-lib", {RATING: NeedsLib}, NeedsLib.requires)]
'''


def test_a_model_whose_library_is_missing_is_a_warning(write_suite, tmp_path):
    (tmp_path / "needs_lib.py").write_text(MISSING_LIBRARY_PLUGIN)
    path = write_suite(GOOD.replace("  - global-mean\n", "  - global-mean\n  - needs-lib\n")
                       + "plugins: [needs_lib.py]\n")
    result = run_bench("check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"bench: warning: {path}:9: models[1]: needs-lib needs 'bench_no_such_library': pip install "
        f"bench-no-such-library — its cells will be recorded as missing-dependency"]
    assert f"{path}: valid: 1 dataset(s), 3 model configuration(s)" in result.stdout


def test_a_missing_library_warning_comes_with_the_errors(capsys, write_suite, tmp_path):
    (tmp_path / "needs_lib.py").write_text(MISSING_LIBRARY_PLUGIN)
    path = write_suite(GOOD.replace("  - global-mean\n", "  - name: needs-lib\n    params: {alpha: 1}\n")
                       + "plugins: [needs_lib.py]\n")
    code, errors, warnings, out = check_in_process(capsys, path)
    assert code == 2 and out == ""
    assert warnings == [f"{path}:8: models[0]: needs-lib needs 'bench_no_such_library': pip install "
                        f"bench-no-such-library — its cells will be recorded as missing-dependency"]
    assert errors == [f"{path}:9: models[0].params.alpha: unknown parameter 'alpha'; expected one of: none"]


def test_every_broken_plugin_file_is_named_with_the_schema_problems(capsys, write_suite, tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    path = write_suite(GOOD.replace("seed: 0", "seed: zero") + "plugins: [broken.py, gone.py]\n")
    code, errors, _, _ = check_in_process(capsys, path, "-p", str(tmp_path / "also_gone.py"))
    assert code == 2
    assert errors[0].startswith(f"-p {tmp_path / 'also_gone.py'}: plugin file") and "not found" in errors[0]
    assert errors[1] == f'{path}:2: seed: expected an integer, got a string "zero"'
    assert errors[2].startswith(f"{path}:12: plugins[0]: plugin file '{tmp_path / 'broken.py'}'")
    assert "failed to import: RuntimeError: boom at import" in errors[2]
    assert errors[3].startswith(f"{path}:12: plugins[1]: plugin file") and "not found" in errors[3]
    assert len(errors) == 4


def test_every_plugin_file_with_a_bad_hook_is_named(capsys, write_suite, tmp_path):
    (tmp_path / "misspelt.py").write_text("from benchmark.api import hookimpl\n\n\n"
                                          "@hookimpl\ndef bench_model():\n    return []\n")
    (tmp_path / "unmarked.py").write_text("def bench_models():\n    return []\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    path = write_suite(GOOD + "plugins: [misspelt.py, unmarked.py]\n")
    code, errors, _, _ = check_in_process(capsys, path, "-p", str(tmp_path / "broken.py"))
    assert code == 2
    assert errors[0].startswith(f"-p {tmp_path / 'broken.py'}: plugin file")
    assert "failed to import: RuntimeError: boom at import" in errors[0]
    assert errors[1] == (f"{path}:12: plugins[0]: plugin file '{tmp_path / 'misspelt.py'}' defines "
                         f"unknown hook 'bench_model'; did you mean 'bench_models'?")
    assert errors[2] == (f"{path}:12: plugins[1]: plugin file '{tmp_path / 'unmarked.py'}' defines "
                         f"hook 'bench_models' without @hookimpl (bench would never call it)")
    assert len(errors) == 3


def test_a_suite_with_very_many_mistakes_lists_the_first_hundred(capsys, write_suite):
    from benchmark.errors import LISTED_ERRORS

    models = "".join(f"  - no-such-model-{n}\n" for n in range(LISTED_ERRORS + 50))
    path = write_suite(GOOD.replace("  - global-mean\n", models))
    code, errors, _, _ = check_in_process(capsys, path)
    assert code == 2 and len(errors) == LISTED_ERRORS + 1
    assert errors[0].startswith(f"{path}:8: models[0].name: unknown model 'no-such-model-0'")
    assert errors[-1] == "50 more problems not listed"
