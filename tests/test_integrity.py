"""Numbers stay right when labels, code or data change; bad suites are refused before any work."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.errors import BenchError
from benchmark.runner import RunOptions, run_suite
from benchmark.suite import load_suite
from tests.conftest import ROOT, run_bench

BASE = """\
name: integrity
seed: 1
split: {method: kfold, k: 3}
datasets:
  - name: synthetic-ratings
    options: {n_users: 60, n_items: 40, density: 0.3, rank: 2}
models:
MODELS
metrics: [rmse]
"""


def write(tmp_path: Path, models: str, name: str = "suite.yaml", base: str = BASE) -> Path:
    path = tmp_path / name
    path.write_text(base.replace("MODELS", models))
    return path


def run(path: Path, out: Path, **options):
    stream = io.StringIO()
    result = run_suite(path, RunOptions(out=out, executor="inline", **options), stream=stream)
    result.log = stream.getvalue()
    return result


def by_label(result) -> dict[str, float]:
    return {line.model: line.mean("rmse") for line in result.lines}


# --- Labels are presentation -----------------------------------------------------------------


def test_renaming_a_model_relabels_its_reused_cells(tmp_path):
    out = tmp_path / "out"
    first = run(write(tmp_path, "  - {name: bias-baseline, label: old-name}"), out)
    second = run(write(tmp_path, "  - {name: bias-baseline, label: new-name}"), out)
    assert (second.ran, second.reused) == (0, 3)
    assert by_label(second) == {"new-name": by_label(first)["old-name"]}
    assert "old-name" not in second.text and "new-name" in second.text


def test_swapping_two_labels_keeps_each_configurations_numbers(tmp_path):
    out = tmp_path / "out"
    first = run(write(tmp_path, "  - {name: global-mean, label: a}\n  - {name: bias-baseline, label: b}"), out)
    swapped = run(write(tmp_path, "  - {name: global-mean, label: b}\n  - {name: bias-baseline, label: a}"), out)
    assert swapped.ran == 0
    assert by_label(swapped) == {"a": by_label(first)["b"], "b": by_label(first)["a"]}


def test_a_rename_after_a_partial_run_gives_one_line_with_all_folds(tmp_path):
    out = tmp_path / "out"
    full = run(write(tmp_path, "  - {name: bias-baseline, label: before}"), tmp_path / "reference")
    run(write(tmp_path, "  - {name: bias-baseline, label: before}",
              base=BASE.replace("kfold, k: 3}", "kfold, k: 3}\n")), out)
    # keep only the first fold's cell: a run killed after one cell
    lines = (out / "cells.jsonl").read_text().splitlines(keepends=True)
    (out / "cells.jsonl").write_text(lines[0])
    resumed = run(write(tmp_path, "  - {name: bias-baseline, label: after}"), out)
    assert (resumed.ran, resumed.reused) == (2, 1)
    [line] = resumed.lines
    assert line.model == "after" and line.folds == 3
    assert line.mean("rmse") == by_label(full)["before"]


def test_an_explicit_default_is_the_same_configuration(tmp_path):
    out = tmp_path / "out"
    run(write(tmp_path, "  - bias-baseline"), out)
    explicit = run(write(tmp_path, "  - {name: bias-baseline, params: {reg_u: 15.0}}"), out)
    assert (explicit.ran, explicit.reused) == (0, 3)


# --- Stale cells after a code change ---------------------------------------------------------

PLUGIN = '''
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Shifted(RatingModel):
    def fit(self, train):
        self.index_training(train)
        return self
    def estimate(self, u, i):
        return np.full(len(u), self.mean_ + SHIFT)

@hookimpl
def bench_models():
    return [ModelSpec("shifted", {RATING: Shifted})]
'''


def test_editing_a_local_plugin_recomputes_its_cells(tmp_path):
    (tmp_path / "shift.py").write_text("SHIFT = 0.0\n" + PLUGIN)
    path = write(tmp_path, "  - shifted\n  - global-mean", base=BASE + "plugins: [shift.py]\n")
    out = tmp_path / "out"
    before = run(path, out)
    assert before.ran == 6
    (tmp_path / "shift.py").write_text("SHIFT = 1.5\n" + PLUGIN)
    after = run(path, out)
    assert (after.ran, after.reused) == (3, 3)
    assert "recomputing 3 stored cells: 3 shift:shifted: plugin code changed (sha256:" in after.log  # the model by its identity (file shift.py)
    assert by_label(after)["shifted"] > by_label(before)["shifted"] + 0.5
    assert by_label(after)["global-mean"] == by_label(before)["global-mean"]


def test_a_library_upgrade_recomputes_the_cells_that_use_it(tmp_path, monkeypatch):
    import benchmark.runner as runner

    path = write(tmp_path, "  - {name: truncated-svd, params: {n_components: 2}}\n  - global-mean")
    out = tmp_path / "out"
    run(path, out)
    real = runner.versions
    monkeypatch.setattr(runner, "versions", lambda requires: {
        name: ("99.0" if name == "scikit-learn" else v) for name, v in real(requires).items()})
    upgraded = run(path, out)
    assert (upgraded.ran, upgraded.reused) == (3, 3)
    assert "3 truncated-svd: scikit-learn" in upgraded.log and "-> 99.0" in upgraded.log


# --- Default split ---------------------------------------------------------------------------


def test_a_minimal_suite_gets_the_documented_default_split(tmp_path):
    path = tmp_path / "minimal.yaml"
    path.write_text("name: minimal\ndatasets: [digits]\nmodels: [pca]\n")
    suite, _ = load_suite(path)
    assert (suite.datasets[0].split.method, dict(suite.datasets[0].split.params)) == ("kfold", {"k": 5})
    result = run(path, tmp_path / "out")
    assert result.ran == 5 and result.failed == 0


def test_a_dataset_with_canonical_folds_defaults_to_them(tmp_path):
    from benchmark.registry import build_registry

    spec = build_registry().get("dataset", "movielens-100k").spec
    if not spec.default_split:
        pytest.skip("movielens-100k declares no default split yet")
    path = tmp_path / "ml.yaml"
    path.write_text("name: ml\ndatasets: [movielens-100k]\nmodels: [global-mean]\n")
    suite, _ = load_suite(path)
    assert suite.datasets[0].split.method == "predefined"
    assert dict(suite.datasets[0].split.params) == {"name": "u"}


# --- Refused before any work -----------------------------------------------------------------


def refused(tmp_path: Path, text: str, *args: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run_bench("run", str(path), "--out", str(tmp_path / "out"), *args, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()
    return result.stderr.strip()


@pytest.mark.parametrize("name", ["../escape", "/abs/path", "a/b", "..", "x\\\\y", ".hidden"])
def test_a_suite_name_is_a_name_not_a_path(tmp_path, name):
    line = refused(tmp_path, f"name: '{name}'\ndatasets: [digits]\nmodels: [pca]\n")
    assert "bad.yaml:1: name: " in line  # the reasons: tests/test_hardening_limits.py


def test_an_absurd_grid_is_refused_by_its_count(tmp_path):
    grid = ", ".join(f"p{i}: [{', '.join(str(v) for v in range(10))}]" for i in range(8))
    text = f"name: big\ndatasets: [digits]\nmodels:\n  - name: pca\n    grid: {{{grid}}}\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run_bench("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()
    line, *others = result.stderr.strip().splitlines()  # then pca's unknown parameters p0..p7
    assert [o.split(": unknown parameter ")[1][:4] for o in others] == [f"'p{i}'" for i in range(8)]
    assert "bad.yaml:4: models[0]: the models expand to 100,000,000 configurations or more" in line
    assert "above the limit of 10,000; shrink the grid or raise --max-configurations" in line


def test_the_configuration_limit_can_be_raised(tmp_path):
    path = tmp_path / "grid.yaml"
    values = ", ".join(str(v) for v in range(1, 61))
    path.write_text(f"name: grid\ndatasets: [digits]\nmodels:\n  - name: pca\n"
                    f"    grid: {{n_components: [{values}], random_state: [{values}]}}\n")
    with pytest.raises(BenchError, match="3,600 configurations"):
        load_suite(path, max_configurations=1000)
    suite, _ = load_suite(path, max_configurations=5000)
    assert len(suite.models) == 3600


@pytest.mark.parametrize("params, message", [
    ("{n_components: -3}", "models[0].params.n_components: expected a number >= 1, got -3"),
    ("{n_components: 0}", "models[0].params.n_components: expected a number >= 1, got 0"),
    ("{n_iter: 2.5}", "models[0].params.n_iter: expected an integer (default 5), got a number 2.5"),
])
def test_values_the_model_would_reject_are_refused_at_validation(tmp_path, params, message):
    line = refused(tmp_path, f"name: c\ndatasets: [digits]\nmodels:\n  - name: truncated-svd\n"
                             f"    params: {params}\n")
    assert message in line


def test_a_choice_outside_the_allowed_values_is_refused(tmp_path):
    line = refused(tmp_path, "name: c\nsplit: {method: holdout}\n"
                             "datasets: [movielens-latest-small]\nmodels:\n  - name: autorec\n"
                             "    params: {variant: items}\n")
    assert "models[0].params.variant: expected one of: item, user, got a string \"items\"; did you mean 'item'?" in line


def test_out_pointing_at_a_file_is_one_line(tmp_path):
    path = write(tmp_path, "  - global-mean")
    (tmp_path / "afile").write_text("x")
    result = run_bench("run", str(path), "--out", str(tmp_path / "afile"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--out" in result.stderr and "is a file, not a results directory" in result.stderr


def test_schema_into_a_closed_pipe_is_quiet():
    done = subprocess.run(f"{sys.executable} -m benchmark schema | head -1", shell=True,
                          capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "{" and done.stderr == ""


def test_fresh_keeps_the_old_cells_until_the_data_has_loaded(tmp_path):
    path = write(tmp_path, "  - global-mean")
    out = tmp_path / "out"
    run(path, out)
    stored = (out / "cells.jsonl").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(BASE.replace("MODELS", "  - global-mean").replace(
        "synthetic-ratings\n    options: {n_users: 60, n_items: 40, density: 0.3, rank: 2}",
        "ratings-file\n    options: {path: no-such-file.csv}"))
    result = run_bench("run", str(broken), "--out", str(out), "--fresh")
    assert result.returncode == 2
    assert (out / "cells.jsonl").read_text() == stored
    again = run_bench("run", str(path), "--out", str(out), "--fresh", "--executor", "inline")
    assert again.returncode == 0 and "3 cells run, 0 reused" in again.stdout
    archived = list(out.glob("archive/*/cells.jsonl"))
    assert [p.read_text() for p in archived] == [stored]
