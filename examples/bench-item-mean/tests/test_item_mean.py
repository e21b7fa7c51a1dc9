"""The plugin's own tests: the bench conformance kit, then what is special about this model."""

from __future__ import annotations

import numpy as np
import pandas as pd

import bench_item_mean
from bench_item_mean import ItemMean
from benchmark.api import RatingData
from benchmark.testing import assert_conforms


def test_the_plugin_conforms_to_the_bench_contract():
    assert_conforms(bench_item_mean)  # hook names, API version, every model it provides


def test_item_mean_conforms_with_other_parameters():
    assert_conforms(ItemMean, params={"shrinkage": 0.0})


def test_item_means_are_shrunk_and_unknown_users_get_the_item_mean():
    ratings = pd.DataFrame({"user": [1, 2, 3, 1], "item": [10, 10, 10, 20],
                            "rating": [5.0, 4.0, 3.0, 1.0]})
    model = ItemMean(shrinkage=1.0).fit(RatingData(ratings, (1.0, 5.0)))
    mean = 13.0 / 4
    np.testing.assert_allclose(model.predict(np.array([2, 99, 2]), np.array([10, 10, 99])),
                               [(12.0 + mean) / 4, (12.0 + mean) / 4, mean])
