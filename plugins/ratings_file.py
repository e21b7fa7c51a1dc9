"""``ratings-file``: explicit ratings from your own CSV, TSV or Parquet file(s).

Give one ``path``, or a ``train`` and a ``test`` file: their rows are concatenated (train rows
first) and become the predefined fold set ``files``. ``columns`` maps bench's columns to the
file's, e.g. ``{user: userId, item: movieId, rating: rating, timestamp: timestamp}`` (column
positions when ``header: false``). A relative path is looked up in the current directory,
then in ``data_dir`` (a suite's relative paths are first looked up beside the suite file).

Example suite entry::

    - name: ratings-file
      options: {path: ml-latest-small/ratings.csv,
                columns: {user: userId, item: movieId}, scale: [0.5, 5]}
      split: {method: kfold, k: 5}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import RATING, DatasetSpec, Fold, PluginInputError, RatingData, hookimpl, require
from benchmark.api import data_dir as local_data_dir

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSION = {".gz", ".bz2", ".xz", ".zst", ".zip"}
REQUIRED = ("user", "item", "rating")
OPTIONAL = ("timestamp",)
FOLD_SET = "files"


def resolve_path(path: str | Path, data_dir: str | None = None) -> Path:
    """``path`` as given if absolute or found from the current directory, else under ``data_dir``."""
    candidate = Path(path).expanduser()
    tried = [candidate.resolve()]
    if not candidate.is_absolute():
        local = local_data_dir(data_dir)
        if local is not None:
            tried.append((local / candidate).resolve())
    for found in tried:
        if found.is_file():
            return found
    raise PluginInputError(f"ratings file {str(path)!r} not found (looked for "
                           f"{' and '.join(str(t) for t in tried)})")


def file_format(path: Path, format: str | None = None, sep: str | None = None) -> str:
    """``csv``, ``tsv`` or ``parquet``: the explicit ``format``, else from the file's suffix
    (a delimited text file of any suffix when ``sep`` is given)."""
    if format is not None:
        if format not in set(FORMATS.values()):
            raise PluginInputError(f"unknown format {format!r}; use csv, tsv or parquet")
        return format
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]]
    if sep is not None:
        return "csv"
    raise PluginInputError(f"cannot tell the format of {path.name} from its suffix; "
                           f"give format: csv, tsv or parquet (or sep)")


def read_table(path: Path, format: str, sep: str | None, header: bool) -> pd.DataFrame:
    """The file as a frame of raw columns (named by the header, or numbered 0, 1, ...)."""
    try:
        if format == "parquet":
            require("pyarrow", "pyarrow")
            frame = pd.read_parquet(path)
            if not header:
                frame.columns = range(frame.shape[1])
            return frame
        separator = sep if sep is not None else ("\t" if format == "tsv" else ",")
        return pd.read_csv(path, sep=separator, header=0 if header else None,
                           engine="c" if len(separator) == 1 else "python")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise PluginInputError(f"cannot read {path} as {format}: {exc}") from None


def column_mapping(columns: Mapping[str, Any] | None, header: bool) -> tuple[dict[str, Any], set[str]]:
    """bench column -> file column, and the bench columns that must exist.

    Unmapped columns default to the same names (positions 0-3 without a header); an unmapped
    ``timestamp`` is optional.
    """
    columns = dict(columns or {})
    unknown = set(columns) - set(REQUIRED + OPTIONAL)
    if unknown:
        raise PluginInputError(f"columns maps unknown column(s) {sorted(unknown)}; "
                               f"bench's columns are {', '.join(REQUIRED + OPTIONAL)}")
    names = REQUIRED + OPTIONAL
    defaults = {name: name for name in names} if header else dict(zip(names, range(len(names))))
    return {**defaults, **columns}, set(REQUIRED) | set(columns)


def _ids(values: pd.Series, name: str, path: Path) -> pd.Series:
    if values.isna().any():
        raise PluginInputError(f"{path}: column {name!r} has missing values "
                               f"(first at row {int(np.flatnonzero(values.isna())[0]) + 1})")
    if pd.api.types.is_float_dtype(values) and np.array_equal(values, np.round(values)):
        return values.astype("int64")
    if pd.api.types.is_integer_dtype(values):
        return values.astype("int64")
    return values.astype(str)


def _numbers(values: pd.Series, name: str, path: Path, integer: bool = False) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.astype("float64"))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PluginInputError(f"{path}: column {name!r} must be numeric; row {row + 1} "
                               f"holds {values.iat[row]!r}")
    return numeric.astype("int64" if integer else "float64")


def standard_columns(raw: pd.DataFrame, mapping: Mapping[str, Any], required: set[str],
                     path: Path) -> pd.DataFrame:
    """Pick, rename and type the mapped columns: int64 (or string) ids, float64 ratings."""
    available = list(raw.columns)
    frame = {}
    for name, source in mapping.items():
        if source not in available:
            if name in required:
                raise PluginInputError(f"{path}: no column {source!r} for {name!r}; "
                                       f"the file has {', '.join(map(str, available))}")
            continue
        values = raw[source].reset_index(drop=True)
        if name in ("user", "item"):
            frame[name] = _ids(values, name, path)
        else:
            frame[name] = _numbers(values, name, path, integer=name == "timestamp")
    return pd.DataFrame(frame)


def rating_scale(ratings: pd.Series, scale: Sequence[float] | None) -> tuple[float, float]:
    """The given ``[min, max]`` (checked against the data), else the data's own range."""
    if scale is None:
        return float(ratings.min()), float(ratings.max())
    if len(scale) != 2 or not float(scale[0]) < float(scale[1]):
        raise PluginInputError(f"scale must be [min, max] with min < max, got {list(scale)}")
    low, high = float(scale[0]), float(scale[1])
    outside = (ratings < low) | (ratings > high)
    if outside.any():
        raise PluginInputError(f"{int(outside.sum())} rating(s) lie outside the scale "
                               f"[{low:g}, {high:g}], e.g. {ratings[outside].iat[0]:g}")
    return low, high


def read_ratings(path: Path, format: str | None, columns: Mapping[str, Any] | None,
                 sep: str | None, header: bool) -> pd.DataFrame:
    """One file's ratings with bench's column names and types."""
    raw = read_table(path, file_format(path, format, sep), sep, header)
    if raw.empty:
        raise PluginInputError(f"{path} holds no ratings")
    mapping, required = column_mapping(columns, header)
    return standard_columns(raw, mapping, required, path)


def load_ratings_file(path: str | None = None, format: str | None = None,
                      columns: dict[str, Any] | None = None, sep: str | None = None,
                      header: bool = True, scale: list[float] | None = None,
                      train: str | None = None, test: str | None = None,
                      data_dir: str | None = None) -> RatingData:
    """Ratings from ``path``, or from ``train`` + ``test`` files (fold set ``files``)."""
    split = train is not None or test is not None
    if split == (path is not None) or (split and (train is None or test is None)):
        raise PluginInputError("give either path, or both train and test")
    options = dict(format=format, columns=columns, sep=sep, header=header)
    if not split:
        source = resolve_path(path, data_dir)
        ratings = read_ratings(source, **options)
        return RatingData(ratings, rating_scale(ratings["rating"], scale),
                          info={"source": str(source)})
    train_path, test_path = resolve_path(train, data_dir), resolve_path(test, data_dir)
    parts = [read_ratings(train_path, **options), read_ratings(test_path, **options)]
    if list(parts[0].columns) != list(parts[1].columns):
        raise PluginInputError(f"{train_path} and {test_path} have different columns")
    ratings = pd.concat(parts, ignore_index=True)
    n_train = len(parts[0])
    fold = Fold(FOLD_SET, np.arange(n_train, dtype=np.int64),
                np.arange(n_train, len(ratings), dtype=np.int64))
    return RatingData(ratings, rating_scale(ratings["rating"], scale), folds={FOLD_SET: [fold]},
                      info={"source": {"train": str(train_path), "test": str(test_path)}})


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("ratings-file", load_ratings_file, RATING,
                        summary="Your own ratings: CSV/TSV/Parquet path (or train + test files)",
                        path_options=("path", "train", "test"))]
