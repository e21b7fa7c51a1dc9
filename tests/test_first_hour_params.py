"""Every built-in model of the plugins this file names documents and bounds its parameters.

``bench check`` can refuse a bad value only if the model declares its range, and ``bench plugins
NAME`` can say what a parameter means only if it has a one-line doc; a newcomer should never
learn either from a traceback inside a cell.
"""

from __future__ import annotations

import pytest

from benchmark import plugin_info
from benchmark.registry import build_registry
from tests.conftest import run_bench

MODULES = ("bench_plugins.baselines", "bench_plugins.sklearn_models", "bench_plugins.surprise_models",
           "bench_plugins.autorec", "bench_plugins.keras_models")
UNBOUNDED = {"random_state", "seed", "init_mean"}
"""Numeric parameters for which every value is meaningful."""

REGISTRY = build_registry()
MODELS = sorted({e.name for e in REGISTRY.all() if e.kind == "model"
                 and any(getattr(c, "__module__", str(c)).startswith(MODULES) for c in e.spec.classes.values())})


def test_the_modules_provide_models():
    assert {"svd", "knn-baseline", "pca", "autorec", "bias-baseline"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_has_a_doc_and_numbers_a_range(name):
    entry = next(e for e in REGISTRY.all() if e.kind == "model" and e.name == name)
    for title, params in plugin_info.parameters(REGISTRY, entry).items():
        for param in params.values():
            assert param.doc, f"{name} {title}: {param.name} has no one-line doc"
            kinds = param.schema.get("type")
            kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
            bounded = {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "enum"} & set(param.schema)
            if {"integer", "number"} & set(kinds) and param.name not in UNBOUNDED:
                assert bounded, f"{name} {title}: {param.name} declares no range"


def test_surprise_out_of_range_is_refused_by_check(write_suite):
    """Checked from the wrapper's declaration: Surprise itself need not be installed."""
    suite = write_suite("name: s\ndatasets: [movielens-latest-small]\nmodels:\n"
                        "  - name: svd\n    params: {n_factors: -3}\n")
    result = run_bench("check", str(suite))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("bench: error:")]
    assert errors == [f"bench: error: {suite}:5: models[0].params.n_factors: expected a number >= 1, got -3"]


def test_surprise_option_dicts_are_checked_too(write_suite):
    suite = write_suite("name: s\ndatasets: [movielens-latest-small]\nmodels:\n"
                        "  - name: knn-baseline\n    params: {sim_options: {name: cosin}}\n")
    result = run_bench("check", str(suite))
    assert result.returncode == 2
    assert "models[0].params.sim_options.name: expected one of" in result.stderr


def test_plugins_shows_surprise_docs():
    result = run_bench("plugins", "svd")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("n_factors "))
    assert ">= 1" in line and "number of latent factors" in line


LITERAL_PLUGIN = '''
from typing import List, Literal, Optional, Union

import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

class Lit(RatingModel):
    def __init__(self, kind: Literal["child", "adult"] = "child", k: Optional[int] = None,
                 mix: Union[int, str] = 1, layers: List[int] = (8,)):
        self.kind, self.k, self.mix, self.layers = kind, k, mix, layers
    def fit(self, train):
        self.mean_ = float(train.ratings["rating"].mean())
        return self
    def predict(self, users, items):
        return np.full(len(users), self.mean_)

@hookimpl
def bench_models():
    return [ModelSpec("lit", {RATING: Lit})]
'''


def test_typing_annotations_without_future_import_are_typed_and_checked(tmp_path):
    """A plugin written without ``from __future__ import annotations`` gives real typing objects
    (Literal[...], Optional[int], Union[...], List[int]); bench described them with a traceback."""
    (tmp_path / "lit.py").write_text(LITERAL_PLUGIN)
    shown = run_bench("plugins", "-p", str(tmp_path / "lit.py"), "lit")
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    from benchmark.registry import build_registry

    registry = build_registry([(str(tmp_path / "lit.py"), "lit.py")])
    params = plugin_info.parameters(registry, registry.get("model", "lit"))["parameters (rating)"]
    assert params["kind"].schema == {"enum": ["child", "adult"], "type": "string"}
    assert params["k"].schema == {"type": ["null", "integer"]}
    assert params["mix"].schema == {"type": ["integer", "string"]}
    assert params["layers"].schema == {"type": "array"}
    (tmp_path / "s.yaml").write_text("name: s\nplugins: [lit.py]\ndatasets: [movielens-latest-small]\n"
                                     "models:\n  - name: lit\n    params: {kind: chld, k: 2.5}\n")
    checked = run_bench("check", str(tmp_path / "s.yaml"))
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert checked.stderr.splitlines() == [
        f"bench: error: {tmp_path / 's.yaml'}:6: models[0].params.kind: expected one of: child, adult, "
        f"got a string \"chld\"; did you mean 'child'?",
        f"bench: error: {tmp_path / 's.yaml'}:6: models[0].params.k: expected nothing or an integer (default None), "
        f"got a number 2.5",
    ]
