"""Official dataset files are verified against pinned sha256s; fold sets are read only when used.

Each test copies the real files (``shared_data``) into ``tmp_path`` and damages the copy.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from bench_plugins import images, movielens
from bench_plugins.splits import predefined

from benchmark.api import PluginInputError
from tests.conftest import run_bench

U_DATA_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("BENCH_CACHE_DIR", str(cache))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    return cache


def copy_of(shared_data: Path, dataset: str, root: Path) -> Path:
    """A writable copy of ``shared_data/dataset`` under ``root``; returns ``root``."""
    shutil.copytree(shared_data / dataset, root / dataset)
    for path in (root / dataset).iterdir():
        path.chmod(0o644)
    return root


def cut_in_half(path: Path) -> None:
    """Keep the first half of the file's bytes, as a torn copy or download would."""
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- MovieLens 100k: the silent half dataset ------------------------------------------------------


def test_u_data_cut_in_half_is_refused_naming_file_hashes_and_folder(shared_data, tmp_path):
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    u_data = root / "ml-100k" / "u.data"
    cut_in_half(u_data)
    assert len(movielens.read_tab_separated(u_data)) == 50_177  # loaded as "MovieLens 100k" before
    with pytest.raises(PluginInputError) as error:
        movielens.load_100k(data_dir=str(root), download=False)
    assert str(error.value) == (
        f"ml-100k/u.data at {root / 'ml-100k'}: sha256 {sha256(u_data)} expected {U_DATA_SHA256}; "
        "the local copy is damaged or not the official release — re-download it or fix data_dir "
        "(for modified data use the ratings-file dataset)")


def test_bench_run_on_a_half_u_data_stops_with_one_line_and_writes_nothing(shared_data, tmp_path,
                                                                          write_suite):
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    cut_in_half(root / "ml-100k" / "u.data")
    suite = write_suite(f"""
name: half
data_dir: {root}
split: {{method: holdout, test_size: 0.2}}
datasets: [movielens-100k]
models: [global-mean]
metrics: [rmse]
""")
    out = tmp_path / "out"
    done = run_bench("run", str(suite), "--out", str(out), "-q",
                     env={"BENCH_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 2, done.stdout + done.stderr
    assert re.search(r"ml-100k/u.data at .*: sha256 [0-9a-f]{64} expected " + U_DATA_SHA256,
                     done.stderr), done.stderr
    assert "Traceback" not in done.stderr
    assert not (out / "cells.jsonl").exists()


def test_same_size_same_mtime_edit_is_still_caught(shared_data, tmp_path):
    """The hash stamp is keyed on size, mtime, ctime and inode: restoring size and mtime after
    flipping a byte does not make bench trust its stamp."""
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    u_data = root / "ml-100k" / "u.data"
    assert len(movielens.load_100k(data_dir=str(root), download=False)) == 100_000  # stamp written
    before = u_data.stat()
    raw = bytearray(u_data.read_bytes())
    raw[raw.index(b"\t3\t") + 1] = ord("5")  # one rating 3 -> 5
    u_data.write_bytes(bytes(raw))
    os.utime(u_data, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert u_data.stat().st_size == before.st_size and u_data.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(PluginInputError, match=f"sha256 {sha256(u_data)} expected {U_DATA_SHA256}"):
        movielens.load_100k(data_dir=str(root), download=False)


def test_an_unchanged_file_is_hashed_once(shared_data, tmp_path, monkeypatch, private_cache):
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    hashed = []
    from benchmark import datafiles

    real = datafiles.file_sha256
    monkeypatch.setattr(datafiles, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    first = movielens.load_100k(data_dir=str(root), download=False)
    second = movielens.load_100k(data_dir=str(root), download=False)
    assert hashed == ["u.data"] and first.checksum() == second.checksum()
    assert len(list((private_cache / "verified").glob("*.json"))) == 1
    assert first.info["verified"] == "sha256 (pinned)"


def test_a_read_only_cache_only_costs_a_rehash(shared_data, tmp_path, monkeypatch):
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache directory would be")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(blocked))
    assert len(movielens.load_100k(data_dir=str(root), download=False)) == 100_000


def test_a_damaged_cached_copy_says_to_delete_it(shared_data, tmp_path, private_cache):
    copy_of(shared_data, "ml-100k", private_cache / "movielens")
    cut_in_half(private_cache / "movielens" / "ml-100k" / "u.data")
    with pytest.raises(PluginInputError, match=r"the cached copy is damaged — delete "
                                                + re.escape(str(private_cache / "movielens" / "ml-100k"))):
        movielens.load_100k(download=False)


def test_pinned_hashes_are_those_of_checksums_sha256(shared_data):
    listed = dict(reversed(line.split("  ")) for line in
                  (shared_data / "CHECKSUMS.sha256").read_text().splitlines())
    for release in movielens.RELEASES.values():
        for name, digest in release.sha256.items():
            assert listed[f"{release.folder}/{name}"] == digest, name
    fold_files = {f"{n}.{part}" for names in movielens.FOLD_SETS.values() for n in names
                  for part in ("base", "test")}
    assert set(movielens.RELEASES["movielens-100k"].sha256) == {"u.data"} | fold_files
    assert images.MNIST_KNOWN_FILES.keys() >= {listed["mnist/mnist.npz"]}


def test_releases_without_pinned_files_say_so(tmp_path):
    """ml-1m..32m: nothing pinned (their files were never at hand); a local copy is read as is
    and the dataset's info says it was not verified."""
    for name in ("movielens-1m", "movielens-10m", "movielens-20m", "movielens-25m", "movielens-32m"):
        assert movielens.RELEASES[name].sha256 == {} and movielens.RELEASES[name].known_hash
    (tmp_path / "ml-1m").mkdir()
    (tmp_path / "ml-1m" / "ratings.dat").write_text("1::1193::5::978300760\n")
    data = movielens.load_1m(data_dir=str(tmp_path), download=False)
    assert data.info["verified"] == "not verified (no pinned checksum for this release)"


def test_a_damaged_latest_small_copy_is_refused(shared_data, tmp_path):
    root = copy_of(shared_data, "ml-latest-small", tmp_path / "d")
    cut_in_half(root / "ml-latest-small" / "ratings.csv")
    with pytest.raises(PluginInputError, match=r"^ml-latest-small/ratings.csv at .*: sha256 [0-9a-f]{64} "
                                                r"expected aa289ca8"):
        movielens.load_latest_small(data_dir=str(root))


def test_the_embedded_latest_small_is_verified(tmp_path, monkeypatch):
    assert movielens.load_latest_small().info["verified"] == "sha256 (pinned)"
    fake = tmp_path / "data" / "ml-latest-small"
    fake.mkdir(parents=True)
    with gzip.open(fake / "ratings.csv.gz", "wt") as handle:
        handle.write("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n")
    monkeypatch.setattr(movielens, "EMBEDDED", tmp_path / "data")
    with pytest.raises(PluginInputError, match="embedded.*expected aa289ca8.*reinstall"):
        movielens.load_latest_small()


# --- Lazy canonical folds ---------------------------------------------------------------------


def test_asking_for_u_never_reads_ua_or_ub(shared_data, tmp_path, monkeypatch):
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    cut_in_half(root / "ml-100k" / "ua.base")  # damaged, but never needed
    read = []
    real = movielens.read_tab_separated
    monkeypatch.setattr(movielens, "read_tab_separated", lambda path: read.append(path.name) or real(path))
    data = movielens.load_100k(data_dir=str(root), download=False)
    assert read == [] and set(data.folds) == {"u", "ua", "ub"}
    assert [len(data.folds[name]) for name in ("u", "ua", "ub")] == [5, 1, 1], "no file read to count"
    (u3,) = predefined(data, name="u", folds=["u3"])
    assert u3.name == "u3" and (len(u3.train), len(u3.test)) == (80_000, 20_000)
    assert sorted(read) == sorted(f"u{i}.{part}" for i in range(1, 6) for part in ("base", "test"))
    with pytest.raises(PluginInputError, match=r"^ml-100k/ua.base at .*: sha256 [0-9a-f]{64} expected 67b5bcdb"):
        predefined(data, name="ua")


def test_a_copy_without_ua_files_still_gives_u(shared_data, tmp_path):
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    for part in ("base", "test"):
        (root / "ml-100k" / f"ua.{part}").unlink()
    data = movielens.load_100k(data_dir=str(root), download=False)
    assert set(data.folds) == {"u", "ub"} and data.info["fold_sets"].keys() == {"u", "ub"}
    assert [fold.name for fold in predefined(data, name="u")] == ["u1", "u2", "u3", "u4", "u5"]


def test_a_damaged_u1_base_is_refused_when_u_is_used(shared_data, tmp_path):
    root = copy_of(shared_data, "ml-100k", tmp_path / "d")
    cut_in_half(root / "ml-100k" / "u1.base")
    data = movielens.load_100k(data_dir=str(root), download=False)
    (ub,) = predefined(data, name="ub")
    assert len(ub.test) == 9_430
    with pytest.raises(PluginInputError, match=r"^ml-100k/u1.base at .*expected ce253ec8"):
        predefined(data, name="u", folds=["u2"])


# --- MNIST --------------------------------------------------------------------------------------


def test_a_truncated_mnist_npz_is_refused_with_its_hash(shared_data, tmp_path):
    root = copy_of(shared_data, "mnist", tmp_path / "d")
    npz = root / "mnist" / "mnist.npz"
    npz.write_bytes(npz.read_bytes()[:len(npz.read_bytes()) // 2])
    with pytest.raises(PluginInputError) as error:
        images.load_mnist(data_dir=str(root), limit=10, test_limit=10)
    message = str(error.value)
    assert message.startswith(f"mnist/mnist.npz at {root / 'mnist'}: sha256 {sha256(npz)} expected "
                              f"{images.MNIST_FILE_SHA256} or ")
    assert "cannot be read" in message and "re-download it or fix data_dir" in message


def test_a_faithful_rebuild_of_mnist_is_accepted_by_its_arrays(shared_data, tmp_path):
    with np.load(shared_data / "mnist" / "mnist.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    (tmp_path / "d" / "mnist").mkdir(parents=True)
    np.savez(tmp_path / "d" / "mnist" / "mnist.npz", **arrays)  # another file, the same arrays
    assert sha256(tmp_path / "d" / "mnist" / "mnist.npz") not in images.MNIST_KNOWN_FILES
    data = images.load_mnist(data_dir=str(tmp_path / "d"), limit=10, test_limit=10)
    assert data.X.shape == (20, 784)


# --- Default splits -----------------------------------------------------------------------------


def test_default_splits_name_the_canonical_fold_sets():
    specs = {spec.name: spec for spec in movielens.bench_datasets() + images.bench_datasets()}
    assert specs["movielens-100k"].default_split == {"method": "predefined", "name": "u"}
    assert specs["mnist"].default_split == {"method": "predefined", "name": "official"}
    assert specs["movielens-1m"].default_split is None and specs["digits"].default_split is None
