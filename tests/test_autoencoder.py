"""The Keras autoencoder: it learns, it is reproducible, its options do what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench_plugins.images import load_mnist
from bench_plugins.keras_models import DenseAutoencoder
from bench_plugins.metrics import bce, mse

pytest.importorskip("tensorflow")

FAST = {"encoding_dim": 16, "batch_size": 64, "learning_rate": 0.003}


@pytest.fixture(scope="module")
def mnist_small(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    data = load_mnist(data_dir=str(shared_data), limit=1500, test_limit=200)
    (fold,) = data.folds["official"]
    return data.X[fold.train], data.X[fold.test]


def test_training_beats_the_untrained_network_and_the_mean_image(mnist_small):
    train, test = mnist_small
    untrained = DenseAutoencoder(epochs=0, random_state=0, **FAST).fit(train)
    trained = DenseAutoencoder(epochs=4, random_state=0, **FAST).fit(train)
    mean_image = np.tile(train.mean(axis=0), (len(test), 1))
    before, after = bce(test, untrained.reconstruct(test)), bce(test, trained.reconstruct(test))
    assert after < before
    assert after < bce(test, mean_image)
    assert mse(test, trained.reconstruct(test)) < mse(test, mean_image)
    history = trained.info()["history"]
    assert trained.info()["epochs_run"] == 4 and len(history["loss"]) == 4
    assert history["loss"][-1] < history["loss"][0]
    assert untrained.info()["epochs_run"] == 0


def test_the_same_seed_gives_identical_numbers(mnist_small):
    train, test = mnist_small
    first = DenseAutoencoder(epochs=2, random_state=7, **FAST).fit(train)
    second = DenseAutoencoder(epochs=2, random_state=7, **FAST).fit(train)
    other = DenseAutoencoder(epochs=2, random_state=8, **FAST).fit(train)
    np.testing.assert_array_equal(first.reconstruct(test), second.reconstruct(test))
    assert first.info()["history"] == second.info()["history"]
    assert not np.array_equal(first.reconstruct(test), other.reconstruct(test))


def test_layers_follow_encoding_dim_and_hidden(mnist_small):
    train, test = mnist_small
    model = DenseAutoencoder(encoding_dim=8, hidden=[32], epochs=1, random_state=0).fit(train[:256])
    # 784 -> 32 -> 8 -> 32 -> 784, with biases
    assert model.info()["parameters"] == (784 * 32 + 32) + (32 * 8 + 8) + (8 * 32 + 32) + (32 * 784 + 784)
    assert model.encode(test).shape == (len(test), 8)
    reconstruction = model.reconstruct(test)
    assert reconstruction.shape == test.shape
    assert reconstruction.min() >= 0.0 and reconstruction.max() <= 1.0  # sigmoid output


def test_validation_comes_from_train_and_early_stopping_keeps_the_best(mnist_small):
    train, _ = mnist_small
    model = DenseAutoencoder(epochs=3, validation_split=0.2, random_state=0, **FAST).fit(train)
    history = model.info()["history"]
    assert set(history) == {"loss", "val_loss"} and len(history["val_loss"]) == 3
    # a large learning rate soon stops improving: patience 1 ends the run early
    model = DenseAutoencoder(encoding_dim=16, epochs=12, batch_size=64, learning_rate=0.05,
                             validation_split=0.2, early_stopping_patience=1, random_state=0).fit(train)
    val_loss = model.info()["history"]["val_loss"]
    best = int(np.argmin(val_loss))
    assert model.info()["epochs_run"] == len(val_loss) == best + 2 < 12
    # the held-out rows are the seeded 20% of train, and the best epoch's weights are kept
    held_out = train[np.random.default_rng(0).permutation(len(train))[:int(round(0.2 * len(train)))]]
    assert bce(held_out, model.reconstruct(held_out)) == pytest.approx(val_loss[best], rel=1e-3)


def test_bad_options_are_reported():
    from benchmark.api import PluginInputError

    with pytest.raises(PluginInputError, match="validation_split"):
        DenseAutoencoder(validation_split=1.0).fit(np.zeros((4, 4), np.float32))
    with pytest.raises(PluginInputError, match="positive"):
        DenseAutoencoder(encoding_dim=0).fit(np.zeros((4, 4), np.float32))
    with pytest.raises(PluginInputError, match="list of layer sizes"):
        DenseAutoencoder(hidden=128).fit(np.zeros((4, 4), np.float32))
