"""Shared fixtures: the real datasets beside the checkout, small generated data, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BENCH_TEST_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (ml-100k, ml-latest-small, mnist), laid out as the archives unpack."""
    if not (SHARED_DATA / "ml-100k" / "u.data").is_file():
        pytest.fail(f"real datasets not found at {SHARED_DATA}; set BENCH_TEST_DATA")
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
