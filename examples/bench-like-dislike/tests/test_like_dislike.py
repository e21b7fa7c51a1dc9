"""The package's own tests, as its author runs them: bench's conformance kit checks the task,
its models through the task's runner, and its metrics through the task's examples."""

import numpy as np
import pytest

import bench_like_dislike
from benchmark.testing import assert_conforms, check_model, each_check


@pytest.mark.parametrize("check", each_check(bench_like_dislike))
def test_bench_contract(check):
    """One test per check of the kit: run one with -k, read each on its own."""
    check.assert_ok()


def test_everything_the_plugin_provides_conforms():
    report = assert_conforms(bench_like_dislike, params={"item-like-rate": {"shrinkage": 0.0}})
    assert any(c.name == "runs through the task's runner" for c in report.passed), report


def test_item_like_rate_without_shrinkage_is_the_items_share():
    report = check_model(bench_like_dislike.ItemLikeRate, params={"shrinkage": 0.0},
                         tasks=bench_like_dislike.bench_tasks())
    assert report.ok, report


def test_log_loss_parts_add_up():
    predictions = bench_like_dislike.examples(noisy=True)
    value = bench_like_dislike.log_loss(predictions)
    assert np.isclose(value.num.sum() / value.den.sum(), float(value))
