"""The suite package's seams (issue 25): its public names, the seed decided once and carried one
way, the one data-directory precedence, registry entries that import their lazy references once,
and a run-time search that uses only the suite's public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import benchmark
from benchmark.errors import BenchError
from benchmark.limits import choose_data_dir

SUITE = """\
name: seams
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.5}
    split: {method: kfold, k: 3}
models: [bias-baseline]
metrics: [rmse, mae]
"""


def test_every_name_other_modules_import_from_the_suite_still_imports():
    from benchmark.suite import (  # noqa: F401 -- the import is the test
        MAX_CONFIGURATIONS, SUITE_SCHEMA, DatasetConfig, Limits, ModelConfig, ParsedSuite, SplitConfig, Suite,
        SuiteCheck, check_suite, dataset_params, load_suite, model_class, model_parameters, parse_size,
        read_suite, split_params, suite_schema,
    )

    assert parse_size("2 KB", "") == 2048
    assert MAX_CONFIGURATIONS == 10_000


def test_the_run_time_search_uses_only_public_names_of_the_suite():
    package = Path(benchmark.__file__).parent
    for module in ("tuning.py", "execute.py", "plugin_info.py", "cli.py", "cli_data.py"):
        tree = ast.parse((package / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchmark.suite"):
                assert node.module == "benchmark.suite", f"{module} imports {node.module}"
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{module} imports {private} from benchmark.suite"


# --- The seed, decided once -------------------------------------------------------------------


def test_a_split_gets_the_suite_seed_unless_it_names_its_own():
    from benchmark.suite import SplitConfig

    plain, own = SplitConfig("kfold", {"k": 3}), SplitConfig("kfold", {"k": 3, "seed": 7})
    assert plain.call(5).seed == 5 and own.call(5).seed == 7
    assert plain.call(5).params == own.call(5).params == {"k": 3}
    assert own.call(5).arguments() == {"seed": 7, "k": 3}  # what the split function gets
    assert list(own.call(5).stored()) == ["k", "seed"]  # what a cell stores (its id): the seed last


def test_a_planned_cell_gives_back_the_split_it_was_planned_with(tmp_path):
    from benchmark.execute import DataCache
    from benchmark.runner import plan
    from benchmark.suite import SplitCall, load_suite

    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace("seams\n", "seams\nseed: 11\n"))
    suite, registry = load_suite(path)
    cells = plan(suite, registry, DataCache(registry))
    assert all(SplitCall.of_cell(cell) == suite.datasets[0].split.call(11) for cell in cells) and cells


def test_the_suite_seed_fills_the_seed_parameters_left_unset_and_is_no_part_of_the_configuration():
    from benchmark.suite import SEED_PARAMS, model_arguments

    assert set(SEED_PARAMS) == {"random_state", "seed"}
    params, config = model_arguments({"k": 1, "random_state": None}, {"k": 2}, seed=4)
    assert params == {"k": 2, "random_state": 4} and config == {"k": 2}
    params, config = model_arguments({"k": 1, "random_state": None}, {"random_state": 9}, seed=4)
    assert params == config == {"k": 1, "random_state": 9}  # given by the suite: part of it


# --- The data directory, chosen once ------------------------------------------------------------


def test_data_dir_precedence_is_the_option_then_the_suite_then_the_environment(tmp_path, monkeypatch):
    option, suite, environment = (tmp_path / name for name in ("option", "suite", "environment"))
    for directory in (option, suite, environment):
        directory.mkdir()
    monkeypatch.setenv("BENCH_DATA_DIR", str(environment))
    assert choose_data_dir(str(option), suite, "s.yaml:3: data_dir") == \
        choose_data_dir(str(option)) and choose_data_dir(str(option)).source == "--data-dir"
    chosen = choose_data_dir(None, suite, "s.yaml:3: data_dir")
    assert (chosen.path, chosen.source, chosen.from_environment) == (suite, "s.yaml:3: data_dir", False)
    chosen = choose_data_dir(None)
    assert (chosen.path, chosen.source, chosen.from_environment) == (environment, "$BENCH_DATA_DIR", True)
    monkeypatch.delenv("BENCH_DATA_DIR")
    assert choose_data_dir(None).path is None


def test_a_data_dir_that_is_not_there_is_one_line_naming_who_chose_it(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "typo"))
    with pytest.raises(BenchError) as error:
        choose_data_dir(None)
    assert str(error.value) == f"$BENCH_DATA_DIR: directory '{tmp_path / 'typo'}' not found"


# --- Lazy references, imported once -------------------------------------------------------------


def test_a_registry_entry_imports_its_lazy_reference_once(monkeypatch):
    from benchmark import registry as registry_module

    registry = registry_module.build_registry()
    calls: list[object] = []
    real = registry_module.resolve
    monkeypatch.setattr(registry_module, "resolve", lambda factory: calls.append(factory) or real(factory))
    metric = registry.get("metric", "rmse")
    assert metric.function is metric.function and len(calls) == 1
    model = registry.get("model", "bias-baseline")
    assert model.model_class("rating") is model.model_class("rating") and len(calls) == 2


def test_a_cell_runs_without_importing_any_lazy_reference_again(tmp_path, monkeypatch):
    """After a first cell, every model class, split, metric and runner a second one needs is its
    entry's: nothing is looked up in the import system again."""
    from benchmark import _internal, registry as registry_module
    from benchmark.execute import DataCache, execute
    from benchmark.runner import plan
    from benchmark.suite import load_suite

    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    suite, registry = load_suite(path)
    cache = DataCache(registry)
    cells = plan(suite, registry, cache)
    assert execute(cells[1], cache).ok
    calls: list[object] = []
    for module in (_internal, registry_module):
        monkeypatch.setattr(module, "resolve", lambda factory: calls.append(factory))
    assert execute(cells[0], cache).ok
    assert calls == []
