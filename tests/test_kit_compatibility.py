"""The conformance kit keeps what contract 1.0 promised plugin authors: the names its one module
exported stay importable from ``benchmark.testing``, and a ``params``/``options`` map shared by the
sibling modules of a distribution is accepted -- a name no module of it provides is a warning that
points at the author's test, never an error."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import ModuleType

import pytest

import benchmark.testing
from benchmark.testing import StrayNameWarning, assert_conforms, check_plugin

EXPORTED_BY_THE_ONE_MODULE_KIT = (
    "Check", "Report", "check_model", "check_dataset", "check_split", "check_metric", "check_task",
    "check_plugin", "assert_conforms", "each_check", "installed_tasks", "SEED",  # its __all__
    "PASSED", "FAILED", "SKIPPED", "Tasks", "Violation", "Skip", "TinyRatings", "tiny_ratings",
    "tiny_matrix", "tiny_data", "HOOK_CHECKS", "dataclasses_replace",
)
"""Every public name ``benchmark/testing.py`` defined before the kit became a package."""


def test_every_name_of_the_one_module_kit_is_still_exported():
    missing = [name for name in EXPORTED_BY_THE_ONE_MODULE_KIT if not hasattr(benchmark.testing, name)]
    assert not missing
    assert set(benchmark.testing.__all__) >= set(EXPORTED_BY_THE_ONE_MODULE_KIT[:12])


def _no_stray_warning(module: ModuleType, **maps: dict) -> benchmark.testing.Report:
    with warnings.catch_warnings():
        warnings.simplefilter("error", StrayNameWarning)
        return check_plugin(module, **maps)


def test_a_map_naming_a_sibling_modules_model_and_dataset_is_accepted_quietly():
    import bench_plugins.tasks as tasks  # bench-harness registers bench_plugins.baselines beside it

    report = _no_stray_warning(tasks, params={"bias-baseline": {"reg_i": 5.0}},
                               options={"synthetic-ratings": {"n_users": 40}})
    assert report.ok, report


def test_the_modules_own_names_still_reach_its_checks():
    import bench_plugins.synthetic as synthetic

    report = _no_stray_warning(synthetic, options={"synthetic-ratings": {"n_users": -1}})
    assert not report.ok and "n_users" in "".join(report.violations()), report


def test_a_name_no_module_of_the_distribution_provides_is_a_warning_at_the_callers_line():
    import bench_plugins.baselines as baselines

    with pytest.warns(StrayNameWarning) as caught:
        report = check_plugin(baselines, params={"bias-basline": {}})
    assert report.ok, report  # the entry is ignored; everything else is checked as without it
    [warning] = caught.list
    assert str(warning.message) == (
        "params: bench_plugins.baselines provides no model 'bias-basline'; did you mean 'bias-baseline'? "
        "(nor does any other module of bench-harness; the kit ignores this entry)")
    assert Path(warning.filename) == Path(__file__)

    with pytest.warns(StrayNameWarning, match="options: bench_plugins.baselines provides no dataset "
                                              "'synthetic-ratingz'; did you mean 'synthetic-ratings'") as caught:
        assert_conforms(baselines, options={"synthetic-ratingz": {}})
    assert Path(caught.list[0].filename) == Path(__file__)


def test_a_local_plugin_file_has_no_siblings(tmp_path):
    (tmp_path / "lone_plugin.py").write_text(
        "from benchmark.api import RATING, ModelSpec, hookimpl\n"
        "from bench_plugins.baselines import GlobalMean\n"
        "@hookimpl\ndef bench_models():\n    return [ModelSpec('lone-mean', {RATING: GlobalMean})]\n")
    spec = importlib.util.spec_from_file_location("lone_plugin", tmp_path / "lone_plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.warns(StrayNameWarning) as caught:
        assert_conforms(module, params={"lone-mean": {}, "als-mf": {"factors": 3}})
    assert [str(w.message) for w in caught.list] == [
        "params: lone_plugin provides no model 'als-mf'; it provides lone-mean (it is not installed, so "
        "it has no sibling modules; the kit ignores this entry)"]
