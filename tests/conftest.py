"""Shared fixtures: the real datasets beside the checkout, small generated data, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BENCH_TEST_DATA", ROOT.parent / "shared" / "data"))


SHARED_LAYOUT = ("ml-100k/u.data", "ml-100k/u1.base", "ml-latest-small/ratings.csv", "mnist/mnist.npz")
"""Files whose presence marks a usable copy of the test data (docs/test-data.md has the full layout)."""


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (ml-100k, ml-latest-small, mnist), laid out as the archives unpack.

    Tests that need the real datasets take this fixture; without the data they are skipped
    with one reason saying where to put it (see docs/test-data.md), and the rest still run.
    """
    missing = [name for name in SHARED_LAYOUT if not (SHARED_DATA / name).is_file()]
    if missing:
        pytest.skip(f"real test datasets not found at {SHARED_DATA} (missing {', '.join(missing)}): "
                    f"put the shared data folder at ../shared/data beside the checkout or set "
                    f"BENCH_TEST_DATA=/path, laid out as ml-100k/u.data (+ u1..u5, ua, ub .base/.test), "
                    f"ml-latest-small/ratings.csv, mnist/mnist.npz; see docs/test-data.md")
    return SHARED_DATA


def run_bench(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the ``bench`` CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture
def write_suite(tmp_path: Path):
    """Write a suite file from text into a temporary directory; return its path."""

    def write(text: str, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
