"""The suite format as JSON Schema: the static part every suite is checked against before any
plugin loads (:data:`SUITE_SCHEMA`), and the full schema ``bench schema`` prints
(:func:`suite_schema`), with the installed plugins' names and every parameter of every model,
dataset and split (types, defaults, constraints, docs) for editors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from benchmark.errors import BenchError
from benchmark.params import Param, model_params, object_schema, task_params
from benchmark.registry import Registry, is_model_class_usable
from benchmark.suite.resolving import dataset_params, split_params

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
        "environments": {"type": "object",  # checked by benchmark.environments.parse_environments
                         "description": "Named Python environments for models whose libraries clash "
                                        "with bench's: {name: {requirements: [pip requirements], "
                                        "python: '3.11'}}; a model line names one with env."},
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
                "env": {**_NAMED, "description": "Run this model's cells in the suite's environment of "
                                                "this name (its workers use that interpreter)."},
                "tune": {"type": "object",  # checked by benchmark.suite.tune.parse_tune
                         "description": "Search these parameters on an inner split of each outer "
                                        "training fold: space, objective, search, trials, split."},
            },
        }]}},
    },
}

MODEL_KEYS: Mapping[str, Any] = next(branch for branch in SUITE_SCHEMA["properties"]["models"]["items"]["oneOf"]
                                     if branch.get("type") == "object")["properties"]
"""The keys of a model entry."""


def model_parameters(registry: Registry, name: str) -> dict[str, Param]:
    """Every parameter of a model, over the classes of all its tasks (imports lazy classes)."""
    entry = registry.get("model", name)
    found: dict[str, Param] = {}
    for task in entry.spec.tasks:
        if not is_model_class_usable(entry, task, registry):
            found.update(model_params(entry.model_class(task)))
    return found


def _params_schema(params: Mapping[str, Param]) -> dict[str, Any]:
    schema = object_schema(params)
    grid = {"type": "object", "additionalProperties": False, "properties": {
        name: {"type": "array", "minItems": 1, "items": p.json_schema()} for name, p in params.items()}}
    return {"properties": {"params": schema, "grid": grid}}


def _object_branch(prop: Mapping[str, Any]) -> dict[str, Any]:
    return next(b for b in prop["items"]["oneOf"] if b.get("type") == "object")


def _dataset_schema(registry: Registry, props: dict[str, Any]) -> None:
    """The dataset entry's ``task`` names and options, and each dataset's options."""
    dataset_object = _object_branch(props["datasets"])
    dataset_object["properties"]["task"]["enum"] = registry.names("task")
    task_conditions = [
        {"if": {"properties": {"task": {"const": name}}, "required": ["task"]},
         "then": {"properties": object_schema(task_params(spec))["properties"]}}
        for name, spec in registry.tasks().items() if spec.options]
    dataset_object["x-tasks"] = {name: {"summary": spec.summary, "data": [k.__name__ for k in spec.data_types],
                                        "options": object_schema(task_params(spec))["properties"],
                                        "primary_metric": spec.primary}
                                 for name, spec in registry.tasks().items()}
    dataset_object["allOf"] = [
        {"if": {"properties": {"name": {"const": entry.name}}},
         "then": {"properties": {"options": object_schema(dataset_params(entry))}}}
        for entry in registry.all() if entry.kind == "dataset" and not entry.unusable] + task_conditions


def _model_schema(registry: Registry, props: dict[str, Any]) -> None:
    """Each model's ``params`` and ``grid``."""
    conditions = []
    for name in registry.names("model"):
        try:
            params = model_parameters(registry, name)
        except BenchError:
            continue
        conditions.append({"if": {"properties": {"name": {"const": name}}},
                           "then": _params_schema(params)})
    _object_branch(props["models"])["allOf"] = conditions


def _split_schema(registry: Registry, props: dict[str, Any]) -> None:
    """One variant per split plugin, for the suite's ``split`` and a dataset entry's."""
    variants = []
    for entry in registry.entries.get("split", {}).values():
        if entry.unusable:
            continue
        variant = object_schema(split_params(entry),
                                {"method": {"const": entry.name}, "seed": {"type": "integer"}})
        variant["required"] = ["method", *entry.spec.required]
        variant["description"] = entry.spec.summary
        variants.append(variant)
    split = {"oneOf": variants, "description": SPLIT_SCHEMA["description"]}
    props["split"] = split
    _object_branch(props["datasets"])["properties"]["split"] = split


def suite_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The JSON Schema of the suite format; with a registry, the installed plugins' names and
    every model's, dataset's and split's parameters (types, defaults, constraints, docs)."""
    schema: dict[str, Any] = json.loads(json.dumps(SUITE_SCHEMA))
    if registry is None:
        return schema
    props = schema["properties"]
    for key, kind in (("datasets", "dataset"), ("models", "model")):
        names = registry.names(kind)
        for branch in props[key]["items"]["oneOf"]:
            target = branch if branch.get("type") == "string" else branch["properties"]["name"]
            target["enum"] = names
    props["metrics"]["items"] = {"enum": registry.names("metric")}
    _dataset_schema(registry, props)
    _model_schema(registry, props)
    _split_schema(registry, props)
    return schema
