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
two index arrays. Columns numpy cannot map (strings, categoricals, extension dtypes) travel
pickled and are rebuilt per worker: correct, only not shared.

The layout, one directory per dataset or fold set, written under a temporary name and renamed
into place (a reader sees all of it or nothing)::

    <directory>/<key>/manifest.pickle   what to rebuild (columns, scale, info, checksum)
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

The directory is private to the run (created ``0o700`` by the executor, removed with it); the
files are written by this process, so the pickled manifest is trusted. For Dask workers on other
machines, ``$BENCH_SHARED_DATA`` set to a fresh directory on a filesystem that the driver and
every worker see (at the same path) does the same: the driver publishes there, the workers'
caches map from there (``docs/cluster.md``). Arrays are mapped
read-only: a model that writes into the data it was given fails loudly instead of changing it
for the next cell.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import secrets
import shutil
import weakref
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import Fold, MatrixData, RatingData
from benchmark.cells import stable_hash
from benchmark.errors import BenchError

ENVIRONMENT = "BENCH_SHARED_DATA"
"""The variable that points a worker at its run's shared directory."""
FORMAT = 1
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
        except OSError:  # no room to write them: a copy is as good, only not shared
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


class SharedData:
    """One run's shared datasets and folds under ``directory`` (``put_*`` in the driver,
    ``get_*`` in the workers)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._datasets: dict[str, tuple[Data, str]] = {}  # mapped once per process
        self._folds: dict[str, list[Fold]] = {}
        _allow_open_files()


    # -- writing (the driver)

    def _publish(self, key: str, arrays: Mapping[str, np.ndarray], manifest: dict[str, Any]) -> None:
        final = self.directory / key
        if final.exists():
            held = self._manifest(key)
            if held is not None and held.get("checksum") != manifest.get("checksum"):
                raise BenchError(f"{final} holds other data (checksum {held.get('checksum')}, not "
                                 f"{manifest.get('checksum')}); give ${ENVIRONMENT} a fresh directory")
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = self.directory / f".{key}-{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        try:
            for name, values in arrays.items():
                np.save(staging / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
                os.chmod(staging / f"{name}.npy", 0o400)
            with open(staging / "manifest.pickle", "wb") as handle:
                pickle.dump({"format": FORMAT, **manifest}, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def put_dataset(self, key: str, data: Data, checksum: str) -> Data:
        """Write ``data`` (already verified: ``checksum``); return the mapped copy to use instead.

        The copy keeps ``data.folds`` (predefined fold sets, built lazily in this process);
        workers get every fold set the plan built from :meth:`put_folds` instead."""
        arrays: dict[str, np.ndarray] = {}
        if isinstance(data, RatingData):
            frame = data.ratings
            columns: list[tuple[str, str | None]] = []
            pickled: dict[str, Any] = {}
            for name in frame.columns:
                values = frame[name].to_numpy()
                if _mappable(values) and frame[name].dtype == values.dtype:
                    arrays[f"c{len(columns)}"] = values
                    columns.append((name, f"c{len(columns)}"))
                else:
                    pickled[name] = frame[name]
                    columns.append((name, None))
            index = None if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 \
                and frame.index.step == 1 else frame.index
            manifest = {"kind": "rating", "columns": columns, "pickled": pickled, "index": index,
                        "rows": len(frame), "scale": tuple(data.scale), "info": data.info,
                        "description": data.describe()}
        else:
            arrays["X"] = np.asarray(data.X)
            manifest = {"kind": "matrix", "info": data.info, "value_range": tuple(data.value_range)}
        manifest["checksum"] = checksum
        self._publish(key, arrays, manifest)
        mapped = self.get_dataset(key)
        assert mapped is not None
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
        self._publish(key, arrays, {"kind": "folds", "names": [fold.name for fold in folds],
                                    "fingerprints": [fold.fingerprint for fold in folds], "rows": names})
        if isinstance(data, RatingData) and dataset:
            for n in range(len(folds)) if rows is None else rows:
                for part in ("train", "test"):
                    self.write_rows(dataset, data.ratings, names[f"{n}.{part}"], arrays[f"{n}.{part}"])
        mapped = self.get_folds(key)
        assert mapped is not None
        return mapped

    # -- reading (any process)

    def _manifest(self, key: str) -> dict[str, Any] | None:
        try:
            with open(self.directory / key / "manifest.pickle", "rb") as handle:
                manifest = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None
        return manifest if manifest.get("format") == FORMAT else None

    def _array(self, key: str, name: str) -> np.ndarray:
        array: np.ndarray = np.load(self.directory / key / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        return array

    def get_dataset(self, key: str) -> tuple[Data, str] | None:
        """(the mapped dataset, its verified checksum), or None when it was not shared."""
        if key in self._datasets:
            return self._datasets[key]
        manifest = self._manifest(key)
        if manifest is None or manifest["kind"] not in ("rating", "matrix"):
            return None
        data: Data
        if manifest["kind"] == "rating":
            columns = {name: (self._array(key, file) if file else manifest["pickled"][name])
                       for name, file in manifest["columns"]}
            index = manifest["index"] if manifest["index"] is not None else pd.RangeIndex(manifest["rows"])
            frame = pd.DataFrame(columns, index=index, copy=False)  # copy-on-write: no copy
            data = MappedRatingData(frame, manifest["scale"], info=manifest["info"],
                                    shared_directory=str(self.directory), shared_key=key,
                                    description=manifest.get("description"))
        else:
            data = MatrixData(self._array(key, "X"), info=manifest["info"],
                              value_range=manifest["value_range"])
        self._datasets[key] = (data, str(manifest["checksum"]))
        return self._datasets[key]

    def get_folds(self, key: str) -> list[Fold] | None:
        if key in self._folds:
            return self._folds[key]
        manifest = self._manifest(key)
        if manifest is None or manifest["kind"] != "folds":
            return None
        folds = []
        fingerprints = manifest.get("fingerprints") or [None] * len(manifest["names"])
        for n, (name, fingerprint) in enumerate(zip(manifest["names"], fingerprints)):
            train, test = self._array(key, f"{n}.train"), self._array(key, f"{n}.test")
            names = manifest.get("rows") or {}
            _remember_rows(train, names.get(f"{n}.train", f"{key}-{n}.train"))
            _remember_rows(test, names.get(f"{n}.test", f"{key}-{n}.test"))
            folds.append(PublishedFold(name, train, test, fingerprint) if fingerprint else Fold(name, train, test))
        self._folds[key] = folds
        return folds

    def rows(self, data: MappedRatingData, name: str, rows: np.ndarray) -> RatingData | None:
        """``data.subset(rows)`` for the published fold rows ``name``, mapped copy-on-write (a
        fresh mapping per call: what one cell changes, the next does not see). The driver
        wrote them when it published the folds; if not, the first process that asks does. None
        when the rows are small or a column cannot be mapped (the caller copies them)."""
        final = self.write_rows(data.shared_key, data.ratings, name, rows)
        if final is None:
            return None
        columns = {column: np.load(final / f"c{n}.npy", mmap_mode="c", allow_pickle=False)
                   for n, column in enumerate(data.ratings.columns)}
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
