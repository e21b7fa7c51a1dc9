"""A cell's artifacts are written in the worker's own staging directory and appear under
``artifacts/<cell id>/`` in one rename: whole or not at all, a rerun's replacing the earlier,
never through a link; a cell that writes nothing makes and removes no directory."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.cells import Cell, CellResult
from benchmark.execute import STAGING, clear_staging, staging_name, write_artifacts
from benchmark.runner import RunOptions, run_suite

CELL = Cell(suite="s", task="rating", dataset="d", dataset_plugin="d", dataset_options={},
            dataset_checksum="c", split="holdout", split_params={}, seed=0, fold=0, fold_name="f0",
            fingerprint="f", model="m", model_plugin="m", params={}, config={}, metrics=("rmse",))


def registry(*functions):
    """A registry offering ``functions`` as ``bench_cell_artifacts`` implementations."""
    impls = [SimpleNamespace(function=f, plugin_name=f"plugin{n}") for n, f in enumerate(functions)]
    return SimpleNamespace(hook_impls=lambda name: impls if name == "bench_cell_artifacts" else [])


def writes(name: str, text: str):
    def hook(cell, model, predictions, directory):
        (directory / name).write_text(text)
        return [name]
    return hook


def nothing(cell, model, predictions, directory):
    return None


def fails(cell, model, predictions, directory):
    (directory / "half.png").write_text("half")
    raise OSError("disk on fire")


def store(root: Path, *functions) -> CellResult:
    result = CellResult.start(CELL, "run", {}, "now")
    write_artifacts(registry(*functions), CELL, None, None, root, result)  # type: ignore[arg-type]
    return result


def stagings(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(STAGING))


def test_artifacts_appear_under_the_cell_id_and_the_staging_directory_is_empty_again(tmp_path):
    root = tmp_path / "artifacts"
    result = store(root, writes("a.txt", "one"), nothing, fails)
    assert result.artifacts == [f"artifacts/{CELL.id}/a.txt"]
    assert result.artifact_errors == {"plugin2": "OSError: disk on fire"}
    # what the failing plugin wrote before it raised goes with the cell's other files
    assert sorted(p.name for p in (root / CELL.id).iterdir()) == ["a.txt", "half.png"]
    assert (tmp_path / result.artifacts[0]).read_text() == "one"
    assert stagings(root) == []  # renamed into place; the next cell makes a new one


def test_a_cell_that_writes_nothing_leaves_no_cell_directory(tmp_path):
    root = tmp_path / "artifacts"
    for _ in range(3):
        result = store(root, nothing)
        assert result.artifacts == [] and result.artifact_errors == {}
    assert not (root / CELL.id).exists()
    assert stagings(root) == [staging_name()]  # one, kept empty for the next cell
    assert list((root / staging_name()).iterdir()) == []
    clear_staging(root)
    assert list(root.iterdir()) == []


def test_a_rerun_replaces_the_earlier_artifacts_and_an_interrupted_cells_files_are_cleared(tmp_path):
    root = tmp_path / "artifacts"
    store(root, writes("old.txt", "old"))
    (root / staging_name()).mkdir()
    (root / staging_name() / "left.txt").write_text("an interrupted cell's")
    result = store(root, writes("new.txt", "new"))
    assert result.artifacts == [f"artifacts/{CELL.id}/new.txt"]
    assert sorted(p.name for p in (root / CELL.id).iterdir()) == ["new.txt"]


def test_a_link_in_place_of_the_cell_directory_is_not_followed_and_the_metrics_stand(tmp_path):
    root = tmp_path / "artifacts"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("the victim's")
    root.mkdir()
    (root / CELL.id).symlink_to(elsewhere, target_is_directory=True)
    result = store(root, writes("a.txt", "x"))
    assert result.artifacts == []
    assert "is a symbolic link" in result.artifact_errors["artifacts"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert (root / CELL.id).is_symlink()
    store(root, nothing)  # the next cell starts from an empty staging directory
    assert list((root / staging_name()).iterdir()) == []


def test_a_linked_staging_directory_is_refused(tmp_path):
    root = tmp_path / "artifacts"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root.mkdir()
    (root / staging_name()).symlink_to(elsewhere, target_is_directory=True)
    from benchmark.errors import BenchError

    with pytest.raises(BenchError, match="is a symbolic link"):
        store(root, writes("a.txt", "x"))
    assert list(elsewhere.iterdir()) == []


def test_a_forked_child_draws_its_own_staging_directory():
    mine = staging_name()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, staging_name().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(write)
    theirs = os.read(read, 100).decode()
    os.close(read)
    assert theirs.startswith(STAGING) and theirs != mine and staging_name() == mine


PLUGIN = '''
from benchmark.api import hookimpl

@hookimpl
def bench_cell_artifacts(cell, model, predictions, directory):
    if cell.params["n_epochs"] % 2:
        return None
    (directory / "k.txt").write_text(str(cell.params["n_epochs"]))
    return ["k.txt"]
'''


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_leaves_each_cells_artifacts_and_no_staging_directory(tmp_path, jobs):
    (tmp_path / "art.py").write_text(PLUGIN)
    (tmp_path / "suite.yaml").write_text("""\
name: staging
plugins: [art.py]
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.5}
    split: {method: holdout}
models:
  - name: bias-baseline
    grid: {n_epochs: [1, 2, 3, 4]}
metrics: [rmse]
""")
    with open(os.devnull, "w") as devnull:
        result = run_suite(tmp_path / "suite.yaml", RunOptions(out=tmp_path / "out", jobs=jobs), stream=devnull)
    assert result.ran == 4 and result.failed == 0
    root = tmp_path / "out" / "artifacts"
    assert stagings(root) == []
    rows = list(result.rows)
    written = {row["params"]["n_epochs"]: row["artifacts"] for row in rows}
    assert {k: len(v) for k, v in written.items()} == {1: 0, 2: 1, 3: 0, 4: 1}
    for k in (2, 4):
        assert (tmp_path / "out" / written[k][0]).read_text() == str(k)
    assert len(list(root.iterdir())) == 2
