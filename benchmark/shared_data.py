"""Datasets and folds loaded once by the driver, mapped read-only by every worker.

Before this, each worker process loaded and verified every dataset again: at ml-25m shape
(25M ratings) a worker held 0.8 GB of data before its model allocated anything, ``--jobs 16``
needed ~50 GB for copies of the same bytes, and each worker spent the parse time again. Now the
driver (:class:`benchmark.execute.DataCache` with ``share=``) writes each dataset it has loaded
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
from collections.abc import Mapping, Sequence
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

Data = RatingData | MatrixData


def dataset_key(plugin: str, options: Mapping[str, Any], data_dir: str | None) -> str:
    """The full description of a dataset as the driver and the workers both compute it."""
    return stable_hash([plugin, options, data_dir])


def folds_key(dataset: str, split: str, params: Mapping[str, Any], seed: int) -> str:
    return stable_hash([dataset, split, params, seed])


def _mappable(values: np.ndarray) -> bool:
    return isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and not values.dtype.hasobject


class SharedData:
    """One run's shared datasets and folds under ``directory`` (``put_*`` in the driver,
    ``get_*`` in the workers)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._opened: dict[str, Any] = {}

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
                        "rows": len(frame), "scale": tuple(data.scale), "info": data.info}
        else:
            arrays["X"] = np.asarray(data.X)
            manifest = {"kind": "matrix", "info": data.info, "value_range": tuple(data.value_range)}
        manifest["checksum"] = checksum
        self._publish(key, arrays, manifest)
        mapped = self.get_dataset(key)
        assert mapped is not None
        return dataclasses.replace(mapped[0], folds=data.folds)

    def put_folds(self, key: str, folds: Sequence[Fold]) -> list[Fold]:
        arrays = {}
        for n, fold in enumerate(folds):
            arrays[f"{n}.train"], arrays[f"{n}.test"] = np.asarray(fold.train), np.asarray(fold.test)
        self._publish(key, arrays, {"kind": "folds", "names": [fold.name for fold in folds]})
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
        return np.load(self.directory / key / f"{name}.npy", mmap_mode="r", allow_pickle=False)

    def get_dataset(self, key: str) -> tuple[Data, str] | None:
        """(the mapped dataset, its verified checksum), or None when it was not shared."""
        if key in self._opened:
            return self._opened[key]
        manifest = self._manifest(key)
        if manifest is None or manifest["kind"] not in ("rating", "matrix"):
            return None
        data: Data
        if manifest["kind"] == "rating":
            columns = {name: (self._array(key, file) if file else manifest["pickled"][name])
                       for name, file in manifest["columns"]}
            index = manifest["index"] if manifest["index"] is not None else pd.RangeIndex(manifest["rows"])
            frame = pd.DataFrame(columns, index=index, copy=False)  # copy-on-write: no copy
            data = RatingData(frame, manifest["scale"], info=manifest["info"])
        else:
            data = MatrixData(self._array(key, "X"), info=manifest["info"],
                              value_range=manifest["value_range"])
        self._opened[key] = (data, manifest["checksum"])
        return self._opened[key]

    def get_folds(self, key: str) -> list[Fold] | None:
        if key in self._opened:
            return self._opened[key]
        manifest = self._manifest(key)
        if manifest is None or manifest["kind"] != "folds":
            return None
        folds = [Fold(name, self._array(key, f"{n}.train"), self._array(key, f"{n}.test"))
                 for n, name in enumerate(manifest["names"])]
        self._opened[key] = folds
        return folds


_FROM_ENVIRONMENT: dict[str, SharedData] = {}


def from_environment() -> SharedData | None:
    """The shared data of the run this worker belongs to (``$BENCH_SHARED_DATA``), else None.

    One object per process, so every ``DataCache`` of a worker maps a dataset once."""
    directory = os.environ.get(ENVIRONMENT)
    if not directory:
        return None
    if directory not in _FROM_ENVIRONMENT:
        _FROM_ENVIRONMENT[directory] = SharedData(directory)
    return _FROM_ENVIRONMENT[directory]
