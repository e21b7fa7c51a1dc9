"""MovieLens datasets (GroupLens Research, https://grouplens.org/datasets/movielens/).

Every release is found, in this order, in

1. ``data_dir`` (the suite's option, ``--data-dir`` or ``$BENCH_DATA_DIR``), laid out as the
   official archive unpacks (``ml-100k/u.data``, ``ml-1m/ratings.dat``,
   ``ml-10M100K/ratings.dat``, ``ml-20m/ratings.csv``...);
2. ``cache_dir()/movielens``, where an earlier download was extracted;
3. the official zip, downloaded with pooch (checksummed and cached), then extracted safely.

Each loader declares its files for ``bench data`` (:func:`data_files`, from :data:`RELEASES`);
downloads go through the public :func:`benchmark.api.download_file`.

``movielens-latest-small`` ships inside bench (``data/ml-latest-small``, with its licence
README) so the default suite runs offline: it downloads only with ``download: true``.
``movielens-100k`` exposes its canonical splits as fold sets ``u`` (u1..u5), ``ua`` and ``ub``;
its default split (when a suite names none) is ``u``. Each fold set's files are read only when a
split asks for that set.

**Verification.** Every file a loader reads whose official bytes bench knows is checked against
its pinned sha256 (:data:`Release.sha256`) wherever it was found — ``data_dir``, the cache, a
fresh extraction — and a mismatch is one :class:`PluginInputError` naming the file, both hashes
and the folder. Pinned today: ml-100k's ``u.data`` and its 20 ``u1..u5``/``ua``/``ub``
``.base``/``.test`` files, and ml-latest-small's ``ratings.csv`` (the Sept 2018 release; the
embedded copy is checked too). **Not pinned:** ml-1m, ml-10m, ml-20m, ml-25m and ml-32m, whose
files were never available to compute a hash from: their zip is checked by pooch against the md5
GroupLens publishes when it is downloaded, but a local copy in ``data_dir``, or the extracted
copy in the cache, is read as it is. ``info["verified"]`` records which case a load was.

Hashing is cached: the sha256 of a file is remembered in ``cache_dir()/verified/<key>.json``
together with the file's resolved path, size, mtime, ctime and inode, and recomputed whenever
any of them changes (so a rewrite, a truncation or a ``touch`` all cause a rehash). The stamp
only saves time; it is not a defence against someone who can write both the file and the cache.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import (
    RATING,
    ChecksumMismatch,
    DataFile,
    DatasetFiles,
    DatasetSpec,
    DownloadError,
    Fold,
    PluginInputError,
    RatingData,
    Source,
    cache_dir,
    cached_sha256,
    damaged,
    declare_files,
    download_file,
    extract_archive,
    hookimpl,
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

    ``known_hash`` is the checksum of the official zip (``"md5:..."``), checked by pooch at
    download. ``sha256`` maps files of the release folder (``"u.data"``) to their pinned sha256,
    checked whenever a loader reads them, from any copy. ``default_split`` is the split a suite
    gets when it names none (``None``: the harness's default).
    """

    name: str
    archive: str                      # the zip's stem on files.grouplens.org
    folder: str                       # the directory the zip unpacks to
    ratings_file: str
    read: Callable[[Path], pd.DataFrame]
    scale: tuple[float, float]
    known_hash: str | None
    licence: str = LICENCE
    sha256: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    default_split: Mapping[str, str] | None = None

    @property
    def url(self) -> str:
        return f"{BASE_URL}{self.archive}.zip"


# Zip checksums: the md5s GroupLens publishes beside each zip (<name>.zip.md5). ml-32m's md5 is
# the content of ml-32m.zip.md5 as recorded by several independent projects (not fetched here).
# ml-latest-small is a development release GroupLens may regenerate, so its zip is not pinned.
#
# File checksums (sha256 of the files the loaders read) are pinned only where the official bytes
# were at hand: ml-100k and ml-latest-small, computed from the copies described in
# ../shared/data/SOURCES.md (each byte-identical in two independent sources). The larger
# releases have none: their files are verified only through the zip's md5, at download.
ML_100K_SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
    "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
    "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
    "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
    "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
    "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
    "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
}
ML_LATEST_SMALL_SHA256 = {
    "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
}
RELEASES: dict[str, Release] = {release.name: release for release in [
    Release("movielens-100k", "ml-100k", "ml-100k", "u.data", read_tab_separated, (1.0, 5.0),
            "md5:0e33842e24a9c977be4e0107933c0723", NO_REDISTRIBUTION, sha256=ML_100K_SHA256,
            summary="MovieLens 100K (100,000 ratings 1-5; fold sets u = u1..u5 (default), ua, ub; "
                    "files checked by sha256)",
            default_split={"method": "predefined", "name": "u"}),
    Release("movielens-1m", "ml-1m", "ml-1m", "ratings.dat", read_double_colon, (1.0, 5.0),
            "md5:c4d9eecfca2ab87c1945afe126590906", NO_REDISTRIBUTION,
            summary="MovieLens 1M (1,000,209 ratings 1-5; zip md5 checked; files not pinned)"),
    Release("movielens-10m", "ml-10m", "ml-10M100K", "ratings.dat", read_double_colon, (0.5, 5.0),
            "md5:ce571fd55effeba0271552578f2648bd",
            summary="MovieLens 10M (10,000,054 ratings 0.5-5; zip md5 checked; files not pinned)"),
    Release("movielens-20m", "ml-20m", "ml-20m", "ratings.csv", read_ratings_csv, (0.5, 5.0),
            "md5:cd245b17a1ae2cc31bb14903e1204af3",
            summary="MovieLens 20M (20,000,263 ratings 0.5-5; zip md5 checked; files not pinned)"),
    Release("movielens-25m", "ml-25m", "ml-25m", "ratings.csv", read_ratings_csv, (0.5, 5.0),
            "md5:6b51fb2759a8657d3bfcbfc42b592ada",
            summary="MovieLens 25M (25,000,095 ratings 0.5-5; zip md5 checked; files not pinned)"),
    Release("movielens-32m", "ml-32m", "ml-32m", "ratings.csv", read_ratings_csv, (0.5, 5.0),
            "md5:d472be332d4daa821edc399621853b57",
            summary="MovieLens 32M (32,000,204 ratings 0.5-5; zip md5 checked; files not pinned)"),
    Release("movielens-latest-small", "ml-latest-small", "ml-latest-small", "ratings.csv",
            read_ratings_csv, (0.5, 5.0), None, REDISTRIBUTION_ALLOWED,
            sha256=ML_LATEST_SMALL_SHA256,
            summary="MovieLens latest-small (embedded copy; 100,836 ratings 0.5-5; checked by sha256)"),
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


def looked_in(release: Release, data_dir: str | None) -> str:
    """Where :func:`_local_folder` looked for the release, for a message: the folder under
    ``data_dir`` (saying so when ``data_dir`` itself does not exist) and the one in the cache --
    or that no ``data_dir`` was given."""
    cached = movielens_cache() / release.folder
    local = local_data_dir(data_dir)
    if local is None:
        return f"looked in {cached}; give data_dir, --data-dir or BENCH_DATA_DIR"
    missing = "" if local.is_dir() else f" (data_dir {local} does not exist)"
    return f"looked in {local / release.folder}{missing} and in {cached}"


def download_archive(release: Release, looked: str = "") -> Path:
    """Fetch the release's zip into the cache with pooch, checking its checksum; ``looked``
    (:func:`looked_in`) says where no local copy was found, for the message of a failed download."""
    try:
        return download_file(release.url, release.known_hash, movielens_cache() / f"{release.archive}.zip")
    except ChecksumMismatch as exc:
        raise PluginInputError(
            f"checksum mismatch for {release.archive}.zip from {release.url}: expected "
            f"{release.known_hash}, got {exc.actual or exc.detail}; the download was deleted") from None
    except DownloadError as exc:
        raise PluginInputError(
            f"no local copy of {release.folder}/{release.ratings_file} ({looked or 'looked in no data_dir'}) "
            f"and the download from {release.url} failed: {exc.reason}") from None


LOCAL_HINT = ("the local copy is damaged or not the official release — re-download it or fix "
              "data_dir (for modified data use the ratings-file dataset)")


def _hint(folder: Path) -> str:
    if folder.parent.resolve() == movielens_cache().resolve():
        return f"the cached copy is damaged — delete {folder} to download it again"
    return LOCAL_HINT


def verify(release: Release, folder: Path, name: str) -> bool:
    """Check ``folder/name`` against the release's pinned sha256; False if none is pinned."""
    expected = release.sha256.get(name)
    if expected is None:
        return False
    actual = cached_sha256(folder / name)
    if actual != expected:
        raise damaged(f"{release.folder}/{name}", folder, actual, expected, _hint(folder))
    return True


def fetch(release: Release, looked: str = "") -> Path:
    """Download, verify and extract the release; return its folder in the cache (``looked``:
    where no local copy was found, see :func:`download_archive`)."""
    archive = download_archive(release, looked)
    ratings = f"{release.folder}/{release.ratings_file}"
    pinned = {f"{release.folder}/{name}": sha256 for name, sha256 in release.sha256.items()}
    try:
        extract_archive(archive, movielens_cache(), ratings, pinned)
    except PluginInputError:
        archive.unlink(missing_ok=True)  # a bad archive must not be found again in the cache
        raise
    return movielens_cache() / release.folder


def locate(release: Release, data_dir: str | None, download: bool) -> Path:
    """The folder holding the release: local copy, cache, else a fresh download."""
    folder = _local_folder(release, data_dir)
    if folder is not None:
        return folder
    looked = looked_in(release, data_dir)
    if not download:
        raise PluginInputError(f"{release.folder}/{release.ratings_file} not found ({looked}), "
                               f"and download is off")
    return fetch(release, looked)


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


class FoldFiles(Sequence[Fold]):
    """One of ml-100k's fold sets (``u1..u5``, ``ua`` or ``ub``), read from its ``.base`` and
    ``.test`` files (each checked against its pinned sha256) the first time a fold is asked for.

    Its length is known without reading anything, so listing a dataset's fold sets — or
    copying the mapping, as a split does — reads no file; only iterating or indexing a set
    reads that set's files. Plain data (no closures), so a dataset holding it pickles.
    """

    def __init__(self, release: Release, ratings: pd.DataFrame, folder: Path, names: Sequence[str]):
        self.release, self.ratings, self.folder, self.names = release, ratings, folder, tuple(names)
        self._folds: list[Fold] | None = None

    def folds(self) -> list[Fold]:
        if self._folds is None:
            for name in self.names:
                for part in ("base", "test"):
                    verify(self.release, self.folder, f"{name}.{part}")
            index = pd.MultiIndex.from_frame(self.ratings[["user", "item"]])
            if not index.is_unique:
                raise PluginInputError(f"{self.folder / 'u.data'} has repeated (user, item) pairs")
            self._folds = [_split_fold(self.ratings, index, self.folder, name) for name in self.names]
        return self._folds

    @property
    def loaded(self) -> bool:
        """Whether the files have been read."""
        return self._folds is not None

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, position):  # type: ignore[override]
        return self.folds()[position]

    def __iter__(self) -> Iterator[Fold]:
        return iter(self.folds())

    def __repr__(self) -> str:
        state = "read" if self.loaded else "not read yet"
        return f"FoldFiles({', '.join(self.names)}: {state})"


def canonical_folds(ratings: pd.DataFrame, folder: Path,
                    release: Release | None = None) -> dict[str, FoldFiles]:
    """ml-100k's u1..u5, ua and ub splits, for every fold set whose files are all present.

    Train and test positions keep the line order of the ``.base``/``.test`` files, so a model
    visits training ratings exactly as when it reads ``u1.base`` itself. Each set's files are
    read (and verified) only when that set is used — asking for ``u`` never reads ``ua.*``.
    """
    release = release or RELEASES["movielens-100k"]
    present = {}
    for set_name, names in FOLD_SETS.items():
        files = [folder / f"{n}.{part}" for n in names for part in ("base", "test")]
        if all(path.is_file() for path in files):
            present[set_name] = FoldFiles(release, ratings, folder, names)
    return present


# --- Loaders ----------------------------------------------------------------------------------


def load_release(name: str, data_dir: str | None = None, download: bool = True) -> RatingData:
    """Load a MovieLens release from a local copy, the cache or a checksummed download."""
    release = RELEASES[name]
    folder = locate(release, data_dir, download)
    path = folder / release.ratings_file
    if verify(release, folder, release.ratings_file):
        verified = "sha256 (pinned)"
    elif folder.parent.resolve() == movielens_cache().resolve():
        verified = "zip md5 at download (files not pinned)"
    else:
        verified = "not verified (no pinned checksum for this release)"
    ratings = release.read(path)
    folds = canonical_folds(ratings, folder, release) if release.archive == "ml-100k" else {}
    info: dict[str, Any] = {"source": str(path), "url": release.url, "citation": CITATION,
                            "licence": release.licence, "verified": verified}
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
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    expected = release.sha256["ratings.csv"]
    if digest.hexdigest() != expected:
        raise damaged("ml-latest-small/ratings.csv (gzipped, embedded)", path.parent,
                      digest.hexdigest(), expected, "bench's installation is damaged — reinstall it")
    return RatingData(read_ratings_csv(path), release.scale,
                      info={"source": str(path), "url": release.url, "citation": CITATION,
                            "licence": release.licence, "verified": "sha256 (pinned)"})


def data_files(name: str) -> DatasetFiles:
    """What ``bench data`` shows of a release: its files (the ratings file first), the pinned
    sha256 of each, where a download puts them, and the zip (or the embedded copy) they come from."""
    release = RELEASES[name]
    names = list(release.sha256) or [release.ratings_file]
    if release.ratings_file not in names:
        names.insert(0, release.ratings_file)
    embedded = EMBEDDED / release.folder / f"{release.ratings_file}.gz"
    files = tuple(DataFile(f"{release.folder}/{n}", tuple(filter(None, [release.sha256.get(n)])),
                           cache=f"movielens/{release.folder}/{n}",
                           embedded=embedded if n == release.ratings_file and embedded.is_file() else None)
                  for n in names)
    if any(f.embedded for f in files):
        return DatasetFiles(files, Source("embedded", root="movielens"),
                            note="ships with bench (the Sept 2018 release, sha256 pinned)")
    pinned = "files sha256-pinned" if release.sha256 else "zip md5 checked at download; files not pinned"
    return DatasetFiles(files, Source("zip", release.url, release.known_hash, f"movielens/{release.archive}.zip",
                                      "movielens", f"{release.folder}/{release.ratings_file}"),
                        note=f"{release.url} ({pinned})")


LOADERS: dict[str, Callable[..., RatingData]] = {
    "movielens-100k": load_100k, "movielens-1m": load_1m, "movielens-10m": load_10m,
    "movielens-20m": load_20m, "movielens-25m": load_25m, "movielens-32m": load_32m,
    "movielens-latest-small": load_latest_small,
}
for _name, _loader in LOADERS.items():  # what bench data shows of each (read at each call)
    declare_files(_loader, functools.partial(data_files, _name))


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(name, LOADERS[name], RATING, summary=release.summary,
                        default_split=release.default_split)
            for name, release in RELEASES.items()]
