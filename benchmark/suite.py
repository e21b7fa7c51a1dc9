"""Suites: parse a YAML file, then resolve it against the plugins into a frozen :class:`Suite`.

Three steps, each taking what the previous returned:

1. :func:`parse_suite` reads the file safely and checks it against the static schema
   (no plugin is loaded yet); it knows the suite's own plugin files.
2. the caller builds the registry from those files (:func:`benchmark.registry.build_registry`);
3. :func:`resolve_suite` checks every name, option and parameter against the plugins and
   returns a frozen :class:`Suite`.

Every problem is a :class:`~benchmark.errors.BenchError` naming file, line and key.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from benchmark._internal import resolve
from benchmark.api import Model, TaskSpec
from benchmark.errors import BenchError
from benchmark.params import Param, describe, model_params, object_schema, task_params
from benchmark.registry import Registry, build_registry, is_model_class_usable

MAX_CONFIGURATIONS = 10_000
"""Model configurations a suite may expand to (grids multiply); ``--max-configurations``
raises it."""
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
DEFAULT_SPLIT: Mapping[str, Any] = {"method": "kfold", "k": 5}
"""The split of a dataset without a canonical fold set when the suite names none."""

_NAMED = {"type": "string", "minLength": 1}
_PARAMS = {"type": "object", "description": "keyword arguments, checked against the plugin"}
_SIZE = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}],
         "description": "bytes, or a size such as '4 GB' or '500MB'"}
LIMITS_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "description": "Per-cell limits: a cell past them is stopped and recorded as failed.",
    "properties": {"timeout": {"type": "number", "exclusiveMinimum": 0, "description": "seconds"},
                   "memory": _SIZE},
}

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
        "name": {**_NAMED,
                 "description": "Suite name; also the default results directory (results/NAME)."},
        "description": {"type": "string"},
        "seed": {"type": "integer", "description": "Seed for splits and models (default 0)."},
        "seeds": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                  "uniqueItems": True, "description": "Several seeds: every cell runs once per seed."},
        "plugins": {"type": "array", "items": _NAMED,
                    "description": "Local plugin files (.py), relative to the suite file."},
        "data_dir": {"type": "string",
                     "description": "Local dataset copies, relative to the suite (else $BENCH_DATA_DIR)."},
        "split": SPLIT_SCHEMA,
        "limits": LIMITS_SCHEMA,
        "metrics": {"type": "array", "items": _NAMED, "minItems": 1, "uniqueItems": True,
                    "description": "Metric names; the first one of a dataset's task ranks it."},
        "datasets": {"type": "array", "minItems": 1, "items": {"oneOf": [_NAMED, {
            "type": "object", "required": ["name"],
            "description": "Other keys are options of the entry's task (e.g. ranking's threshold), "
                           "checked against the task when plugins are loaded.",
            "properties": {"name": _NAMED, "label": _NAMED, "options": _PARAMS, "split": SPLIT_SCHEMA,
                           "task": {**_NAMED, "description": "The task to run the dataset as (default: "
                                    "its own); a rating dataset also serves ranking."}},
        }]}},
        "models": {"type": "array", "minItems": 1, "items": {"oneOf": [_NAMED, {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {
                "name": _NAMED, "label": _NAMED, "params": _PARAMS,
                "grid": {"type": "object", "additionalProperties": {"type": "array", "minItems": 1},
                         "description": "Parameter lists; every combination is one configuration."},
                "datasets": {"type": "array", "items": _NAMED,
                             "description": "Only these dataset labels (default: all of the model's tasks)."},
                "limits": LIMITS_SCHEMA,
                "tune": {"type": "object",  # --- tuning: checked by benchmark.tuning.parse_tune
                         "description": "Search these parameters on an inner split of each outer "
                                        "training fold: space, objective, search, trials, split."},
            },
        }]}},
    },
}


# --- The resolved suite -------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Per-cell limits; ``None`` means no limit."""

    timeout: float | None = None
    memory: int | None = None  # bytes

    def merged(self, other: Limits) -> Limits:
        """``other``'s limits where set, else these."""
        return Limits(other.timeout if other.timeout is not None else self.timeout,
                      other.memory if other.memory is not None else self.memory)


@dataclass(frozen=True)
class SplitConfig:
    method: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class DatasetConfig:
    label: str
    name: str
    task: str  # the task its cells run (the dataset's own, or one its data serves)
    options: Mapping[str, Any]
    split: SplitConfig
    task_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # defaults filled in


@dataclass(frozen=True)
class ModelConfig:
    """One model configuration: the parameters the suite gives, for the datasets it runs on."""

    label: str
    name: str
    params: Mapping[str, Any]
    datasets: tuple[str, ...]  # dataset labels this configuration runs on
    limits: Limits = Limits()
    tune: Any = None  # --- tuning: a benchmark.tuning.Tuning when the suite tunes this model


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    text: str
    seeds: tuple[int, ...]
    datasets: tuple[DatasetConfig, ...]
    models: tuple[ModelConfig, ...]
    metrics: Mapping[str, tuple[str, ...]]  # task -> metric names, primary first
    plugins: tuple[str, ...] = ()  # local plugin files, absolute
    data_dir: str | None = None
    limits: Limits = Limits()


@dataclass(frozen=True)
class ParsedSuite:
    """A suite file checked against the static schema: step 1 of 3."""

    path: Path
    text: str
    data: Mapping[str, Any]
    at: Any  # key path -> "file:line: key"
    plugins: tuple[tuple[Path, str], ...]  # (file, where) of the suite's own plugin files


# --- YAML ---------------------------------------------------------------------------------


def _read(path: Path) -> tuple[str, Any, Any]:
    from benchmark.yamlsafe import read_suite_file

    loaded = read_suite_file(path)
    return loaded.text, loaded.data, loaded.where


# --- Schema validation ----------------------------------------------------------------------

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "null": "nothing",
               "integer": "an integer", "number": "a number", "boolean": "true or false"}


def _describe(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "nothing"}.get(type(value), "a value")
    if value is None:
        return kind
    shown = json.dumps(value, default=str)
    return kind if len(shown) > 40 else f"{kind} {shown}"


def _schema_message(error: Any) -> tuple[tuple, str]:
    """One readable sentence (and the key path it belongs to) for a jsonschema error."""
    path, value, schema = tuple(error.absolute_path), error.instance, error.schema
    if error.validator == "oneOf":
        if isinstance(value, dict):
            branch = next((s for s in error.validator_value if s.get("type") == "object"), None)
            sub = _first_error(value, branch) if branch else None
            if sub is not None:
                sub_path, message = sub
                return path + sub_path, message
        return path, f"expected a name or a mapping, got {_describe(value)}"
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        if extra:
            close = difflib.get_close_matches(str(extra[0]), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else \
                f"expected one of: {', '.join(allowed) or 'none'}"
            return path + (extra[0],), f"unknown key {extra[0]!r}; {hint}"
    if error.validator == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else expected
        default = f" (default {schema['default']!r})" if "default" in schema else ""
        return path, f"expected {' or '.join(_TYPE_NAMES[t] for t in expected)}{default}, got {_describe(value)}"
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
    if error.validator == "pattern" and path == ("name",):
        return path, (f"expected a name of letters, digits, '.', '_' and '-' (it names the results "
                      f"directory), got {_describe(value)}")
    if error.validator == "uniqueItems":
        return path, "expected every entry once"
    return path, error.message


def _first_error(instance: Any, schema: dict) -> tuple[tuple, str] | None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.absolute_path), str(e.path)))
    return _schema_message(errors[0]) if errors else None


def _check(instance: Any, schema: dict, at: Any, *prefix: Any) -> None:
    found = _first_error(instance, schema)
    if found is not None:
        path, message = found
        raise BenchError(message, at(*prefix, *path))


def parse_size(value: Any, where: str) -> int:
    """Bytes from an integer or a text such as ``"4 GB"``, ``"500MB"``, ``"2GiB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?B)?\s*", str(value), re.I)
    if not match or float(match.group(1)) <= 0:
        raise BenchError(f"expected a size such as '4 GB' or '500MB', got {_describe(value)}", where)
    power = " KMGT".index(match.group(2).upper() or " ")
    return int(float(match.group(1)) * 1024 ** power)


def _limits(data: Mapping[str, Any] | None, at: Any, *path: Any) -> Limits:
    if not data:
        return Limits()
    memory = parse_size(data["memory"], at(*path, "memory")) if "memory" in data else None
    return Limits(data.get("timeout"), memory)


# --- Step 1: parse --------------------------------------------------------------------------


def parse_suite(path: str | Path) -> ParsedSuite:
    """Read the file and check it against the static schema; nothing is imported or written."""
    path = Path(path)
    text, data, at = _read(path)
    if not isinstance(data, dict):
        raise BenchError(f"expected a mapping of suite keys, got {_describe(data)}", at())
    _check(data, SUITE_SCHEMA, at)
    if "seed" in data and "seeds" in data:
        raise BenchError("give either 'seed' or 'seeds', not both", at("seeds"))
    from benchmark.limits import check_seed, results_dir_name  # issue 19 item 11, issue 17 item 8

    results_dir_name(data["name"], at("name"))
    if "seed" in data:
        check_seed(data["seed"], at("seed"))
    for i, seed in enumerate(data.get("seeds") or []):
        check_seed(seed, at("seeds", i))
    plugins = tuple((path.parent / p, at("plugins", i)) for i, p in enumerate(data.get("plugins", [])))
    return ParsedSuite(path, text, data, at, plugins)


# --- Step 3: resolve ------------------------------------------------------------------------


def _check_params(given: Mapping[str, Any], params: Mapping[str, Param], at: Any, *path: Any,
                  what: str) -> None:
    """Names, types and declared constraints of ``given``, with the closest valid name."""
    for key in given:
        if key not in params:
            close = difflib.get_close_matches(str(key), params, n=1)
            hint = f"did you mean {close[0]!r}?" if close else \
                f"expected one of: {', '.join(params) or 'none'}"
            raise BenchError(f"unknown {what} {key!r}; {hint}", at(*path, key))
    _check(dict(given), object_schema(params), at, *path)


def _beside_suite(base: Path, value: Any) -> Any:
    """A relative path that exists beside the suite file, made absolute; else unchanged
    (the loader then looks in the current directory and ``data_dir``)."""
    if isinstance(value, str) and not Path(value).is_absolute() and (base / value).exists():
        return str((base / value).resolve())
    return value


def _label(name: str, params: Mapping[str, Any]) -> str:
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={params[k]}' for k in sorted(params))})"


def model_class(spec: Any, task: str) -> type[Model]:
    """The model class of ``spec`` for ``task`` (lazy references imported)."""
    return cast(type[Model], resolve(spec.classes[task]))


def dataset_params(spec: Any) -> dict[str, Param]:
    return describe(resolve(spec.loader), spec.constraints, skip=())


def split_params(spec: Any) -> dict[str, Param]:
    params = describe(resolve(spec.func), spec.params, skip=("data",))
    for name, schema in spec.params.items():  # constraints of parameters the signature hides
        params.setdefault(name, Param(name, schema=schema))
    return params


def _resolve_split(split_data: Mapping[str, Any], split_at: tuple, task: str, dataset: str,
                   registry: Registry, at: Any) -> SplitConfig:
    entry = registry.get("split", split_data["method"], at(*split_at, "method"))
    params = {k: v for k, v in split_data.items() if k != "method"}
    described = split_params(entry.spec)
    _check_params(params, described, at, *split_at, what="split parameter")
    missing = [name for name in entry.spec.required if name not in params]
    if missing:
        raise BenchError(f"missing required key {missing[0]!r}", at(*split_at))
    if not registry.split_accepts(entry.spec, task):
        allowed = registry.task(task).splits
        why = f"task {task!r} accepts the splits {', '.join(allowed)}" if allowed is not None and \
            entry.name not in allowed else f"split {entry.name!r} is for {', '.join(entry.spec.tasks)} data"
        raise BenchError(f"{why}; dataset {dataset!r} is {task!r}", at(*split_at, "method"))
    return SplitConfig(entry.name, params)


ENTRY_KEYS = ("name", "label", "options", "split", "task")


def _task_of_entry(entry: Mapping[str, Any], spec: Any, registry: Registry, at: Any, i: int
                   ) -> tuple[TaskSpec, dict[str, Any]]:
    """The task a dataset entry runs as, and its task options (checked against the task)."""
    task_name = entry.get("task", spec.task)
    where = at("datasets", i, "task") if "task" in entry else at("datasets", i, "name")
    task = registry.task(task_name, where)
    serves = registry.serving(spec.task)
    if task.name not in serves:
        raise BenchError(f"dataset {entry['name']!r} holds {spec.task!r} data, which task "
                         f"{task.name!r} does not run on; it serves {', '.join(serves) or 'no task'}",
                         where)
    given = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
    params = task_params(task)
    for key in given:
        if key not in params:
            allowed = [*ENTRY_KEYS, *params]
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(allowed)}"
            raise BenchError(f"unknown key {key!r}; {hint}", at("datasets", i, key))
    _check(given, object_schema(params), at, "datasets", i)
    return task, {**task.options, **given}  # defaults filled: they identify the experiment too


def _datasets(parsed: ParsedSuite, registry: Registry) -> list[DatasetConfig]:
    data, at, base = parsed.data, parsed.at, parsed.path.parent
    datasets: list[DatasetConfig] = []
    labels: set[str] = set()
    for i, entry in enumerate(data["datasets"]):
        entry = {"name": entry} if isinstance(entry, str) else entry
        spec = registry.get("dataset", entry["name"], at("datasets", i, "name")).spec
        options = entry.get("options", {})
        _check_params(options, dataset_params(spec), at, "datasets", i, "options", what="option")
        options = {key: _beside_suite(base, value) if key in spec.path_options else value
                   for key, value in options.items()}
        task, task_options = _task_of_entry(entry, spec, registry, at, i)
        split_at: tuple[Any, ...]
        if "split" in entry:
            split_data, split_at = entry["split"], ("datasets", i, "split")
        elif "split" in data:
            split_data, split_at = data["split"], ("split",)
        else:  # the documented default: the task's, else the dataset's canonical folds, else 5-fold
            default = task.default_split or spec.default_split or DEFAULT_SPLIT
            split_data, split_at = dict(default), ("datasets", i)
        split = _resolve_split(split_data, split_at, task.name, entry["name"], registry, at)
        label = entry.get("label", entry["name"])
        if label in labels:
            raise BenchError(f"dataset label {label!r} is used twice; give each entry a 'label'",
                             at("datasets", i))
        labels.add(label)
        name = registry.get("dataset", entry["name"]).name
        datasets.append(DatasetConfig(label, name, task.name, options, split, task_options))
    return datasets


def _default_metrics(registry: Registry, tasks: set[str]) -> list[str]:
    """Each task's ``default_metrics`` (primary first), else all its metrics in plugin order
    (rmse before mae, mse before bce)."""
    names: list[str] = []
    every = [n for n, e in registry.entries.get("metric", {}).items() if not e.unusable]
    for task in sorted(tasks):
        spec = registry.task(task)
        chosen = [n for n in spec.default_metrics if n in every] if spec.default_metrics else \
            [n for n in every if registry.get("metric", n).spec.task == task]
        names += [n for n in chosen if n not in names]
    return names


def _metrics(parsed: ParsedSuite, registry: Registry, tasks: set[str]) -> dict[str, tuple[str, ...]]:
    data, at = parsed.data, parsed.at
    metrics: dict[str, list[str]] = {}
    requested = data.get("metrics") or _default_metrics(registry, tasks)
    for i, name in enumerate(requested):
        entry = registry.get("metric", name, at("metrics", i))
        spec = entry.spec
        if "metrics" in data and spec.task not in tasks:
            raise BenchError(f"metric {name!r} is for the {spec.task!r} task, "
                             f"and no dataset in this suite is", at("metrics", i))
        metrics.setdefault(spec.task, []).append(entry.name)
    for task in tasks:
        if not metrics.get(task):
            raise BenchError(f"no metric for the {task!r} task of this suite's datasets",
                             at("metrics") if "metrics" in data else at())
    return {t: tuple(m) for t, m in metrics.items() if m}


def _models(parsed: ParsedSuite, registry: Registry, datasets: Sequence[DatasetConfig],
            max_configurations: int) -> list[ModelConfig]:
    data, at = parsed.data, parsed.at
    labels = {d.label: d for d in datasets}
    entries: list[dict[str, Any]] = [{"name": e} if isinstance(e, str) else e for e in data["models"]]
    total = 0
    for i, entry in enumerate(entries):  # count before expanding anything
        count = math.prod(len(values) for values in entry.get("grid", {}).values())
        total += count
        if total > max_configurations:
            raise BenchError(f"the models expand to {total:,} configurations or more (this grid "
                             f"alone: {count:,}), above the limit of {max_configurations:,}; "
                             f"shrink the grid or raise --max-configurations", at("models", i))
    models: list[ModelConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        model = registry.get("model", entry["name"], at("models", i, "name"))
        spec = model.spec  # model.name is the name cells use: plain, or qualified (dist:name)
        chosen = entry.get("datasets", list(labels))
        for j, label in enumerate(chosen):
            if label not in labels:
                close = difflib.get_close_matches(label, labels, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(labels)}"
                raise BenchError(f"no dataset labelled {label!r} in this suite; {hint}",
                                 at("models", i, "datasets", j))
            if "datasets" in entry and labels[label].task not in spec.tasks:
                raise BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}, but dataset "
                                 f"{label!r} is a {labels[label].task!r} dataset",
                                 at("models", i, "datasets", j))
        runnable = tuple(label for label in chosen if labels[label].task in spec.tasks)
        if not runnable:
            have = ", ".join(f"{d.label} ({d.task})" for d in datasets)
            raise BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}; no dataset in this "
                             f"suite has that task (datasets: {have})", at("models", i, "name"))
        params_by_name: dict[str, Param] = {}
        for task in dict.fromkeys(labels[label].task for label in runnable):
            reason = is_model_class_usable(model, task, registry)
            if reason:
                raise BenchError(f"model {spec.name!r} is unusable: {reason}", at("models", i, "name"))
            params_by_name.update(model_params(model_class(spec, task)))
        params: dict[str, Any] = entry.get("params", {})
        grid: dict[str, list[Any]] = entry.get("grid", {})
        _check_params(params, params_by_name, at, "models", i, "params", what="parameter")
        for key, values in grid.items():
            if key in params:
                raise BenchError(f"{key!r} is in both params and grid", at("models", i, "grid", key))
            for value in values:
                _check_params({key: value}, params_by_name, at, "models", i, "grid", what="parameter")
        limits = _limits(entry.get("limits"), at, "models", i, "limits")
        tune = None  # --- tuning (benchmark/tuning.py): the model's `tune:` block
        if "tune" in entry:
            from benchmark.tuning import parse_tune
            tune = parse_tune(entry, params_by_name, registry, [labels[d] for d in runnable], at, ("models", i))
        names = list(grid)
        for combination in _product([grid[n] for n in names]):
            combo = dict(zip(names, combination))
            resolved = {**params, **combo}
            label = entry.get("label", entry["name"])
            label = _label(label, combo if "label" in entry else resolved)
            label += " tuned" if tune is not None and "label" not in entry else ""  # --- tuning
            if label in seen:
                raise BenchError(f"model configuration {label!r} appears twice; give it a 'label'",
                                 at("models", i))
            seen.add(label)
            models.append(ModelConfig(label, model.name, resolved, runnable, limits, tune))
    return models


def _product(lists: list[list[Any]]) -> list[tuple[Any, ...]]:
    combos: list[tuple[Any, ...]] = [()]
    for values in lists:
        combos = [combo + (value,) for combo in combos for value in values]
    return combos


def resolve_suite(parsed: ParsedSuite, registry: Registry, data_dir: str | Path | None = None,
                  extra_plugins: Sequence[str | Path] = (),
                  max_configurations: int = MAX_CONFIGURATIONS) -> Suite:
    """Check every name, option and parameter against the plugins; return the frozen suite.

    ``data_dir`` (the command line's) overrides the suite's; ``extra_plugins`` are the
    command line's plugin files, recorded so that workers load them too.
    """
    data, at = parsed.data, parsed.at
    datasets = _datasets(parsed, registry)
    metrics = _metrics(parsed, registry, {d.task for d in datasets})
    models = _models(parsed, registry, datasets, max_configurations)
    if data_dir is None and "data_dir" in data:
        data_dir = (parsed.path.parent / data["data_dir"]).resolve()
    plugins = [str(Path(p).resolve()) for p, _ in parsed.plugins]
    plugins += [str(Path(p).resolve()) for p in extra_plugins]
    seeds = tuple(data.get("seeds") or [data.get("seed", 0)])
    return Suite(data["name"], parsed.path, parsed.text, seeds, tuple(datasets), tuple(models),
                 metrics, tuple(dict.fromkeys(plugins)), str(Path(data_dir).resolve()) if data_dir else None,
                 _limits(data.get("limits"), at, "limits"))


def load_suite(path: str | Path, plugins: Sequence[str | Path] = (), data_dir: str | Path | None = None,
               max_configurations: int = MAX_CONFIGURATIONS) -> tuple[Suite, Registry]:
    """Parse, build the registry (installed plugins, the suite's files, ``plugins``), resolve."""
    parsed = parse_suite(path)
    registry = build_registry(list(parsed.plugins) + [(p, f"-p {p}") for p in plugins])
    return resolve_suite(parsed, registry, data_dir, plugins, max_configurations), registry


def _params_schema(params: Mapping[str, Param]) -> dict[str, Any]:
    schema = object_schema(params)
    grid = {"type": "object", "additionalProperties": False, "properties": {
        name: {"type": "array", "minItems": 1, "items": p.json_schema()} for name, p in params.items()}}
    return {"properties": {"params": schema, "grid": grid}}


def model_parameters(registry: Registry, name: str) -> dict[str, Param]:
    """Every parameter of a model, over the classes of all its tasks (imports lazy classes)."""
    entry = registry.get("model", name)
    found: dict[str, Param] = {}
    for task in entry.spec.tasks:
        if not is_model_class_usable(entry, task, registry):
            found.update(model_params(model_class(entry.spec, task)))
    return found


def suite_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The JSON Schema of the suite format; with a registry, the installed plugins' names and
    every model's, dataset's and split's parameters (types, defaults, constraints, docs)."""
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
    dataset_object = next(b for b in props["datasets"]["items"]["oneOf"] if b.get("type") == "object")
    dataset_object["properties"]["task"]["enum"] = registry.names("task")
    task_conditions = [
        {"if": {"properties": {"task": {"const": name}}, "required": ["task"]},
         "then": {"properties": object_schema(task_params(spec))["properties"]}}
        for name, spec in registry.tasks().items() if spec.options]
    dataset_object["x-tasks"] = {name: {"summary": spec.summary, "data": [k.__name__ for k in spec.data_types],
                                        "options": object_schema(task_params(spec))["properties"],
                                        "primary_metric": spec.primary}
                                 for name, spec in registry.tasks().items()}
    model_branch = next(b for b in props["models"]["items"]["oneOf"] if b.get("type") == "object")
    conditions = []
    for name in registry.names("model"):
        try:
            params = model_parameters(registry, name)
        except BenchError:
            continue
        conditions.append({"if": {"properties": {"name": {"const": name}}},
                           "then": _params_schema(params)})
    model_branch["allOf"] = conditions
    dataset_branch = next(b for b in props["datasets"]["items"]["oneOf"] if b.get("type") == "object")
    dataset_branch["allOf"] = [
        {"if": {"properties": {"name": {"const": entry.name}}},
         "then": {"properties": {"options": object_schema(dataset_params(entry.spec))}}}
        for entry in registry.all() if entry.kind == "dataset" and not entry.unusable] + task_conditions
    variants = []
    for entry in registry.entries.get("split", {}).values():
        if entry.unusable:
            continue
        variant = object_schema(split_params(entry.spec),
                                {"method": {"const": entry.name}, "seed": {"type": "integer"}})
        variant["required"] = ["method", *entry.spec.required]
        variant["description"] = entry.spec.summary
        variants.append(variant)
    split = {"oneOf": variants, "description": SPLIT_SCHEMA["description"]}
    props["split"] = split
    for branch in props["datasets"]["items"]["oneOf"]:
        if branch.get("type") == "object":
            branch["properties"]["split"] = split
    return schema
