"""MovieLens datasets (GroupLens Research, https://grouplens.org/datasets/movielens/).

Every release is found, in this order, in

1. ``data_dir`` (the suite's option, ``--data-dir`` or ``$BENCH_DATA_DIR``), laid out as the
   official archive unpacks (``ml-100k/u.data``, ``ml-1m/ratings.dat``,
   ``ml-10M100K/ratings.dat``, ``ml-20m/ratings.csv``...);
2. ``cache_dir()/movielens``, where an earlier download was extracted;
3. the official zip, downloaded with pooch (checksummed and cached), then extracted safely.

``movielens-latest-small`` ships inside bench (``data/ml-latest-small``, with its licence
README) so the default suite runs offline: it downloads only with ``download: true``.
``movielens-100k`` exposes its canonical splits as fold sets ``u`` (u1..u5), ``ua`` and ``ub``.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.api import (
    RATING, DatasetSpec, Fold, LazyFolds, MissingDependency, PluginInputError, RatingData, cache_dir,
    hookimpl,
    require,
)
from benchmark.api import data_dir as local_data_dir

EMBEDDED = Path(__file__).parent / "data"
BASE_URL = "https://files.grouplens.org/datasets/movielens/"
CITATION = ("F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and "
            "Context. ACM TiiS 5, 4, Article 19. https://doi.org/10.1145/2827872")
LICENCE = ("GroupLens licence: research use only, acknowledge the citation in publications, no "
           "commercial use without permission; see the README in the archive for redistribution.")
NO_REDISTRIBUTION = ("GroupLens licence: research use only, acknowledge the citation in "
                     "publications, no commercial use; the data may not be redistributed "
                     "without separate permission.")
REDISTRIBUTION_ALLOWED = ("GroupLens licence: research use only, acknowledge the citation in "
                          "publications, no commercial use; redistribution only under the same "
                          "licence conditions.")

COLUMNS = ["user", "item", "rating", "timestamp"]
DTYPES = {"user": "int64", "item": "int64", "rating": "float64", "timestamp": "int64"}


# --- Parsing ----------------------------------------------------------------------------------


def _parse(path: Path, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    try:
        return read()
    except (ValueError, pd.errors.ParserError) as exc:
        raise PluginInputError(f"cannot parse {path}: {exc}") from None


def read_tab_separated(path: Path) -> pd.DataFrame:
    """``user item rating timestamp``, tab-separated, no header (ml-100k ``u.data``, ``u1.base``...)."""
    return _parse(path, lambda: pd.read_csv(path, sep="\t", header=None, names=COLUMNS,
                                            dtype=DTYPES))


def read_double_colon(path: Path) -> pd.DataFrame:
    """``user::item::rating::timestamp``, no header (ml-1m and ml-10m ``ratings.dat``).

    Read with the fast C parser as ``:``-separated fields, keeping every other field: the
    python engine needed for a two-character separator is far too slow for 10M rows.
    """
    with path.open("rb") as handle:
        first = handle.readline()
    if first and b"::" not in first:
        raise PluginInputError(f"{path} is not '::'-separated: its first line is {first[:80]!r}")
    names = ["user", "_1", "item", "_2", "rating", "_3", "timestamp"]
    return _parse(path, lambda: pd.read_csv(path, sep=":", header=None, names=names,
                                            usecols=COLUMNS, dtype=DTYPES)[COLUMNS])


def read_ratings_csv(path: Path) -> pd.DataFrame:
    """``userId,movieId,rating,timestamp`` with a header (ml-latest, ml-20m and later)."""
    dtypes = {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"}
    frame = _parse(path, lambda: pd.read_csv(path, dtype=dtypes))
    missing = set(dtypes) - set(frame.columns)
    if missing:
        raise PluginInputError(f"{path} lacks column(s) {sorted(missing)}")
    return frame.rename(columns={"userId": "user", "movieId": "item"})[COLUMNS]


# --- Releases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """One MovieLens release: where it comes from and how its ratings file is read.

    ``known_hash`` is the checksum of the official zip (``"md5:..."``); ``members`` maps files
    inside the archive to their sha256, checked after extraction (for a release whose zip
    checksum is not pinned).
    """

    name: str
    archive: str                      # the zip's stem on files.grouplens.org
    folder: str                       # the directory the zip unpacks to
    ratings_file: str
    read: Callable[[Path], pd.DataFrame]
    scale: tuple[float, float]
    known_hash: str | None
    licence: str = LICENCE
    members: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def url(self) -> str:
        return f"{BASE_URL}{self.archive}.zip"


# md5s published by GroupLens beside each zip (<name>.zip.md5). ml-32m's md5 is the content of
# ml-32m.zip.md5 as recorded by several independent projects (we could not fetch it here).
# ml-latest-small is a development release GroupLens may regenerate, so its zip is not pinned:
# after extraction its ratings.csv must have the sha256 of the Sept 2018 version (the embedded
# copy; see ../shared/data/SOURCES.md).
RELEASES: dict[str, Release] = {release.name: release for release in [
    Release("movielens-100k", "ml-100k", "ml-100k", "u.data", read_tab_separated, (1.0, 5.0),
            "md5:0e33842e24a9c977be4e0107933c0723", NO_REDISTRIBUTION,
            summary="MovieLens 100K (100,000 ratings 1-5; folds u1..u5, ua, ub)"),
    Release("movielens-1m", "ml-1m", "ml-1m", "ratings.dat", read_double_colon, (1.0, 5.0),
            "md5:c4d9eecfca2ab87c1945afe126590906", NO_REDISTRIBUTION,
            summary="MovieLens 1M (1,000,209 ratings 1-5)"),
    Release("movielens-10m", "ml-10m", "ml-10M100K", "ratings.dat", read_double_colon, (0.5, 5.0),
            "md5:ce571fd55effeba0271552578f2648bd",
            summary="MovieLens 10M (10,000,054 ratings 0.5-5)"),
    Release("movielens-20m", "ml-20m", "ml-20m", "ratings.csv", read_ratings_csv, (0.5, 5.0),
            "md5:cd245b17a1ae2cc31bb14903e1204af3",
            summary="MovieLens 20M (20,000,263 ratings 0.5-5)"),
    Release("movielens-25m", "ml-25m", "ml-25m", "ratings.csv", read_ratings_csv, (0.5, 5.0),
            "md5:6b51fb2759a8657d3bfcbfc42b592ada",
            summary="MovieLens 25M (25,000,095 ratings 0.5-5)"),
    Release("movielens-32m", "ml-32m", "ml-32m", "ratings.csv", read_ratings_csv, (0.5, 5.0),
            "md5:d472be332d4daa821edc399621853b57",
            summary="MovieLens 32M (32,000,204 ratings 0.5-5)"),
    Release("movielens-latest-small", "ml-latest-small", "ml-latest-small", "ratings.csv",
            read_ratings_csv, (0.5, 5.0), None, REDISTRIBUTION_ALLOWED,
            members={"ml-latest-small/ratings.csv":
                     "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646"},
            summary="MovieLens latest-small (embedded copy; 100,836 ratings 0.5-5)"),
]}


# --- Finding, downloading and extracting --------------------------------------------------------


def movielens_cache() -> Path:
    """Where MovieLens zips are downloaded and extracted."""
    return cache_dir() / "movielens"


def _local_folder(release: Release, data_dir: str | None) -> Path | None:
    """The release's folder in ``data_dir`` or in the cache, if its ratings file is there."""
    roots = [local_data_dir(data_dir), movielens_cache()]
    for root in roots:
        if root is not None and (root / release.folder / release.ratings_file).is_file():
            return root / release.folder
    return None


def download_archive(release: Release) -> Path:
    """Fetch the release's zip into the cache with pooch, checking its checksum."""
    try:
        pooch = require("pooch", "pooch")
    except MissingDependency:
        raise MissingDependency("pooch", "pooch", f"downloading {release.archive}.zip") from None
    try:
        path = pooch.retrieve(release.url, known_hash=release.known_hash,
                              fname=f"{release.archive}.zip", path=movielens_cache(),
                              progressbar=False)
    except ValueError as exc:
        if "hash" not in str(exc):
            raise
        actual = re.search(r"but got (\w+)", str(exc))
        raise PluginInputError(
            f"checksum mismatch for {release.archive}.zip from {release.url}: expected "
            f"{release.known_hash}, got {actual.group(1) if actual else str(exc)}; "
            f"the download was deleted") from None
    except OSError as exc:  # requests' network errors are OSErrors
        raise PluginInputError(
            f"no local copy of {release.folder}/{release.ratings_file} (give data_dir, --data-dir "
            f"or BENCH_DATA_DIR) and the download from {release.url} failed: "
            f"{type(exc).__name__}") from None
    return Path(path)


def _safe_members(archive: zipfile.ZipFile, destination: Path) -> list[zipfile.ZipInfo]:
    """The archive's members, refusing any whose path would land outside ``destination``."""
    root = destination.resolve()
    for member in archive.infolist():
        target = (root / member.filename).resolve()
        if member.filename.startswith(("/", "\\")) or not target.is_relative_to(root):
            raise PluginInputError(f"refusing to extract {archive.filename}: member "
                                   f"{member.filename!r} would be written outside {root}")
    return archive.infolist()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_members(archive_path: Path, root: Path, expected: Mapping[str, str | None]) -> None:
    """Every file of ``expected`` (path under ``root`` -> sha256 or None) is there, with that hash."""
    for name, sha256 in expected.items():
        path = root / name
        if not path.is_file():
            raise PluginInputError(f"{archive_path.name} has no member {name}")
        actual = _file_sha256(path) if sha256 else None
        if actual != sha256:
            raise PluginInputError(f"checksum mismatch for {name} in {archive_path.name}: "
                                   f"expected sha256:{sha256}, got sha256:{actual}")


def extract_archive(archive_path: Path, destination: Path,
                    expected: Mapping[str, str | None] | None = None) -> None:
    """Unzip into ``destination`` safely.

    Every member's path is checked before anything is written; the archive is extracted into
    a temporary directory, the members of ``expected`` (path -> sha256, or None to only require
    the file) are verified there, and only then do the top-level entries move into
    ``destination``.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile as exc:
        raise PluginInputError(f"{archive_path} is not a zip archive: {exc}") from None
    with archive, tempfile.TemporaryDirectory(dir=destination, prefix=".extract-") as scratch:
        archive.extractall(scratch, _safe_members(archive, Path(scratch)))
        _check_members(archive_path, Path(scratch), expected or {})
        for entry in Path(scratch).iterdir():
            target = destination / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            entry.rename(target)


def fetch(release: Release) -> Path:
    """Download, verify and extract the release; return its folder in the cache."""
    archive = download_archive(release)
    ratings = f"{release.folder}/{release.ratings_file}"
    try:
        extract_archive(archive, movielens_cache(), {ratings: None, **release.members})
    except PluginInputError:
        archive.unlink(missing_ok=True)  # a bad archive must not be found again in the cache
        raise
    return movielens_cache() / release.folder


def locate(release: Release, data_dir: str | None, download: bool) -> Path:
    """The folder holding the release: local copy, cache, else a fresh download."""
    folder = _local_folder(release, data_dir)
    if folder is not None:
        return folder
    if not download:
        where = local_data_dir(data_dir) or "no data_dir"
        raise PluginInputError(f"{release.folder}/{release.ratings_file} not found in {where} "
                               f"or {movielens_cache()}, and download is off")
    return fetch(release)


# --- MovieLens 100K's canonical splits --------------------------------------------------------

FOLD_SETS = {"u": [f"u{i}" for i in range(1, 6)], "ua": ["ua"], "ub": ["ub"]}


def _positions(ratings: pd.DataFrame, index: pd.Index, split: pd.DataFrame, path: Path) -> np.ndarray:
    """Positions in ``ratings`` of the split file's (user, item) pairs, in the file's order."""
    positions = index.get_indexer(pd.MultiIndex.from_frame(split[["user", "item"]]))
    if (positions < 0).any():
        row = int(np.flatnonzero(positions < 0)[0])
        raise PluginInputError(f"{path} line {row + 1}: pair (user {split['user'].iat[row]}, "
                               f"item {split['item'].iat[row]}) is not in u.data")
    differs = ratings["rating"].to_numpy()[positions] != split["rating"].to_numpy()
    if differs.any():
        row = int(np.flatnonzero(differs)[0])
        raise PluginInputError(f"{path} line {row + 1}: rating differs from u.data")
    return positions.astype(np.int64)


def _split_fold(ratings: pd.DataFrame, index: pd.Index, folder: Path, name: str) -> Fold:
    base, test = folder / f"{name}.base", folder / f"{name}.test"
    train_rows = _positions(ratings, index, read_tab_separated(base), base)
    test_rows = _positions(ratings, index, read_tab_separated(test), test)
    covered = np.bincount(np.concatenate([train_rows, test_rows]), minlength=len(ratings))
    if not (covered == 1).all():
        raise PluginInputError(f"{base.name} and {test.name} do not partition u.data: "
                               f"{int((covered == 0).sum())} of its rows are in neither, "
                               f"{int((covered > 1).sum())} are repeated")
    return Fold(name, train_rows, test_rows)


def canonical_folds(ratings: pd.DataFrame, folder: Path) -> LazyFolds:
    """ml-100k's u1..u5, ua and ub splits, for every fold set whose files are all present.

    Train and test positions keep the line order of the ``.base``/``.test`` files, so a model
    visits training ratings exactly as when it reads ``u1.base`` itself. The files are read
    only when a ``predefined`` split asks for their set.
    """

    def build(names: tuple[str, ...]) -> Callable[[], list[Fold]]:
        def folds() -> list[Fold]:
            index = pd.MultiIndex.from_frame(ratings[["user", "item"]])
            if not index.is_unique:
                raise PluginInputError(f"{folder / 'u.data'} has repeated (user, item) pairs")
            return [_split_fold(ratings, index, folder, name) for name in names]
        return folds

    present = {}
    for set_name, names in FOLD_SETS.items():
        files = [folder / f"{n}.{part}" for n in names for part in ("base", "test")]
        if all(path.is_file() for path in files):
            present[set_name] = build(tuple(names))
    return LazyFolds(present)


# --- Loaders ----------------------------------------------------------------------------------


def load_release(name: str, data_dir: str | None = None, download: bool = True) -> RatingData:
    """Load a MovieLens release from a local copy, the cache or a checksummed download."""
    release = RELEASES[name]
    folder = locate(release, data_dir, download)
    path = folder / release.ratings_file
    ratings = release.read(path)
    folds = canonical_folds(ratings, folder) if release.archive == "ml-100k" else {}
    info = {"source": str(path), "url": release.url, "citation": CITATION,
            "licence": release.licence}
    if folds:
        info["fold_sets"] = {name: list(FOLD_SETS[name]) for name in folds}
    return RatingData(ratings, release.scale, folds=folds, info=info)


# One loader per release (options: data_dir, download), as DatasetSpec needs a callable.
load_100k = functools.partial(load_release, "movielens-100k")
load_1m = functools.partial(load_release, "movielens-1m")
load_10m = functools.partial(load_release, "movielens-10m")
load_20m = functools.partial(load_release, "movielens-20m")
load_25m = functools.partial(load_release, "movielens-25m")
load_32m = functools.partial(load_release, "movielens-32m")


def load_latest_small(data_dir: str | None = None, download: bool = False) -> RatingData:
    """MovieLens latest-small: 100,836 ratings (0.5-5), 610 users, 9,724 movies.

    Uses a local copy when ``data_dir`` has one, else the embedded copy (Sept 2018), or the
    official zip with ``download=True``.
    """
    release = RELEASES["movielens-latest-small"]
    if download or _local_folder(release, data_dir) is not None:
        return load_release(release.name, data_dir, download)
    path = EMBEDDED / "ml-latest-small" / "ratings.csv.gz"
    return RatingData(read_ratings_csv(path), release.scale,
                      info={"source": str(path), "url": release.url, "citation": CITATION,
                            "licence": release.licence})


LOADERS: dict[str, Callable[..., RatingData]] = {
    "movielens-100k": load_100k, "movielens-1m": load_1m, "movielens-10m": load_10m,
    "movielens-20m": load_20m, "movielens-25m": load_25m, "movielens-32m": load_32m,
    "movielens-latest-small": load_latest_small,
}


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(name, LOADERS[name], RATING, summary=release.summary)
            for name, release in RELEASES.items()]
