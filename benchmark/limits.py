"""Limits checked before any work: the same checks for ``bench check`` and ``bench run``.

Each check is a plain function that returns the checked value or raises one
:class:`~benchmark.errors.BenchError` line naming ``where`` (``suite.yaml:3: seed``,
``--out``...). Without them a 300-character suite name or ``--out`` component is an
``OSError`` traceback when the directory is made, a seed of 10**23 passes validation and then
fails every seeded cell (numpy takes seeds in ``[0, 2**32 - 1]`` for its legacy generator and
scikit-learn's ``random_state``), and ``--max-configurations 0`` silently means "the default".

:func:`results_dir_name` maps a suite name to the name of its results directory: any Unicode
letters, digits, combining marks, ``-``, ``_`` and ``.`` are kept (``영화-추천`` is its own
directory), spaces and other symbols become ``_``; refused are only what cannot be a single
portable directory name: a path separator, ``.``/``..`` or a leading dot, control or invisible
characters, Windows' reserved device names (``CON``, ``NUL``, ``COM1``...), and more than
:data:`NAME_MAX_BYTES` bytes.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.api import data_dir
from benchmark.errors import BenchError, excerpt

NAME_MAX_BYTES = 255
"""Bytes of one path component (``NAME_MAX`` of ext4, XFS, APFS; NTFS counts 255 UTF-16 units)."""
PATH_MAX_BYTES = 4096
"""Bytes of a whole path (Linux's ``PATH_MAX``)."""
PATH_EXCERPT = 240
"""Characters of a path quoted in a message."""
SEED_MIN, SEED_MAX = 0, 2**32 - 1
"""The seeds every model library accepts (``numpy.random.RandomState``, ``random_state``)."""

_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])", re.IGNORECASE)
_KEPT = "-_."
_INVISIBLE = {"Cc": "a control character", "Cf": "an invisible formatting character",
              "Cs": "a lone surrogate", "Co": "a private-use character", "Cn": "an unassigned character",
              "Zl": "a line separator", "Zp": "a paragraph separator"}


def _utf8_size(text: str) -> int:
    return len(os.fsencode(text)) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def check_component(component: str, where: str) -> str:
    """One path component (a directory or file name) within :data:`NAME_MAX_BYTES` bytes."""
    size = _utf8_size(component)
    if size > NAME_MAX_BYTES:
        raise BenchError(f"the name {excerpt(component, 40)} is {size:,} bytes long; a file system "
                         f"allows at most {NAME_MAX_BYTES} bytes per name", where)
    return component


def check_out_path(path: str | Path, where: str = "--out") -> Path:
    """``--out`` (or ``-o``): no NUL character, each component and the whole path short enough
    for the file system -- refused with one line instead of an ``OSError`` traceback later."""
    text = os.fspath(path)
    if "\0" in text:
        raise BenchError("a path cannot hold a NUL character", where)
    for component in Path(text).parts:
        check_component(component, where)
    size = _utf8_size(os.path.abspath(text))
    if size > PATH_MAX_BYTES:
        raise BenchError(f"the path is {size:,} bytes long; at most {PATH_MAX_BYTES:,}", where)
    return Path(text)


def check_seed(value: Any, where: str = "seed") -> int:
    """A seed: an integer (not a bool) in ``[0, 2**32 - 1]``, the range numpy's ``RandomState``
    and scikit-learn's ``random_state`` accept, so a seed that validates also runs."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BenchError(f"expected an integer seed from {SEED_MIN} to {SEED_MAX:,}, got {excerpt(value, 40)}",
                         where)
    if not SEED_MIN <= value <= SEED_MAX:
        raise BenchError(f"expected a seed from {SEED_MIN} to {SEED_MAX:,} (2**32 - 1), got "
                         f"{excerpt(value, 40)}", where)
    return value


def check_data_dir(path: str | Path, where: str) -> Path:
    """A data directory -- a suite's ``data_dir``, ``--data-dir``, ``$BENCH_DATA_DIR`` -- that is
    one: a typo is refused with one line instead of a download attempt, or a loader silently
    falling back to its bundled copy."""
    found = Path(path).expanduser()
    if found.is_dir():
        return found
    if found.exists():
        raise BenchError(f"{excerpt(str(found), PATH_EXCERPT)} is not a directory", where)
    raise BenchError(f"directory {excerpt(str(found), PATH_EXCERPT)} not found", where)


@dataclass(frozen=True)
class DataDir:
    """The data directory chosen for a command, checked, and what chose it."""

    path: Path | None  # None: none given anywhere
    source: str  # "--data-dir", the suite's place ("suite.yaml:3: data_dir"), "$BENCH_DATA_DIR" or ""

    @property
    def from_environment(self) -> bool:
        """Whether ``$BENCH_DATA_DIR`` chose it: every process (a worker, a Dask worker on
        another host) then reads its own variable, so cells are not given this path."""
        return self.source == ENVIRONMENT_SOURCE


ENVIRONMENT_SOURCE = "$BENCH_DATA_DIR"


def choose_data_dir(option: str | Path | None, suite_value: Path | None = None,
                    suite_where: str = "data_dir") -> DataDir:
    """The one precedence of the data directory, for ``bench run``, ``bench check`` and ``bench
    data``: ``--data-dir`` (``option``), else the suite's ``data_dir:`` (``suite_value``, already
    made relative to the suite file; ``suite_where`` its place), else ``$BENCH_DATA_DIR``, else
    none. The chosen one is checked to be a directory (:func:`check_data_dir`)."""
    if option:
        return DataDir(check_data_dir(option, "--data-dir"), "--data-dir")
    if suite_value is not None:
        return DataDir(check_data_dir(suite_value, suite_where), suite_where)
    found = data_dir()  # the public helper reads the variable
    if found is not None:
        return DataDir(check_data_dir(found, ENVIRONMENT_SOURCE), ENVIRONMENT_SOURCE)
    return DataDir(None, "")


def check_max_configurations(value: int | None, default: int, where: str = "--max-configurations") -> int:
    """``--max-configurations N``: ``None`` is the default; ``N`` must be at least 1 (``0`` used
    to fall back to the default through ``args.max_configurations or DEFAULT``)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BenchError(f"expected a number of configurations >= 1, got {excerpt(value, 40)}", where)
    return value


def results_dir_name(name: Any, where: str = "name") -> str:
    """The results directory name of the suite ``name`` (``results/<this>``), or one line why not.

    The name is NFC-normalised (macOS hands out NFD: ``한`` typed there and on Linux is one
    directory); letters, digits and marks of any script, ``-``, ``_`` and ``.`` are kept; every
    run of spaces and other characters (``:``, ``*``, ``?``, quotes... which Windows or a shell
    would trip on) becomes one ``_``; trailing dots are dropped (Windows drops them too).
    Refused: a non-string or empty name, a path separator, ``.``, ``..`` or a leading dot (a
    hidden directory), control and invisible characters, reserved device names, a name over
    :data:`NAME_MAX_BYTES` bytes once encoded.
    """
    if not isinstance(name, str) or not name.strip():
        raise BenchError(f"expected a non-empty suite name, got {excerpt(name, 40)}", where)
    if len(name) > NAME_MAX_BYTES * 4:  # too long whatever it maps to: do not scan a huge name
        check_component(name, where)
    text = unicodedata.normalize("NFC", name)
    for char in text:
        category = unicodedata.category(char)
        if category in _INVISIBLE:
            raise BenchError(f"the name holds {_INVISIBLE[category]} (U+{ord(char):04X}); expected letters, "
                             f"digits, spaces, '-', '_' and '.'", where)
    if "/" in text or "\\" in text:
        raise BenchError(f"the name {excerpt(text, 40)} holds a path separator; a suite name names one "
                         f"results directory (use --out for a path)", where)
    stripped = text.strip()
    if stripped in (".", "..") or stripped.startswith("."):
        raise BenchError(f"the name {excerpt(text, 40)} starts with '.'; it would be a hidden or "
                         f"relative directory", where)
    mapped = re.sub(r"_{2,}", "_", "".join(
        c if c in _KEPT or unicodedata.category(c)[0] in "LMN" else "_" for c in stripped))
    mapped = mapped.rstrip(".")
    if not mapped.strip("_"):
        raise BenchError(f"the name {excerpt(text, 40)} has no letter or digit", where)
    stem = mapped.split(".")[0]
    if _RESERVED.fullmatch(stem):
        raise BenchError(f"{stem!r} is a reserved device name on Windows; choose another suite name", where)
    check_component(mapped, where)
    return mapped
