"""The test tiers of tests/conftest.py stay true: every slow-tier pattern still names a test, the
default run leaves the slow tier out, and no test asserts on wall-clock time."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.conftest import NEEDS, ROOT, SHARED_DATA_MISSING, SLOW


@pytest.mark.parametrize("pattern", [*SLOW, *NEEDS])
def test_every_slow_or_needs_pattern_names_a_test(pattern):
    path, _, name = pattern.partition("::")
    assert (ROOT / path).is_file(), f"{path} is gone: update SLOW in tests/conftest.py"
    function = re.split(r"[\[*]", name, maxsplit=1)[0]  # up to the first wildcard
    if function:
        whole = function == name.split("[", 1)[0]
        assert f"def {function}{'(' if whole else ''}" in (ROOT / path).read_text(), \
            f"{pattern}: no test {function} in {path}: update SLOW in tests/conftest.py"


def test_the_default_run_leaves_the_slow_tier_out_and_ci_runs_everything():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-m 'not slow'" in config["addopts"]
    assert "-m ''" in (ROOT / ".ci" / "run").read_text()


def test_the_shared_data_skip_reason_is_one_short_line():
    assert "\n" not in SHARED_DATA_MISSING and len(SHARED_DATA_MISSING) < 160
    assert "docs/test-data.md" in SHARED_DATA_MISSING


CLOCKS = r"(seconds|elapsed|perf_counter|monotonic|time\.time)"
WALL_CLOCK = re.compile(r"assert\b.*\b" + CLOCKS + r"\b.*<\s*[\d.]")
"""An assertion that a measured duration stays under a number (built in two parts so that this
line is not itself such an assertion to a text search)."""
KNOWN: set[tuple[str, str]] = set()
"""Lines allowed to stay (none): a (file name, stripped line) pair each."""


def test_no_test_asserts_on_wall_clock_time():
    """A loaded machine makes any time bound flaky; speed is measured in benchmarks/."""
    found = [f"{path.name}:{n}: {line.strip()}" for path in sorted((ROOT / "tests").glob("test_*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if WALL_CLOCK.search(line) and path.name != "test_first_hour_tiers.py"
             and (path.name, line.strip()) not in KNOWN]
    assert not found, "wall-clock assertions:\n" + "\n".join(found)


SKIPPING = '''
import pytest
from tests.conftest import SHARED_DATA_MISSING


def test_a():
    pytest.skip(SHARED_DATA_MISSING)


def test_b():
    pytest.skip("no local copy under /elsewhere (set BENCH_TEST_DATA)")


@pytest.mark.skip(reason=SHARED_DATA_MISSING)
def test_c():
    pass


@pytest.mark.parametrize("n", [1, 2])
def test_d(n):
    pytest.skip(f"reason {n % 1}")
'''


def test_skips_of_one_cause_are_one_summary_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-ra", "-p", "tests.conftest", "-p", "no:cacheprovider",
                             "--rootdir", str(tmp_path), str(tmp_path / "test_skipping.py")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2, result.stdout
    assert skipped[0].startswith("SKIPPED [3] ") and skipped[0].endswith(SHARED_DATA_MISSING)
    assert skipped[1].startswith("SKIPPED [2] ") and skipped[1].endswith("reason 0")
