"""Suites: parse a YAML file, then resolve it against the plugins into a frozen :class:`Suite`.

:func:`check_suite` (and :func:`load_suite`, which raises what it finds) takes three steps,
each taking what the previous returned:

1. :func:`read_suite` reads the file safely and checks it against the static schema
   (no plugin is loaded yet); it knows the suite's own plugin files.
2. the registry is built from those files and the command line's
   (:func:`benchmark.registry.build_registry`);
3. every name, option and parameter is checked against the plugins, giving a frozen
   :class:`Suite`.

Every problem is a :class:`~benchmark.errors.BenchError` naming file, line and key, and all of
a suite's problems are reported at once (:class:`~benchmark.errors.BenchErrors`, in file order):
each step goes on past a problem, leaving out only the entry it is in -- a dataset entry with a
wrong option, a model with an unknown name -- so that what depends on it does not fail too
(:class:`Found`). :func:`check_suite` also warns about models whose library is missing.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from benchmark._internal import resolve
from benchmark.api import Model, TaskSpec
from benchmark.errors import BenchError, BenchErrors, did_you_mean, raise_all
from benchmark.params import Param, describe, model_params, object_schema, task_params
from benchmark.registry import ENTRY_KEYS, Registry, build_registry, is_model_class_usable

_T = TypeVar("_T")

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
    """A suite file checked against the static schema: step 1 of 3.

    ``errors`` are the problems found so far; ``invalid`` the key paths they are at, so that
    resolving leaves those parts out (:meth:`broken`) instead of tripping over them.
    """

    path: Path
    text: str
    data: Mapping[str, Any]
    at: Any  # key path -> "file:line: key"
    plugins: tuple[tuple[Path, str], ...]  # (file, where) of the suite's own plugin files
    errors: tuple[BenchError, ...] = ()
    invalid: frozenset[tuple[Any, ...]] = frozenset()

    def broken(self, *path: Any) -> bool:
        """Whether the schema found a problem at ``path`` or inside it."""
        return any(key[:len(path)] == path for key in self.invalid)


# --- YAML ---------------------------------------------------------------------------------


def _read(path: Path) -> tuple[str, Any, Any]:
    from benchmark.yamlsafe import read_suite_file

    loaded = read_suite_file(path)
    return loaded.text, loaded.data, loaded.where


# --- Collecting problems ------------------------------------------------------------------


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

    def entry(self) -> _Entry:
        return _Entry(self)

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


class _Entry:
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


def _unknown_key(key: Any, allowed: Sequence[str], what: str = "key") -> str:
    hint = did_you_mean(str(key), allowed) or f"expected one of: {', '.join(allowed) or 'none'}"
    return f"unknown {what} {key!r}; {hint}"


def _schema_messages(error: Any) -> list[tuple[tuple, str]]:
    """Readable sentences (each with the key path it belongs to) for one jsonschema error."""
    path, value, schema = tuple(error.absolute_path), error.instance, error.schema
    if error.validator == "oneOf":
        if isinstance(value, dict):
            branch = next((s for s in error.validator_value if s.get("type") == "object"), None)
            inner = _schema_errors(value, branch) if branch else []
            if inner:
                return [(path + sub_path, message) for sub_path, message in inner]
        return [(path, f"expected a name or a mapping, got {_describe(value)}")]
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        if extra:  # one line per unknown key, on its own line of the file
            return [(path + (key,), _unknown_key(key, allowed)) for key in extra]
    if error.validator == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else expected
        default = f" (default {schema['default']!r})" if "default" in schema else ""
        return [(path, f"expected {' or '.join(_TYPE_NAMES[t] for t in expected)}{default}, "
                       f"got {_describe(value)}")]
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in value]
        if schema.get("additionalProperties") is False:  # 'nmae:' is reported; 'name' missing follows
            extra = [str(k) for k in value if k not in schema.get("properties", {})]
            missing = [k for k in missing if not difflib.get_close_matches(k, extra, n=1)]
        if not missing:
            return []
        keys = " and ".join(repr(k) for k in missing)
        return [(path, f"missing required key{'s' if len(missing) > 1 else ''} {keys}")]
    if error.validator in ("exclusiveMinimum", "exclusiveMaximum", "minimum", "maximum"):
        sign = {"exclusiveMinimum": ">", "exclusiveMaximum": "<", "minimum": ">=", "maximum": "<="}
        bounds = [f"{sign[k]} {schema[k]}" for k in sign if k in schema]
        return [(path, f"expected a number {' and '.join(bounds)}, got {value}")]
    if error.validator == "minItems":
        count = error.validator_value
        return [(path, f"expected at least {count} entr{'y' if count == 1 else 'ies'}")]
    if error.validator == "maxItems":
        count = error.validator_value
        return [(path, f"expected at most {count} entr{'y' if count == 1 else 'ies'}, got {len(value)}")]
    if error.validator == "minLength":
        return [(path, "expected a non-empty string")]
    if error.validator == "enum":
        choices = [json.dumps(c) if not isinstance(c, str) else c for c in error.validator_value]
        hint = did_you_mean(value, [c for c in error.validator_value if isinstance(c, str)]) \
            if isinstance(value, str) else ""
        return [(path, f"expected one of: {', '.join(choices)}, got {_describe(value)}" + (f"; {hint}" if hint else ""))]
    if error.validator == "pattern" and path == ("name",):
        return [(path, f"expected a name of letters, digits, '.', '_' and '-' (it names the results "
                       f"directory), got {_describe(value)}")]
    if error.validator == "uniqueItems":
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


def _schema_errors(instance: Any, schema: dict) -> list[tuple[tuple, str]]:
    """Every problem of ``instance``: one per key path (the first jsonschema reports there)."""
    validator = _validator_class()(schema)
    found: dict[tuple, str] = {}
    for error in validator.iter_errors(instance):
        for path, message in _schema_messages(error):
            found.setdefault(path, message)
    return list(found.items())


def _schema_problems(instance: Any, schema: dict, at: Any, *prefix: Any) -> list[BenchError]:
    return [BenchError(message, at(*prefix, *path)) for path, message in _schema_errors(instance, schema)]


def _check(instance: Any, schema: dict, at: Any, *prefix: Any) -> None:
    raise_all(_schema_problems(instance, schema, at, *prefix))


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


def read_suite(path: str | Path) -> ParsedSuite:
    """Read the file and check it against the static schema, recording every problem in
    ``ParsedSuite.errors`` (raised only when the file cannot be read as a mapping at all)."""
    from benchmark.limits import check_seed, results_dir_name  # issue 19 item 11, issue 17 item 8

    path = Path(path)
    text, data, at = _read(path)
    if not isinstance(data, dict):
        raise BenchError(f"expected a mapping of suite keys, got {_describe(data)}", at())
    found = _schema_errors(data, SUITE_SCHEMA)
    errors = [BenchError(message, at(*key)) for key, message in found]
    invalid = frozenset(key for key, _ in found)
    checks: list[tuple[Callable[[Any, str], Any], Any, str]] = []
    if isinstance(data.get("name"), str) and ("name",) not in invalid:
        checks.append((results_dir_name, data["name"], at("name")))
    if "seed" in data and "seeds" in data:
        errors.append(BenchError("give either 'seed' or 'seeds', not both", at("seeds")))
    elif "seed" in data and ("seed",) not in invalid:
        checks.append((check_seed, data["seed"], at("seed")))
    if isinstance(data.get("seeds"), list) and ("seeds",) not in invalid:
        checks += [(check_seed, seed, at("seeds", i)) for i, seed in enumerate(data["seeds"])]
    for check, value, where in checks:
        try:
            check(value, where)
        except BenchError as exc:
            errors.append(exc)
    listed: list[Any] = data["plugins"] if isinstance(data.get("plugins"), list) else []
    plugins = tuple((path.parent / p, at("plugins", i)) for i, p in enumerate(listed)
                    if isinstance(p, str) and p)
    return ParsedSuite(path, text, data, at, plugins, tuple(errors), invalid)


# --- Step 3: resolve ------------------------------------------------------------------------


def _param_problems(given: Mapping[str, Any], params: Mapping[str, Param], at: Any, *path: Any,
                    what: str, also: Sequence[str] = ()) -> list[BenchError]:
    """Names, types and declared constraints of ``given``, with the closest valid name.

    ``also``: other names allowed beside the parameters (not checked here, but suggested)."""
    allowed = [*also, *params]
    errors = [BenchError(_unknown_key(key, allowed, what), at(*path, key))
              for key in given if key not in params and key not in also]
    known = {key: value for key, value in given.items() if key in params}
    return errors + _schema_problems(known, object_schema(params), at, *path)


def _check_params(given: Mapping[str, Any], params: Mapping[str, Param], at: Any, *path: Any,
                  what: str, also: Sequence[str] = ()) -> None:
    raise_all(_param_problems(given, params, at, *path, what=what, also=also))


SEED_PARAMETERS = ("seed", "random_state")
"""Model and split parameters that are seeds: checked with :func:`benchmark.limits.check_seed`
(``None`` means "the suite's seed" where a model accepts it)."""


def _with_seeds(problems: list[BenchError], given: Mapping[str, Any], at: Any, *path: Any
                ) -> list[BenchError]:
    """``problems`` and the seeds of ``given`` out of range (those without a problem already)."""
    places = {problem.where for problem in problems}
    return problems + [e for e in _seed_problems(given, at, *path) if e.where not in places]


def _seed_problems(given: Mapping[str, Any], at: Any, *path: Any) -> list[BenchError]:
    found = (_seed_problem(name, given.get(name), at(*path, name)) for name in SEED_PARAMETERS)
    return [problem for problem in found if problem is not None]


def _seed_problem(name: str, value: Any, where: str) -> BenchError | None:
    """Why ``value`` of the parameter ``name`` is no seed every library takes (``None`` when
    it is, or when ``name`` is not a seed)."""
    from benchmark.limits import check_seed  # issue 19 item 11: a seed that validates also runs

    if name not in SEED_PARAMETERS or value is None:
        return None
    try:
        check_seed(value, where)
    except BenchError as exc:
        return exc
    return None


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
    problems = _param_problems(params, described, at, *split_at, what="split parameter")
    missing = [name for name in entry.spec.required if name not in params]
    if missing:
        problems.append(BenchError(f"missing required key {missing[0]!r}", at(*split_at)))
    raise_all(_with_seeds(problems, {"seed": params.get("seed")}, at, *split_at))
    if not registry.split_accepts(entry.spec, task):
        allowed = registry.task(task).splits
        why = f"task {task!r} accepts the splits {', '.join(allowed)}" if allowed is not None and \
            entry.name not in allowed else f"split {entry.name!r} is for {', '.join(entry.spec.tasks)} data"
        raise BenchError(f"{why}; dataset {dataset!r} is {task!r}", at(*split_at, "method"))
    return SplitConfig(entry.name, params)


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
    _check_params(given, task_params(task), at, "datasets", i, what="key", also=ENTRY_KEYS)
    return task, {**task.options, **given}  # defaults filled: they identify the experiment too


@dataclass
class _Datasets:
    """The dataset entries that resolved, and whether every entry did (else checks that need
    all of them -- "no dataset has that task" -- are not made: the failed entry is reported)."""

    configs: list[DatasetConfig]
    complete: bool


def _datasets(parsed: ParsedSuite, registry: Registry, found: Found) -> _Datasets:
    data, at, base = parsed.data, parsed.at, parsed.path.parent
    if not isinstance(data.get("datasets"), list) or ("datasets",) in parsed.invalid:
        return _Datasets([], False)
    datasets: list[DatasetConfig] = []
    labels: set[str] = set()
    complete = True
    shared_split = "split" in data and not parsed.broken("split")
    for i, raw in enumerate(data["datasets"]):
        if parsed.broken("datasets", i):
            complete = False
            continue
        entry: dict[str, Any] = {"name": raw} if isinstance(raw, str) else raw
        check = found.entry()
        dataset = check.check(registry.get, "dataset", entry["name"], at("datasets", i, "name"))
        if dataset is None:
            complete = False
            continue
        spec = dataset.spec
        options = entry.get("options", {})
        check.check(_check_params, options, dataset_params(spec), at, "datasets", i, "options",
                    what="option")
        options = {key: _beside_suite(base, value) if key in spec.path_options else value
                   for key, value in options.items()}
        resolved = check.check(_task_of_entry, entry, spec, registry, at, i)
        split: SplitConfig | None = None
        if resolved is not None:
            task, task_options = resolved
            split_at: tuple[Any, ...]
            if "split" in entry:
                split_data, split_at = entry["split"], ("datasets", i, "split")
            elif "split" in data:
                split_data, split_at = data["split"], ("split",)
            else:  # the documented default: the task's, else the dataset's canonical folds, else 5-fold
                default = task.default_split or spec.default_split or DEFAULT_SPLIT
                split_data, split_at = dict(default), ("datasets", i)
            if split_at != ("split",) or shared_split:
                split = check.check(_resolve_split, split_data, split_at, task.name, entry["name"],
                                    registry, at)
        label = entry.get("label", entry["name"])
        if label in labels:
            check.add(BenchError(f"dataset label {label!r} is used twice; give each entry a 'label'",
                                 at("datasets", i)))
        labels.add(label)
        if check.failed or resolved is None or split is None:
            complete = False
            continue
        datasets.append(DatasetConfig(label, dataset.name, task.name, options, split, task_options))
    return _Datasets(datasets, complete)


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


def _metrics(parsed: ParsedSuite, registry: Registry, datasets: _Datasets,
             found: Found) -> dict[str, tuple[str, ...]]:
    data, at = parsed.data, parsed.at
    tasks = {d.task for d in datasets.configs}
    given = "metrics" in data
    if given and (not isinstance(data["metrics"], list) or ("metrics",) in parsed.invalid):
        return {}
    metrics: dict[str, list[str]] = {}
    requested = data["metrics"] if given else _default_metrics(registry, tasks)
    complete = datasets.complete
    for i, name in enumerate(requested):
        if parsed.broken("metrics", i):
            complete = False
            continue
        check = found.entry()
        entry = check.check(registry.get, "metric", name, at("metrics", i))
        if entry is None:
            complete = False
            continue
        spec = entry.spec
        if given and spec.task not in tasks:
            if datasets.complete:  # else the dataset of that task may be the one that failed
                check.add(BenchError(f"metric {name!r} is for the {spec.task!r} task, "
                                     f"and no dataset in this suite is", at("metrics", i)))
            continue
        metrics.setdefault(spec.task, []).append(entry.name)
    for task in sorted(tasks):
        if not metrics.get(task) and complete:
            found.add(BenchError(f"no metric for the {task!r} task of this suite's datasets",
                                 at("metrics") if given else at()))
    return {t: tuple(m) for t, m in metrics.items() if m}


def _missing_library(model: Any, where: str) -> str:
    """The warning for a model whose library is not installed: bench check says so, bench run
    records its cells as ``missing-dependency`` (the rest of the suite runs)."""
    missing = model.missing
    modules = [m for m, d in model.requires.items() if d in missing]
    return (f"{where}: {model.name} needs {', '.join(repr(m) for m in modules)}: pip install "
            f"{' '.join(missing)} — its cells will be recorded as missing-dependency")


_MODEL_KEYS = next(branch for branch in SUITE_SCHEMA["properties"]["models"]["items"]["oneOf"]
                   if branch.get("type") == "object")["properties"]


def _model_entries(parsed: ParsedSuite) -> list[tuple[int, dict[str, Any]]]:
    """``(index, entry)`` of the model entries to resolve: those whose name, parameters,
    grid, datasets and limits the schema found sound. An unknown key (``lable:``, reported)
    leaves the rest of its entry checked; a misspelt ``nmae:`` (reported) leaves no name."""
    entries = []
    for i, entry in enumerate(parsed.data["models"]):
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        if any(_breaks_model(key, i) for key in parsed.invalid):
            continue
        entries.append((i, entry))
    return entries


def _breaks_model(key: tuple[Any, ...], i: int) -> bool:
    """Whether a schema problem at ``key`` leaves model entry ``i`` unresolvable: one at the entry
    or at one of its keys -- not one inside its ``limits`` (a bad timeout leaves the memory and
    the rest of the entry checkable)."""
    if key[:2] != ("models", i):
        return False
    return len(key) == 2 or (key[2] in _MODEL_KEYS and not (key[2] == "limits" and len(key) > 3))


def _sound(parsed: ParsedSuite, value: Any, *path: Any) -> Any:
    """The mapping at ``path`` without the keys the schema found wrong; ``None`` when it is
    absent or wrong as a whole (its error is reported)."""
    if path in parsed.invalid or not isinstance(value, Mapping):
        return None
    return {key: item for key, item in value.items() if not parsed.broken(*path, key)}


def _models(parsed: ParsedSuite, registry: Registry, datasets: _Datasets, found: Found,
            max_configurations: int) -> list[ModelConfig]:
    data, at = parsed.data, parsed.at
    if not isinstance(data.get("models"), list) or ("models",) in parsed.invalid:
        return []
    labels = {d.label: d for d in datasets.configs}
    entries = _model_entries(parsed)
    total, expand = 0, True
    for i, entry in entries:  # count before expanding anything
        count = math.prod(len(values) for values in entry.get("grid", {}).values())
        total += count
        if total > max_configurations:
            found.add(BenchError(f"the models expand to {total:,} configurations or more (this grid "
                                 f"alone: {count:,}), above the limit of {max_configurations:,}; "
                                 f"shrink the grid or raise --max-configurations", at("models", i)))
            expand = False  # the names and parameters are still checked
            break
    models: list[ModelConfig] = []
    seen: set[str] = set()
    for i, entry in entries:
        check = found.entry()
        model = check.check(registry.get, "model", entry["name"], at("models", i, "name"))
        if model is None:
            continue
        spec = model.spec  # model.name is the name cells use: plain, or qualified (dist:name)
        chosen = entry.get("datasets", list(labels))
        for j, label in enumerate(chosen):
            if label not in labels:
                if datasets.complete:  # else it may label the entry that failed (reported)
                    check.add(BenchError(f"no dataset labelled {label!r} in this suite; "
                                         f"{_closest(label, labels)}", at("models", i, "datasets", j)))
            elif "datasets" in entry and labels[label].task not in spec.tasks:
                check.add(BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}, but dataset "
                                     f"{label!r} is a {labels[label].task!r} dataset",
                                     at("models", i, "datasets", j)))
        runnable = tuple(label for label in chosen if label in labels and labels[label].task in spec.tasks)
        if not runnable and datasets.complete and not check.failed:
            have = ", ".join(f"{d.label} ({d.task})" for d in datasets.configs)
            check.add(BenchError(f"model {spec.name!r} supports {', '.join(spec.tasks)}; no dataset in "
                                 f"this suite has that task (datasets: {have})", at("models", i, "name")))
        tasks = list(dict.fromkeys(labels[label].task for label in runnable)) or \
            ([] if datasets.complete else list(spec.tasks))
        if model.missing:
            found.warnings.append(_missing_library(model, at("models", i)))
        params_by_name: dict[str, Param] = {}
        inspected = False
        for task in tasks:
            reason = is_model_class_usable(model, task, registry)
            if reason:  # its parameters cannot be read, so its cells cannot be planned
                check.add(BenchError(f"model {spec.name!r} is unusable: {reason}", at("models", i, "name")))
                continue
            params_by_name.update(model_params(model_class(spec, task)))
            inspected = True
        params: dict[str, Any] = entry.get("params", {})
        grid: dict[str, list[Any]] = entry.get("grid", {})
        if inspected:
            _check_model_params(check, params, grid, params_by_name, at, i)
        limits = check.check(_limits, _sound(parsed, entry.get("limits"), "models", i, "limits"),
                             at, "models", i, "limits")
        tune = None  # --- tuning (benchmark/tuning.py): the model's `tune:` block
        if "tune" in entry and inspected:  # checked beside the entry's other problems
            from benchmark.tuning import parse_tune
            tune = check.check(parse_tune, entry, params_by_name, registry, [labels[d] for d in runnable],
                               at, ("models", i))
        if check.failed or not expand or limits is None:
            continue
        names = list(grid)
        for combination in _product([grid[n] for n in names]):
            combo = dict(zip(names, combination))
            resolved = {**params, **combo}
            label = entry.get("label", entry["name"])
            label = _label(label, combo if "label" in entry else resolved)
            label += " tuned" if tune is not None and "label" not in entry else ""  # --- tuning
            if label in seen:
                found.add(BenchError(f"model configuration {label!r} appears twice; give it a 'label'",
                                     at("models", i)))
                break
            seen.add(label)
            models.append(ModelConfig(label, model.name, resolved, runnable, limits, tune))
    return models


def _closest(name: str, known: Iterable[str]) -> str:
    known = list(known)
    return did_you_mean(name, known) or f"known: {', '.join(known)}"


def _check_model_params(check: _Entry, params: Mapping[str, Any], grid: Mapping[str, list[Any]],
                        params_by_name: Mapping[str, Param], at: Any, i: int) -> None:
    """A model entry's ``params`` and every value of its ``grid``: names, types, constraints,
    seeds; every problem recorded (a grid value by its index: ``grid.n_factors[1]``)."""
    problems = _with_seeds(_param_problems(params, params_by_name, at, "models", i, "params",
                                           what="parameter"), params, at, "models", i, "params")
    for key, values in grid.items():
        if key in params:
            problems.append(BenchError(f"{key!r} is in both params and grid", at("models", i, "grid", key)))
            continue
        if key not in params_by_name:
            problems.append(BenchError(_unknown_key(key, list(params_by_name), "parameter"),
                                       at("models", i, "grid", key)))
            continue
        wrong = dict(_schema_errors(values, {"type": "array", "items": params_by_name[key].json_schema()}))
        for j, value in enumerate(values):  # each value at its own place: grid.KEY[j]
            where = at("models", i, "grid", key, j)
            problem = BenchError(wrong[(j,)], where) if (j,) in wrong else _seed_problem(key, value, where)
            problems += [problem] if problem else []
    for problem in problems:
        check.add(problem)


def _product(lists: list[list[Any]]) -> list[tuple[Any, ...]]:
    combos: list[tuple[Any, ...]] = [()]
    for values in lists:
        combos = [combo + (value,) for combo in combos for value in values]
    return combos


def _resolve(parsed: ParsedSuite, registry: Registry, found: Found, data_dir: str | Path | None,
             extra_plugins: Sequence[str | Path], max_configurations: int) -> Suite | None:
    """Step 3: check every name, option and parameter against the plugins; the frozen suite,
    or ``None`` when ``found`` holds a problem (those of step 1 too: check_suite puts them there).

    ``data_dir`` (the command line's) overrides the suite's; ``extra_plugins`` are the
    command line's plugin files, recorded so that workers load them too."""
    data, at = parsed.data, parsed.at
    datasets = _datasets(parsed, registry, found)
    metrics = _metrics(parsed, registry, datasets, found)
    models = _models(parsed, registry, datasets, found, max_configurations)
    limits = found.entry().check(_limits, _sound(parsed, data.get("limits"), "limits"), at, "limits")
    data_dir = _data_dir(parsed, data_dir, found)
    if found.errors or limits is None:
        return None
    plugins = [str(Path(p).resolve()) for p, _ in parsed.plugins]
    plugins += [str(Path(p).resolve()) for p in extra_plugins]
    seeds = tuple(data.get("seeds") or [data.get("seed", 0)])
    return Suite(data["name"], parsed.path, parsed.text, seeds, tuple(datasets.configs), tuple(models),
                 metrics, tuple(dict.fromkeys(plugins)), str(Path(data_dir).resolve()) if data_dir else None,
                 limits)


def _data_dir(parsed: ParsedSuite, given: str | Path | None, found: Found) -> Path | None:
    """The data directory the cells get -- the command line's, else the suite's (relative to
    the suite file) -- checked to exist; else ``$BENCH_DATA_DIR``, checked too (the loaders
    read it themselves). A typo is one error here, not a download attempt or a silent fall-back
    to a bundled copy at run time."""
    from benchmark.limits import check_data_dir

    check = found.entry()
    if given:
        return check.check(check_data_dir, given, "--data-dir")
    if isinstance(parsed.data.get("data_dir"), str) and not parsed.broken("data_dir"):
        path = parsed.path.parent / Path(parsed.data["data_dir"]).expanduser()
        return check.check(check_data_dir, path.resolve(), parsed.at("data_dir"))
    if os.environ.get("BENCH_DATA_DIR"):
        check.check(check_data_dir, os.environ["BENCH_DATA_DIR"], "$BENCH_DATA_DIR")
    return None


@dataclass(frozen=True)
class SuiteCheck:
    """What validating a suite found: the suite and registry when it is valid, every error
    (in file order) and every warning (a model whose library is not installed)."""

    suite: Suite | None
    registry: Registry | None
    errors: tuple[BenchError, ...]
    warnings: tuple[str, ...]

    def raise_errors(self) -> None:
        raise_all(self.errors)


def check_suite(path: str | Path, plugins: Sequence[str | Path] = (), data_dir: str | Path | None = None,
                max_configurations: int = MAX_CONFIGURATIONS) -> SuiteCheck:
    """Parse, load the plugins, resolve -- going on past each problem to find them all.

    Only what stops every later step ends it early: a file that is not a YAML mapping, or a
    plugin file that cannot be loaded or whose hooks are broken (every such file is reported,
    with the schema problems).
    """
    parsed = read_suite(path)
    found = Found(parsed.errors)
    local = list(parsed.plugins) + [(p, f"-p {p}") for p in plugins]
    registry: Registry | None = None
    suite: Suite | None = None
    try:
        registry = build_registry(local)
    except BenchError as exc:  # one error per broken plugin file (all of them)
        found.add(exc)
    if registry is not None:
        suite = _resolve(parsed, registry, found, data_dir, plugins, max_configurations)
    return SuiteCheck(suite, registry, tuple(found.ordered(str(parsed.path))), tuple(found.warnings))


def load_suite(path: str | Path, plugins: Sequence[str | Path] = (), data_dir: str | Path | None = None,
               max_configurations: int = MAX_CONFIGURATIONS) -> tuple[Suite, Registry]:
    """Parse, build the registry (installed plugins, the suite's files, ``plugins``), resolve;
    every problem of the suite is raised at once (:class:`~benchmark.errors.BenchErrors`)."""
    checked = check_suite(path, plugins, data_dir, max_configurations)
    checked.raise_errors()
    assert checked.suite is not None and checked.registry is not None
    return checked.suite, checked.registry


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
