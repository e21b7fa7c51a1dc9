"""RunLock: one run per results directory; a second one refused at once naming the holder; a
dead holder's lock taken over."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import lock as lock_module
from benchmark.errors import BenchError
from benchmark.lock import LOCK_FILE, RunLock

ROOT = Path(__file__).resolve().parents[1]

HOLDER = """
import os, sys, time
from benchmark.lock import RunLock
lock = RunLock(sys.argv[1], argv=["bench", "run", "suite.yaml"])
lock.acquire()
child = 0
if sys.argv[2] == "orphan":  # a forked worker keeps the lock; the run itself dies
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
print("locked", child, flush=True)
if sys.argv[2] == "orphan":
    os._exit(1)
time.sleep(60)
"""


def hold(directory: Path, mode: str = "hold") -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory), mode], stdout=subprocess.PIPE,
                               text=True, cwd=ROOT)
    word, child = process.stdout.readline().split()
    assert word == "locked"
    process.child = int(child)  # type: ignore[attr-defined]
    return process


def test_second_run_in_another_process_is_refused_then_takes_over(tmp_path):
    holder = hold(tmp_path / "out")
    try:
        with pytest.raises(BenchError) as info:  # at once: acquire never waits (a hang meets --timeout)
            RunLock(tmp_path / "out").acquire()
        record = json.loads((tmp_path / "out" / LOCK_FILE).read_text())
        assert str(info.value) == (f"{tmp_path / 'out'} is in use by bench run (pid {holder.pid} on host "
                                   f"{socket.gethostname()}, started {record['started_at']}); "
                                   f"wait for it or use another --out")
        assert record["pid"] == holder.pid and record["argv"] == ["bench", "run", "suite.yaml"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with RunLock(tmp_path / "out") as lock:  # the kernel released the dead holder's flock
        assert lock.locked and lock.stale["pid"] == holder.pid
        assert json.loads((tmp_path / "out" / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_second_acquirer_in_the_same_process_is_refused(tmp_path):
    with RunLock(tmp_path, argv=["bench"]), \
            pytest.raises(BenchError, match=r"is in use by bench run \(pid \d+ on host .*; wait for it"), \
            RunLock(tmp_path):
        pass


def test_record_names_the_holder_and_is_removed_after(tmp_path):
    with RunLock(tmp_path, argv=["bench", "run", "s.yaml"]) as lock:
        record = json.loads((tmp_path / LOCK_FILE).read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["argv"] == ["bench", "run", "s.yaml"] and record["started_at"].endswith("Z")
        assert lock.stale is None
    assert not (tmp_path / LOCK_FILE).exists()
    with RunLock(tmp_path) as again:  # and taken again
        assert again.locked and again.stale is None


def test_lock_file_left_by_a_crashed_run_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = {"pid": int(dead), "host": socket.gethostname(), "started_at": "2024-01-01T00:00:00Z",
             "argv": ["bench"]}
    (tmp_path / LOCK_FILE).write_text(json.dumps(stale))
    with RunLock(tmp_path) as lock:
        assert lock.locked and lock.stale == stale


def test_lock_held_by_an_orphaned_worker_is_taken_over(tmp_path):
    """The run died; a worker it forked still holds the flock, but the recorded pid is gone."""
    holder = hold(tmp_path, "orphan")
    holder.wait()
    try:
        with RunLock(tmp_path) as lock:
            assert lock.locked and lock.stale["pid"] == holder.pid
            with pytest.raises(BenchError, match=f"pid {os.getpid()} on host"):
                RunLock(tmp_path).acquire()  # and the new lock holds
    finally:
        os.kill(holder.child, signal.SIGKILL)


def test_empty_record_while_held(tmp_path):
    import fcntl

    fd = os.open(tmp_path / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(BenchError) as info:
            RunLock(tmp_path).acquire()
        assert str(info.value) == f"{tmp_path} is in use by another bench run; wait for it or use another --out"
    finally:
        os.close(fd)


def test_directory_is_created(tmp_path):
    with RunLock(tmp_path / "a" / "b"):
        assert (tmp_path / "a" / "b" / LOCK_FILE).exists()


def test_out_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(BenchError) as info:
        RunLock(tmp_path / "f").acquire()
    assert str(info.value) == f"{tmp_path / 'f'}: is a file, not a results directory; choose another --out"


def test_read_only_directory_without_lock_file(tmp_path, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(lock_module.os, "open", read_only)
    with RunLock(tmp_path) as lock:  # nothing to lock; writing results fails later on its own
        assert not lock.locked


def test_read_only_directory_with_a_lock_file_still_excludes(tmp_path, monkeypatch):
    (tmp_path / LOCK_FILE).write_text("")
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(lock_module.os, "open", read_only)
    with RunLock(tmp_path) as lock:
        assert lock.locked
        with pytest.raises(BenchError, match="is in use by another bench run"):
            RunLock(tmp_path).acquire()
