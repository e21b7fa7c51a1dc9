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
one error saying which. A bad value is named ``FILE:LINE: column 'rating' ...`` with the field as
written: empty (a short or truncated line), not a number, outside ``scale`` (:class:`Rows` finds
the line by reading the file again, only for the message; a Parquet file's is ``data row N``). Errors quote the file's content only as short excerpts
(:data:`VALUE_CHARS` characters, :func:`benchmark.api.excerpt`): a field of several megabytes
does not become a message of several megabytes, and a file that is not a ratings table (a
system file, a wrong ``sep``) is described by its shape, never echoed.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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


_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_FIELD_LIMIT = 2**31 - 1
"""``csv``'s field size limit while a message's row is looked for (its default, 128 KiB, would
stop at a huge field that pandas read)."""


@dataclass(frozen=True)
class Rows:
    """Where the data rows of one ratings file lie, for messages: ``FILE:LINE`` of a row and its
    fields as written.

    Found by reading the text file again up to the rows asked for, as pandas read it (blank
    lines skipped, a quoted field may span lines) -- only when a message needs them. A Parquet
    file, a ``.zip``/``.zst`` one or a file that cannot be read again has no lines: its rows
    are named ``FILE: data row N``. ``positions``: bench column -> field position.
    """

    path: Path
    format: str = "parquet"
    sep: str | None = None
    header: bool = True
    positions: Mapping[str, int] = field(default_factory=dict)

    def lines(self, rows: Iterable[int]) -> dict[int, tuple[int, list[str]]]:
        """Data row (0-based) -> (file line, fields) for those of ``rows`` found."""
        wanted, found = set(rows), {}
        if not wanted or self.format == "parquet":
            return {}
        previous = csv.field_size_limit(_FIELD_LIMIT)
        try:
            with _open_text(self.path) as handle:
                records = _records(handle, self.separator)
                if self.header:
                    next(records, None)
                for row, record in enumerate(records):
                    if row in wanted:
                        found[row] = record
                        if len(found) == len(wanted):
                            break
        except (OSError, EOFError, ValueError, csv.Error):  # unreadable again: rows, not lines
            return {}
        finally:
            csv.field_size_limit(previous)
        return found

    @property
    def separator(self) -> str:
        return self.sep if self.sep is not None else ("\t" if self.format == "tsv" else ",")

    def place(self, row: int, found: Mapping[int, tuple[int, list[str]]] | None = None) -> str:
        """``FILE:LINE`` of data row ``row``, or ``FILE: data row N`` when its line is unknown."""
        found = self.lines([row]) if found is None else found
        return f"{self.path}:{found[row][0]}" if row in found else f"{self.path}: data row {row + 1}"

    def text(self, row: int, name: str, found: Mapping[int, tuple[int, list[str]]]) -> str | None:
        """Column ``name`` of data row ``row`` as written ("" when the line is short), or
        ``None`` when the row's line is unknown."""
        if row not in found or name not in self.positions:
            return None
        fields = found[row][1]
        position = self.positions[name]
        return fields[position] if position < len(fields) else ""

    def bad_value(self, row: int, name: str, value: Any, expected: str, why: str = "") -> PluginInputError:
        """The error for column ``name`` of data row ``row``: empty, or not ``expected`` (quoted
        as written in the file, else as read)."""
        found = self.lines([row])
        text = self.text(row, name, found)
        place = self.place(row, found)
        if (text is not None and not text.strip()) or (text is None and _missing(value)):
            hint = " (a short or truncated line?)" if text is not None else ""
            return PluginInputError(f"{place}: column {name!r} is empty{hint}")
        shown = excerpt(text if text is not None else value, VALUE_CHARS)
        return PluginInputError(f"{place}: column {name!r} must be {expected}, got {shown}{why}")


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _open_text(path: Path) -> IO[str]:
    """The file as text, decompressed as pandas does by suffix (``.zip``/``.zst``: ValueError)."""
    suffix = path.suffix.lower()
    if suffix in _OPENERS:
        return _OPENERS[suffix](path, "rt", encoding="utf-8-sig", errors="replace", newline="")  # type: ignore[operator]
    if suffix in COMPRESSION:
        raise ValueError(f"no line numbers for {suffix} files")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _records(handle: IO[str], sep: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each record pandas reads as a row or the header: blank lines
    (whitespace only) skipped; a multi-character ``sep`` is a regular expression, as for pandas."""
    if len(sep) == 1:
        reader = csv.reader(handle, delimiter=sep)
        end = 0
        for fields in reader:
            start, end = end + 1, reader.line_num
            if len(fields) > 1 or (fields and fields[0].strip()):
                yield start, fields
        return
    for number, line in enumerate(handle, 1):
        if line.strip():
            yield number, re.split(sep, line.rstrip("\r\n"))


def _ids(values: pd.Series, name: str, rows: Rows) -> pd.Series:
    missing = values.isna()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise rows.bad_value(row, name, values.iat[row], "an id", ", which reads as a missing value")
    if pd.api.types.is_float_dtype(values) and np.array_equal(values, np.round(values)):
        return values.astype("int64")
    if pd.api.types.is_integer_dtype(values):
        return values.astype("int64")
    return values.astype(str)


def _numbers(values: pd.Series, name: str, rows: Rows, integer: bool = False) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.astype("float64"))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        finite = "a finite number" if np.isinf(numeric.iat[row]) else "numeric"
        raise rows.bad_value(row, name, values.iat[row], finite)
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
                     path: Path, rows: Rows | None = None) -> pd.DataFrame:
    """Pick, rename and type the mapped columns: int64 (or string) ids, float64 ratings
    (``rows`` places a bad value in the file)."""
    rows = rows or Rows(path)
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
            frame[name] = _ids(values, name, rows)
        else:
            frame[name] = _numbers(values, name, rows, integer=name == "timestamp")
    return pd.DataFrame(frame)


def scale_bounds(scale: Sequence[float]) -> tuple[float, float]:
    """The ``scale`` option as ``(min, max)``, checked: two numbers, min < max."""
    if len(scale) != 2 or not float(scale[0]) < float(scale[1]):
        raise PluginInputError(f"scale must be [min, max] with min < max, got {list(scale)}")
    return float(scale[0]), float(scale[1])


def rating_scale(ratings: pd.Series, scale: Sequence[float] | None) -> tuple[float, float]:
    """The given ``[min, max]`` (each file's ratings checked by :func:`check_scale`), else the
    data's own range."""
    if scale is None:
        return float(ratings.min()), float(ratings.max())
    return scale_bounds(scale)


def check_scale(ratings: pd.Series, scale: Sequence[float], rows: Rows) -> None:
    """Every rating of one file inside ``scale``; else the first outside, at its line."""
    low, high = scale_bounds(scale)
    outside = ((ratings < low) | (ratings > high)).to_numpy()
    if not outside.any():
        return
    row, count = int(np.flatnonzero(outside)[0]), int(outside.sum())
    found = rows.lines([row])
    text = rows.text(row, "rating", found)
    shown = excerpt(text, VALUE_CHARS) if text is not None else f"{ratings.iat[row]:g}"
    more = f" (the first of {count:,} ratings outside it)" if count > 1 else ""
    raise PluginInputError(f"{rows.place(row, found)}: rating {shown} lies outside the scale "
                           f"[{low:g}, {high:g}]{more}")


def read_rows(path: Path, format: str | None, columns: Mapping[str, Any] | None, sep: str | None,
              header: bool, scale: Sequence[float] | None = None) -> tuple[pd.DataFrame, Rows]:
    """One file's ratings with bench's column names and types (inside ``scale`` when given),
    and where its rows lie in the file."""
    kind = file_format(path, format, sep)
    raw = read_table(path, kind, sep, header)
    if raw.empty:
        what = "it has only a header line" if header and len(raw.columns) else "it has no rows"
        raise PluginInputError(f"{path} holds no ratings: {what}")
    mapping, required = column_mapping(columns, header)
    available = list(raw.columns)
    rows = Rows(path, kind, sep, header, {name: available.index(source) for name, source in mapping.items()
                                          if source in available})
    ratings = standard_columns(raw, mapping, required, path, rows)
    if scale is not None:
        check_scale(ratings["rating"], scale, rows)
    return ratings, rows


def read_ratings(path: Path, format: str | None, columns: Mapping[str, Any] | None,
                 sep: str | None, header: bool) -> pd.DataFrame:
    """One file's ratings with bench's column names and types."""
    return read_rows(path, format, columns, sep, header)[0]


def resolve_duplicates(ratings: pd.DataFrame, policy: str, path: Path,
                       where: Rows | None = None) -> tuple[pd.DataFrame, dict | None]:
    """Apply the ``duplicates`` policy (see the module docstring) to one file's ratings.

    Returns the ratings (a new frame only if rows were merged or dropped) and, when the file had
    repeated pairs, their counts. ``where`` names the example's lines.
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
    example = (f"e.g. user {clip(user, VALUE_CHARS)}, item {clip(item, VALUE_CHARS)} "
               f"{_row_list(where or Rows(path), [int(r) for r in same[:5]])}{' ...' if len(same) > 5 else ''}")
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


def _row_list(rows: Rows, numbers: Sequence[int]) -> str:
    """``on lines 2, 4, 7`` (file lines), or ``at data rows 1, 3, 6`` when the lines are unknown."""
    found = rows.lines(numbers)
    if all(n in found for n in numbers):
        return f"on lines {', '.join(str(found[n][0]) for n in numbers)}"
    return f"at data rows {', '.join(str(n + 1) for n in numbers)}"


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
    if scale is not None:
        scale_bounds(scale)

    def read(source: Path) -> tuple[pd.DataFrame, Rows]:
        return read_rows(source, format, columns, sep, header, scale)

    if path is not None:
        source = resolve_path(path, data_dir)
        ratings, counts = _resolved(read(source), duplicates, source)
        info: dict[str, Any] = {"source": str(source)}
        if counts:
            info["duplicates"] = counts
        return RatingData(ratings, rating_scale(ratings["rating"], scale), info=info)
    assert train is not None and test is not None
    train_path, test_path = resolve_path(train, data_dir), resolve_path(test, data_dir)
    files = [read(train_path), read(test_path)]
    parts, info = [], {"source": {"train": str(train_path), "test": str(test_path)}}
    for role, part_path, read_part in (("train", train_path, files[0]), ("test", test_path, files[1])):
        part, counts = _resolved(read_part, duplicates, part_path)
        parts.append(part)
        if counts:
            info.setdefault("duplicates", {})[role] = counts
    if list(parts[0].columns) != list(parts[1].columns):
        raise PluginInputError(f"{train_path} and {test_path} have different columns")
    _refuse_shared_pairs(files[0][0], files[1], train_path)
    del files
    ratings = pd.concat(parts, ignore_index=True)
    n_train = len(parts[0])
    fold = Fold(FOLD_SET, np.arange(n_train, dtype=np.int64),
                np.arange(n_train, len(ratings), dtype=np.int64))
    return RatingData(ratings, rating_scale(ratings["rating"], scale), folds={FOLD_SET: [fold]},
                      info=info)


def _resolved(read: tuple[pd.DataFrame, Rows], policy: str, path: Path) -> tuple[pd.DataFrame, dict | None]:
    return resolve_duplicates(read[0], policy, path, read[1])


def _refuse_shared_pairs(train: pd.DataFrame, test: tuple[pd.DataFrame, Rows], train_path: Path) -> None:
    """No (user, item) pair in both files, counted in the test file's rows as written (before
    its ``duplicates`` policy), the first named by its line."""
    ratings, rows = test
    both = pd.MultiIndex.from_frame(ratings[["user", "item"]]).isin(
        pd.MultiIndex.from_frame(train[["user", "item"]]))
    if both.any():
        row = int(np.flatnonzero(both)[0])
        raise PluginInputError(
            f"{rows.place(row)}: {int(both.sum())} test row(s) rate a (user, item) pair that is also in "
            f"{train_path.name}, the first here: user {clip(ratings['user'].iat[row], VALUE_CHARS)}, "
            f"item {clip(ratings['item'].iat[row], VALUE_CHARS)}; the model would train on the answer; "
            f"remove them from one file")


declare_files(load_ratings_file, lambda: DatasetFiles(note="your own files (its path / train / test options)"))


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("ratings-file", load_ratings_file, RATING,
                        summary="Your own ratings: CSV/TSV/Parquet path (or train + test files); "
                                "repeated (user, item) pairs are refused unless "
                                "duplicates: first, last or mean",
                        path_options=("path", "train", "test"), constraints=CONSTRAINTS)]
