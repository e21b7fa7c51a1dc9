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

_CORE_PACKAGES = ("bench", "numpy", "pandas", "pluggy", "PyYAML", "tabulate", "scikit-learn",
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


def environment(plugins: list[dict[str, str]]) -> dict[str, Any]:
    """The environment record written once per run."""
    project = Path(__file__).resolve().parent.parent
    return {"recorded_at": now(), "machine": machine(), "python": sys.version,
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


class PeakMemory:
    """Samples the process's resident memory in a thread; ``peak_mb`` is the highest seen."""

    def __init__(self, interval: float = 0.01):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak = _rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
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
