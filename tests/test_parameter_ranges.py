"""Learning rates, regularisation, factors and epochs of every built-in model declare their ranges
(the model's ``constraints``, JSON Schema per parameter), so that ``lr_all: -0.5`` is refused by
``bench check`` in one line instead of failing every cell."""

from __future__ import annotations

import re

import pytest

from benchmark.params import model_params
from benchmark.registry import build_registry
from tests.conftest import run_bench

RANGED = re.compile(r"^(lr|lr_.*|learning_rate|reg|reg_.*|regularization|l2|lamb|n_factors|factors|"
                    r"(n_)?epochs|n_(enc|dec)_epochs|iterations|n_iter|n_components|embedding_size|k)$")
BOUNDS = ("minimum", "exclusiveMinimum", "enum")


def builtin_model_classes():
    registry = build_registry()
    for entry in registry.entries["model"].values():
        if entry.provider.distribution != "bench-harness":
            continue
        for task in entry.spec.tasks:
            try:
                yield entry.name, task, entry.model_class(task)
            except Exception:  # an optional library's model whose class cannot load here
                continue


def test_every_builtin_learning_rate_regularisation_factor_and_epoch_count_has_a_range():
    unbounded = []
    for name, task, model_class in builtin_model_classes():
        for param, spec in model_params(model_class).items():
            numeric = {"integer", "number"} & set(spec.type_text().split(" | "))
            if RANGED.match(param) and numeric and not any(bound in spec.schema for bound in BOUNDS):
                unbounded.append(f"{name} ({task}): {param}")
    assert not unbounded, unbounded


@pytest.mark.parametrize("model, params, key, expected", [
    ("fast-svd", "{lr_all: -0.5}", "lr_all", "expected a number > 0, got -0.5"),
    ("fast-svdpp", "{reg_yj: -1}", "reg_yj", "expected a number >= 0, got -1"),
    ("bias-baseline", "{n_epochs: 0}", "n_epochs", "expected a number >= 1, got 0"),
])
def test_a_value_out_of_range_is_one_line_naming_file_key_and_range(write_suite, model, params, key, expected):
    suite = write_suite("name: r\ndatasets:\n  - name: movielens-latest-small\n    split: {method: holdout}\n"
                        f"models:\n  - {{name: {model}, params: {params}}}\nmetrics: [rmse]\n")
    result = run_bench("check", str(suite))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line == f"bench: error: {suite}:6: models[0].params.{key}: {expected}"
