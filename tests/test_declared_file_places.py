"""Where a declared data file is looked for is decided once (``declared_files.candidate_paths``):
``bench data`` (``cli_data.locate``) and the hash check of every load (``verify_declared_files``)
look at the same places, in the same order, and judge the same copy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from benchmark.cli_data import locate
from benchmark.datafiles import DataFile, DatasetFiles
from benchmark.declared_files import candidate_paths, verify_declared_files
from benchmark.errors import BenchError

GOOD = b"user,item,rating\n1,2,5\n2,3,4\n"
SHA = hashlib.sha256(GOOD).hexdigest()
FILE = DataFile("toy/toy.csv", (SHA,), cache="cached/toy.csv")


def _loader(file: DataFile):
    def load(data_dir: str | None = None):
        raise NotImplementedError

    load.data_files = lambda: DatasetFiles((file,))  # type: ignore[attr-defined]
    return load


@pytest.fixture
def roots(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("BENCH_CACHE_DIR", str(cache))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    return data, cache


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_the_places_are_the_data_dir_then_the_cache(roots):
    data, cache = roots
    assert candidate_paths(FILE, data) == [data / "toy/toy.csv", cache / "cached/toy.csv"]
    assert candidate_paths(FILE, None) == [cache / "cached/toy.csv"]  # no data dir: the cache alone
    assert candidate_paths(DataFile("toy/toy.csv"), data) == [data / "toy/toy.csv"]  # no cached copy named
    assert candidate_paths(FILE, data, data / "other") == [data / "toy/toy.csv", data / "other/cached/toy.csv"]


@pytest.mark.parametrize("in_data, in_cache, judged", [
    (None, b"damaged", "cache"),  # only the cache holds a copy: both judge it
    (GOOD, b"damaged", None),  # the data dir's good copy comes first: the damaged cache is never read
    (b"damaged", GOOD, "data"),  # the data dir's damaged copy comes first: both refuse it
])
def test_bench_data_and_the_load_check_judge_the_same_copy(roots, in_data, in_cache, judged):
    data, cache = roots
    if in_data is not None:
        _write(data / FILE.path, in_data)
    _write(cache / str(FILE.cache), in_cache)
    state = locate(FILE, data, cache)
    assert state.looked == candidate_paths(FILE, data, cache)
    first = next(path for path in state.looked if path.is_file())
    assert state.found == first
    if judged is None:
        assert state.state == "verified"
        verify_declared_files("toy", _loader(FILE), str(data))  # passes: the good copy is the one read
        return
    assert state.state == "damaged" and first == (data / FILE.path if judged == "data" else cache / str(FILE.cache))
    with pytest.raises(BenchError) as refused:
        verify_declared_files("toy", _loader(FILE), str(data))
    assert f"{first} has sha256 " in refused.value.message
