"""The compatibility promise, checked: a plugin package written against contract 1.0 by an
outside author -- several sibling modules (models, a dataset and a split, metrics, artifact and
finished hooks) and its own tests of the conformance kit -- installs and passes its own tests,
unchanged, on this bench.

The package is ``tests/outside_plugin_1_0/bench-tastes/``, frozen (its README says so): when this
test fails, bench broke a 1.0 plugin, and bench is what gets fixed (docs/writing-plugins.md, "What a
minor version may and may not change"). It passed its 17 tests on bench-harness 0.1.0 (contract
1.0) when it was written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_bench

PACKAGE = ROOT / "tests" / "outside_plugin_1_0" / "bench-tastes"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The package installed from a copy of its source (the frozen folder gets no build files),
    as the environment variables that make it importable; the copy is in ``source``."""
    folder = tmp_path_factory.mktemp("outside-1.0")
    source = folder / "bench-tastes"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    site = folder / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
            "SOURCE": str(source)}


@pytest.mark.slow
def test_the_1_0_packages_own_tests_pass_unchanged(installed, tmp_path):
    tests = os.path.join(installed["SOURCE"], "tests")
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), tests],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": installed["PYTHONPATH"]})
    assert own.returncode == 0, own.stdout + own.stderr
    assert re.search(r"\b17 passed\b", own.stdout) and "failed" not in own.stdout, own.stdout


@pytest.mark.slow
def test_the_1_0_package_is_listed_usable(installed):
    listed = run_bench("plugins", env={"PYTHONPATH": installed["PYTHONPATH"]})
    assert listed.returncode == 0, listed.stderr
    assert "unusable plugins" not in listed.stdout, listed.stdout
    for name in ("als-mf", "tastes-item-mean", "random-guess", "tastes", "new-tasters", "within-one",
                 "taster-mae"):
        line = next((l for l in listed.stdout.splitlines() if l.startswith(name + " ")), "")
        assert "bench-tastes 1.0.0" in line and "yes" in line, (name, listed.stdout)
