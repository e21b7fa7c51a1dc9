"""Issue 19, items 1 and 2: bench never writes through a link, nor reads an artifact from elsewhere.

The attack: a results directory (shared, or unpacked from someone else) whose ``.lock``,
``cells.jsonl``, ``cells.rejected.jsonl`` or ``leaderboard.csv`` is a symbolic link to a file of
the victim's; ``bench run`` used to truncate and overwrite the target. Each case below is
refused with one line, and the target keeps its bytes. Artifacts named by a row resolve only
inside their run directory, never through a link.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from benchmark.errors import BenchError
from benchmark.lock import LOCK_FILE, RunLock
from benchmark.runner import RunOptions, run_suite
from benchmark.files import artifact_path, read_artifact, real_directory, write_atomic
from benchmark.store import CELLS, REJECTED, ResultStore, read_rows

SECRET = b"the victim's file: must keep these bytes\nand no newline at its end"
ROW = {"cell_id": "a", "status": "ok", "metrics": {"rmse": 0.9}}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(SECRET)
    return path


def results(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir(exist_ok=True)
    return directory


def assert_link_refused(info: pytest.ExceptionInfo, link: Path, victim: Path) -> None:
    message = str(info.value)
    assert message.startswith(f"{link}: is a symbolic link; bench never writes through a link"), message
    assert "\n" not in message
    assert victim.read_bytes() == SECRET
    assert link.is_symlink()


# --- Item 1: the files of a results directory --------------------------------------------------


def test_a_symlinked_lock_is_refused_and_its_target_kept(tmp_path, victim):
    link = results(tmp_path) / LOCK_FILE
    link.symlink_to(victim)
    with pytest.raises(BenchError) as info:
        RunLock(link.parent).acquire()
    assert_link_refused(info, link, victim)


def test_a_lock_that_is_a_directory_or_a_fifo_is_refused_without_blocking(tmp_path):
    directory = results(tmp_path)
    (directory / LOCK_FILE).mkdir()
    with pytest.raises(BenchError, match=r"\.lock: is a directory, not a regular file"):
        RunLock(directory).acquire()
    (directory / LOCK_FILE).rmdir()
    os.mkfifo(directory / LOCK_FILE)
    with pytest.raises(BenchError, match=r"\.lock: is a FIFO, not a regular file"):
        RunLock(directory).acquire()


def test_a_symlinked_cells_jsonl_is_refused_by_append_repair_and_readers(tmp_path, victim):
    link = results(tmp_path) / CELLS
    link.symlink_to(victim)
    store = ResultStore(link.parent)
    for action in (lambda: store.append(ROW), store.repair, store.rows, lambda: read_rows(link)):
        with pytest.raises(BenchError) as info:
            action()
        assert_link_refused(info, link, victim)


def test_the_torn_tail_of_a_symlinked_cells_jsonl_is_not_cut_off_its_target(tmp_path, victim):
    """The target has no newline at its end: repair used to truncate it to nothing."""
    link = results(tmp_path) / CELLS
    link.symlink_to(victim)
    store = ResultStore(link.parent)
    with pytest.raises(BenchError):
        store._repair_tail()  # the step that used to truncate, even without check_entries
    assert victim.read_bytes() == SECRET
    assert not (link.parent / REJECTED).exists()


def test_a_symlinked_rejected_file_is_refused_and_nothing_appended_to_its_target(tmp_path, victim):
    directory = results(tmp_path)
    (directory / CELLS).write_bytes(json.dumps(ROW).encode() + b"\nnot json\n")
    link = directory / REJECTED
    link.symlink_to(victim)
    store = ResultStore(directory)
    with pytest.raises(BenchError) as info:
        store.repair()
    assert_link_refused(info, link, victim)
    with pytest.raises(BenchError) as info:
        store._append_rejected([b"x\n"])  # the writer itself refuses, not only the check
    assert_link_refused(info, link, victim)
    assert (directory / CELLS).read_bytes().endswith(b"not json\n")  # nothing moved, nothing lost


@pytest.mark.parametrize("name", ["leaderboard.csv", "leaderboard.md", "suite.yaml", "environment.json"])
def test_a_symlinked_file_written_by_the_run_is_refused(tmp_path, victim, name):
    link = results(tmp_path) / name
    link.symlink_to(victim)
    store = ResultStore(link.parent)
    with pytest.raises(BenchError) as info:
        store.write(name, "new text")
    assert_link_refused(info, link, victim)
    with pytest.raises(BenchError) as info:
        store.check_entries()
    assert_link_refused(info, link, victim)


def test_a_dangling_symlink_is_refused_too(tmp_path):
    link = results(tmp_path) / "leaderboard.csv"
    link.symlink_to(tmp_path / "would-be-created.csv")
    with pytest.raises(BenchError, match="is a symbolic link"):
        ResultStore(link.parent).write("leaderboard.csv", "x")
    assert not (tmp_path / "would-be-created.csv").exists()


@pytest.mark.parametrize("name", ["environments", "artifacts", "units", "archive"])
def test_a_symlinked_directory_of_the_results_is_refused(tmp_path, name):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = results(tmp_path) / name
    link.symlink_to(elsewhere, target_is_directory=True)
    store = ResultStore(link.parent)
    with pytest.raises(BenchError, match=f"{name}: is a symbolic link"):
        store.check_entries()
    with pytest.raises(BenchError, match=f"{name}: is a symbolic link"):
        store.write(f"{name}/run.json", "{}")
    assert list(elsewhere.iterdir()) == []


def test_write_environment_refuses_a_symlinked_environments_directory(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (results(tmp_path) / "environments").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(BenchError, match="environments: is a symbolic link"):
        ResultStore(tmp_path / "out").write_environment("run-1", {"a": 1})
    assert list(elsewhere.iterdir()) == []


def test_archive_refuses_a_symlinked_archive_and_moves_links_as_links(tmp_path, victim):
    directory = results(tmp_path)
    (directory / CELLS).symlink_to(victim)
    store = ResultStore(directory)
    archived = store.archive_cells()  # --fresh runs before the checks: it must not follow the link
    assert archived is not None and (archived / CELLS).is_symlink()
    assert victim.read_bytes() == SECRET and not os.path.lexists(directory / CELLS)
    (directory / CELLS).write_text(json.dumps(ROW) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rename(directory / "archive", tmp_path / "old-archive")
    (directory / "archive").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(BenchError, match="archive: is a symbolic link"):
        store.archive_cells()
    assert list(elsewhere.iterdir()) == [] and (directory / CELLS).exists()


@pytest.mark.timeout(20)
def test_a_fifo_in_place_of_cells_jsonl_is_refused_without_blocking(tmp_path):
    directory = results(tmp_path)
    os.mkfifo(directory / CELLS)
    with pytest.raises(BenchError, match=r"cells.jsonl: is a FIFO, not a regular file"):
        read_rows(directory / CELLS)
    with pytest.raises(BenchError, match="is a FIFO"):
        ResultStore(directory).append(ROW)


def test_the_store_still_works_on_plain_files(tmp_path):
    store = ResultStore(results(tmp_path))
    assert store.repair() is None
    store.append(ROW)
    store.write("leaderboard.csv", "a,b\n")
    store.write_environment("r1", {"x": 1})
    assert store.rows() == [ROW] and store.environment("r1") == {"x": 1}


def test_bench_run_with_a_symlinked_lock_stops_with_one_line(tmp_path, victim):
    """End to end, as the attack did it: the run refuses before writing anything."""
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: links\nseed: 1\nsplit: {method: holdout}\ndatasets:\n"
                     "  - name: synthetic-ratings\n    options: {n_users: 30, n_items: 20, density: 0.3}\n"
                     "models: [global-mean]\nmetrics: [rmse]\n")
    out = results(tmp_path)
    (out / LOCK_FILE).symlink_to(victim)
    with pytest.raises(BenchError) as info:
        run_suite(suite, RunOptions(out=out, executor="inline"), stream=io.StringIO())
    assert_link_refused(info, out / LOCK_FILE, victim)
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]
    (out / LOCK_FILE).unlink()
    (out / CELLS).symlink_to(victim)
    with pytest.raises(BenchError) as info:
        run_suite(suite, RunOptions(out=out, executor="inline"), stream=io.StringIO())
    assert_link_refused(info, out / CELLS, victim)


def test_real_directory_creates_plain_directories_and_refuses_links(tmp_path):
    out = results(tmp_path)
    assert real_directory(out, "artifacts/cell-1") == out / "artifacts" / "cell-1"
    assert (out / "artifacts" / "cell-1").is_dir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "artifacts" / "cell-2").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(BenchError, match=r"artifacts/cell-2: is a symbolic link"):
        real_directory(out, "artifacts/cell-2")
    (out / "units").write_text("a file")
    with pytest.raises(BenchError, match=r"units: is a file, expected a directory of the results"):
        real_directory(out, "units")
    for bad in ("../x", "/abs", "a/../../b"):
        with pytest.raises(BenchError, match="not a path inside the results directory"):
            real_directory(out, bad)
    assert list(elsewhere.iterdir()) == []


# --- Item 1: a file the user names (bench report -o) -------------------------------------------


def test_report_output_onto_a_symlink_is_refused_and_its_target_kept(tmp_path, victim):
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    with pytest.raises(BenchError) as info:
        write_atomic(link, "<html></html>", where=f"-o {link}")  # what report.write should call
    assert str(info.value).startswith(f"-o {link}: is a symbolic link; bench never writes through a link")
    assert victim.read_bytes() == SECRET and link.is_symlink()
    with pytest.raises(BenchError, match="is a symbolic link"):
        write_atomic(link, "<html></html>")  # report.write's call today: refused the same way


def test_write_atomic_refuses_a_directory_or_fifo_and_writes_a_plain_file(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(BenchError, match=r"d: is a directory, not a regular file"):
        write_atomic(tmp_path / "d", "x")
    os.mkfifo(tmp_path / "f")
    with pytest.raises(BenchError, match=r"f: is a FIFO, not a regular file"):
        write_atomic(tmp_path / "f", "x")
    write_atomic(tmp_path / "plain.html", "one")
    write_atomic(tmp_path / "plain.html", "two")
    assert (tmp_path / "plain.html").read_text() == "two"


# --- Item 2: artifacts stay inside their run directory -----------------------------------------


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "run"
    (directory / "artifacts" / "cell").mkdir(parents=True)
    (directory / "artifacts" / "cell" / "loss.png").write_bytes(b"\x89PNG inside")
    (tmp_path / "outside.png").write_bytes(b"\x89PNG outside")
    return directory


def test_an_artifact_inside_the_run_directory_is_found_and_read(run_dir):
    assert artifact_path(run_dir, "artifacts/cell/loss.png") == run_dir / "artifacts" / "cell" / "loss.png"
    assert artifact_path(run_dir, "./artifacts/cell/loss.png") == run_dir / "artifacts" / "cell" / "loss.png"
    assert read_artifact(run_dir, "artifacts/cell/loss.png") == b"\x89PNG inside"


@pytest.mark.parametrize("relative", [
    "../outside.png", "artifacts/../../outside.png", "artifacts/cell/../../../outside.png",
    "ABSOLUTE", "", ".", None, 7, ["artifacts/cell/loss.png"], "artifacts/cell/missing.png",
    "artifacts/cell", "artifacts\\cell\\loss.png", "artifacts/cell/loss.png\0.txt",
])
def test_an_artifact_outside_or_odd_is_none(run_dir, relative):
    if relative == "ABSOLUTE":
        relative = str(run_dir.parent / "outside.png")
    assert artifact_path(run_dir, relative) is None
    assert read_artifact(run_dir, relative) is None


def test_a_symlinked_artifact_or_directory_is_none(run_dir):
    outside = run_dir.parent / "outside.png"
    (run_dir / "artifacts" / "cell" / "link.png").symlink_to(outside)
    (run_dir / "artifacts" / "linked").symlink_to(run_dir.parent, target_is_directory=True)
    (run_dir / "artifacts" / "inner.png").symlink_to(run_dir / "artifacts" / "cell" / "loss.png")
    for relative in ("artifacts/cell/link.png", "artifacts/linked/outside.png", "artifacts/inner.png"):
        assert artifact_path(run_dir, relative) is None, relative
        assert read_artifact(run_dir, relative) is None, relative


def test_a_symlinked_run_directory_is_the_users_choice(run_dir, tmp_path):
    (tmp_path / "alias").symlink_to(run_dir, target_is_directory=True)
    assert read_artifact(tmp_path / "alias", "artifacts/cell/loss.png") == b"\x89PNG inside"


def test_an_artifact_too_large_or_not_a_file_is_none(run_dir):
    assert read_artifact(run_dir, "artifacts/cell/loss.png", max_bytes=4) is None
    os.mkfifo(run_dir / "artifacts" / "cell" / "fifo.png")
    assert artifact_path(run_dir, "artifacts/cell/fifo.png") is None
    assert read_artifact(run_dir, "artifacts/cell/fifo.png") is None
