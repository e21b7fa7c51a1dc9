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

**Repeated (user, item) pairs** — the option ``duplicates``:

- ``refuse`` (the default): a file in which a (user, item) pair appears on more than one row is
  refused with one error giving the number of repeated pairs, of extra rows and of pairs whose
  ratings conflict (differ), and the first example. A benchmark must not guess: a repeated pair
  can land in both train and test, and which rating counts changes the numbers.
- ``first`` / ``last``: keep the pair's first / last row **in file order** (sort the file by time
  to keep the latest rating); the others are dropped.
- ``mean``: one row per pair, at its first row's position, with the mean of its ratings and the
  latest of its timestamps.

With ``first``, ``last`` or ``mean`` a warning gives the counts, and ``info["duplicates"]``
records the policy and the counts. With ``train`` and ``test`` files the policy applies within
each file; a pair that is in both files is always refused (the model would train on a test
rating).

**File edge cases.** A UTF-8 byte-order mark and CRLF (Windows) line endings are read as if they
were not there. An empty file, a blank one and a file with only a header line are refused with
one error saying which. Errors quote the file's content only as short excerpts
(:data:`VALUE_CHARS` characters, :func:`benchmark.api.excerpt`): a field of several megabytes
does not become a message of several megabytes, and a file that is not a ratings table (a
system file, a wrong ``sep``) is described by its shape, never echoed.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import (
    RATING,
    DatasetFiles,
    DatasetSpec,
    Fold,
    PluginInputError,
    RatingData,
    clip,
    declare_files,
    excerpt,
    hookimpl,
    require,
)
from benchmark.api import data_dir as local_data_dir

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSION = {".gz", ".bz2", ".xz", ".zst", ".zip"}
REQUIRED = ("user", "item", "rating")
OPTIONAL = ("timestamp",)
FOLD_SET = "files"
DUPLICATES = ("refuse", "first", "last", "mean")
_COLUMN: dict[str, Any] = {"type": ["string", "integer"], "minLength": 1, "minimum": 0}
CONSTRAINTS: dict[str, dict[str, Any]] = {
    "path": {"minLength": 1}, "train": {"minLength": 1}, "test": {"minLength": 1}, "sep": {"minLength": 1},
    "format": {"enum": [*dict.fromkeys(FORMATS.values()), None]},
    "columns": {"additionalProperties": False, "properties": {name: _COLUMN for name in REQUIRED + OPTIONAL}},
    "scale": {"minItems": 2, "maxItems": 2, "items": {"type": "number"}},
    "duplicates": {"enum": list(DUPLICATES)},
}
"""What ``bench check`` refuses before reading a file; the loader checks the rest (the files
exist, the columns are there, ``scale`` has min < max)."""
VALUE_CHARS = 24
"""Characters of a field of the file quoted in a message (ids, a bad rating, a column name)."""


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
    raise PluginInputError(f"ratings file {excerpt(str(path))} not found (looked for "
                           f"{' and '.join(str(t) for t in tried)})")


def file_format(path: Path, format: str | None = None, sep: str | None = None) -> str:
    """``csv``, ``tsv`` or ``parquet``: the explicit ``format``, else from the file's suffix
    (a delimited text file of any suffix when ``sep`` is given)."""
    if format is not None:
        if format not in set(FORMATS.values()):
            raise PluginInputError(f"unknown format {excerpt(format)}; use csv, tsv or parquet")
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
        return pd.read_csv(path, sep=separator, header=0 if header else None, encoding="utf-8-sig",
                           engine="c" if len(separator) == 1 else "python")
    except pd.errors.EmptyDataError:
        raise PluginInputError(f"{path} holds no ratings: the file is empty") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise PluginInputError(f"cannot read {path} as {format}: {clip(' '.join(str(exc)[:1000].split()), 200)}") from None


def column_mapping(columns: Mapping[str, Any] | None, header: bool) -> tuple[dict[str, Any], set[str]]:
    """bench column -> file column, and the bench columns that must exist.

    Unmapped columns default to the same names (positions 0-3 without a header); an unmapped
    ``timestamp`` is optional.
    """
    columns = dict(columns or {})
    unknown = set(columns) - set(REQUIRED + OPTIONAL)
    if unknown:
        raise PluginInputError(f"columns maps unknown column(s) {excerpt(sorted(map(str, unknown)))}; "
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
                               f"holds {excerpt(values.iat[row], VALUE_CHARS)}")
    return numeric.astype("int64" if integer else "float64")


_HEADER_NAME = re.compile(r"[^\W\d][\w .()#-]*")
"""A column name as headers write them: a letter or ``_`` first, then words, spaces, ``.-()#``."""
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def describe_columns(columns: Sequence[Any]) -> str:
    """What a file's header holds, for a message -- without echoing a file that is not a table.

    The names are listed (each clipped) only when they look like a header: several short
    names of words (``userId, movieId, rating``). Otherwise the first line is described, not
    quoted: a system file or a wrong ``sep`` gives one long "column" or names such as
    ``/bin/bash``; numbers where names were expected mean the first line is data.
    """
    if columns and all(isinstance(c, int) for c in columns):  # header: false
        return f"the file has {len(columns)} column{'s' if len(columns) != 1 else ''} (0 to {len(columns) - 1})"
    names = [str(c) for c in columns]
    if len(names) >= 2 and all(len(n) <= VALUE_CHARS and _HEADER_NAME.fullmatch(n) for n in names):
        shown = ", ".join(names[:12])
        return f"the file has {shown}" + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    if any(_NUMBER.fullmatch(n.strip()) for n in names):
        return (f"the file's first line holds numbers, not column names ({len(names)} column"
                f"{'s' if len(names) != 1 else ''}): if it has no header, give header: false and "
                f"columns by position (user: 0, item: 1, rating: 2)")
    if len(names) == 1:
        return (f"the file has a single column (a first line of {len(names[0]):,} characters), not the "
                f"columns {', '.join(REQUIRED)}: is it a ratings table, with the right sep?")
    return (f"the file's first line does not look like column names ({len(names)} columns), not the "
            f"columns {', '.join(REQUIRED)}: is it a ratings table, with the right sep?")


def standard_columns(raw: pd.DataFrame, mapping: Mapping[str, Any], required: set[str],
                     path: Path) -> pd.DataFrame:
    """Pick, rename and type the mapped columns: int64 (or string) ids, float64 ratings."""
    available = list(raw.columns)
    frame = {}
    for name, source in mapping.items():
        if source not in available:
            if name in required:
                raise PluginInputError(f"{path}: no column {excerpt(source)} for {name!r}; "
                                       f"{describe_columns(available)}")
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
        what = "it has only a header line" if header and len(raw.columns) else "it has no rows"
        raise PluginInputError(f"{path} holds no ratings: {what}")
    mapping, required = column_mapping(columns, header)
    return standard_columns(raw, mapping, required, path)


def resolve_duplicates(ratings: pd.DataFrame, policy: str, path: Path) -> tuple[pd.DataFrame, dict | None]:
    """Apply the ``duplicates`` policy (see the module docstring) to one file's ratings.

    Returns the ratings (a new frame only if rows were merged or dropped) and, when the file had
    repeated pairs, their counts.
    """
    if policy not in DUPLICATES:
        raise PluginInputError(f"duplicates must be one of {', '.join(DUPLICATES)}, got {excerpt(policy)}")
    repeated = ratings.duplicated(["user", "item"], keep=False).to_numpy()
    if not repeated.any():
        return ratings, None
    groups = ratings[repeated].groupby(["user", "item"], sort=False)["rating"]
    pairs, rows = groups.ngroups, int(repeated.sum())
    conflicting = int((groups.nunique() > 1).sum())
    counts = {"policy": policy, "pairs": pairs, "rows_dropped": rows - pairs, "conflicting": conflicting}
    first = int(np.flatnonzero(repeated)[0])
    user, item = ratings["user"].iat[first], ratings["item"].iat[first]
    same = np.flatnonzero(repeated & (ratings["user"] == user).to_numpy() & (ratings["item"] == item).to_numpy())
    example = (f"e.g. user {clip(user, VALUE_CHARS)}, item {clip(item, VALUE_CHARS)} at rows {', '.join(str(r + 1) for r in same[:5])}"
               f"{' ...' if len(same) > 5 else ''}")
    summary = (f"{pairs} (user, item) pair(s) appear more than once ({rows - pairs} extra row(s), "
               f"{conflicting} pair(s) with conflicting ratings), {example}")
    if policy == "refuse":
        raise PluginInputError(f"{path}: {summary}; set the option duplicates: first, last or mean "
                               f"to keep one rating per pair")
    if policy == "mean":
        keys = [ratings["user"], ratings["item"]]
        merged = ratings.copy()
        merged["rating"] = ratings.groupby(keys, sort=False)["rating"].transform("mean")
        if "timestamp" in ratings.columns:
            merged["timestamp"] = ratings.groupby(keys, sort=False)["timestamp"].transform("max")
        kept = merged[~ratings.duplicated(["user", "item"], keep="first").to_numpy()]
    else:
        kept = ratings[~ratings.duplicated(["user", "item"], keep=policy).to_numpy()]
    verb = {"first": "kept the first row of each", "last": "kept the last row of each",
            "mean": "merged each into one row with the mean rating of"}[policy]
    warnings.warn(f"{path}: {summary}; {verb} (duplicates: {policy}), dropping {rows - pairs} row(s)",
                  UserWarning, stacklevel=3)
    return kept.reset_index(drop=True), counts


def load_ratings_file(path: str | None = None, format: str | None = None,
                      columns: dict[str, Any] | None = None, sep: str | None = None,
                      header: bool = True, scale: list[float] | None = None,
                      train: str | None = None, test: str | None = None,
                      data_dir: str | None = None, duplicates: str = "refuse") -> RatingData:
    """Ratings from ``path``, or from ``train`` + ``test`` files (fold set ``files``);
    ``duplicates`` says what to do with repeated (user, item) pairs: refuse, first, last, mean.

    :param path: the ratings file: CSV, TSV or Parquet, maybe compressed (or give train and test).
    :param format: csv, tsv or parquet (None: from the file's suffix).
    :param columns: bench's columns to the file's: user, item, rating, timestamp to names (positions without a header).
    :param sep: the field separator of a text file (None: comma for csv, tab for tsv).
    :param header: whether the first line names the columns.
    :param scale: the rating scale [min, max], checked against the ratings (None: the data's own range).
    :param train: the training file of a predefined split, with test (fold set files).
    :param test: the test file of a predefined split, with train.
    :param data_dir: folder where a relative path is looked for after the current directory.
    :param duplicates: repeated (user, item) pairs: refuse, or keep the first, the last, or their mean.
    """
    split = train is not None or test is not None
    if split == (path is not None) or (split and (train is None or test is None)):
        raise PluginInputError("give either path, or both train and test")
    if duplicates not in DUPLICATES:
        raise PluginInputError(f"duplicates must be one of {', '.join(DUPLICATES)}, got {excerpt(duplicates)}")

    def read(source: Path) -> tuple[pd.DataFrame, dict | None]:
        return resolve_duplicates(read_ratings(source, format, columns, sep, header), duplicates, source)

    if path is not None:
        source = resolve_path(path, data_dir)
        ratings, counts = read(source)
        info: dict[str, Any] = {"source": str(source)}
        if counts:
            info["duplicates"] = counts
        return RatingData(ratings, rating_scale(ratings["rating"], scale), info=info)
    assert train is not None and test is not None
    train_path, test_path = resolve_path(train, data_dir), resolve_path(test, data_dir)
    parts, info = [], {"source": {"train": str(train_path), "test": str(test_path)}}
    for role, part_path in (("train", train_path), ("test", test_path)):
        part, counts = read(part_path)
        parts.append(part)
        if counts:
            info.setdefault("duplicates", {})[role] = counts
    if list(parts[0].columns) != list(parts[1].columns):
        raise PluginInputError(f"{train_path} and {test_path} have different columns")
    both = pd.MultiIndex.from_frame(parts[1][["user", "item"]]).isin(
        pd.MultiIndex.from_frame(parts[0][["user", "item"]]))
    if both.any():
        row = int(np.flatnonzero(both)[0])
        raise PluginInputError(
            f"{test_path}: {int(both.sum())} test row(s) rate a (user, item) pair that is also in "
            f"{train_path.name}, e.g. user {clip(parts[1]['user'].iat[row], VALUE_CHARS)}, "
            f"item {clip(parts[1]['item'].iat[row], VALUE_CHARS)} "
            f"at row {row + 1}: the model would train on the answer; remove them from one file")
    ratings = pd.concat(parts, ignore_index=True)
    n_train = len(parts[0])
    fold = Fold(FOLD_SET, np.arange(n_train, dtype=np.int64),
                np.arange(n_train, len(ratings), dtype=np.int64))
    return RatingData(ratings, rating_scale(ratings["rating"], scale), folds={FOLD_SET: [fold]},
                      info=info)


declare_files(load_ratings_file, lambda: DatasetFiles(note="your own files (its path / train / test options)"))


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("ratings-file", load_ratings_file, RATING,
                        summary="Your own ratings: CSV/TSV/Parquet path (or train + test files); "
                                "repeated (user, item) pairs are refused unless "
                                "duplicates: first, last or mean",
                        path_options=("path", "train", "test"), constraints=CONSTRAINTS)]
