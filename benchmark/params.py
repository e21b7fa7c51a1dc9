"""One description of a plugin's parameters, read from its signature, used everywhere.

Models (``__init__``), dataset loaders and split functions all describe their parameters the
same way: names, defaults and types from the signature (annotations), one-line docs from
``:param name: ...`` lines of the docstring, and optional declared constraints (JSON Schema
per parameter). The suite validator, ``bench plugins NAME`` and ``bench schema`` read it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

EMPTY = inspect.Parameter.empty
_SCALARS = {"int": "integer", "float": "number", "bool": "boolean", "str": "string", "None": "null",
            "NoneType": "null", "Path": "string"}
_ARRAYS = ("list", "tuple", "Sequence", "Iterable", "Collection", "set", "frozenset", "List", "Tuple", "Set",
           "FrozenSet")
_OBJECTS = ("dict", "Mapping", "MutableMapping", "Dict")
_DEFAULT_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
                  tuple: "array", dict: "object"}


@dataclass(frozen=True)
class Param:
    """One parameter: name, default (``EMPTY`` when required), JSON Schema, one-line doc."""

    name: str
    default: Any = EMPTY
    schema: Mapping[str, Any] = field(default_factory=dict)
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is EMPTY

    def json_schema(self) -> dict[str, Any]:
        """The schema with the default and the doc, as ``bench schema`` prints it."""
        schema = dict(self.schema)
        if not self.required and _jsonable(self.default):
            schema["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        if self.doc:
            schema["description"] = self.doc
        return schema

    def type_text(self) -> str:
        kinds = self.schema.get("type")
        if kinds is None:
            return "any"
        return " | ".join([kinds] if isinstance(kinds, str) else kinds)

    def constraint_text(self) -> str:
        parts = []
        if "enum" in self.schema:
            parts.append("one of " + ", ".join(map(str, self.schema["enum"])))
        for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                          ("exclusiveMaximum", "<")):
            if key in self.schema:
                parts.append(f"{sign} {self.schema[key]}")
        low, high = self.schema.get("minItems"), self.schema.get("maxItems")
        if low is not None and low == high:
            parts.append(f"exactly {low} items")
        else:
            parts += [f"at least {low} items"] if low is not None else []
            parts += [f"at most {high} items"] if high is not None else []
        return ", ".join(parts)


def _jsonable(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool))


def _split_top(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[(" and 1 or (char in "])" and -1 or 0)
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return parts + [current.strip()]


def _unions(text: str) -> str:
    """``Union[a, b]`` as ``a | b`` (innermost first), for the splitter below."""
    while (start := text.find("Union[")) >= 0:
        depth, end = 0, start + len("Union")
        for end in range(start + len("Union"), len(text)):
            depth += {"[": 1, "]": -1}.get(text[end], 0)
            if depth == 0:
                break
        inner = " | ".join(_split_top(text[start + len("Union["):end], ","))
        text = text[:start] + inner + text[end + 1:]
    return text


def annotation_schema(annotation: Any) -> dict[str, Any]:
    """JSON Schema of a (string or real) annotation: ``int | None`` -> integer or null."""
    if annotation is EMPTY:
        return {}
    # a class by its name; anything else (Literal[...], Optional[int], int | None) as written
    text = annotation if isinstance(annotation, str) else \
        annotation.__name__ if isinstance(annotation, type) else str(annotation)
    text = re.sub(r"\b(typing|collections\.abc|pathlib)\.", "", text.replace("Optional[", "None | ["))
    text = re.sub(r"\bNoneType\b", "None", _unions(text))
    types: list[str] = []
    enum: list[Any] = []
    for part in _split_top(text, "|"):
        part = part[1:-1].strip() if part.startswith("[") and part.endswith("]") else part
        head = part.split("[", 1)[0].strip()
        if head == "Literal":
            if not ("[" in part and part.endswith("]")):
                return {}
            inner = part[part.index("[") + 1: part.rindex("]")]
            for token in _split_top(inner, ","):
                try:
                    enum.append(eval(token, {}, {}))  # literal tokens only ("a", 1, True)
                except Exception:
                    return {}
        elif head in _SCALARS:
            types.append(_SCALARS[head])
        elif head in _ARRAYS:
            types.append("array")
        elif head in _OBJECTS:
            types.append("object")
        else:
            return {}  # an annotation we cannot express: accept anything
    schema: dict[str, Any] = {}
    if enum:
        schema["enum"] = enum + ([None] if "null" in types else [])
        kinds = list(dict.fromkeys({**_DEFAULT_TYPES, type(None): "null"}.get(type(v), "") for v in schema["enum"]))
        if all(kinds):  # Literal["a", "b"] is a string, as a str with an enum is
            schema["type"] = kinds[0] if len(kinds) == 1 else kinds
        return schema
    unique = list(dict.fromkeys(types))
    if unique:
        schema["type"] = unique[0] if len(unique) == 1 else unique
    return schema


def docstring_params(*objects: Any) -> dict[str, str]:
    """``:param name: text`` lines of the objects' docstrings, first sentence of each."""
    docs: dict[str, str] = {}
    for obj in objects:
        text = inspect.getdoc(obj) or ""
        for match in re.finditer(r":param\s+(\w+):\s*(.*?)(?=\n\s*:\w|\n\s*\n|\Z)", text, re.S):
            line = " ".join(match.group(2).split())
            docs.setdefault(match.group(1), line.split(". ")[0].rstrip("."))
    return docs


def signature_problems(func: Callable[..., Any], what: str, skip: tuple[str, ...] = ("self",),
                       need_defaults: bool = True) -> list[str]:
    """Contract violations of a parameter signature: ``*args``/``**kwargs``, missing defaults."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return [f"{what} has no inspectable signature"]
    problems = []
    for name, p in signature.parameters.items():
        if name in skip:
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            problems.append(f"{what} takes {'*' if p.kind == p.VAR_POSITIONAL else '**'}{name}; "
                            f"list every parameter explicitly")
        elif p.kind == p.POSITIONAL_ONLY:
            problems.append(f"{what} parameter {name!r} is positional-only")
        elif need_defaults and p.default is EMPTY:
            problems.append(f"{what} parameter {name!r} has no default")
    return problems


def describe(func: Callable[..., Any], constraints: Mapping[str, Mapping[str, Any]] | None = None,
             skip: tuple[str, ...] = ("self",), doc_sources: tuple[Any, ...] = ()) -> dict[str, Param]:
    """The parameters of ``func`` (a class's ``__init__``, a loader, a split function)."""
    signature = inspect.signature(func)
    docs = docstring_params(*doc_sources, func)
    found = {}
    for name, p in signature.parameters.items():
        if name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        schema = annotation_schema(p.annotation)
        if not schema and p.default is not EMPTY and type(p.default) in _DEFAULT_TYPES:
            schema = {"type": _DEFAULT_TYPES[type(p.default)]}
        schema.update((constraints or {}).get(name, {}))
        found[name] = Param(name, p.default, schema, docs.get(name, ""))
    return found


def model_params(model_class: type) -> dict[str, Param]:
    init = vars(model_class).get("__init__") or next(
        (vars(base)["__init__"] for base in model_class.__mro__ if "__init__" in vars(base)), None)
    if init is None or init is object.__init__:
        return {}
    return describe(init, getattr(model_class, "constraints", {}),
                    doc_sources=(model_class,))


def object_schema(params: Mapping[str, Param], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A JSON Schema object accepting exactly these parameters (for validation and editors)."""
    properties = {name: p.json_schema() for name, p in params.items()}
    properties.update(extra or {})
    return {"type": "object", "additionalProperties": False, "properties": properties}


def task_params(task: Any) -> dict[str, Param]:
    """The options of a task (``TaskSpec.options``: name -> default) as parameters: the type
    from the default, constraints from ``TaskSpec.constraints`` (whose ``description`` is the
    doc)."""
    found = {}
    for name, default in task.options.items():
        kind = float if isinstance(default, float) else type(default)  # numpy.float64 too
        schema = {"type": _DEFAULT_TYPES[kind]} if kind in _DEFAULT_TYPES else {}
        schema.update(task.constraints.get(name, {}))
        doc = str(schema.pop("description", ""))
        found[name] = Param(name, default, schema, doc)
    return found
