"""``bench --help`` and ``bench plugins`` must not import model libraries (checked in a fresh process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ["sklearn", "tensorflow", "keras", "surprise", "torch", "matplotlib", "pooch"]

PROBE = """
import contextlib, io, sys
from benchmark.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
print(",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


@pytest.mark.parametrize("argv", [["--help"], ["plugins"], ["schema"], ["run", "--help"],
                                  ["plugins", "autoencoder"], ["check", "suites/quickstart.yaml"]])
def test_no_model_library_is_imported(argv):
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"bench {' '.join(argv)} imported {result.stdout.strip()}"


def test_help_does_not_even_load_plugins():
    probe = PROBE.format(argv=["--help"], heavy=["pandas", "pluggy", "bench_plugins.splits",
                                                 "benchmark.cli_data"])
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"bench --help imported {result.stdout.strip()}"
