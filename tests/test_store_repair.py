"""The result store: a damaged store is repaired, not fatal; files follow the umask; nothing is
deleted; every failure to write is one BenchError line."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from benchmark import store as store_module
from benchmark.errors import BenchError
from benchmark.files import write_atomic
from benchmark.store import CELLS, REJECTED, ResultStore, read_rows


def row(cell_id: str, **extra) -> dict:
    return {"cell_id": cell_id, "status": "ok", "metrics": {"rmse": 0.9}, **extra}


def line(value: dict) -> bytes:
    return (json.dumps(value, sort_keys=True) + "\n").encode()


A, B = row("a"), row("b", metrics={"rmse": float("nan"), "mae": 1})

DAMAGE: list[tuple[str, bytes, str]] = [
    ("invalid-utf8", b'{"cell_id": "x\xff\xfe", "status": "ok"}\n', "not UTF-8"),
    ("not-json", b"this is not json\n", "not JSON"),
    ("half-a-row", b'{"cell_id": "c", "status": "o\n', "not JSON"),
    ("empty-line", b"\n", "not JSON"),
    ("nul-bytes", b"\x00\x00\x00\x00\n", "not JSON"),
    ("json-array", b'[{"cell_id": "c"}]\n', "not a JSON object but list"),
    ("json-string", b'"cell_id"\n', "not a JSON object but str"),
    ("json-number", b"42\n", "not a JSON object but int"),
    ("json-null", b"null\n", "not a JSON object but NoneType"),
    ("missing-cell-id", line({"status": "ok", "metrics": {}}), "no cell_id"),
    ("cell-id-number", line({"cell_id": 7, "status": "ok"}), "no cell_id"),
    ("cell-id-empty", line({"cell_id": "", "status": "ok"}), "no cell_id"),
    ("missing-status", line({"cell_id": "c", "metrics": {}}), "status is not a string"),
    ("status-number", line({"cell_id": "c", "status": 1}), "status is not a string"),
    ("metrics-list", line({"cell_id": "c", "status": "ok", "metrics": [0.9]}), "metrics is not a mapping"),
    ("metrics-string", line({"cell_id": "c", "status": "ok", "metrics": "0.9"}), "metrics is not a mapping"),
    ("metric-string", line({"cell_id": "c", "status": "ok", "metrics": {"rmse": "0.9"}}), "metric 'rmse' is not a number"),
    ("metric-bool", line({"cell_id": "c", "status": "ok", "metrics": {"rmse": True}}), "metric 'rmse' is not a number"),
    ("metric-null", line({"cell_id": "c", "status": "ok", "metrics": {"rmse": None}}), "metric 'rmse' is not a number"),
    ("deep-json", b"[" * 200_000 + b"\n", "not JSON"),
    ("huge-int", b'{"cell_id": "c", "status": "ok", "n": ' + b"9" * 10_000 + b"}\n", "not JSON"),
]


def make(tmp_path: Path, data: bytes) -> ResultStore:
    directory = tmp_path / "out"
    directory.mkdir(exist_ok=True)
    (directory / CELLS).write_bytes(data)
    return ResultStore(directory)


@pytest.mark.parametrize("case, damaged, reason", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_line_moved_aside_with_one_warning(tmp_path, case, damaged, reason):
    store = make(tmp_path, line(A) + damaged + line(B))
    assert [r["cell_id"] for r in store.rows()] == ["a", "b"]  # readers skip it before any repair
    warning = store.repair()
    assert warning == f"{store.cells_path}: moved 1 damaged line (line 2: {reason}) in {CELLS} to {REJECTED}"
    assert store.warnings == [warning]
    assert store.cells_path.read_bytes() == line(A) + line(B)
    assert store.rejected_path.read_bytes() == damaged  # the raw bytes, unchanged
    assert [r["cell_id"] for r in store.rows()] == ["a", "b"]
    assert store.repair() is None  # warned once
    store.append(row("c"))
    assert [r["cell_id"] for r in read_rows(store.cells_path)] == ["a", "b", "c"]


def test_at_least_thirteen_damage_variants():
    assert len(DAMAGE) >= 13


def test_many_damaged_lines_listed_once(tmp_path):
    data = b"".join(line(row(f"r{i}")) if i % 2 else b"junk\n" for i in range(30))
    store = make(tmp_path, data)
    warning = store.repair()
    assert warning == (f"{store.cells_path}: moved 15 damaged lines (lines 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 "
                       f"and 5 more: not JSON (15)) in {CELLS} to {REJECTED}")
    assert len(store.rows()) == 15
    assert store.rejected_path.read_bytes() == b"junk\n" * 15


def test_rejected_lines_are_appended(tmp_path):
    store = make(tmp_path, line(A) + b"one\n")
    store.repair()
    store.cells_path.write_bytes(line(A) + b"two\n")
    ResultStore(store.directory).repair()
    assert store.rejected_path.read_bytes() == b"one\ntwo\n"


def test_torn_last_line_truncated_in_place(tmp_path, monkeypatch):
    torn = b'{"cell_id": "c", "sta'
    store = make(tmp_path, line(A) + line(B) + torn)
    inode = store.cells_path.stat().st_ino

    def no_copy(*args, **kwargs):
        raise AssertionError("the torn tail must be cut off in place, not by rewriting the file")

    monkeypatch.setattr(store_module.tempfile, "mkstemp", no_copy)
    warning = store.repair()
    assert warning == f"{store.cells_path}: cut a torn last line (line 3) off {CELLS}; its bytes are in {REJECTED}"
    assert store.cells_path.stat().st_ino == inode
    assert store.cells_path.read_bytes() == line(A) + line(B)
    assert store.rejected_path.read_bytes() == torn + b"\n"


def test_torn_tail_longer_than_a_read_chunk(tmp_path):
    torn = b'{"cell_id": "' + b"x" * 200_000
    store = make(tmp_path, line(A) + torn)
    assert store.repair().startswith(f"{store.cells_path}: cut a torn last line (line 2)")
    assert store.cells_path.read_bytes() == line(A)


def test_torn_only_line(tmp_path):
    store = make(tmp_path, b'{"cell')
    assert "line 1" in store.repair()
    assert store.cells_path.read_bytes() == b""


def test_append_after_a_torn_tail_without_repair(tmp_path):
    store = make(tmp_path, line(A) + b'{"cell_id": "tor')
    store.append(B)
    assert store.cells_path.read_bytes() == line(A) + line(B)


def test_torn_and_damaged_in_one_warning(tmp_path):
    store = make(tmp_path, line(A) + b"[1]\n" + line(B) + b"{")
    warning = store.repair()
    assert "cut a torn last line (line 4)" in warning
    assert "moved 1 damaged line (line 2: not a JSON object but list)" in warning
    assert warning.count("\n") == 0


def test_no_store_file_no_warning(tmp_path):
    store = ResultStore(tmp_path / "new")
    assert store.repair() is None and store.rows() == [] and store.finished() == {}


# --- Modes: the umask applies --------------------------------------------------------------


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077])
def test_files_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    expected = 0o666 & ~mask
    store = ResultStore(tmp_path / "out")
    store.append(A)
    store.write("leaderboard.csv", "a,b\n")
    env = store.write_environment("run-1", {"python": "3.11"})
    write_atomic(tmp_path / "out" / "x.txt", "x")
    for path in (store.cells_path, store.directory / "leaderboard.csv", env,
                 store.directory / "environment.json", tmp_path / "out" / "x.txt"):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    store.cells_path.write_bytes(line(A) + b"junk\n")  # the rewritten file too
    store.repair()
    assert stat.S_IMODE(store.cells_path.stat().st_mode) == expected
    assert stat.S_IMODE(store.rejected_path.stat().st_mode) == expected


# --- Environments and archives --------------------------------------------------------------


def test_environment_of_every_run_is_kept(tmp_path):
    store = ResultStore(tmp_path)
    first = store.write_environment("20240101-1", {"numpy": "1.26"})
    store.write_environment("20240102-2", {"numpy": "2.0"})
    assert first == tmp_path / "environments" / "20240101-1.json"
    assert store.environment("20240101-1") == {"numpy": "1.26"}
    assert store.environment("20240102-2") == {"numpy": "2.0"}
    assert json.loads((tmp_path / "environment.json").read_text()) == {"numpy": "2.0"}
    assert store.environment("missing") is None


def test_environment_run_id_cannot_escape(tmp_path):
    store = ResultStore(tmp_path / "out")
    path = store.write_environment("../../evil", {})
    assert path.parent == tmp_path / "out" / "environments"


def test_archive_moves_and_never_deletes(tmp_path):
    store = ResultStore(tmp_path)
    store.append(A)
    store.write("leaderboard.csv", "x\n")
    store.write("leaderboard.md", "x\n")
    store.write_environment("r1", {})
    (store.artifacts / "a").mkdir(parents=True)
    (store.artifacts / "a" / "picture.png").write_bytes(b"png")
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "a.npz").write_bytes(b"npz")
    target = store.archive_cells()
    assert target is not None and target.parent == tmp_path / "archive"
    assert read_rows(target / CELLS) == [A]
    assert (target / "leaderboard.csv").exists() and (target / "artifacts" / "a" / "picture.png").exists()
    assert (target / "units" / "a.npz").exists() and not (tmp_path / "units").exists()
    assert not store.cells_path.exists() and store.rows() == []
    assert (tmp_path / "environments" / "r1.json").exists()  # history stays
    store.append(B)
    second = store.archive_cells()  # the same second: another directory, nothing overwritten
    assert second != target
    assert [r["cell_id"] for r in read_rows(second / CELLS)] == ["b"] and read_rows(target / CELLS) == [A]
    assert store.archive_cells() is None


# --- Failures to write are one BenchError line ------------------------------------------------


def one_line(info) -> str:
    text = str(info.value)
    assert "\n" not in text
    return text


def test_out_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(BenchError) as info:
        ResultStore(tmp_path / "file")
    assert one_line(info) == f"{tmp_path / 'file'}: is a file, not a results directory; choose another --out"


def test_out_below_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(BenchError) as info:
        ResultStore(tmp_path / "file" / "out")
    assert "cannot create the results directory" in one_line(info)


def test_disk_full_on_append_keeps_stored_rows(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.append(A)
    real_write = os.write

    def full(fd, data):
        real_write(fd, bytes(data[:10]))  # a partial line, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", full)
    with pytest.raises(BenchError) as info:
        store.append(B)
    assert one_line(info) == (f"{store.cells_path}: cannot store a cell: no space left on device; "
                              f"free some space and rerun (stored cells are kept)")
    monkeypatch.undo()
    assert store.cells_path.read_bytes() == line(A)  # the partial line was cut off again
    store.append(B)
    assert store.rows() == [A, json.loads(line(B))]


def test_disk_full_on_write_leaves_the_old_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.write("leaderboard.csv", "old\n")

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", full)
    with pytest.raises(BenchError) as info:
        store.write("leaderboard.csv", "new\n")
    assert one_line(info) == (f"{tmp_path / 'leaderboard.csv'}: cannot write: no space left on device; "
                              f"free some space and rerun (stored cells are kept)")
    assert (tmp_path / "leaderboard.csv").read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["leaderboard.csv"]  # no temporary file left


def read_only(monkeypatch):
    """Writes fail as on a read-only file system (tests run as root, where chmod does not stop
    writes)."""
    real_open = os.open

    def guarded(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *args, **kwargs)

    def no_temp(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store_module.os, "open", guarded)
    monkeypatch.setattr(store_module.tempfile, "mkstemp", no_temp)


def test_read_only_store_can_be_read_writing_fails(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.append(A)
    store.append(B)
    read_only(monkeypatch)
    again = ResultStore(tmp_path)  # opening writes nothing
    assert again.repair() is None
    assert set(again.finished()) == {"a", "b"}
    with pytest.raises(BenchError) as info:
        again.append(row("c"))
    assert one_line(info) == (f"{again.cells_path}: cannot store a cell: read-only file system; "
                              f"choose another --out")
    with pytest.raises(BenchError) as info:
        again.write("leaderboard.csv", "x")
    assert one_line(info).startswith(f"{tmp_path / 'leaderboard.csv'}: cannot write: read-only file system")


def test_read_only_damaged_store_is_read_and_warned(tmp_path, monkeypatch):
    store = make(tmp_path, line(A) + b"junk\n" + line(B))
    read_only(monkeypatch)
    warning = store.repair()
    assert warning == (f"{store.cells_path}: skipped 1 damaged line (line 2: not JSON) in {CELLS}; "
                       f"they cannot be moved: read-only file system")
    assert [r["cell_id"] for r in store.rows()] == ["a", "b"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_really_read_only_directory(tmp_path):
    store = ResultStore(tmp_path / "out")
    store.append(A)
    os.chmod(store.directory, 0o555)
    try:
        again = ResultStore(tmp_path / "out")
        assert again.repair() is None and list(again.finished()) == ["a"]
        assert not again.writable
        with pytest.raises(BenchError, match="permission denied"):
            again.write("leaderboard.csv", "x")
    finally:
        os.chmod(store.directory, 0o755)


def test_rows_of_one_pass_are_stored_together_or_not_at_all(tmp_path, monkeypatch):
    """append_rows: one write and one fsync for a batch; a failed write leaves no row of it."""
    store = ResultStore(tmp_path)
    store.append(A)
    real_write = os.write

    def full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))  # half the batch, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", full)
    with pytest.raises(BenchError):
        store.append_rows([B, {**B, "cell_id": "c"}])
    monkeypatch.undo()
    assert store.cells_path.read_bytes() == line(A)
    store.append_rows([B, {**B, "cell_id": "c"}])
    assert [row["cell_id"] for row in store.rows()] == ["a", "b", "c"]
