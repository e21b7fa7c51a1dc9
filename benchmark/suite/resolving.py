"""What a suite resolves to, and the decisions resolving makes once for every later step.

The frozen records (:class:`Suite`, :class:`DatasetConfig`, :class:`ModelConfig`,
:class:`SplitConfig`; :class:`~benchmark.events.Limits` is the engine's, re-exported) are what
the runner plans from. Three decisions live here and nowhere else:

* **the seed**: a suite seed drives the split (unless the split names its own ``seed``) and
  every model parameter named in :data:`SEED_PARAMS` that the suite leaves unset.
  :meth:`SplitConfig.call` makes that choice for the split, giving a :class:`SplitCall` whose
  :meth:`~SplitCall.stored` form is what a :class:`~benchmark.cells.Cell` carries
  (``split_params`` with its ``seed``) and whose :meth:`~SplitCall.arguments` are what the split
  function gets; :func:`SplitCall.of_cell` reads it back from a planned cell, the one place that
  does. :func:`model_arguments` makes it for the model;
* **the data directory**: :func:`benchmark.limits.choose_data_dir` (``--data-dir`` over the
  suite's ``data_dir:`` over ``$BENCH_DATA_DIR``), shared with ``bench data``;
* **a plugin's parameters**: :func:`dataset_params`, :func:`split_params` and the model
  classes come from the registry's entries, each lazy reference imported once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark._internal import json_safe
from benchmark.api import Model
from benchmark.errors import BenchError, raise_all
from benchmark.events import Limits as Limits  # the suite parses them; a task carries them
from benchmark.limits import check_seed
from benchmark.params import Param, describe
from benchmark.record import SEED_PARAMS as SEED_PARAMS  # the one constant of seed parameters
from benchmark.record import SPLIT_SEED as SPLIT_SEED  # the split's seed parameter, as a cell stores it
from benchmark.record import Cell
from benchmark.registry import Entry, Registry
from benchmark.suite.problems import KeyPath, Where, describe_value, param_problems

if TYPE_CHECKING:
    from benchmark.environments import EnvironmentSpec
    from benchmark.suite.tune import Tuning

MAX_CONFIGURATIONS = 10_000
"""Model configurations a suite may expand to (grids multiply); ``--max-configurations``
raises it."""
DEFAULT_SPLIT: Mapping[str, Any] = {"method": "kfold", "k": 5}
"""The split of a dataset without a canonical fold set when the suite names none."""


# --- Limits (benchmark.events.Limits: a task carries them, the suite parses them) ------------


def parse_size(value: Any, where: str) -> int:
    """Bytes from an integer or a text such as ``"4 GB"``, ``"500MB"``, ``"2GiB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?B)?\s*", str(value), re.I)
    if not match or float(match.group(1)) <= 0:
        raise BenchError(f"expected a size such as '4 GB' or '500MB', got {describe_value(value)}", where)
    power = " KMGT".index(match.group(2).upper() or " ")
    return int(float(match.group(1)) * 1024 ** power)


def parse_limits(data: Mapping[str, Any] | None, at: Where, *path: Any) -> Limits:
    """A ``limits:`` mapping (already checked against the schema) at ``path``."""
    if not data:
        return Limits()
    memory = parse_size(data["memory"], at(*path, "memory")) if "memory" in data else None
    return Limits(data.get("timeout"), memory)


# --- The split and its seed -----------------------------------------------------------------


@dataclass(frozen=True)
class SplitCall:
    """One call of a split function: its method, its parameters and the seed it gets.

    Made by :meth:`SplitConfig.call` (which decides the seed) or read back from a planned cell
    (:meth:`of_cell`); nothing else takes a seed out of split parameters or puts one in."""

    method: str
    params: Mapping[str, Any]  # without the seed
    seed: int

    def arguments(self) -> dict[str, Any]:
        """The split function's keyword arguments (besides the data)."""
        return {SPLIT_SEED: self.seed, **self.params}

    def stored(self) -> dict[str, Any]:
        """What a cell records as its ``split_params`` (part of its id): the parameters and the seed."""
        return {**self.params, SPLIT_SEED: self.seed}

    @classmethod
    def of_cell(cls, cell: Cell) -> SplitCall:
        """The split a planned cell's fold comes from."""
        return cls.of(cell.split, cell.split_params, cell.seed)

    @classmethod
    def of(cls, method: str, params: Mapping[str, Any], seed: int) -> SplitCall:
        """The split ``method`` with ``params``: their own seed if they name one, else ``seed``."""
        own = {k: v for k, v in params.items() if k != SPLIT_SEED}
        return cls(method, own, params.get(SPLIT_SEED, seed))


@dataclass(frozen=True)
class SplitConfig:
    """A dataset's split as the suite gives it: the method and its parameters (a ``seed``
    among them only when the suite names one)."""

    method: str
    params: Mapping[str, Any]

    def call(self, seed: int) -> SplitCall:
        """The split under the suite seed ``seed`` (its own seed, when the suite gives one, wins)."""
        return SplitCall.of(self.method, self.params, seed)


def model_arguments(defaults: Mapping[str, Any], given: Mapping[str, Any], seed: int,
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the model is built with, what identifies its configuration) from the class's
    ``defaults`` and the suite's ``given`` parameters: the suite seed fills each seed parameter
    the suite leaves unset, and such a seed is no part of the configuration."""
    config = json_safe({**defaults, **given})
    params = dict(config)
    for name in SEED_PARAMS:
        if name in defaults and name not in given:
            params[name] = seed
            config.pop(name)
    if config.get("threads") == 1 and defaults.get("threads") == 1:
        config.pop("threads")  # one thread is how a model ran before it had the parameter
    return params, config


def seed_problem(name: str, value: Any, where: str) -> BenchError | None:
    """Why ``value`` of the parameter ``name`` is no seed every library takes (``None`` when
    it is, when it is ``None`` -- "the suite's seed" --, or when ``name`` is not a seed)."""
    if name not in SEED_PARAMS or value is None:
        return None
    try:
        check_seed(value, where)
    except BenchError as exc:
        return exc
    return None


def with_seed_problems(problems: list[BenchError], given: Mapping[str, Any], at: Where, *path: Any
                       ) -> list[BenchError]:
    """``problems`` and the seeds of ``given`` out of range (those without a problem already),
    in the order ``given`` names them."""
    places = {problem.where for problem in problems}
    found = (seed_problem(name, value, at(*path, name)) for name, value in given.items())
    return problems + [e for e in found if e is not None and e.where not in places]


# --- The resolved suite -------------------------------------------------------------------


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
    tune: Tuning | None = None  # the model's parsed ``tune:`` block (benchmark.suite.tune)
    env: EnvironmentSpec | None = None  # the suite's environment it runs in (benchmark.environments)


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
    environments: Mapping[str, EnvironmentSpec] = dataclasses.field(default_factory=dict)  # by name


@dataclass(frozen=True)
class ParsedSuite:
    """A suite file checked against the static schema: step 1 of 3.

    ``errors`` are the problems found so far; ``invalid`` the key paths they are at, so that
    resolving leaves those parts out (:meth:`broken`) instead of tripping over them.
    """

    path: Path
    text: str
    data: Mapping[str, Any]
    at: Where  # key path -> "file:line: key"
    plugins: tuple[tuple[Path, str], ...]  # (file, where) of the suite's own plugin files
    errors: tuple[BenchError, ...] = ()
    invalid: frozenset[KeyPath] = frozenset()

    def broken(self, *path: Any) -> bool:
        """Whether the schema found a problem at ``path`` or inside it."""
        return any(key[:len(path)] == path for key in self.invalid)

    def sound(self, value: Any, *path: Any) -> Any:
        """The mapping at ``path`` without the keys the schema found wrong; ``None`` when it is
        absent or wrong as a whole (its error is reported)."""
        if path in self.invalid or not isinstance(value, Mapping):
            return None
        return {key: item for key, item in value.items() if not self.broken(*path, key)}


# --- A plugin's parameters and classes, from its registry entry ------------------------------


def model_class(entry: Entry, task: str) -> type[Model]:
    """A model entry's class for ``task``, its lazy reference imported once
    (:meth:`benchmark.registry.Entry.model_class`)."""
    return entry.model_class(task)


def dataset_params(entry: Entry) -> dict[str, Param]:
    """A dataset's options: its loader's parameters and declared constraints."""
    return describe(entry.function, entry.spec.constraints, skip=())


def split_params(entry: Entry) -> dict[str, Param]:
    """A split's parameters: its function's (besides ``data``) and those its spec declares."""
    declared = entry.spec.params
    params = describe(entry.function, declared, skip=("data",))
    for name, schema in declared.items():  # constraints of parameters the signature hides
        params.setdefault(name, Param(name, schema=schema))
    return params


@dataclass(frozen=True)
class SplitPlace:
    """Where a split is given in the suite, and for which dataset of which task."""

    path: KeyPath  # ("split",), ("datasets", i, "split"), or ("datasets", i) for a default
    task: str
    dataset: str


def resolve_split(split_data: Mapping[str, Any], place: SplitPlace, registry: Registry, at: Where
                  ) -> SplitConfig:
    """A split mapping (``{"method": ..., **params}``) checked against its plugin and the task
    of the dataset it splits; every problem raised at once."""
    split_at = place.path
    entry = registry.get("split", split_data["method"], at(*split_at, "method"))
    params = {k: v for k, v in split_data.items() if k != "method"}
    problems = param_problems(params, split_params(entry), at, *split_at, what="split parameter")
    missing = [name for name in entry.spec.required if name not in params]
    if missing:
        problems.append(BenchError(f"missing required key {missing[0]!r}", at(*split_at)))
    raise_all(with_seed_problems(problems, {SPLIT_SEED: params.get(SPLIT_SEED)}, at, *split_at))
    if not registry.split_accepts(entry.spec, place.task):
        allowed = registry.task(place.task).splits
        why = f"task {place.task!r} accepts the splits {', '.join(allowed)}" if allowed is not None and \
            entry.name not in allowed else f"split {entry.name!r} is for {', '.join(entry.spec.tasks)} data"
        raise BenchError(f"{why}; dataset {place.dataset!r} is {place.task!r}", at(*split_at, "method"))
    return SplitConfig(entry.name, params)


def beside_suite(base: Path, value: Any) -> Any:
    """A relative path that exists beside the suite file, made absolute; else unchanged
    (the loader then looks in the current directory and ``data_dir``)."""
    if isinstance(value, str) and not Path(value).is_absolute() and (base / value).exists():
        return str((base / value).resolve())
    return value


def configuration_label(name: str, params: Mapping[str, Any]) -> str:
    """``name(k=v, ...)``: a model configuration's label when the suite gives none."""
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={params[k]}' for k in sorted(params))})"


def suite_seeds(data: Mapping[str, Any]) -> tuple[int, ...]:
    """The suite's seeds: ``seeds``, else ``seed``, else 0."""
    return tuple(data.get("seeds") or [data.get("seed", 0)])


def plugin_files(parsed: ParsedSuite, extra: Sequence[str | Path]) -> tuple[str, ...]:
    """The suite's own plugin files and the command line's, absolute, each once."""
    plugins = [str(Path(p).resolve()) for p, _ in parsed.plugins]
    plugins += [str(Path(p).resolve()) for p in extra]
    return tuple(dict.fromkeys(plugins))
