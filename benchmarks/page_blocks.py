"""Blocks of one Markdown page that several scripts write, each between its own marker lines.

``calibration.md`` is written by three scripts (``calibration.py`` sections 1–5,
``calibration_best.py`` sections 6–7, ``calibration_verdicts.py`` section 8), each run taking
minutes. When one of them rewrote the whole page, the others' sections were lost and had to be
pasted back by hand. Now each script owns named blocks::

    <!-- calibration.py:begin -->
    # Calibration of `bench compare`
    ...
    <!-- calibration.py:end -->

and :func:`write` replaces only the text between a block's markers; everything outside stays
byte for byte as it was. A block the page does not have yet is appended at its end, after a
blank line. A marker is a whole line ``<!-- NAME:begin -->`` or ``<!-- NAME:end -->``.

Markers that do not pair up — a begin without its end, an end without or before its begin, a
name twice, one block inside another — raise one :class:`MarkerError` naming the file, the line
and the marker, and nothing is written. The scripts call :func:`check` before they simulate, so
a long run never ends on a page it cannot write. :func:`write` reads the page again when it
writes (another script may have updated its own blocks meanwhile) and replaces the file in one
step (a temporary file renamed over it), so an interrupted write leaves the old page.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"<!-- (?P<name>\S+):(?P<kind>begin|end) -->")


class MarkerError(ValueError):
    """The page's markers do not pair up; the message is one line: ``FILE:LINE: what``."""


@dataclass(frozen=True)
class Block:
    """Where one block stands: the 0-based indexes of its begin and end marker lines."""

    name: str
    begin: int
    end: int


def markers(name: str) -> tuple[str, str]:
    """The begin and end marker lines of block ``name`` (without the newline)."""
    if not re.fullmatch(r"\S+", name):
        raise ValueError(f"a block name has no spaces: {name!r}")
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def blocks(text: str, source: str = "<page>") -> dict[str, Block]:
    """Every block of ``text`` by name, in page order; :class:`MarkerError` if any marker is unpaired."""
    found: dict[str, Block] = {}
    open_name: str | None = None
    open_line = 0
    for index, line in enumerate(text.splitlines()):
        match = MARKER.fullmatch(line.strip())
        if match is None:
            continue
        name, kind, where = match["name"], match["kind"], f"{source}:{index + 1}"
        if kind == "begin":
            if open_name is not None:
                raise MarkerError(f"{where}: {line.strip()} inside block {open_name!r}, whose begin is on line "
                                  f"{open_line + 1} and whose end marker is missing or later")
            if name in found:
                raise MarkerError(f"{where}: a second {line.strip()} (the first is on line {found[name].begin + 1})")
            open_name, open_line = name, index
        elif open_name is None:
            raise MarkerError(f"{where}: {line.strip()} has no {markers(name)[0]} before it")
        elif name != open_name:
            raise MarkerError(f"{where}: {line.strip()} where block {open_name!r} (begun on line {open_line + 1}) "
                              f"should end first")
        else:
            found[name] = Block(name, open_line, index)
            open_name = None
    if open_name is not None:
        raise MarkerError(f"{source}:{open_line + 1}: {markers(open_name)[0]} has no {markers(open_name)[1]} "
                          f"after it")
    return found


def replace(text: str, name: str, body: str, source: str = "<page>") -> str:
    """``text`` with block ``name`` holding ``body`` (appended at the end when absent)."""
    begin, end = markers(name)
    body = body if body.endswith("\n") or not body else body + "\n"
    new_block = f"{begin}\n{body}{end}\n"
    block = blocks(text, source).get(name)
    if block is not None:
        lines = text.splitlines(keepends=True)
        return "".join(lines[:block.begin]) + new_block + "".join(lines[block.end + 1:])
    if not text.strip():
        return new_block
    separator = "" if text.endswith("\n") else "\n"
    blank = "" if text.endswith("\n\n") else "\n"
    return text + separator + blank + new_block


def check(path: Path) -> None:
    """Refuse early (:class:`MarkerError`) a page whose markers do not pair up; a missing page is fine."""
    if path.exists():
        blocks(path.read_text(encoding="utf-8"), str(path))
    elif not path.parent.is_dir():
        raise MarkerError(f"{path}: its folder {path.parent} does not exist")


def write(path: Path, bodies: Mapping[str, str]) -> None:
    """Put each body in its named block of the page at ``path`` (created if absent), the rest untouched."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for name, body in bodies.items():
        text = replace(text, name, body, str(path))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def arguments(description: str | None) -> argparse.ArgumentParser:
    """The options the calibration scripts share: ``--out PAGE`` (without it the text is printed)."""
    parser = argparse.ArgumentParser(description=(description or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, metavar="PAGE",
                        help="update this Markdown page in place: only this script's blocks are rewritten "
                             "(appended if absent); without --out the text goes to stdout")
    return parser


def ready(out: Path | None) -> None:
    """Before a long run: stop with one line (exit 1, no traceback) if ``out`` cannot take the blocks."""
    if out is not None:
        try:
            check(out)
        except MarkerError as error:
            raise SystemExit(f"error: {error}") from None


def publish(out: Path | None, bodies: Mapping[str, str]) -> None:
    """What each calibration script does with its text: print it (no ``--out``; blocks apart by a
    blank line, as on the page), or write its blocks into the page ``out`` and say so in one line."""
    if out is None:
        print("\n".join(body if body.endswith("\n") else body + "\n" for body in bodies.values()), end="")
        return
    try:
        write(out, bodies)
    except MarkerError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"{out}: rewrote block{'s' if len(bodies) > 1 else ''} {', '.join(bodies)}")
