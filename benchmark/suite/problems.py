"""Diagnostics of a suite file: every problem one :class:`~benchmark.errors.BenchError` line
naming file, line and key, and all of a suite's problems found in one pass.

This is the suite package's validation seam. The suite's own steps and the ``tune:`` parser
(:mod:`benchmark.suite.tune`) check their parts with the same functions, so that a wrong type,
an unknown key or a value out of range reads alike wherever it is:

* :func:`describe_value` says what was found (``an integer 3``, ``a list``);
* :func:`schema_problems` turns the errors of a JSON Schema check into sentences, one per key
  path (``expected a number >= 1, got 0``), each at its place in the file (a :class:`Where`);
* :func:`param_problems` checks names, types and constraints of a plugin's parameters, with
  the closest valid name for a misspelt one;
* :class:`Found` collects the problems of a whole suite, and :class:`EntryCheck` those of one
  entry (a dataset, a model): validation goes on past a problem, leaving out only the entry it
  is in, so that one mistake is reported once and nothing that depends on it fails too.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from benchmark.errors import BenchError, BenchErrors, did_you_mean, raise_all
from benchmark.params import Param, object_schema

_T = TypeVar("_T")
KeyPath = tuple[Any, ...]
"""Where a value is in the suite's data: ``("models", 0, "params", "k")``."""


class Where(Protocol):
    """The place of a key path in the suite file, for a message: ``where("models", 0, "name")``
    gives ``"suite.yaml:12: models[0].name"`` (:meth:`benchmark.yamlsafe.LoadedYaml.where`)."""

    def __call__(self, *path: Any) -> str: ...


# --- What was found ------------------------------------------------------------------------

TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "null": "nothing",
              "integer": "an integer", "number": "a number", "boolean": "true or false"}
"""A JSON Schema type as a message names it."""


def describe_value(value: Any) -> str:
    """What a message says it found: the kind of ``value``, and the value when it is short
    (``an integer 3``, ``a string "x"``, ``a list``)."""
    kind = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "nothing"}.get(type(value), "a value")
    if value is None:
        return kind
    shown = json.dumps(value, default=str)
    return kind if len(shown) > 40 else f"{kind} {shown}"


def unknown_key(key: Any, allowed: Sequence[str], what: str = "key") -> str:
    """``unknown key 'nmae'; did you mean 'name'?`` (else the allowed keys)."""
    hint = did_you_mean(str(key), allowed) or f"expected one of: {', '.join(allowed) or 'none'}"
    return f"unknown {what} {key!r}; {hint}"


# --- JSON Schema errors as sentences ---------------------------------------------------------

_SIGNS = {"exclusiveMinimum": ">", "exclusiveMaximum": "<", "minimum": ">=", "maximum": "<="}


def _one_of(error: Any, path: KeyPath, value: Any) -> list[tuple[KeyPath, str]]:
    """A name-or-mapping entry: the mapping's own problems, else what was found."""
    if isinstance(value, dict):
        branch = next((s for s in error.validator_value if s.get("type") == "object"), None)
        inner = schema_errors(value, branch) if branch else []
        if inner:
            return [(path + sub_path, message) for sub_path, message in inner]
    return [(path, f"expected a name or a mapping, got {describe_value(value)}")]


def _required(error: Any, path: KeyPath, value: Any, schema: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    missing = [k for k in error.validator_value if k not in value]
    if schema.get("additionalProperties") is False:  # 'nmae:' is reported; 'name' missing follows
        extra = [str(k) for k in value if k not in schema.get("properties", {})]
        missing = [k for k in missing if not difflib.get_close_matches(k, extra, n=1)]
    if not missing:
        return []
    keys = " and ".join(repr(k) for k in missing)
    return [(path, f"missing required key{'s' if len(missing) > 1 else ''} {keys}")]


def _schema_messages(error: Any) -> list[tuple[KeyPath, str]]:
    """Readable sentences (each with the key path it belongs to) for one jsonschema error."""
    path, value, schema = tuple(error.absolute_path), error.instance, error.schema
    validator = error.validator
    if validator == "oneOf":
        return _one_of(error, path, value)
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        if extra:  # one line per unknown key, on its own line of the file
            return [(path + (key,), unknown_key(key, allowed)) for key in extra]
    if validator == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else expected
        default = f" (default {schema['default']!r})" if "default" in schema else ""
        return [(path, f"expected {' or '.join(TYPE_NAMES[t] for t in expected)}{default}, "
                       f"got {describe_value(value)}")]
    if validator == "required":
        return _required(error, path, value, schema)
    if validator in _SIGNS:
        bounds = [f"{_SIGNS[k]} {schema[k]}" for k in _SIGNS if k in schema]
        return [(path, f"expected a number {' and '.join(bounds)}, got {value}")]
    if validator in ("minItems", "maxItems"):
        count = error.validator_value
        entries = f"entr{'y' if count == 1 else 'ies'}"
        return [(path, f"expected at least {count} {entries}" if validator == "minItems" else
                       f"expected at most {count} {entries}, got {len(value)}")]
    if validator == "minLength":
        return [(path, "expected a non-empty string")]
    if validator == "enum":
        choices = [json.dumps(c) if not isinstance(c, str) else c for c in error.validator_value]
        hint = did_you_mean(value, [c for c in error.validator_value if isinstance(c, str)]) \
            if isinstance(value, str) else ""
        return [(path, f"expected one of: {', '.join(choices)}, got {describe_value(value)}"
                       + (f"; {hint}" if hint else ""))]
    if validator == "pattern" and path == ("name",):
        return [(path, f"expected a name of letters, digits, '.', '_' and '-' (it names the results "
                       f"directory), got {describe_value(value)}")]
    if validator == "uniqueItems":
        return [(path, "expected every entry once")]
    return [(path, error.message)]


@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12 with a strict ``integer``: JSON Schema counts ``30.0`` as one, but a
    plugin's ``int`` parameter given ``30.0`` fails later, in ``range`` or an array shape."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)


def schema_errors(instance: Any, schema: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    """Every problem of ``instance``: one sentence per key path (the first jsonschema reports there)."""
    validator = _validator_class()(schema)
    found: dict[KeyPath, str] = {}
    for error in validator.iter_errors(instance):
        for path, message in _schema_messages(error):
            found.setdefault(path, message)
    return list(found.items())


def schema_problems(instance: Any, schema: Mapping[str, Any], at: Where, *prefix: Any) -> list[BenchError]:
    """:func:`schema_errors` as errors, each at its place: the path of ``instance`` is ``prefix``."""
    return [BenchError(message, at(*prefix, *path)) for path, message in schema_errors(instance, schema)]


def check_schema(instance: Any, schema: Mapping[str, Any], at: Where, *prefix: Any) -> None:
    """Raise every :func:`schema_problems` at once."""
    raise_all(schema_problems(instance, schema, at, *prefix))


# --- A plugin's parameters -------------------------------------------------------------------


def param_problems(given: Mapping[str, Any], params: Mapping[str, Param], at: Where, *path: Any,
                   what: str, also: Sequence[str] = ()) -> list[BenchError]:
    """Names, types and declared constraints of ``given``, with the closest valid name.

    ``also``: other names allowed beside the parameters (not checked here, but suggested)."""
    allowed = [*also, *params]
    errors = [BenchError(unknown_key(key, allowed, what), at(*path, key))
              for key in given if key not in params and key not in also]
    known = {key: value for key, value in given.items() if key in params}
    return errors + schema_problems(known, object_schema(params), at, *path)


def check_params(given: Mapping[str, Any], params: Mapping[str, Param], at: Where, *path: Any,
                 what: str, also: Sequence[str] = ()) -> None:
    """Raise every :func:`param_problems` at once."""
    raise_all(param_problems(given, params, at, *path, what=what, also=also))


# --- Collecting problems ----------------------------------------------------------------------


class Found:
    """Every problem of one suite found so far, and the warnings.

    Validation goes on past a problem: each check that fails adds its error here and its entry
    (a dataset, a model, a metric) is left out of the later steps, so one mistake is reported
    once and does not cascade into errors about what depends on it.
    """

    def __init__(self, errors: Iterable[BenchError] = ()) -> None:
        self.errors: list[BenchError] = []
        self.warnings: list[str] = []
        for error in errors:
            self.add(error)

    def add(self, error: BenchError) -> None:
        self.errors.extend(error.errors if isinstance(error, BenchErrors) else [error])

    def entry(self) -> EntryCheck:
        """The checks of one entry, recorded here."""
        return EntryCheck(self)

    def ordered(self, name: str) -> list[BenchError]:
        """The errors in file order (errors from elsewhere -- a ``-p`` plugin -- first), each once."""
        prefix = f"{name}:"

        def line(error: BenchError) -> int:
            if not error.where.startswith(prefix):
                return 0
            digits = re.match(r"\d+", error.where[len(prefix):])
            return int(digits.group()) if digits else 0

        unique = list({str(error): error for error in self.errors}.values())
        return sorted(unique, key=line)


class EntryCheck:
    """The checks of one entry: each failure is recorded and marks the entry failed."""

    def __init__(self, found: Found):
        self.found, self.failed = found, False

    def add(self, error: BenchError) -> None:
        self.found.add(error)
        self.failed = True

    def check(self, func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """``func(*args, **kwargs)``, or ``None`` when it raised a BenchError (recorded)."""
        try:
            return func(*args, **kwargs)
        except BenchError as exc:
            self.add(exc)
            return None
