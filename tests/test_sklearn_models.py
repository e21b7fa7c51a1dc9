"""PCA and TruncatedSVD on both tasks, and the baselines, on real and generated data."""

from __future__ import annotations

import numpy as np
import pytest

from bench_plugins import metrics, splits
from bench_plugins.baselines import BiasBaseline, GlobalMean
from bench_plugins.images import load_digits
from bench_plugins.movielens import load_latest_small
from bench_plugins.sklearn_models import (
    PCARating, PCAReconstruction, TruncatedSVDRating, TruncatedSVDReconstruction,
)
from bench_plugins.synthetic import load_synthetic
from benchmark.api import PluginInputError


def rating_rmse(model, data, fold):
    test = data.ratings.iloc[fold.test]
    model.fit(data.subset(fold.train))
    prediction = np.clip(model.predict(test["user"].to_numpy(), test["item"].to_numpy()), *data.scale)
    return metrics.rmse(test["rating"].to_numpy(), prediction)


@pytest.fixture(scope="module")
def low_rank():
    data = load_synthetic(n_users=300, n_items=200, density=0.3, rank=3, noise=0.2, seed=0)
    return data, splits.holdout(data, seed=0)[0]


def test_low_rank_models_beat_the_baselines_on_low_rank_data(low_rank):
    data, fold = low_rank
    mean = rating_rmse(GlobalMean(), data, fold)
    bias = rating_rmse(BiasBaseline(), data, fold)
    svd = rating_rmse(TruncatedSVDRating(n_components=3, random_state=0), data, fold)
    pca = rating_rmse(PCARating(n_components=3, random_state=0), data, fold)
    assert svd < bias < mean
    assert pca < bias
    assert abs(svd - pca) < 0.05


def test_rating_models_on_movielens_latest_small():
    data = load_latest_small()
    fold = splits.holdout(data, seed=0)[0]
    bias = rating_rmse(BiasBaseline(), data, fold)
    svd = rating_rmse(TruncatedSVDRating(n_components=10, random_state=0), data, fold)
    assert 0.8 < svd < bias < 0.95


def test_unknown_users_and_items_fall_back_to_the_baseline(low_rank):
    data, fold = low_rank
    model = TruncatedSVDRating(n_components=3, random_state=0).fit(data.subset(fold.train))
    prediction = model.predict(np.array([10**6, 10**6]), np.array([0, 10**6]))
    mu = model.biases_.mu_
    assert prediction[1] == pytest.approx(mu)
    assert prediction[0] == pytest.approx(mu + model.biases_.bi_[model.biases_.items_.get_loc(0)])


def test_truncated_svd_rating_is_deterministic(low_rank):
    data, fold = low_rank
    assert rating_rmse(TruncatedSVDRating(random_state=5), data, fold) == \
        rating_rmse(TruncatedSVDRating(random_state=5), data, fold)


def test_pca_refuses_a_matrix_that_does_not_fit():
    data = load_synthetic(n_users=3000, n_items=2000, n_ratings=20000, seed=0)
    users = data.ratings["user"].nunique()
    assert 2990 < users <= 3000
    with pytest.raises(PluginInputError, match=rf"dense {users:,} x 2,000 matrix, about 0.13 GB, "
                                               rf"above the 0.01 GB limit"):
        PCARating(max_memory_gb=0.01).fit(data)


@pytest.mark.parametrize("model_class", [PCAReconstruction, TruncatedSVDReconstruction])
def test_reconstruction_improves_with_more_components(model_class):
    data = load_digits()
    fold = splits.holdout(data, seed=0)[0]
    train, test = data.X[fold.train], data.X[fold.test]
    errors = [metrics.mse(test, model_class(n_components=k, random_state=0).fit(train).reconstruct(test))
              for k in (4, 16, 48)]
    assert errors[0] > errors[1] > errors[2]
    mean_image = np.broadcast_to(train.mean(axis=0), test.shape)
    assert errors[1] < metrics.mse(test, mean_image)
