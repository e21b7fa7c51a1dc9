"""Suites: parse a YAML file, then resolve it against the plugins into a frozen :class:`Suite`.

:func:`check_suite` (and :func:`load_suite`, which raises what it finds) takes three steps,
each taking what the previous returned:

1. :func:`read_suite` reads the file safely and checks it against the static schema
   (no plugin is loaded yet); it knows the suite's own plugin files (:mod:`.reading`,
   :mod:`.schema`);
2. the registry is built from those files and the command line's
   (:func:`benchmark.registry.build_registry`);
3. every name, option and parameter is checked against the plugins, giving a frozen
   :class:`Suite` (:mod:`.checking` for datasets and metrics, :mod:`.models` for models and
   their grids, :mod:`.tune` for a model's ``tune:`` block).

Every problem is a :class:`~benchmark.errors.BenchError` naming file, line and key, and all of
a suite's problems are reported at once (:class:`~benchmark.errors.BenchErrors`, in file order):
each step goes on past a problem, leaving out only the entry it is in -- a dataset entry with a
wrong option, a model with an unknown name -- so that what depends on it does not fail too
(:class:`Found`, :mod:`.problems`: the diagnostics any part of a suite is checked with).
:func:`check_suite` also warns about models whose library is missing.

The decisions made once while resolving -- the seed of splits and models, the data directory,
a plugin's parameters -- are :mod:`.resolving`'s. Everything below is the package's public
surface: other modules import these names from ``benchmark.suite``, never a submodule's
private one.
"""

from benchmark.suite.checking import CommandLine, SuiteCheck, check_suite, load_suite, resolve_suite
from benchmark.suite.problems import (
    EntryCheck, Found, KeyPath, Where, check_params, check_schema, describe_value, param_problems,
    schema_errors, schema_problems, unknown_key,
)
from benchmark.suite.reading import read_suite
from benchmark.suite.resolving import (
    DEFAULT_SPLIT, MAX_CONFIGURATIONS, SEED_PARAMS, SPLIT_SEED, DatasetConfig, Limits, ModelConfig,
    ParsedSuite, SplitCall, SplitConfig, Suite, dataset_params, model_arguments, model_class,
    parse_limits, parse_size, split_params,
)
from benchmark.suite.schema import (
    LIMITS_SCHEMA, SPLIT_SCHEMA, SUITE_SCHEMA, model_parameters, suite_schema,
)
from benchmark.suite.tune import DEFAULT_INNER, SEARCHES, Dimension, TuneContext, Tuning, parse_tune

__all__ = [
    "CommandLine", "SuiteCheck", "check_suite", "load_suite", "resolve_suite",
    "EntryCheck", "Found", "KeyPath", "Where", "check_params", "check_schema", "describe_value",
    "param_problems", "schema_errors", "schema_problems", "unknown_key",
    "read_suite",
    "DEFAULT_SPLIT", "MAX_CONFIGURATIONS", "SEED_PARAMS", "SPLIT_SEED", "DatasetConfig", "Limits",
    "ModelConfig", "ParsedSuite", "SplitCall", "SplitConfig", "Suite", "dataset_params",
    "model_arguments", "model_class", "parse_limits", "parse_size", "split_params",
    "LIMITS_SCHEMA", "SPLIT_SCHEMA", "SUITE_SCHEMA", "model_parameters", "suite_schema",
    "DEFAULT_INNER", "SEARCHES", "Dimension", "TuneContext", "Tuning", "parse_tune",
]
