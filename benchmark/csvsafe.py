"""CSV cells a spreadsheet opens as text, never as a formula.

A model label, a dataset name or a parameter value comes from a suite file or a plugin; in
``leaderboard.csv`` or ``bench results --format csv`` a cell beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is run as a formula by Excel, LibreOffice and Google Sheets
(CSV injection: ``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, ``@SUM(...)``). Following OWASP's
advice, such a cell is prefixed with ``'``, which spreadsheets show as text and hide the quote
of. Numbers stay numbers: a float, an int, and a string that is a plain decimal number
(``-0.93``, ``+1e-3``) are left alone, so a negative metric is still a value that sorts and sums.
Quoting of separators and quotes is the ``csv`` module's job (it still must be used); a bare
carriage return inside a cell it leaves as is, and readers split the row there, so
:func:`csv_text` (what bench's CSV writers use) also writes it as ``\\r``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters a spreadsheet treats as the start of a formula (OWASP's list)."""
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_safe(value: Any) -> Any:
    """``value`` as a CSV cell that cannot start a formula.

    Non-strings (numbers, ``None``, bools) are returned unchanged, as is a string that is a
    plain number; a string whose first character -- or first character after leading spaces,
    which some spreadsheets skip -- is one of :data:`TRIGGERS` gets a leading ``'``.
    """
    if not isinstance(value, str):
        return value
    first = value.lstrip(" ")[:1]
    if first in TRIGGERS and first and not _NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def csv_text(value: Any) -> Any:
    """:func:`csv_safe`, and a carriage return in a string written as the two characters ``\\r``
    (the csv module quotes the line terminator ``\\n`` but not a bare CR, which splits the row for
    readers). Non-strings are returned unchanged."""
    safe = csv_safe(value)
    return safe.replace("\r", "\\r") if isinstance(safe, str) else safe


def csv_safe_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row through :func:`csv_safe` (for ``csv.writer().writerow``)."""
    return [csv_safe(value) for value in values]


def csv_safe_frame(frame: Any) -> Any:
    """A copy of a pandas ``DataFrame`` with every cell and column name through
    :func:`csv_text` (for ``bench results --format csv``: ``csv_safe_frame(frame).to_csv(...)``);
    numeric columns keep their values and dtype."""
    safe = frame.map(csv_text) if hasattr(frame, "map") else frame.applymap(csv_text)
    safe.columns = [csv_text(column) for column in frame.columns]
    return safe
