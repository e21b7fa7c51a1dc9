"""Reading a suite file safely: any bytes give data or one :class:`~benchmark.errors.BenchError`.

:func:`read_suite_file` is the one entry point for files, :func:`load_yaml_text` for text already
in memory. Both return a :class:`LoadedYaml`: the text, the data (``yaml.SafeLoader`` semantics)
and a map from key paths to line numbers, with :meth:`LoadedYaml.where` giving the
``file:LINE: a.b[0].c`` form every suite error uses.

What is refused, each with one line naming the file (and the line where there is one), in
bounded time and memory whatever the input:

- a missing file, a directory or other non-regular file, an unreadable one;
- a file over ``max_bytes`` (default 1,000,000), binary data (a NUL byte), UTF-16, text that is
  not UTF-8 (line and byte offset of the first bad byte), control characters;
- YAML syntax errors and unknown tags (``!!python/...``), more than one document;
- nesting deeper than :data:`MAX_DEPTH` collections, also counted through aliases;
- more than :data:`MAX_VALUES` values once aliases are expanded (a "billion laughs" file is
  refused from the composed node graph; nothing is expanded first), and an alias inside its own
  anchor (a recursive structure);
- duplicate mapping keys at any level (both lines named), mapping keys that are lists or
  mappings (``? [a, b]``), numbers longer than :data:`MAX_NUMBER_CHARS` characters.

A few small aliases (and ``<<`` merge keys) are allowed: they are handy for sharing parameters.

:func:`read_stored_yaml` reads the ``suite.yaml`` a results directory keeps with the same
checks, never through a link, and never raises (:func:`benchmark.files.read_stored`; the
stored JSON records are :func:`benchmark.files.read_stored_json`'s): a damaged or hostile copy
is ``(None, warning)`` for the reader to show and skip.

The parser is PyYAML's (libyaml when available), but the node graph is composed here from the
event stream, without recursion, so depth, size, aliases and duplicate keys are checked as the
graph grows; the checked graph is then constructed by ``SafeConstructor``.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml import nodes as N

from benchmark.errors import BenchError, clip, excerpt
from benchmark.files import one_line, os_reason, read_bounded, read_stored
from benchmark.files import read_stored_json as read_stored_json  # re-exported: report.py (and report_sections.py) import it from here

MAX_BYTES = 1_000_000
"""Default size limit of a suite file, in bytes."""
MAX_DEPTH = 50
"""Collections (mappings, lists) nested in one another, counted after expanding aliases."""
MAX_VALUES = 100_000
"""Values (scalars and collections) in a document, each alias counting as a copy of its anchor."""
MAX_NUMBER_CHARS = 100
"""Characters of a number (an int or a float written in the YAML)."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_KIND = {N.MappingNode: "a mapping", N.SequenceNode: "a list", N.ScalarNode: "a value"}


def locate(name: str, lines: dict[tuple[Any, ...], int], *path: Any) -> str:
    """``name:LINE: a.b[0].c`` for a key path: the line of the deepest part of ``path`` that
    the file has (line 1 when none), and the whole path dotted."""
    probe = tuple(path)
    while probe not in lines and probe:
        probe = probe[:-1]
    dotted = _dotted(tuple(path))
    return f"{name}:{lines.get(probe, 1)}" + (f": {dotted}" if dotted else "")


@dataclass(frozen=True)
class LoadedYaml:
    """A suite file read and parsed.

    ``lines`` maps key paths -- tuples of mapping keys and list indexes, ``()`` for the
    document -- to 1-based lines: a mapping entry's line is its key's, a list item's its own.
    Paths inside an alias are not listed; :meth:`where` then names the alias's line.
    """

    name: str  # the file as given, used in messages
    text: str
    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def where(self, *path: Any) -> str:
        """``file:LINE: dotted.key[0]`` for ``path`` (see :func:`locate`)."""
        return locate(self.name, self.lines, *path)


def read_suite_file(path: str | Path, *, max_bytes: int = MAX_BYTES) -> LoadedYaml:
    """Read and parse a suite file; every failure is a :class:`BenchError` (see the module)."""
    data = _read_bytes(Path(path), max_bytes)
    return load_yaml_bytes(data, str(path))


def load_yaml_bytes(data: bytes, name: str) -> LoadedYaml:
    """Decode ``data`` as UTF-8 (refusing binary data) and parse it like :func:`load_yaml_text`."""
    return load_yaml_text(_decode(data, name), name)


def load_yaml_text(text: str, name: str) -> LoadedYaml:
    """Parse one YAML document from ``text``; ``name`` is the file named in messages."""
    try:
        text = text.removeprefix("\ufeff")
        bad = _NON_PRINTABLE.search(text)
        if bad:
            line = text.count("\n", 0, bad.start()) + 1
            column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
            raise BenchError(f"control character U+{ord(bad.group()):04X} at column {column}; "
                             f"expected plain text", f"{name}:{line}")
        root, lines = _Composer(text, name).compose()
        data = _construct(root, name) if root is not None else None
        return LoadedYaml(name, text, data, lines)
    except BenchError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit (1000) comes before ours only in keys
            raise BenchError(f"nested too deeply: more than {MAX_DEPTH} levels",
                             f"{name}:{mark.line + 1 if mark else 1}") from None
        hint = indentation_hint(text, mark.line) if mark and _INDENTATION.search(problem) else ""
        raise BenchError(f"YAML syntax error: {hint}{one_line(problem)}",
                         f"{name}:{mark.line + 1 if mark else 1}") from None
    except yaml.YAMLError as exc:
        raise BenchError(f"YAML syntax error: {one_line(str(exc))}", f"{name}:1") from None
    except RecursionError:  # cannot happen with MAX_DEPTH; kept as the last line of defence
        raise BenchError(f"nested too deeply; at most {MAX_DEPTH} levels", f"{name}:1") from None
    except MemoryError:
        raise BenchError("out of memory while reading the suite", name) from None
    except Exception as exc:  # noqa: BLE001 -- any other library failure is still one line
        raise BenchError(f"cannot read the YAML: {type(exc).__name__}: {one_line(str(exc))}",
                         name) from None


_INDENTATION = re.compile(r"expected '-' indicator|expected key|mapping values are not allowed|expected <block end>")
"""The parser's problems that mean a line is indented wrongly (the parser names a token, not the key)."""
_KEY = re.compile(r"^(?P<dash>-\s+)?(?P<key>[^\s:#][^:#]*?)\s*:(\s|$)")


def _significant(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _named(line: str) -> tuple[str, int]:
    """A line's key (or its text) and the column where it starts (after a list's ``- ``)."""
    body = line.strip()
    column = len(line) - len(line.lstrip()) + 1
    found = _KEY.match(body)
    if not found:
        return repr(clip(body, 30)), column
    return repr(found["key"]), column + len(found["dash"] or "")


def indentation_hint(text: str, index: int) -> str:
    """``check the indentation of 'options' (column 3; 'split' on line 4 above it is at column 5): ``
    for the line ``index`` (0-based) a parser stopped at, so that the message names a key of the
    suite rather than a YAML token."""
    lines = text.split("\n")
    if not 0 <= index < len(lines) or not _significant(lines[index]):
        return ""
    key, column = _named(lines[index])
    here = f"check the indentation of {key} (column {column}"
    above = next((n for n in range(index - 1, -1, -1) if _significant(lines[n])), None)
    if above is not None:
        key_above, column_above = _named(lines[above])
        here += f"; {key_above} on line {above + 1} above it is at column {column_above}"
    return here + "): "


# --- Files a results directory keeps: read without ever raising ---------------------------------


def read_stored_yaml(path: str | Path, *, max_bytes: int = MAX_BYTES) -> tuple[Any, str | None]:
    """The data of a YAML file bench stored itself (a results directory's ``suite.yaml``) as
    ``(data, None)``, or ``(None, warning)``: never an exception, in bounded time and memory.

    The file is read like a suite file (every check of :func:`read_suite_file`: size, binary
    data, UTF-8, alias bombs, depth, duplicate keys) but is not followed through a symbolic
    link, and a directory, a FIFO or any other non-regular file in its place is refused
    without blocking. ``warning`` is one line naming the file, for ``bench: warning: ...``; a
    missing file is ``(None, None)`` (older runs did not keep one).
    """
    return read_stored(path, max_bytes, lambda data: load_yaml_bytes(data, str(path)).data)


# --- Bytes -------------------------------------------------------------------------------------


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    where = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise BenchError("suite file not found", where) from None
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read suite file: {os_reason(exc)}", where) from None
    if stat.S_ISDIR(info.st_mode):
        raise BenchError("is a directory, expected a suite file", where)
    if not stat.S_ISREG(info.st_mode):
        raise BenchError("not a regular file, expected a suite file", where)
    if info.st_size > max_bytes:  # before opening it (_read_bounded checks again: it may grow)
        raise BenchError(f"suite file is too large: {info.st_size:,} bytes, the limit is {max_bytes:,}",
                         where)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise BenchError(f"cannot read suite file: {os_reason(exc)}", where) from None
    with handle:
        return read_bounded(handle, info.st_size, max_bytes, where, "suite file")




def _decode(data: bytes, name: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BenchError("the file is UTF-16; save it as UTF-8", f"{name}:1")
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise BenchError(f"binary data (a NUL byte at byte offset {nul}); expected a YAML text file",
                         f"{name}:{line}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BenchError(f"not UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
                         f"cannot be decoded; save the file as UTF-8", f"{name}:{line}") from None



# --- Composing the node graph, checked, without recursion --------------------------------------


class _Frame:
    __slots__ = ("depth", "key", "key_value", "keys", "node", "path", "size")

    def __init__(self, node: N.Node, path: tuple[Any, ...]):
        self.node, self.path = node, path
        self.size, self.depth = 1, 1
        self.key: N.Node | None = None  # a mapping's key waiting for its value
        self.key_value: Any = None  # ... and its Python value
        self.keys: dict[Any, int] = {}  # a mapping's keys so far -> their lines


class _Composer:
    """Builds the node graph from parser events like ``yaml.composer.Composer``, but with an
    explicit stack instead of recursion, checking every limit as the graph grows."""

    def __init__(self, text: str, name: str):
        self.loader = _LOADER(text)
        self.keys = _Constructor("")
        self.name = name
        self.anchors: dict[str, N.Node] = {}
        self.open: set[int] = set()  # ids of collections not closed yet (recursive aliases)
        self.size: dict[int, int] = {}  # id(collection) -> values it expands to
        self.depth: dict[int, int] = {}  # id(collection) -> collections nested in it, expanded
        self.lines: dict[tuple[Any, ...], int] = {}
        self.aliases = 0

    def fail(self, message: str, mark: Any) -> BenchError:
        return BenchError(message, f"{self.name}:{mark.line + 1}")

    def compose(self) -> tuple[N.Node | None, dict[tuple[Any, ...], int]]:
        try:
            return self._stream()
        finally:
            self.loader.dispose()
            self.keys.dispose()

    def _stream(self) -> tuple[N.Node | None, dict[tuple[Any, ...], int]]:
        loader = self.loader
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return None, {}
        loader.get_event()  # DocumentStart
        root = self._document()
        loader.get_event()  # DocumentEnd
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            raise self.fail("expected one YAML document, found a second one", event.start_mark)
        return root, self.lines

    def _document(self) -> N.Node:
        loader = self.loader
        stack: list[_Frame] = []  # the collections open now
        while True:
            event = loader.get_event()
            path = self._child_path(stack[-1]) if stack else ()
            line = event.start_mark.line + 1
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                frame = stack.pop()
                node, size, depth = frame.node, frame.size, frame.depth
                node.end_mark = event.end_mark
                self.open.discard(id(node))
                self.size[id(node)], self.depth[id(node)] = size, depth
            elif isinstance(event, yaml.AliasEvent):
                node = self.anchors.get(event.anchor)
                if node is None:
                    raise self.fail(f"YAML syntax error: found undefined alias *{clip(event.anchor, 80)}",
                                    event.start_mark)
                if id(node) in self.open:
                    raise self.fail(f"alias *{clip(event.anchor, 80)} is inside its own anchor "
                                    f"(a recursive structure)", event.start_mark)
                self.aliases += 1
                size, depth = self.size.get(id(node), 1), self.depth.get(id(node), 0)
                if path is not None:
                    self.lines.setdefault(path, line)
            elif isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(N.ScalarNode, event.value, event.implicit)
                if tag in (_INT, _FLOAT) and len(event.value) > MAX_NUMBER_CHARS:
                    raise self.fail(f"a number of {len(event.value):,} characters; at most "
                                    f"{MAX_NUMBER_CHARS}", event.start_mark)
                node = N.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
                size, depth = 1, 0
                self._anchor(event, node)
                if path is not None:
                    self.lines.setdefault(path, line)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                kind = N.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else N.MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(kind, None, event.implicit)
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(f"nested too deeply: more than {MAX_DEPTH} levels", event.start_mark)
                node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                self._anchor(event, node)
                if path is not None:
                    self.lines.setdefault(path, line)
                stack.append(_Frame(node, path if path is not None else ("?",)))
                self.open.add(id(node))
                continue
            else:  # pragma: no cover -- the parser yields nothing else inside a document
                raise self.fail(f"YAML syntax error: unexpected {type(event).__name__}", event.start_mark)
            if not stack:
                return node
            self._add(stack[-1], node, size, depth, event)

    def _anchor(self, event: Any, node: N.Node) -> None:
        if event.anchor is not None:
            self.anchors[event.anchor] = node  # a redefined anchor replaces the old one

    @staticmethod
    def _child_path(frame: _Frame) -> tuple[Any, ...] | None:
        """The key path of the next node ``frame`` receives (``None`` for a mapping key)."""
        if isinstance(frame.node, N.SequenceNode):
            return frame.path + (len(frame.node.value),)
        if frame.key is None:
            return None
        return frame.path + (frame.key_value,)

    def _add(self, frame: _Frame, node: N.Node, size: int, depth: int, event: Any) -> None:
        frame.size += size
        frame.depth = max(frame.depth, depth + 1)
        if frame.depth > MAX_DEPTH:
            raise self.fail(f"nested too deeply: more than {MAX_DEPTH} levels once aliases are "
                            f"expanded", event.start_mark)
        if frame.size > MAX_VALUES:
            what = " once aliases are expanded" if self.aliases else ""
            raise self.fail(f"too many values: more than {MAX_VALUES:,}{what}", event.start_mark)
        if isinstance(frame.node, N.SequenceNode):
            frame.node.value.append(node)
        elif frame.key is None:
            frame.key, frame.key_value = node, self._key(frame, node, event)
        else:
            frame.node.value.append((frame.key, node))
            if frame.key.tag != _MERGE:
                self.lines[frame.path + (frame.key_value,)] = frame.key.start_mark.line + 1
            frame.key = frame.key_value = None

    def _key(self, frame: _Frame, key: N.Node, event: Any) -> Any:
        """The Python value of a mapping key, refusing lists, mappings and duplicates."""
        line = event.start_mark.line + 1
        if not isinstance(key, N.ScalarNode):
            raise self.fail(f"a mapping key must be a plain value, found {_KIND[type(key)]} as a key",
                            event.start_mark)
        if key.tag == _MERGE:
            return "<<"
        value = _construct(key, self.name, self.keys)
        try:
            hash(value)
        except TypeError:
            raise self.fail(f"a mapping key must be a plain value, found {type(value).__name__}",
                            event.start_mark) from None
        if value in frame.keys:
            raise BenchError(f"duplicate key {excerpt(value)}: first at line {frame.keys[value]}, again at "
                             f"line {line}", f"{self.name}:{line}: {_dotted(frame.path, value)}")
        frame.keys[value] = line
        return value


def _dotted(path: tuple[Any, ...], key: Any = None) -> str:
    """``a.b[0].c`` (and ``.key`` appended as a mapping key, even when it is a number)."""
    dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{clip(p, 80)}" for p in path)
    return (dotted + ("" if key is None else f".{clip(key, 80)}")).lstrip(".")


# --- Constructing Python data from the checked graph -------------------------------------------


class _ValueError(Exception):
    def __init__(self, node: N.Node, cause: BaseException):
        super().__init__(str(cause))
        self.node, self.cause = node, cause


class _Constructor(_LOADER):  # type: ignore[misc,valid-type]
    """SafeLoader's constructor, naming the node whose value Python refuses (a bad date...)."""

    def construct_object(self, node: N.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError, ArithmeticError) as exc:
            raise _ValueError(node, exc) from None


def _construct(node: N.Node, name: str, constructor: Any = None) -> Any:
    own = constructor is None
    constructor = _Constructor("") if own else constructor
    try:
        return constructor.construct_document(node)
    except _ValueError as exc:
        raise BenchError(f"cannot read the value {excerpt(exc.node.value, 60)}: {one_line(str(exc.cause))}"
                         if isinstance(exc.node, N.ScalarNode) else
                         f"cannot read this value: {one_line(str(exc.cause))}",
                         f"{name}:{exc.node.start_mark.line + 1}") from None
    finally:
        if own:
            constructor.dispose()
