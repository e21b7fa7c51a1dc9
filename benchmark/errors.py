"""bench's exceptions: the one error type users see -- a one-line message that names the place it
comes from -- those a plugin raises or catches (:class:`PluginInputError`, :class:`MissingDependency`, and a
download's :class:`DownloadError`/:class:`ChecksumMismatch`), all exported by :mod:`benchmark.api`.

Messages quote what they complain about -- a value, a column name, a line of a file -- only as
an :func:`excerpt`: at most :data:`EXCERPT_CHARS` characters, clipped with ``…``, with control
and invisible characters escaped. A 1 GB field of a data file is then an 80-character quote
with its size, not a 1 GB "one-line" error, and a file that is not what was expected (a system
file given as a ratings file) is not echoed back. :class:`BenchError` itself bounds what it
holds (:data:`MESSAGE_CHARS`, :data:`WHERE_CHARS`) as the last line of defence.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable, Sequence
from pathlib import Path

EXCERPT_CHARS = 80
"""Characters of a value or of a file's content quoted in a message."""
MESSAGE_CHARS = 4000
"""Characters a :class:`BenchError` message keeps (a list of several problems still fits)."""
WHERE_CHARS = 1000
"""Characters of a :class:`BenchError` place (a file name, a line, a key path)."""

_ELLIPSIS = "…"
_KEPT = "\n\t"  # clip() keeps these: a message listing problems one per line stays readable
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _printable(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable (controls, bidi overrides, line
    separators, lone surrogates...) escaped as ``\\n``, ``\\x00``, ``\\u202e``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else _escape(c) for c in text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(0, limit - 1)] + _ELLIPSIS


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, one-line, printable quote of ``value`` for an error message.

    Strings and bytes are quoted (``'abc'``) and, when longer than ``limit`` characters,
    clipped (``'abc…'``) with their full size appended (``(5,000,000 characters)``); other
    values are shown as their ``repr``, clipped the same way. Non-printable characters are
    escaped, so the excerpt never spans lines or reorders the text around it. Only the first
    few ``limit`` characters of a huge value are ever looked at: the cost does not grow with
    its size.
    """
    limit = max(limit, 2)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value[:limit * 4 + 4])
        size = len(value)
        text = raw.decode("utf-8", "backslashreplace")
        return _quoted(text, limit, size, "bytes")
    if isinstance(value, str):
        return _quoted(value[:limit + 1], limit, len(value), "characters")
    try:
        shown = _Repr(limit).repr(value)
    except Exception:  # noqa: BLE001 -- a repr that fails (or an int too long to print) is named
        shown = f"<{type(value).__name__}>"
    return _clip(_printable(shown), limit)


def _quoted(text: str, limit: int, size: int, unit: str) -> str:
    body = _printable(text)
    if size <= limit and len(body) <= limit:
        return f"'{body}'"
    return f"'{_clip(body, limit)}' ({size:,} {unit})"


class _Repr(reprlib.Repr):
    """``reprlib`` with every kind of value bounded, including ints too long to print."""

    def __init__(self, limit: int):
        super().__init__()
        self.maxstring = self.maxother = self.maxlong = limit + 2
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 6
        self.maxlevel = 3

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:
            return f"<an integer of {x.bit_length():,} bits>"
        return super().repr_int(x, level)


def clip(text: object, limit: int) -> str:
    """``text`` as a bounded message part: at most ``limit`` characters (``…`` when clipped),
    control characters escaped except newlines and tabs."""
    text = str(text)
    return _clip(_printable(text[:limit + 1], _KEPT), limit)


class BenchError(Exception):
    """Bad input or a failed precondition, reported as ``bench: error: WHERE: MESSAGE``.

    ``where`` names the place: ``file:line: key`` for a suite, a path, or a plugin. Both are
    bounded (see :func:`clip`): whatever a caller passes, the error stays a short line.
    """

    def __init__(self, message: str, where: str = ""):
        message, where = clip(message, MESSAGE_CHARS), clip(where, WHERE_CHARS)
        super().__init__(message)
        self.message, self.where = message, where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def lines(self) -> list[str]:
        """The error as the lines ``bench`` prints after ``bench: error:`` (one here)."""
        return [str(self)]


LISTED_ERRORS = 100
"""Problems a :class:`BenchErrors` lists; the rest are counted in one more line."""


class BenchErrors(BenchError):
    """Several problems found at once -- every mistake of a suite -- printed one per line.

    ``bench check`` and ``bench run`` list all of a suite's problems instead of stopping at the
    first (a user then fixes them in one pass). Each element of ``errors`` is an ordinary
    one-line :class:`BenchError`; ``message`` and ``where`` are the first one's, so code that
    reads a single error still gets a true (partial) answer. At most :data:`LISTED_ERRORS` are
    listed: a generated suite with 100,000 mistakes stays a readable screen.
    """

    def __init__(self, errors: Iterable[BenchError]):
        flat: list[BenchError] = []
        for error in errors:
            flat.extend(error.errors if isinstance(error, BenchErrors) else (error,))
        if not flat:
            raise ValueError("BenchErrors needs at least one error")
        super().__init__(flat[0].message, flat[0].where)
        self.errors: tuple[BenchError, ...] = tuple(flat)

    def lines(self) -> list[str]:
        shown = [str(error) for error in self.errors[:LISTED_ERRORS]]
        hidden = len(self.errors) - len(shown)
        if hidden:
            shown.append(f"{hidden:,} more problem{'s' if hidden > 1 else ''} not listed")
        return shown

    def __str__(self) -> str:
        return "\n".join(self.lines())


class PluginInputError(ValueError):
    """A plugin rejects its input (bad option, data that cannot be used).

    The runner reports it as a one-line error, never as a traceback.
    """


class MissingDependency(ImportError):
    """An optional library a plugin needs is not installed."""

    def __init__(self, module: str, distribution: str, plugin: str = ""):
        self.module, self.distribution = module, distribution
        who = f"{plugin} needs " if plugin else "needs "
        super().__init__(f"{who}{module!r}: pip install {distribution}")


class DownloadError(Exception):
    """A download that produced no file: ``reason`` is the error's class name (``ConnectionError``);
    ``kept`` the bytes kept in ``part`` for the next try to resume from (0: none)."""

    def __init__(self, url: str, reason: str, part: Path | None = None, kept: int = 0):
        self.url, self.reason, self.part, self.kept = url, reason, part, kept
        super().__init__(f"download of {url} failed ({reason})")


class ChecksumMismatch(DownloadError):
    """The downloaded file's hash is not the pinned one (pooch deleted it). ``detail``: pooch's
    message (one line); ``actual``: the hash the file had, when pooch says it."""

    def __init__(self, url: str, detail: str):
        found = re.search(r"but got (\w+)", detail)
        self.detail, self.actual = detail, found.group(1) if found else None
        super().__init__(url, "checksum mismatch")


def did_you_mean(word: str, choices: Iterable[str], n: int = 1, cutoff: float = 0.6) -> str:
    """``"did you mean 'a'?"`` or ``"did you mean 'a' or 'b'?"`` -- the (up to ``n``) choices
    closest to ``word`` (:func:`difflib.get_close_matches`) -- or ``""`` when none is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def raise_all(errors: Sequence[BenchError]) -> None:
    """Raise nothing, the one error, or a :class:`BenchErrors` of several."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BenchErrors(errors)
