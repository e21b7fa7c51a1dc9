"""MovieLens plugins: real ml-100k / latest-small, file layouts of the larger releases, downloads."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bench_plugins import movielens

from benchmark.api import MissingDependency, PluginInputError
from tests.conftest import run_bench


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private download cache and no ``$BENCH_DATA_DIR`` from the environment."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BENCH_CACHE_DIR", str(cache))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    return cache


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Checksum stamps of module-scoped loads go to a private cache, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def ml100k(shared_data: Path):
    return movielens.load_100k(data_dir=str(shared_data))


@pytest.fixture
def unpinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """ml-100k without pinned file hashes, so that tiny generated copies load (to test the
    structural checks behind the checksums; the checksums themselves: test_data_integrity)."""
    release = dataclasses.replace(movielens.RELEASES["movielens-100k"], sha256={})
    monkeypatch.setitem(movielens.RELEASES, "movielens-100k", release)


def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(release):
        raise AssertionError(f"{release.name} should load from the local copy")
    monkeypatch.setattr(movielens, "download_archive", refuse)


# --- ml-100k, real data -----------------------------------------------------------------------


def test_100k_has_the_documented_counts(ml100k):
    ratings = ml100k.ratings
    assert (len(ratings), ratings["user"].nunique(), ratings["item"].nunique()) == (100_000, 943, 1_682)
    counts = ratings["rating"].value_counts().sort_index()
    assert counts.to_dict() == {1.0: 6_110, 2.0: 11_370, 3.0: 27_145, 4.0: 34_174, 5.0: 21_201}
    assert ratings.dtypes.astype(str).to_dict() == {
        "user": "int64", "item": "int64", "rating": "float64", "timestamp": "int64"}
    assert ml100k.scale == (1.0, 5.0)
    assert ml100k.info["source"].endswith("ml-100k/u.data")
    assert "Harper" in ml100k.info["citation"] and "redistribute" in ml100k.info["licence"]


def test_100k_first_row_is_u_data_first_line(ml100k, shared_data):
    first = (shared_data / "ml-100k" / "u.data").read_text().split("\n", 1)[0].split("\t")
    assert ml100k.ratings.iloc[0].tolist() == [float(v) for v in first]


def test_100k_u_folds_partition_u_data(ml100k):
    folds = ml100k.folds["u"]
    assert [f.name for f in folds] == ["u1", "u2", "u3", "u4", "u5"]
    for fold in folds:
        assert (len(fold.train), len(fold.test)) == (80_000, 20_000)
        assert np.intersect1d(fold.train, fold.test).size == 0
        assert np.array_equal(np.sort(np.concatenate([fold.train, fold.test])), np.arange(100_000))
    all_tests = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(all_tests), np.arange(100_000))  # the five test sets partition too


def _split_file(path: Path) -> np.ndarray:
    return np.loadtxt(path, dtype=np.int64, delimiter="\t")


def test_u1_fold_keeps_the_line_order_of_u1_base_and_u1_test(ml100k, shared_data):
    u1 = ml100k.folds["u"][0]
    frame = ml100k.ratings[["user", "item", "rating", "timestamp"]].to_numpy(np.int64)
    assert np.array_equal(frame[u1.train], _split_file(shared_data / "ml-100k" / "u1.base"))
    assert np.array_equal(frame[u1.test], _split_file(shared_data / "ml-100k" / "u1.test"))
    assert not np.all(np.diff(u1.train) > 0), "train positions must not be sorted"


def test_ua_ub_folds(ml100k):
    for name in ("ua", "ub"):
        (fold,) = ml100k.folds[name]
        assert fold.name == name
        assert (len(fold.train), len(fold.test)) == (90_570, 9_430)
        assert np.array_equal(np.sort(np.concatenate([fold.train, fold.test])), np.arange(100_000))
        per_user = ml100k.ratings["user"].to_numpy()[fold.test]
        assert set(np.bincount(per_user)[1:]) == {10}


def test_100k_folds_work_through_the_predefined_split(ml100k):
    from bench_plugins.splits import predefined

    (fold,) = predefined(ml100k, name="u", folds=["u3"])
    assert fold is ml100k.folds["u"][2]


# --- ml-100k-style files in tmp_path: folds only when files exist, and broken splits -----------

TINY = [(1, 10, 5, 881250949), (1, 20, 3, 881250950), (2, 10, 4, 881250951),
        (2, 30, 1, 881250952), (3, 20, 2, 881250953), (3, 30, 4, 881250954)]


def _write_tsv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in rows))


def tiny_100k(root: Path, base=TINY[::2], test=TINY[1::2]) -> Path:
    """An ml-100k-shaped folder: u.data and the ua split."""
    _write_tsv(root / "ml-100k" / "u.data", TINY)
    if base is not None:
        _write_tsv(root / "ml-100k" / "ua.base", base)
        _write_tsv(root / "ml-100k" / "ua.test", test)
    return root


def test_100k_without_split_files_has_no_folds(tmp_path, monkeypatch, unpinned):
    no_download(monkeypatch)
    data = movielens.load_100k(data_dir=str(tiny_100k(tmp_path / "d", base=None)))
    assert len(data) == 6 and data.folds == {}


def test_100k_split_fold_maps_pairs_to_positions(tmp_path, monkeypatch, unpinned):
    no_download(monkeypatch)
    base, test = [TINY[5], TINY[0], TINY[3]], [TINY[4], TINY[1], TINY[2]]
    data = movielens.load_100k(data_dir=str(tiny_100k(tmp_path / "d", base, test)))
    (fold,) = data.folds["ua"]
    assert fold.train.tolist() == [5, 0, 3] and fold.test.tolist() == [4, 1, 2]
    assert set(data.folds) == {"ua"}


@pytest.mark.parametrize("base, test, message", [
    (TINY[:3], TINY[3:5] + [(9, 99, 3, 0)], "not in u.data"),
    (TINY[:3], TINY[3:5], "do not partition"),
    (TINY[:4], TINY[3:], "do not partition"),
    (TINY[:3], TINY[3:5] + [(3, 30, 1, 881250954)], "rating differs"),
])
def test_100k_broken_split_files_are_refused(tmp_path, monkeypatch, unpinned, base, test, message):
    no_download(monkeypatch)
    data = movielens.load_100k(data_dir=str(tiny_100k(tmp_path / "d", base, test)))
    with pytest.raises(PluginInputError, match=message):  # fold files are read when first used
        [list(data.folds[name]) for name in data.folds]


# --- latest-small ----------------------------------------------------------------------------


def test_latest_small_from_data_dir_equals_embedded(shared_data, monkeypatch):
    no_download(monkeypatch)
    embedded = movielens.load_latest_small()
    local = movielens.load_latest_small(data_dir=str(shared_data))
    assert "plugins/data" in embedded.info["source"].replace("\\", "/")
    assert local.info["source"] == str(shared_data / "ml-latest-small" / "ratings.csv")
    assert len(local) == len(embedded) == 100_836
    assert local.checksum() == embedded.checksum()
    assert local.describe() == {"rows": 100_836, "users": 610, "items": 9_724, "scale": [0.5, 5.0]}


def test_latest_small_uses_env_data_dir(shared_data, monkeypatch):
    no_download(monkeypatch)
    monkeypatch.setenv("BENCH_DATA_DIR", str(shared_data))
    assert movielens.load_latest_small().info["source"].startswith(str(shared_data))


# --- Layouts of the larger releases (small generated files) -----------------------------------


def test_1m_double_colon_ratings(tmp_path, monkeypatch):
    no_download(monkeypatch)
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3::978302109\n"
                                        "6040::1097::4::956715518\n")
    data = movielens.load_1m(data_dir=str(tmp_path))
    expected = pd.DataFrame({"user": [1, 1, 6040], "item": [1193, 661, 1097],
                             "rating": [5.0, 3.0, 4.0], "timestamp": [978300760, 978302109, 956715518]})
    pd.testing.assert_frame_equal(data.ratings, expected)
    assert data.scale == (1.0, 5.0) and data.folds == {}


def test_10m_unpacks_to_ml_10M100K_with_half_stars(tmp_path, monkeypatch):
    no_download(monkeypatch)
    folder = tmp_path / "ml-10M100K"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::122::5::838985046\n71567::2338::2.5::912580553\n")
    data = movielens.load_10m(data_dir=str(tmp_path))
    assert data.ratings["rating"].tolist() == [5.0, 2.5]
    assert data.ratings["user"].tolist() == [1, 71567] and data.scale == (0.5, 5.0)


def test_double_colon_reader_refuses_other_separators(tmp_path, monkeypatch):
    no_download(monkeypatch)
    (tmp_path / "ml-1m").mkdir()
    (tmp_path / "ml-1m" / "ratings.dat").write_text("1:1193:5:978300760\n")
    with pytest.raises(PluginInputError, match="not '::'-separated"):
        movielens.load_1m(data_dir=str(tmp_path))


@pytest.mark.parametrize("loader, folder", [(movielens.load_20m, "ml-20m"),
                                            (movielens.load_25m, "ml-25m"),
                                            (movielens.load_32m, "ml-32m")])
def test_csv_releases(tmp_path, monkeypatch, loader, folder):
    no_download(monkeypatch)
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n"
                                                   "1,29,3.5,1112484676\n138493,68319,4.5,1260209720\n")
    data = loader(data_dir=str(tmp_path))
    assert data.ratings.columns.tolist() == ["user", "item", "rating", "timestamp"]
    assert data.ratings["item"].tolist() == [2, 29, 68319]
    assert data.ratings["rating"].tolist() == [3.5, 3.5, 4.5]
    assert data.scale == (0.5, 5.0)


def test_missing_local_copy_without_download_is_a_clear_error(tmp_path):
    with pytest.raises(PluginInputError, match=r"ml-1m/ratings.dat not found.*download is off"):
        movielens.load_1m(data_dir=str(tmp_path), download=False)


def test_download_without_pooch_names_the_missing_library(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)  # import pooch now fails
    with pytest.raises(MissingDependency, match="downloading ml-1m.zip needs 'pooch': pip install pooch"):
        movielens.load_1m(data_dir=str(tmp_path))


# --- Downloads: pooch with a local "downloader", hashes checked by pooch itself ----------------


def make_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def tiny_100k_zip(tmp_path: Path) -> Path:
    lines = "".join("\t".join(map(str, row)) + "\n" for row in TINY)
    return make_zip(tmp_path / "served.zip", {"ml-100k/u.data": lines, "ml-100k/README": "tiny"})


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def serve(monkeypatch):
    """Make ``pooch.retrieve`` fetch a local zip (with pooch's own hash check); count calls."""
    pooch = pytest.importorskip("pooch")
    real_retrieve = pooch.retrieve
    calls = []

    def serve_file(served: Path, known_hash: str | None, name: str = "movielens-100k") -> list:
        release = dataclasses.replace(movielens.RELEASES[name], known_hash=known_hash)
        monkeypatch.setitem(movielens.RELEASES, name, release)

        def copy(url, output_file, _pooch):
            shutil.copyfile(served, output_file)

        def retrieve(url, known_hash, **kwargs):
            calls.append(url)
            return real_retrieve(url, known_hash, downloader=copy, **kwargs)

        monkeypatch.setattr(pooch, "retrieve", retrieve)
        return calls

    return serve_file


def test_download_extracts_and_loads_then_reuses_the_cache(tmp_path, isolated_dirs, unpinned, serve):
    served = tiny_100k_zip(tmp_path)
    calls = serve(served, f"md5:{md5(served)}")
    data = movielens.load_100k()
    assert calls == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    assert len(data) == 6 and data.ratings["rating"].tolist() == [5.0, 3.0, 4.0, 1.0, 2.0, 4.0]
    assert data.info["source"] == str(isolated_dirs / "movielens" / "ml-100k" / "u.data")
    assert (isolated_dirs / "movielens" / "ml-100k.zip").is_file()
    assert not list((isolated_dirs / "movielens").glob(".extract-*"))
    assert movielens.load_100k().checksum() == data.checksum()
    assert len(calls) == 1, "the extracted copy in the cache is reused"


def test_download_checksum_mismatch_names_file_and_hashes(tmp_path, isolated_dirs, serve):
    served = tiny_100k_zip(tmp_path)
    wrong = "0" * 32
    serve(served, f"md5:{wrong}")
    with pytest.raises(PluginInputError) as error:
        movielens.load_100k()
    message = str(error.value)
    assert "ml-100k.zip" in message and f"md5:{wrong}" in message and md5(served) in message
    assert not (isolated_dirs / "movielens" / "ml-100k").exists()


def test_zip_member_escaping_the_cache_is_refused(tmp_path, isolated_dirs, serve):
    lines = "".join("\t".join(map(str, row)) + "\n" for row in TINY)
    served = make_zip(tmp_path / "evil.zip", {"ml-100k/u.data": lines, "../evil": "gotcha"})
    serve(served, f"md5:{md5(served)}")
    with pytest.raises(PluginInputError, match=r"'\.\./evil'.*outside"):
        movielens.load_100k()
    assert not (isolated_dirs / "evil").exists()
    assert not (isolated_dirs / "movielens" / "ml-100k").exists(), "nothing is extracted"


def test_absolute_zip_member_is_refused(tmp_path):
    archive = make_zip(tmp_path / "abs.zip", {"/tmp/evil": "gotcha"})
    with pytest.raises(PluginInputError, match="outside"):
        movielens.extract_archive(archive, tmp_path / "out")


def test_latest_small_download_is_checked_against_the_stored_sha256(tmp_path, isolated_dirs, serve,
                                                                     shared_data):
    real = (shared_data / "ml-latest-small" / "ratings.csv").read_bytes()
    serve(make_zip(tmp_path / "small.zip", {"ml-latest-small/ratings.csv": real}), None,
          name="movielens-latest-small")
    data = movielens.load_latest_small(download=True)
    assert data.info["source"] == str(isolated_dirs / "movielens" / "ml-latest-small" / "ratings.csv")
    assert data.checksum() == movielens.load_latest_small(download=False).checksum()


def test_latest_small_download_with_other_ratings_is_refused(tmp_path, isolated_dirs, serve):
    served = make_zip(tmp_path / "small.zip", {
        "ml-latest-small/ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"})
    serve(served, None, name="movielens-latest-small")
    with pytest.raises(PluginInputError, match=r"^ml-latest-small/ratings.csv at \S+ml-latest-small.zip "
                                                r"\(downloaded\): sha256 [0-9a-f]{64} expected aa289ca8"):
        movielens.load_latest_small(download=True)
    assert not (isolated_dirs / "movielens" / "ml-latest-small").exists(), "nothing unverified is kept"
    assert not (isolated_dirs / "movielens" / "ml-latest-small.zip").exists()
    assert movielens.load_latest_small().info["source"].endswith("ratings.csv.gz"), "embedded copy"


def test_archive_without_the_ratings_file_is_refused(tmp_path, isolated_dirs, serve):
    served = make_zip(tmp_path / "other.zip", {"ml-100k/README": "no ratings here"})
    serve(served, f"md5:{md5(served)}")
    with pytest.raises(PluginInputError, match="ml-100k.zip has no member ml-100k/u.data"):
        movielens.load_100k()


# --- Registration and the CLI ------------------------------------------------------------------


def test_all_releases_are_registered_with_official_urls():
    specs = {spec.name: spec for spec in movielens.bench_datasets()}
    assert set(specs) == {"movielens-100k", "movielens-1m", "movielens-10m", "movielens-20m",
                          "movielens-25m", "movielens-32m", "movielens-latest-small"}
    for name, release in movielens.RELEASES.items():
        assert release.url == f"https://files.grouplens.org/datasets/movielens/{release.archive}.zip"
        assert release.known_hash is None or len(release.known_hash) == len("md5:") + 32
        assert specs[name].task == "rating"


def test_importing_the_plugin_does_not_import_pooch():
    code = "import sys, bench_plugins.movielens; assert 'pooch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bench_run_predefined_u1(tmp_path, shared_data, ml100k, write_suite):
    suite = write_suite(f"""
name: ml100k-u1
data_dir: {shared_data}
datasets:
  - name: movielens-100k
    split: {{method: predefined, name: u, folds: [u1]}}
models: [bias-baseline]
metrics: [rmse]
""")
    out = tmp_path / "out"
    done = run_bench("run", str(suite), "--out", str(out), "-q",
                     env={"BENCH_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr + done.stdout
    (row,) = [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]
    assert row["dataset_checksum"] == ml100k.checksum()
    assert row["fold_name"] == "u1" and row["status"] == "ok", row["error"]
    assert row["split_fingerprint"] == ml100k.folds["u"][0].fingerprint


def test_offline_without_a_local_copy_is_one_clear_error(tmp_path, monkeypatch):
    import pooch
    import requests

    def unreachable(url, known_hash, **kwargs):
        raise requests.exceptions.ConnectionError(f"Failed to resolve {url}")

    monkeypatch.setattr(pooch, "retrieve", unreachable)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    with pytest.raises(PluginInputError, match=r"no local copy of ml-1m/ratings.dat \(looked in .*/empty/ml-1m "
                                                r"\(data_dir .*/empty does not exist\) and in .*/cache/movielens/ml-1m\) "
                                                r"and the download from https://files.grouplens.org/datasets/"
                                                r"movielens/ml-1m.zip failed: ConnectionError$"):
        movielens.load_1m(data_dir=str(tmp_path / "empty"))
