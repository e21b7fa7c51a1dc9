"""Suites: read a YAML file, validate all of it (with file:line in every error), plan its cells."""

from __future__ import annotations

import difflib
import inspect
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmark.api import TASKS, Model, resolve
from benchmark.errors import BenchError
from benchmark.registry import Registry

_NAMED = {"type": "string", "minLength": 1}
_PARAMS = {"type": "object", "description": "keyword arguments, checked against the plugin"}

SPLIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "How each dataset is split into folds; 'method' names a split plugin.",
    "properties": {"method": _NAMED},
    "required": ["method"],
}

SUITE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "bench suite",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "datasets", "models"],
    "properties": {
        "name": {**_NAMED, "description": "Suite name; also the default results directory."},
        "description": {"type": "string"},
        "seed": {"type": "integer", "description": "Seed for splits and models (default 0)."},
        "seeds": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                  "uniqueItems": True, "description": "Several seeds: every cell runs once per seed."},
        "plugins": {"type": "array", "items": _NAMED,
                    "description": "Local plugin files (.py), relative to the suite file."},
        "data_dir": {"type": "string",
                     "description": "Local dataset copies, relative to the suite (else $BENCH_DATA_DIR)."},
        "split": SPLIT_SCHEMA,
        "metrics": {"type": "array", "items": _NAMED, "minItems": 1, "uniqueItems": True,
                    "description": "Metric names; the first one of a dataset's task ranks it."},
        "datasets": {"type": "array", "minItems": 1, "items": {"oneOf": [_NAMED, {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": _NAMED, "label": _NAMED, "options": _PARAMS, "split": SPLIT_SCHEMA},
        }]}},
        "models": {"type": "array", "minItems": 1, "items": {"oneOf": [_NAMED, {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {
                "name": _NAMED, "label": _NAMED, "params": _PARAMS,
                "grid": {"type": "object", "additionalProperties": {"type": "array", "minItems": 1},
                         "description": "Parameter lists; every combination is one configuration."},
                "datasets": {"type": "array", "items": _NAMED,
                             "description": "Only these dataset labels (default: all of the model's tasks)."},
            },
        }]}},
    },
}


@dataclass(frozen=True)
class SplitConfig:
    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class DatasetConfig:
    label: str
    name: str
    task: str
    options: dict[str, Any]
    split: SplitConfig


@dataclass(frozen=True)
class ModelConfig:
    label: str
    name: str
    params: dict[str, Any]
    datasets: tuple[str, ...]  # dataset labels this configuration runs on


@dataclass
class Suite:
    name: str
    path: Path
    text: str
    seeds: list[int]
    datasets: list[DatasetConfig]
    models: list[ModelConfig]
    metrics: dict[str, list[str]]  # task -> metric names, primary first
    plugins: list[Path] = field(default_factory=list)
    data_dir: Path | None = None


# --- YAML with line numbers -----------------------------------------------------------------


def _line_map(node: yaml.Node, path: tuple = (), lines: dict | None = None) -> dict[tuple, int]:
    lines = {} if lines is None else lines
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = path + (key.value,)
            lines[child] = key.start_mark.line + 1
            _line_map(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _line_map(value, path + (index,), lines)
    return lines


class _Located:
    """Turns a key path into ``file:line: dotted.key`` for error messages."""

    def __init__(self, file: str, lines: dict[tuple, int]):
        self.file, self.lines = file, lines

    def __call__(self, *path: Any) -> str:
        probe = tuple(path)
        while probe not in self.lines and probe:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return f"{self.file}:{line}" + (f": {dotted}" if dotted else "")


def read_yaml(path: Path) -> tuple[str, Any, _Located]:
    """Read a suite file with ``yaml.safe_load`` semantics; keep each key's line."""
    if not path.is_file():
        raise BenchError("suite file not found", str(path))
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise BenchError(f"YAML syntax error: {exc.problem or exc.context}", f"{path}:{line}") from None
    lines = _line_map(node) if node is not None else {}
    return text, data, _Located(str(path), lines)


# --- Schema validation ----------------------------------------------------------------------

_PYTHON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}
_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string",
               "integer": "an integer", "number": "a number", "boolean": "true or false"}


def _describe(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "nothing"}.get(type(value), "a value")
    shown = json.dumps(value, default=str)
    return kind if len(shown) > 40 else f"{kind} {shown}"


def _schema_message(error: Any) -> tuple[tuple, str]:
    """One readable sentence (and the key path it belongs to) for a jsonschema error."""
    path, value, schema = tuple(error.absolute_path), error.instance, error.schema
    if error.validator == "oneOf":
        if isinstance(value, dict):
            branch = next(s for s in error.validator_value if s.get("type") == "object")
            sub = _first_error(value, branch)
            if sub is not None:
                sub_path, message = sub
                return path + sub_path, message
        return path, f"expected a name or a mapping, got {_describe(value)}"
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        if allowed and extra:
            close = difflib.get_close_matches(str(extra[0]), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(allowed)}"
            return path + (extra[0],), f"unknown key {extra[0]!r}; {hint}"
    if error.validator == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else expected
        return path, f"expected {' or '.join(_TYPE_NAMES[t] for t in expected)}, got {_describe(value)}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in value]
        return path, f"missing required key {missing[0]!r}"
    if error.validator in ("exclusiveMinimum", "exclusiveMaximum", "minimum", "maximum"):
        sign = {"exclusiveMinimum": ">", "exclusiveMaximum": "<", "minimum": ">=", "maximum": "<="}
        bounds = [f"{sign[k]} {schema[k]}" for k in sign if k in schema]
        return path, f"expected a number {' and '.join(bounds)}, got {value}"
    if error.validator == "minItems":
        return path, f"expected at least {error.validator_value} entr{'y' if error.validator_value == 1 else 'ies'}"
    if error.validator == "minLength":
        return path, "expected a non-empty string"
    if error.validator == "enum":
        return path, f"expected one of {error.validator_value}, got {_describe(value)}"
    return path, error.message


def _first_error(instance: Any, schema: dict) -> tuple[tuple, str] | None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.absolute_path), str(e.path)))
    return _schema_message(errors[0]) if errors else None


def _check(instance: Any, schema: dict, at: _Located, *prefix: Any) -> None:
    found = _first_error(instance, schema)
    if found is not None:
        path, message = found
        raise BenchError(message, at(*prefix, *path))


# --- Semantic checks ------------------------------------------------------------------------


def _split_schema(spec: Any) -> dict[str, Any]:
    properties = {"method": _NAMED, "seed": {"type": "integer"}, **spec.params}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": ["method", *spec.required]}


def _check_kwargs(given: dict[str, Any], defaults: dict[str, Any], at: _Located, *path: Any,
                  what: str) -> None:
    for key, value in given.items():
        if key not in defaults:
            close = difflib.get_close_matches(key, defaults, n=1)
            hint = f"did you mean {close[0]!r}?" if close else \
                f"expected one of: {', '.join(defaults) or 'none'}"
            raise BenchError(f"unknown {what} {key!r}; {hint}", at(*path, key))
        default = defaults[key]
        if default is None or default is inspect.Parameter.empty or value is None:
            continue
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if expected in _PYTHON_TYPES and type(value) is not expected:
            raise BenchError(f"expected {_TYPE_NAMES[_PYTHON_TYPES[expected]]} (default {default!r}), "
                             f"got {_describe(value)}", at(*path, key))


def _loader_options(loader: Any) -> dict[str, Any]:
    signature = inspect.signature(resolve(loader))
    return {n: p.default for n, p in signature.parameters.items()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _beside_suite(base: Path, value: Any) -> Any:
    """A relative path that exists beside the suite file, made absolute; else unchanged
    (the loader then looks in the current directory and ``data_dir``)."""
    if isinstance(value, str) and not Path(value).is_absolute() and (base / value).exists():
        return str((base / value).resolve())
    return value


def _label(name: str, params: dict[str, Any]) -> str:
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={params[k]}' for k in sorted(params))})"


def load_suite(path: str | Path, registry_factory: Any) -> tuple[Suite, Registry]:
    """Validate the whole suite before any work starts.

    ``registry_factory(local_plugins)`` builds the registry once the suite's own plugin files
    are known. Every problem is a :class:`BenchError` naming file, line and key.
    """
    path = Path(path)
    text, data, at = read_yaml(path)
    if not isinstance(data, dict):
        raise BenchError(f"expected a mapping of suite keys, got {_describe(data)}", at())
    _check(data, SUITE_SCHEMA, at)
    if "seed" in data and "seeds" in data:
        raise BenchError("give either 'seed' or 'seeds', not both", at("seeds"))
    base = path.parent
    plugins = [(base / p, at("plugins", i)) for i, p in enumerate(data.get("plugins", []))]
    registry = registry_factory(plugins)

    seeds = data.get("seeds") or [data.get("seed", 0)]
    data_dir = (base / data["data_dir"]).resolve() if "data_dir" in data else None

    datasets: list[DatasetConfig] = []
    for i, entry in enumerate(data["datasets"]):
        entry = {"name": entry} if isinstance(entry, str) else entry
        spec = registry.get("dataset", entry["name"], at("datasets", i, "name")).spec
        options = entry.get("options", {})
        accepted = _loader_options(spec.loader)
        _check_kwargs(options, accepted, at, "datasets", i, "options", what="option")
        options = {key: _beside_suite(base, value) if key in spec.path_options else value
                   for key, value in options.items()}
        split_data, split_at = (entry["split"], ("datasets", i, "split")) if "split" in entry else \
            (data.get("split"), ("split",))
        if split_data is None:
            raise BenchError("no split: give a top-level 'split' or one for this dataset",
                             at("datasets", i))
        split_spec = registry.get("split", split_data["method"], at(*split_at, "method")).spec
        _check(split_data, _split_schema(split_spec), at, *split_at)
        if spec.task not in split_spec.tasks:
            raise BenchError(f"split {split_spec.name!r} is for {', '.join(split_spec.tasks)} data; "
                             f"dataset {entry['name']!r} is {spec.task!r}", at(*split_at, "method"))
        params = {k: v for k, v in split_data.items() if k != "method"}
        label = entry.get("label", entry["name"])
        if any(d.label == label for d in datasets):
            raise BenchError(f"dataset label {label!r} is used twice; give each entry a 'label'",
                             at("datasets", i))
        datasets.append(DatasetConfig(label, spec.name, spec.task, options,
                                      SplitConfig(split_spec.name, params)))

    tasks = {d.task for d in datasets}
    metrics: dict[str, list[str]] = {task: [] for task in TASKS}
    requested = data.get("metrics") or list(registry.entries.get("metric", {}))  # plugin order
    for i, name in enumerate(requested):
        spec = registry.get("metric", name, at("metrics", i)).spec
        if "metrics" in data and spec.task not in tasks:
            raise BenchError(f"metric {name!r} is for the {spec.task!r} task, "
                             f"and no dataset in this suite is", at("metrics", i))
        metrics.setdefault(spec.task, []).append(name)
    for task in tasks:
        if not metrics.get(task):
            raise BenchError(f"no metric for the {task!r} task of this suite's datasets",
                             at("metrics") if "metrics" in data else at())

    models: list[ModelConfig] = []
    for i, entry in enumerate(data["models"]):
        entry = {"name": entry} if isinstance(entry, str) else entry
        spec = registry.get("model", entry["name"], at("models", i, "name")).spec
        labels = {d.label: d for d in datasets}
        chosen = entry.get("datasets", list(labels))
        for j, label in enumerate(chosen):
            if label not in labels:
                close = difflib.get_close_matches(label, labels, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(labels)}"
                raise BenchError(f"no dataset labelled {label!r} in this suite; {hint}",
                                 at("models", i, "datasets", j))
            if "datasets" in entry and labels[label].task not in spec.tasks:
                raise BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}, but dataset "
                                 f"{label!r} is a {labels[label].task!r} dataset", at("models", i, "datasets", j))
        runnable = tuple(l for l in chosen if labels[l].task in spec.tasks)
        if not runnable:
            have = ", ".join(f"{d.label} ({d.task})" for d in datasets)
            raise BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}; no dataset in this "
                             f"suite has that task (datasets: {have})", at("models", i, "name"))
        defaults: dict[str, Any] = {}
        for task in {labels[l].task for l in runnable}:
            model_class = resolve(spec.classes[task])
            if isinstance(model_class, type) and issubclass(model_class, Model):
                defaults.update(model_class.param_defaults())
        params = entry.get("params", {})
        grid = entry.get("grid", {})
        _check_kwargs(params, defaults, at, "models", i, "params", what="parameter")
        for key, values in grid.items():
            for value in values:
                _check_kwargs({key: value}, defaults, at, "models", i, "grid", what="parameter")
            if key in params:
                raise BenchError(f"{key!r} is in both params and grid", at("models", i, "grid", key))
        combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())] or [{}]
        for combo in combos:
            resolved = {**params, **combo}
            label = entry.get("label", spec.name)
            label = _label(label, combo if "label" in entry else resolved)
            if any(m.label == label for m in models):
                raise BenchError(f"model configuration {label!r} appears twice; give it a 'label'",
                                 at("models", i))
            models.append(ModelConfig(label, spec.name, resolved, runnable))

    suite = Suite(data["name"], path, text, list(seeds), datasets, models,
                  {t: m for t, m in metrics.items() if m}, [p for p, _ in plugins], data_dir)
    return suite, registry


def suite_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The JSON Schema of the suite format, with the installed plugins' names and split methods."""
    schema = json.loads(json.dumps(SUITE_SCHEMA))
    if registry is None:
        return schema
    props = schema["properties"]
    for key, kind in (("datasets", "dataset"), ("models", "model")):
        names = registry.names(kind)
        for branch in props[key]["items"]["oneOf"]:
            target = branch if branch.get("type") == "string" else branch["properties"]["name"]
            target["enum"] = names
    props["metrics"]["items"] = {"enum": registry.names("metric")}
    variants = []
    for entry in registry.entries.get("split", {}).values():
        variant = _split_schema(entry.spec)
        variant["properties"]["method"] = {"const": entry.name}
        variant["description"] = entry.spec.summary
        variants.append(variant)
    split = {"oneOf": variants, "description": SPLIT_SCHEMA["description"]}
    props["split"] = split
    for branch in props["datasets"]["items"]["oneOf"]:
        if branch.get("type") == "object":
            branch["properties"]["split"] = split
    return schema

