"""Fuzzing the suite reader: any bytes either load or give one BenchError line -- nothing else,
no wall-clock bound is asserted (speed belongs to benchmarks/). The worst time and the peak memory are printed (``pytest -s``) and
recorded as test properties (``--junitxml``)."""

from __future__ import annotations

import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.errors import BenchError
from benchmark.yamlsafe import read_suite_file

EXAMPLES = 1000

FRAGMENTS = [
    "name:", "models:", "datasets:", "metrics:", "split:", "grid:", "params:", "seed:", "seeds:",
    "&a ", "*a", "&b ", "*b", "<<: *a", "[", "]", "{", "}", "- ", ": ", ", ", "? ", "\n", "\n  ",
    "\n    - ", "\t", "---\n", "...\n", "#", "!!python/object:os.system ", "!!binary ", "!!set ", "!!omap ",
    "!!int ", "!!float ", "!foo ", "'", '"', "\\u00e9", "|\n  ", ">-\n  ", "%YAML 1.1\n", "%TAG ! tag:x\n",
    "1:2:3", "0x1F", "1e999", ".nan", "2001-13-45", "~", "null", "yes", "\u00e9", "\U0001F600", "\u2028",
    "\ufeff", "\x85", "global-mean", "svd", "kfold", "k: 2", "9" * 120, "[" * 60, "{a: " * 60,
]

fragment_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=60).map("".join)
yamlish_bytes = st.one_of(
    st.binary(max_size=400),
    fragment_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.one_of(st.binary(max_size=6), st.sampled_from(FRAGMENTS).map(str.encode)), max_size=60)
    .map(b"".join),
)

large_text = st.lists(st.sampled_from(FRAGMENTS), min_size=200, max_size=3000).map("".join)

STATS = {"examples": 0, "loaded": 0, "refused": 0, "worst_seconds": 0.0, "worst_traced_mb": 0.0}
DIRECTORY = Path(tempfile.mkdtemp(prefix="bench-fuzz-"))


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=yamlish_bytes)
def test_any_bytes_load_or_give_one_error_line(data: bytes):
    check(data)


@settings(max_examples=EXAMPLES // 5, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=large_text)
def test_long_yamlish_text_loads_or_gives_one_error_line(text: str):
    check(text.encode("utf-8", "surrogatepass"))


def check(data: bytes) -> None:
    path = DIRECTORY / "suite.yaml"
    path.write_bytes(data)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        read_suite_file(path)
        STATS["loaded"] += 1
    except BenchError as exc:
        line = str(exc)
        assert line.startswith(str(path)) and "\n" not in line, line
        STATS["refused"] += 1
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    STATS["examples"] += 1
    STATS["worst_seconds"] = max(STATS["worst_seconds"], seconds)
    STATS["worst_traced_mb"] = max(STATS["worst_traced_mb"], peak)


@pytest.fixture(autouse=True, scope="module")
def report():
    yield
    STATS["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nfuzz: {STATS['examples']} examples ({STATS['loaded']} loaded, {STATS['refused']} refused), "
          f"worst {STATS['worst_seconds'] * 1000:.1f} ms, worst traced {STATS['worst_traced_mb']:.2f} MB, "
          f"process peak RSS {STATS['peak_rss_mb']:.0f} MB")


def test_fuzz_figures(record_property):
    """Runs after the fuzz test: the figures, for the report (and a check that it ran)."""
    for key, value in STATS.items():
        record_property(key, value)
    assert STATS["examples"] >= EXAMPLES


SUITE_PARTS = ["name: fuzz\n", "datasets: [digits]\n", "models: [pca]\n", "models: [{name: pca, grid: ",
               "{n_components: [1, 2]}}]\n", "split: {method: kfold, k: 2}\n", "seed: 3\n", "seeds: [1]\n",
               "metrics: [mse]\n", "limits: {timeout: 5}\n", "data_dir: x\n", "plugins: [nope.py]\n"]
suite_text = st.lists(st.one_of(st.sampled_from(SUITE_PARTS), st.sampled_from(FRAGMENTS), st.text(max_size=6)),
                      max_size=12).map("".join)


@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=suite_text)
def test_bench_check_validates_or_exits_2_with_one_line_per_problem(text: str):
    """Through the whole validation (YAML, schema, plugins, parameters): exit 0 or 2; every
    problem is one line ``bench: error: FILE:LINE...`` (all of them are listed), never a traceback."""
    import contextlib
    import io

    from benchmark.cli import main

    path = DIRECTORY / "check.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["check", str(path)])
    assert code in (0, 2), (text, code)
    lines = err.getvalue().strip().splitlines()
    assert all(line.startswith(("bench: error: ", "bench: warning: ")) for line in lines), (text, lines)
    if code == 2:
        errors = [line for line in lines if line.startswith("bench: error: ")]
        assert errors and len(errors) == len(set(errors)), (text, lines)
        assert all(line.startswith(f"bench: error: {path}:") for line in errors), (text, lines)
