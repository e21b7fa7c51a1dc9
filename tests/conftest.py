"""Shared fixtures (the real datasets beside the checkout, a CLI runner) and the test tiers.

**Tiers.** ``python -m pytest`` runs the default tier: every test except those marked ``slow``
(pyproject's ``addopts = -m "not slow"``), a few minutes on 2 cores. ``.ci/run`` runs
everything (``-m ""``); ``-m slow`` runs only the slow tier. A test is slow when it took 3 s or
more on the loaded 2-core machine (``--durations``): whole runs of the CLI on real data, pip
installs, Dask clusters, TensorFlow fits, fuzzing. They are listed here, in :data:`SLOW`, by node
id, so the tiers are decided in one place and test files need no edits; a test file may also
mark its own tests ``@pytest.mark.slow``.

**Skips.** A skip reason is one short line, and the summary shows one line per reason however
many tests share it (:func:`pytest_runtest_makereport`).
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from collections.abc import Generator
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
    with one short reason naming the folder and docs/test-data.md, and the rest still run.
    """
    if any(not (SHARED_DATA / name).is_file() for name in SHARED_LAYOUT):
        pytest.skip(SHARED_DATA_MISSING)
    return SHARED_DATA


SHARED_DATA_MISSING = f"real test data not at {SHARED_DATA} (BENCH_TEST_DATA=DIR; docs/test-data.md)"
"""The one skip reason of tests that need the real datasets; docs/test-data.md says how to get them."""


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


# --- Tiers -----------------------------------------------------------------------------------

SLOW = (
    # whole `bench run`s, pip installs, clusters (each >= 3 s on the loaded 2-core machine)
    "tests/test_quickstart.py::*",
    "tests/test_pictures.py::test_bench_run_writes_pictures_referenced_in_cells_jsonl",
    "tests/test_third_party_plugin.py::test_installed_plugin_is_discovered_and_runs",
    "tests/test_third_party_plugin.py::test_the_write_a_plugin_example_runs_and_passes_its_tests",
    "tests/test_engine.py::test_dask_local_cluster_runs_cells_and_records_a_killed_worker",
    "tests/test_scale.py::test_on_dask_workers_with_a_cores_resource_a_cell_reserves_its_declared_threads",
    "tests/test_engine.py::test_bad_cells_get_their_reason_and_every_other_cell_runs",
    "tests/test_engine.py::test_jobs_2_gives_the_numbers_of_jobs_1",
    "tests/test_runner.py::test_killed_run_keeps_finished_cells_and_resumes",
    "tests/test_runner.py::test_quickstart_suite_is_valid_against_the_printed_schema",
    "tests/test_integrity.py::test_a_minimal_suite_gets_the_documented_default_split",
    "tests/test_movielens.py::test_bench_run_predefined_u1",
    "tests/test_tasks.py::test_an_installed_task_is_listed_shown_and_in_the_schema",
    "tests/test_tasks.py::test_an_installed_task_runs_end_to_end_beside_the_rating_task",
    "tests/test_tasks.py::test_a_task_option_is_part_of_the_experiment",
    "tests/test_tasks.py::test_the_packages_own_tests_pass_against_the_installed_copy",
    "tests/test_tasks.py::test_a_tasks_adapter_lets_every_rating_model_run_on_it",
    # model fits that take seconds
    "tests/test_autorec.py::test_beats_the_global_mean*",
    "tests/test_autorec.py::test_the_same_seed_gives_identical_predictions",
    "tests/test_presentation_report.py::test_a_crowded_report_in_a_real_browser",
    "tests/test_autoencoder.py::test_the_same_seed_gives_identical_numbers",
    "tests/test_autoencoder.py::test_validation_comes_from_train_and_early_stopping_keeps_the_best",
    "tests/test_surprise_models.py::test_bench_svd_on_u1_is_exactly_surprise",
    "tests/test_fast_mf.py::test_exact_svdpp_reproduces_surprise_on_u1",
    # fuzzing and exhaustive limits
    "tests/test_fuzz_suite.py::*",
    "tests/test_yamlsafe.py::test_bad_file_refused_with_one_line[[]too-many-values[]]",
    "tests/test_yamlsafe.py::test_limits_are_exact",
)
"""Node-id patterns (fnmatch) of the slow tier."""


NEEDS = {
    "tests/test_fast_mf.py::test_repeated_pairs_use_the_literal_loop_and_match_surprise": "surprise",
    "tests/test_fast_mf.py::test_unknown_users_and_items_predict_as_surprise[[]*": "surprise",
    "tests/test_fast_mf.py::test_exact_svd*_reproduces_surprise*": "surprise",
    "tests/test_fast_mf.py::test_fast_mode_stays_within_a_thousandth_on_u1[[]*": "surprise",
    "tests/test_scale.py::test_on_dask_workers_with_a_cores_resource_a_cell_reserves_its_declared_threads":
        "distributed",
}
"""Tests that compare with an optional library without ``importorskip`` (node-id pattern ->
module): skipped when it is missing. Remove an entry once its test skips by itself."""


def _missing_library(item: pytest.Item) -> str | None:
    """Why ``item`` cannot run with the installed extras, or None: a test parametrized over
    registry entries (``entry``) whose plugin's library is missing (Surprise, TensorFlow), or
    one of :data:`NEEDS`."""
    import importlib.util

    callspec = getattr(item, "callspec", None)
    entry = callspec.params.get("entry") if callspec is not None else None
    missing = list(getattr(entry, "missing", None) or [])
    missing += [module for pattern, module in NEEDS.items()
                if fnmatch.fnmatchcase(item.nodeid, pattern) and importlib.util.find_spec(module) is None]
    return _needs(missing[0]) if missing else None


EXTRAS = {"surprise": "surprise", "scikit-surprise": "surprise", "tensorflow": "keras",
          "tensorflow-cpu": "keras", "keras": "keras", "numba": "fast", "dask": "dask",
          "distributed": "dask", "matplotlib": "plots", "pooch": "download", "pyarrow": "parquet",
          "optuna": "tune", "implicit": "implicit"}
"""The extra of pyproject.toml that installs a module or distribution."""


def _needs(library: str) -> str:
    """The one skip reason for every test that needs ``library`` (a module or a distribution)."""
    extra = EXTRAS.get(library)
    return f"needs the {extra} extra: pip install -e '.[{extra}]'" if extra else f"needs {library}"


_SAME_REASON = [
    (re.compile(r"could not import '([\w]+)[\w.]*': No module named '\w+"), lambda m: _needs(m.group(1))),
    (re.compile(r"^(\w+) is not installed"), lambda m: _needs(m.group(1))),
    (re.compile(r"^no local copy under "), lambda m: SHARED_DATA_MISSING),
    (re.compile(r"^downloads ml-\w+ \(no local copy here\)$"),
     lambda m: "downloads a large MovieLens release (no local copy here)"),
]
"""Reasons worded differently by different tests for the same cause, and the one they become."""


def _canonical(reason: str) -> str:
    reason = reason.removeprefix("Skipped: ")  # pytest's prefix for a skip inside a test
    for pattern, replace in _SAME_REASON:
        match = pattern.search(reason)
        if match:
            return replace(match)
    return reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the :data:`SLOW` tests ``slow`` (deselected by default); skip tests whose optional
    library is not installed (the README's test command installs the core and the test tools)."""
    for item in items:
        if any(fnmatch.fnmatchcase(item.nodeid, pattern) for pattern in SLOW):
            item.add_marker(pytest.mark.slow)
        reason = _missing_library(item)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Say that the slow tier was left out, and how to run it."""
    deselected = len(terminalreporter.stats.get("deselected", []))
    if deselected and config.getoption("markexpr") == "not slow":
        terminalreporter.write_line(f"slow tier: {deselected} test{'s' * (deselected != 1)} not run; "
                                    f"run them with -m slow, "
                                    f"everything with -m '' (as .ci/run does)")


_SKIP_SITES: dict[str, tuple[str, int | None]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, None, None]:
    """Give every skip with the same cause the same reason and location, so ``-ra`` folds them
    into one summary line (``SKIPPED [40] ...``) instead of one line per test or per wording."""
    outcome = yield
    _fold(outcome)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, None, None]:
    """The same for a whole module skipped at import (``pytest.importorskip`` at the top)."""
    outcome = yield
    _fold(outcome)


def _fold(outcome) -> None:
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        path, lineno, reason = report.longrepr
        reason = _canonical(reason)
        report.longrepr = (*_SKIP_SITES.setdefault(reason, (path, lineno)), reason)
        if hasattr(report, "keywords"):
            report.keywords.pop("skip", None)  # else pytest folds mark-skips on another key


class StopAfter:
    """An inline run's output stream that interrupts the run (as Ctrl-C would) once ``n`` + 1
    cells have finished: a stopped run, made without signals."""

    def __init__(self, n: int):
        self.n = n

    def write(self, text: str) -> None:
        if text.startswith("["):
            self.n -= 1
            if self.n < 0:
                raise KeyboardInterrupt

    def flush(self) -> None:
        pass


def inline_runs(base: Path, suites: dict[str, str]) -> list[Path]:
    """Each suite text written to ``base/<name>.yaml`` and run inline, quietly, into
    ``base/<name>``; the run directories, in order."""
    import io

    from benchmark.runner import RunOptions, run_suite

    out = []
    for name, text in suites.items():
        (base / f"{name}.yaml").write_text(text)
        run_suite(base / f"{name}.yaml", RunOptions(out=base / name, executor="inline"), stream=io.StringIO())
        out.append(base / name)
    return out
