"""Datasets and folds loaded once by the driver, mapped read-only by every worker.

Before this, each worker process loaded and verified every dataset again: at ml-25m shape
(25M ratings) a worker held 0.8 GB of data before its model allocated anything, ``--jobs 16``
needed ~50 GB for copies of the same bytes, and each worker spent the parse time again. Now the
driver (:meth:`benchmark.execute.DataCache.publish`) writes each dataset it has loaded
and verified, and each fold set it has built, into the run's private temporary directory; a
worker's ``DataCache`` finds them there (``$BENCH_SHARED_DATA``) and maps them: the pages are
the page cache's, shared by every process of the run, and counted once in their summed PSS.

**Why numpy memmaps (``.npy`` + ``np.load(mmap_mode="r")``) and not Arrow IPC.** Every model
receives numpy arrays or a pandas frame of numpy columns; pandas 3 (copy-on-write) builds a
frame on memmapped columns without copying them, so a mapped dataset *is* the ``RatingData`` a
loader returns, dtype for dtype (the checksum stays valid). Arrow IPC maps as well, but its
columns become numpy only through ``to_numpy``/``to_pandas``, which copies every column that is
not a plain primitive array with no nulls — exactly the case where sharing is needed — and it
adds pyarrow to every worker's imports. ``.npy`` needs nothing beyond numpy, and a fold is just
two index arrays. A dataset with a column numpy cannot map (strings, categoricals, extension
dtypes), a row index other than 0..n-1, or an ``info`` that JSON cannot carry exactly is not
shared: each worker loads its own copy (correct, only not shared).

The layout, one directory per dataset or fold set, written under a temporary name and renamed
into place (a reader sees all of it or nothing)::

    <directory>/<key>/manifest.json     what to rebuild (columns, scale, info, checksum) and
                                        the SHA-256 of every array
    <directory>/<key>/<column>.npy      one array per numeric column (or ``X.npy``)
    <directory>/<folds key>/<n>.train.npy, <n>.test.npy
    <directory>/<key>/rows-<folds key>-<n>.<train|test>/<column>.npy   a fold's rows (below)

**A fold's rows are shared too.** A cell's training and test frames are rows of the dataset
(``RatingData.subset``); copied per cell they were the largest part of a worker's memory (the
training copy alone is 90 % of the data under a 90/10 holdout, in every worker at once). A
shared rating dataset is a :class:`MappedRatingData`: asked for the rows of a published fold
(above :data:`MATERIALIZE_BYTES`), the first process that needs them writes them once, column
by column in chunks, under ``rows-*``, and every cell maps them **copy-on-write**
(``mmap_mode="c"``): the pages are the page cache's, shared by every worker on that fold, and a
model may still change its frame in place (the change stays private to its cell, as with a
copy). The price is disk in the run's temporary directory: at most the dataset's size per fold
(train + test; parts with the same rows share one copy) and, for a tuning search, per inner fold,
removed with the run.

**Nothing read from the directory is code, and nothing is trusted unread.** For Dask workers on
other machines the directory is ``$BENCH_SHARED_DATA`` on a shared filesystem, which other
parties (or a model of this run) may be able to write. So: the manifest is JSON (a pickle there
once ran a planted payload in the driver); the driver publishes only into a directory it
creates, or an empty one of its own user that no one else may write (:meth:`SharedData.claim`;
anything else is refused in one line); and a process that maps a dataset or fold set verifies
it first, once — every array against the SHA-256 its manifest records, the dataset's checksum
and each fold's fingerprint recomputed from the mapped arrays (the cell then compares them with
the plan's, which the driver computed from its own load). Shared data that fails is refused:
the worker loads its own copy (:class:`SharedDataRefused`). The cost, once per process
(``benchmarks/shared_verify.py`` on the loaded 2-core VM, load 7.4): 5M ratings (160 MB)
verified in 0.87 s, their 2 folds (80 MB) in 0.41 s, where mapping unverified took 14 ms.

**A cell cannot corrupt the next.** Arrays are mapped read-only (a model that writes into them
fails), fold rows copy-on-write (a change stays in its cell), and the files are ``0o400``. A
model that reopens a file for writing (found through ``/proc/self/maps`` or
``$BENCH_SHARED_DATA``; an owner may ``chmod`` first) is caught after its cell:
:meth:`SharedData.changed` compares every mapped file's inode, size, mtime and ctime with those
verified (ctime cannot be set back by a user), and, while this process maps at most
:data:`RECHECK_BYTES`, every file's SHA-256 as well. A change fails the cell that ran, and the
process forgets its mapped copies: the next cell verifies again and, refused, loads its own.
Why not ``memfd`` with ``F_SEAL_WRITE``: it does not cross machines (the Dask case), and fold
rows are written lazily by whichever worker needs them first; detection covers both.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import stat
import sys
import shutil
import weakref
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import Fold, MatrixData, RatingData, fingerprint_indices
from benchmark.cells import stable_hash
from benchmark.errors import BenchError

ENVIRONMENT = "BENCH_SHARED_DATA"
"""The variable that points a worker at its run's shared directory."""
FORMAT = 2
"""2: ``manifest.json`` with each array's SHA-256 (1 was a pickled manifest, never read now)."""
MANIFEST = "manifest.json"
CLAIM = ".bench-shared"
"""The file by which the driver marks a directory it publishes into as its run's."""
RECHECK_BYTES = 16 << 20
"""While a process maps at most this many bytes of shared files, each cell is followed by a
SHA-256 of all of them; above it, by their inode, size, mtime and ctime only (0.04 ms).
``benchmarks/shared_verify.py`` (2-core VM, load 7.4): 5 MB mapped (ml-100k's size) cost 3.2 ms a
cell, 48 MB 120 ms with content, hence this bound."""
MATERIALIZE_BYTES = 16 << 20
"""A fold's rows this large or larger are written once and mapped; smaller ones are copied."""
_CHUNK = 1 << 20  # rows copied at a time while writing a fold's rows

Data = RatingData | MatrixData


def dataset_key(plugin: str, options: Mapping[str, Any], data_dir: str | None) -> str:
    """The full description of a dataset as the driver and the workers both compute it."""
    return stable_hash([plugin, options, data_dir])


def folds_key(dataset: str, split: str, params: Mapping[str, Any], seed: int) -> str:
    return stable_hash([dataset, split, params, seed])


def _mappable(values: np.ndarray) -> bool:
    return isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and not values.dtype.hasobject


@dataclasses.dataclass(eq=False)
class MappedRatingData(RatingData):
    """A shared rating dataset whose :meth:`subset` of a published fold's rows maps them
    (written once by the first process that needs them) instead of copying them."""

    shared_directory: str = dataclasses.field(default="", repr=False)
    shared_key: str = dataclasses.field(default="", repr=False)
    description: dict[str, Any] | None = dataclasses.field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        """What the driver described (counting users and items again would read every row)."""
        return dict(self.description) if self.description is not None else super().describe()

    def subset(self, rows: np.ndarray) -> RatingData:
        name = _published_rows(rows)
        if name is None or not self.shared_directory:
            return super().subset(rows)
        try:
            mapped = shared_at(self.shared_directory).rows(self, name, rows)
        except (OSError, SharedDataRefused):  # no room to write them, or altered: a copy is as good
            mapped = None
        return mapped if mapped is not None else super().subset(rows)


# id(fold array) -> (a weak reference to it, "<folds key>-<n>.train"): weak, so that a long-lived
# process (a Dask worker, a test session) does not keep a finished run's mapped files alive
_PUBLISHED_ROWS: dict[int, tuple[weakref.ref[np.ndarray], str]] = {}


def _remember_rows(rows: np.ndarray, name: str) -> None:
    if len(_PUBLISHED_ROWS) > 4096:
        for key in [k for k, (ref, _) in _PUBLISHED_ROWS.items() if ref() is None]:
            del _PUBLISHED_ROWS[key]
    _PUBLISHED_ROWS[id(rows)] = (weakref.ref(rows), name)


@dataclasses.dataclass(frozen=True)
class PublishedFold(Fold):
    """A published fold (read-only mapped index arrays) with the fingerprint the driver hashed:
    a worker that checks it against the plan does not read every index again."""

    published_fingerprint: str = ""

    @property
    def fingerprint(self) -> str:
        return self.published_fingerprint


def _row_names(key: str, arrays: Mapping[str, np.ndarray]) -> dict[str, str]:
    """The rows file of each fold part (``"<n>.train"`` -> ``"<key>-<n>.train"``); parts with the
    same rows share the first one's (with k = 2, one fold's training rows are the other's test
    rows: one copy, and cells on either fold map the same pages)."""
    names: dict[str, str] = {}
    for part, rows in arrays.items():
        names[part] = next((names[other] for other in names if _same_rows(arrays[other], rows)),
                           f"{key}-{part}")
    return names


def _same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    if len(a) != len(b) or a.dtype != b.dtype:
        return False
    probe = np.linspace(0, len(a) - 1, min(len(a), 64)).astype(np.intp)  # most differ at once
    return bool(np.array_equal(a[probe], b[probe]) and np.array_equal(a, b))


def share_rows(data: Any, folds: Sequence[Fold], key: str) -> None:
    """Let ``data.subset`` of these folds' rows map them, as for published folds, when ``data``
    is shared: the first process that asks writes them under ``<key>-<n>.train|test``, the
    others map that copy (e.g. a tuning search's inner folds, which only workers build)."""
    if isinstance(data, MappedRatingData) and data.shared_directory:
        for n, fold in enumerate(folds):
            _remember_rows(fold.train, f"{key}-{n}.train")
            _remember_rows(fold.test, f"{key}-{n}.test")


def _published_rows(rows: Any) -> str | None:
    found = _PUBLISHED_ROWS.get(id(rows))
    return found[1] if found is not None and found[0]() is rows else None


def _allow_open_files() -> None:
    """Raise this process's soft limit on open descriptors to its hard limit: every mapped
    array holds one (a column, a fold's index arrays), and a suite of many seeds × folds maps
    more than the usual soft limit of 1,024."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ImportError, ValueError, OSError):  # not POSIX, or not allowed: the default stands
        pass


class SharedDataRefused(BenchError):
    """Shared files that are not what this run published (a planted or damaged manifest, an
    array whose hash or content differs): the process loads its own copy instead."""


class _NotPortable(Exception):
    """A value JSON cannot carry exactly: the dataset is not shared (each worker loads it)."""


def _encode(value: Any) -> Any:
    """``value`` as JSON that :func:`_decode` turns back into an equal value of the same types
    (tuples stay tuples, numpy scalars keep their dtype); :class:`_NotPortable` otherwise."""
    if value is None or type(value) in (bool, int, float, str):
        return {"v": value}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"n": [value.dtype.str, value.item()]}
    if type(value) in (list, tuple):
        return {"l" if type(value) is list else "t": [_encode(v) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"d": {k: _encode(v) for k, v in value.items()}}
    raise _NotPortable(type(value).__name__)


def _decode(value: Any) -> Any:
    ((tag, inner),) = value.items()
    if tag == "v":
        if inner is not None and type(inner) not in (bool, int, float, str):
            raise ValueError(f"not a plain value: {type(inner).__name__}")
        return inner
    if tag == "n":
        return np.dtype(inner[0]).type(inner[1])
    if tag in ("l", "t"):
        items = [_decode(v) for v in inner]
        return items if tag == "l" else tuple(items)
    if tag == "d":
        return {str(k): _decode(v) for k, v in inner.items()}
    raise ValueError(f"unknown tag {tag!r}")


_Signature = tuple[int, int, int, int, int]


def _signature(info: os.stat_result) -> _Signature:
    """What changes when a file is written, replaced or chmod-ed (a user cannot set ctime back)."""
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)


def _file_digest(path: Path) -> tuple[str, _Signature]:
    """The SHA-256 of a regular file (never a link) and its signature when it was read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SharedDataRefused(f"{path}: not a regular file")
        digest = hashlib.sha256()
        while chunk := os.read(fd, 8 << 20):
            digest.update(chunk)
        return digest.hexdigest(), _signature(info)
    finally:
        os.close(fd)


class _HashingWriter:
    """A write-only file that hashes what passes through (np.save writes it in chunks)."""

    def __init__(self, handle: Any):
        self.handle, self.digest = handle, hashlib.sha256()

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return int(self.handle.write(data))


class SharedData:
    """One run's shared datasets and folds under ``directory`` (``put_*`` in the driver,
    ``get_*`` in the workers)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._datasets: dict[str, tuple[Data, str]] = {}  # mapped once per process
        self._folds: dict[str, list[Fold]] = {}
        self._watched: dict[Path, tuple[str, _Signature]] = {}  # every file this process maps
        self._checked_rows: set[str] = set()
        self._claimed = False  # whether a driver claimed the directory (else nothing there is read)
        _allow_open_files()

    # -- trust (the driver claims, every process verifies and watches)

    def claim(self) -> None:
        """Make ``directory`` this run's before anything is published there: created now, or an
        existing empty directory of this user that no one else may write (the local executor's
        private one). Anything else was not created by this run: :class:`BenchError`, one line."""
        where = self.directory
        try:
            where.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            pass
        info = os.lstat(where)
        problem = None
        if not stat.S_ISDIR(info.st_mode):
            problem = "is not a directory (a link or a file)"
        elif hasattr(os, "getuid") and info.st_uid != os.getuid():
            problem = "belongs to another user"
        elif info.st_mode & 0o022:
            problem = f"may be written by other users (mode {stat.S_IMODE(info.st_mode):o})"
        else:
            entries = sorted(os.listdir(where))
            if entries:
                problem = (f"already holds {len(entries)} entries (e.g. {entries[0]!r}): it was not "
                           "created by this run")
        if problem:
            raise BenchError(f"${ENVIRONMENT} {where} {problem}; refused: give each run a fresh "
                             "directory (bench creates it), nothing found there is read")
        with open(where / CLAIM, "x") as handle:
            handle.write(json.dumps({"format": FORMAT, "pid": os.getpid(), "token": secrets.token_hex(8)}))

    def _watch(self, path: Path, digest: str | None = None, written: bool = False) -> None:
        """Remember ``path`` for :meth:`changed`: its hash (checked against ``digest`` when one
        is given), or, for a file this process has just ``written``, ``digest`` as it is."""
        if written and digest is not None:
            self._watched[path] = (digest, _signature(os.lstat(path)))
            return
        found, signature = _file_digest(path)
        if digest is not None and found != digest:
            raise SharedDataRefused(f"{path}: its SHA-256 {found[:16]} is not the {digest[:16]} "
                                    "recorded when it was shared; refused")
        self._watched[path] = (found, signature)

    def changed(self, content: bool = True) -> list[str]:
        """The mapped files that changed since they were verified (a model wrote into them):
        signatures always, and with ``content`` their hashes too while they are small
        (:data:`RECHECK_BYTES`)."""
        deep = content and sum(signature[1] for _, signature in self._watched.values()) <= RECHECK_BYTES
        changed = []
        for path, (digest, signature) in self._watched.items():
            try:
                same = _signature(os.lstat(path)) == signature and (not deep or _file_digest(path)[0] == digest)
            except (OSError, BenchError):
                same = False
            if not same:
                changed.append(str(path))
        return changed

    def forget(self) -> None:
        """Drop every mapping of this process: the next use verifies the files again."""
        self._datasets.clear()
        self._folds.clear()
        self._watched.clear()
        self._checked_rows.clear()

    # -- writing (the driver)

    def _publish(self, key: str, arrays: Mapping[str, np.ndarray], manifest: dict[str, Any]) -> dict[str, str]:
        """Write the arrays and their manifest under ``key``; each array's SHA-256."""
        final = self.directory / key
        if not os.path.lexists(self.directory / CLAIM):
            self.claim()
        if final.exists():
            held = self._manifest(key)
            if held is None or held.get("checksum") != manifest.get("checksum"):
                raise BenchError(f"{final} holds other data (checksum {None if held is None else held.get('checksum')}"
                                 f", not {manifest.get('checksum')}); give ${ENVIRONMENT} a fresh directory")
            return {name: str(entry["sha256"]) for name, entry in held["arrays"].items()}
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = self.directory / f".{key}-{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        digests: dict[str, str] = {}
        try:
            for name, values in arrays.items():
                with open(staging / f"{name}.npy", "wb") as handle:
                    writer = _HashingWriter(handle)
                    np.lib.format.write_array(writer, np.ascontiguousarray(values), allow_pickle=False)  # type: ignore[arg-type]
                digests[name] = writer.digest.hexdigest()
                os.chmod(staging / f"{name}.npy", 0o400)
            with open(staging / MANIFEST, "w") as handle:
                json.dump({"format": FORMAT, **manifest, "arrays": {n: {"sha256": d} for n, d in digests.items()}},
                          handle)
            os.chmod(staging / MANIFEST, 0o400)
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return digests

    def put_dataset(self, key: str, data: Data, checksum: str) -> Data | None:
        """Write ``data`` (already verified: ``checksum``); return the mapped copy to use instead,
        or None when it cannot be shared (a column numpy cannot map, a row index of its own, an
        ``info`` JSON cannot carry): then each worker loads its own.

        The copy keeps ``data.folds`` (predefined fold sets, built lazily in this process);
        workers get every fold set the plan built from :meth:`put_folds` instead."""
        arrays: dict[str, np.ndarray] = {}
        try:
            if isinstance(data, RatingData):
                frame = data.ratings
                if not (isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
                        and frame.index.step == 1):
                    return None
                columns: list[list[str]] = []
                for name in frame.columns:
                    values = frame[name].to_numpy()
                    if type(name) is not str or not (_mappable(values) and frame[name].dtype == values.dtype):
                        return None
                    arrays[f"c{len(columns)}"] = values
                    columns.append([name, f"c{len(columns)}"])
                manifest = {"kind": "rating", "columns": columns, "rows": len(frame),
                            "scale": _encode(tuple(data.scale)), "info": _encode(data.info),
                            "description": _encode(data.describe())}
            else:
                arrays["X"] = np.asarray(data.X)
                if not _mappable(arrays["X"]):
                    return None
                manifest = {"kind": "matrix", "info": _encode(data.info),
                            "value_range": _encode(tuple(data.value_range))}
        except _NotPortable:
            return None
        manifest["checksum"] = checksum
        digests = self._publish(key, arrays, manifest)
        for name, digest in digests.items():  # this process wrote them: watched, not read back
            self._watch(self.directory / key / f"{name}.npy", digest, written=True)
        mapped = self._open_dataset(key, self._manifest(key), checksum)
        return dataclasses.replace(mapped[0], folds=data.folds)

    def put_folds(self, key: str, folds: Sequence[Fold], data: Data | None = None,
                  dataset: str = "", rows: Collection[int] | None = None) -> list[Fold]:
        """Write ``folds`` (and, given the rating ``data`` published as ``dataset``, the training
        and test rows of the folds numbered ``rows``, default all: :meth:`write_rows`); return
        the mapped copies to use instead."""
        arrays = {}
        for n, fold in enumerate(folds):
            arrays[f"{n}.train"], arrays[f"{n}.test"] = np.asarray(fold.train), np.asarray(fold.test)
        names = _row_names(key, arrays)
        fingerprints = [fold.fingerprint for fold in folds]
        digests = self._publish(key, arrays, {"kind": "folds", "names": [fold.name for fold in folds],
                                              "fingerprints": fingerprints, "rows": names})
        for name, digest in digests.items():
            self._watch(self.directory / key / f"{name}.npy", digest, written=True)
        if isinstance(data, RatingData) and dataset:
            for n in range(len(folds)) if rows is None else rows:
                for part in ("train", "test"):
                    self.write_rows(dataset, data.ratings, names[f"{n}.{part}"], arrays[f"{n}.{part}"])
        self._folds[key] = self._open_folds(key, self._manifest(key), fingerprints)
        return self._folds[key]

    # -- reading (any process)

    def _manifest(self, key: str) -> dict[str, Any] | None:
        """The JSON manifest of ``key``; None when there is none, or no driver claimed the
        directory (not shared). Never a pickle: a ``manifest.pickle`` planted there (format 1's
        name) is not read."""
        path = self.directory / key / MANIFEST
        if not self._claimed:
            self._claimed = os.path.lexists(self.directory / CLAIM)
            if not self._claimed:  # no driver published here (the driver itself, while planning)
                return None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SharedDataRefused(f"{path}: cannot be read ({exc.strerror}); refused") from None
        try:
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise SharedDataRefused(f"{path}: not a regular file; refused")
                manifest = json.loads(handle.read(64 << 20))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SharedDataRefused(f"{path}: not a manifest bench wrote ({exc}); refused") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
                or not isinstance(manifest.get("arrays"), dict):
            raise SharedDataRefused(f"{path}: not a manifest bench wrote (format "
                                    f"{manifest.get('format') if isinstance(manifest, dict) else '?'}); refused")
        return manifest

    def _array(self, key: str, name: str, manifest: Mapping[str, Any] | None = None) -> np.ndarray:
        """Map ``key/name.npy`` read-only; given the manifest, its SHA-256 verified first."""
        path = self.directory / key / f"{name}.npy"
        if manifest is not None:
            entry = manifest["arrays"].get(name)
            if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
                raise SharedDataRefused(f"{path}: no hash recorded for it in {MANIFEST}; refused")
            self._watch(path, entry["sha256"])
        array: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
        return array

    def get_dataset(self, key: str) -> tuple[Data, str] | None:
        """(the mapped dataset, its checksum recomputed from the mapped arrays), or None when
        it was not shared; :class:`SharedDataRefused` when its files are not what was shared."""
        if key in self._datasets:
            return self._datasets[key]
        manifest = self._manifest(key)
        if manifest is None or manifest.get("kind") not in ("rating", "matrix"):
            return None
        return self._open_dataset(key, manifest, None)

    def _open_dataset(self, key: str, manifest: Any, checksum: str | None) -> tuple[Data, str]:
        """Build the mapped dataset; ``checksum`` None: verify every array and recompute it."""
        where = self.directory / key / MANIFEST
        verify = manifest if checksum is None else None
        data: Data
        try:
            if manifest["kind"] == "rating":
                columns = {str(name): self._array(key, str(file), verify) for name, file in manifest["columns"]}
                frame = pd.DataFrame(columns, index=pd.RangeIndex(int(manifest["rows"])), copy=False)
                data = MappedRatingData(frame, _decode(manifest["scale"]), info=_decode(manifest["info"]),
                                        shared_directory=str(self.directory), shared_key=key,
                                        description=_decode(manifest["description"]))
            else:
                data = MatrixData(self._array(key, "X", verify), info=_decode(manifest["info"]),
                                  value_range=_decode(manifest["value_range"]))
            recorded = str(manifest["checksum"])
        except SharedDataRefused:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
            raise SharedDataRefused(f"{where}: not a dataset bench shared ({type(exc).__name__}: {exc}); "
                                    "refused") from None
        if checksum is None:
            checksum = data.checksum()
            if checksum != recorded:
                raise SharedDataRefused(f"{where.parent}: its arrays have checksum {checksum}, the manifest "
                                        f"records {recorded}; refused")
        self._datasets[key] = (data, checksum)
        return self._datasets[key]

    def get_folds(self, key: str) -> list[Fold] | None:
        """The mapped folds of ``key`` (each array's hash and each fingerprint verified), or None
        when they were not shared; :class:`SharedDataRefused` when they are not what was shared."""
        if key in self._folds:
            return self._folds[key]
        manifest = self._manifest(key)
        if manifest is None or manifest.get("kind") != "folds":
            return None
        self._folds[key] = self._open_folds(key, manifest, None)
        return self._folds[key]

    def _open_folds(self, key: str, manifest: Any, fingerprints: Sequence[str] | None) -> list[Fold]:
        """The mapped folds; ``fingerprints`` None: verify the arrays and recompute them."""
        where = self.directory / key / MANIFEST
        verify = manifest if fingerprints is None else None
        folds: list[Fold] = []
        try:
            names = manifest.get("rows") or {}
            for n, (name, recorded) in enumerate(zip(manifest["names"], manifest["fingerprints"], strict=True)):
                train, test = self._array(key, f"{n}.train", verify), self._array(key, f"{n}.test", verify)
                fingerprint = fingerprints[n] if fingerprints is not None else fingerprint_indices(train, test)
                if fingerprint != recorded:
                    raise SharedDataRefused(f"{where.parent}: fold {n} has fingerprint {fingerprint}, the "
                                            f"manifest records {recorded}; refused")
                _remember_rows(train, str(names.get(f"{n}.train", f"{key}-{n}.train")))
                _remember_rows(test, str(names.get(f"{n}.test", f"{key}-{n}.test")))
                folds.append(PublishedFold(str(name), train, test, fingerprint))
        except SharedDataRefused:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
            raise SharedDataRefused(f"{where}: not a fold set bench shared ({type(exc).__name__}: {exc}); "
                                    "refused") from None
        return folds

    def rows(self, data: MappedRatingData, name: str, rows: np.ndarray) -> RatingData | None:
        """``data.subset(rows)`` for the published fold rows ``name``, mapped copy-on-write (a
        fresh mapping per call: what one cell changes, the next does not see). The driver
        wrote them when it published the folds; if not, the first process that asks does. A
        process checks them against ``data`` (verified) once before it first maps them. None
        when the rows are small or a column cannot be mapped (the caller copies them)."""
        final = self.write_rows(data.shared_key, data.ratings, name, rows)
        if final is None:
            return None
        files = [final / f"c{n}.npy" for n in range(len(data.ratings.columns))]
        if str(final) not in self._checked_rows:
            for file, column in zip(files, data.ratings.columns):
                written = np.load(file, mmap_mode="r", allow_pickle=False)
                source = data.ratings[column].to_numpy()
                same = written.shape == (len(rows),) and written.dtype == source.dtype and all(
                    np.array_equal(written[s:s + _CHUNK], source[rows[s:s + _CHUNK]])
                    for s in range(0, len(rows), _CHUNK))
                del written
                if not same:
                    raise SharedDataRefused(f"{file}: not the rows of {name} it should hold; refused")
                self._watch(file)
            self._checked_rows.add(str(final))
        columns = {column: np.load(file, mmap_mode="c", allow_pickle=False)
                   for file, column in zip(files, data.ratings.columns)}
        mapped = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)), copy=False)
        return RatingData(mapped, data.scale, info=data.info)

    def write_rows(self, key: str, frame: pd.DataFrame, name: str, rows: np.ndarray) -> Path | None:
        """Write ``frame``'s ``rows`` once under ``<key>/rows-<name>/`` (column by column, in
        chunks: no full-size temporary); their directory, or None when they are not shared."""
        dtypes = list(frame.dtypes)  # checked first: most folds are small, and a column costs more
        if (not all(isinstance(d, np.dtype) and d.kind in "biuf" for d in dtypes)
                or len(rows) * sum(d.itemsize for d in dtypes) < MATERIALIZE_BYTES):
            return None
        values = [frame[column].to_numpy() for column in frame.columns]
        if not all(_mappable(v) and v.dtype == d for v, d in zip(values, dtypes)):
            return None
        final = self.directory / key / f"rows-{name}"
        if (final / "complete").exists():
            return final
        staging = self.directory / key / f".rows-{name}-{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        try:
            for n, column in enumerate(values):
                out = np.lib.format.open_memmap(staging / f"c{n}.npy", mode="w+", dtype=column.dtype,
                                                shape=(len(rows),))
                for start in range(0, len(rows), _CHUNK):
                    out[start:start + _CHUNK] = column[rows[start:start + _CHUNK]]
                out.flush()
                _release(out)
                del out
                _release(column)  # a mapped source: its pages stay in the page cache, not in us
                os.chmod(staging / f"c{n}.npy", 0o400)
            (staging / "complete").touch()
            os.rename(staging, final)
        except OSError:
            if not (final / "complete").exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # another process's copy won the rename
        return final


def _release(values: np.ndarray) -> None:
    """Drop a mapped array's pages from this process (the page cache keeps them)."""
    import mmap

    base: Any = values
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None) if not isinstance(base, np.memmap) else getattr(base, "_mmap", None)
    if isinstance(base, mmap.mmap) and hasattr(base, "madvise"):
        try:
            base.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


_BY_DIRECTORY: dict[str, SharedData] = {}


def from_environment() -> SharedData | None:
    """The shared data of the run this worker belongs to (``$BENCH_SHARED_DATA``), else None.

    One object per process, so every ``DataCache`` of a worker maps a dataset once."""
    directory = os.environ.get(ENVIRONMENT)
    return shared_at(directory) if directory else None


def shared_at(directory: str) -> SharedData:
    """This process's one :class:`SharedData` for ``directory``."""
    if directory not in _BY_DIRECTORY:
        _BY_DIRECTORY[directory] = SharedData(directory)
    return _BY_DIRECTORY[directory]
