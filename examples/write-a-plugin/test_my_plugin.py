"""The plugin's tests: the conformance kit over everything its hooks return."""

from __future__ import annotations

import my_plugin  # pytest puts this folder on sys.path
from benchmark.testing import assert_conforms, check_model


def test_everything_the_plugin_provides_conforms():
    report = assert_conforms(my_plugin, options={"toy-ratings": {"n_users": 50}})
    print(report)


def test_one_model_with_other_parameters():
    report = check_model(my_plugin.UserMean, params={"shrinkage": 0.0, "rounds": 3})
    assert report.ok, report
