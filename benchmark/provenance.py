"""Provenance: the machine, the software, the clock and the memory behind every number."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

_CORE_PACKAGES = ("bench-harness", "numpy", "pandas", "pluggy", "PyYAML", "tabulate", "scikit-learn",
                  "scikit-surprise", "tensorflow-cpu", "tensorflow", "keras", "scipy", "matplotlib")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def machine() -> dict[str, Any]:
    return {"hostname": socket.gethostname(), "platform": platform.platform(),
            "processor": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version()}


def git_revision(directory: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def package_versions(names: tuple[str, ...] = _CORE_PACKAGES) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def environment(plugins: list[dict[str, str]], run_id: str = "") -> dict[str, Any]:
    """The environment record written once per run."""
    project = Path(__file__).resolve().parent.parent
    return {"run_id": run_id, "recorded_at": now(), "machine": machine(), "python": sys.version,
            "executable": sys.executable, "packages": package_versions(),
            "plugins": plugins, "git_revision": git_revision(project),
            "argv": sys.argv}


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: fall back to the process's lifetime peak
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _kernel_peak_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


class PeakMemory:
    """The process's peak resident memory during a block, in ``peak_mb``.

    On Linux the kernel's own high-water mark is reset before the block and read after it:
    exact and free. Elsewhere a thread samples the resident size every ``interval`` seconds.
    """

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> PeakMemory:
        self.peak = _rss_bytes()
        if not _reset_peak():
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._thread is None:
            self.peak = max(self.peak, _kernel_peak_bytes())
        else:
            self._stop.set()
            self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


class Stopwatch:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = round(time.perf_counter() - self._wall, 4)
        self.cpu_seconds = round(time.process_time() - self._cpu, 4)
