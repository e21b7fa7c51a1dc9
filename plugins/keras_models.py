"""A dense Keras autoencoder for the ``reconstruction`` task.

The default is the classic 784 → 64 (relu) → 784 (sigmoid) network trained with Adam on
binary cross-entropy, as in the Keras "Building Autoencoders" tutorial. ``encoding_dim`` is
the code size, so a leaderboard can put PCA(k), TruncatedSVD(k) and the autoencoder(k) side
by side. TensorFlow and Keras are imported inside ``fit``.

With a ``random_state`` the fit is reproducible: Keras' global seeds are set and TensorFlow's
op determinism is switched on, so a rerun gives identical weights and numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from benchmark.api import (
    RECONSTRUCTION, ModelSpec, PluginInputError, ReconstructionModel, hookimpl, report_progress, require,
)

KERAS = {"tensorflow": "tensorflow-cpu", "keras": "keras"}


class DenseAutoencoder(ReconstructionModel):
    """Encoder ``hidden... → encoding_dim`` (relu), mirrored decoder, sigmoid output.

    :param encoding_dim: size of the code layer.
    :param hidden: sizes of extra encoder layers before the code (the decoder mirrors them).
    :param validation_split: fraction of the training rows held out (seeded) for a validation loss.
    :param early_stopping_patience: epochs without improvement before stopping with the best
        weights (None: train every epoch).
    :param epochs: passes over the training rows (0: the untrained network).
    :param batch_size: rows per Adam step.
    :param learning_rate: Adam step size.
    :param random_state: seed of weights, shuffling and the validation rows (the suite seed).

    The held-out validation rows come from the training rows only (the test rows are never seen
    in ``fit``); they drive early stopping, which watches the training loss when there are none.
    """

    requires = KERAS
    constraints = {"encoding_dim": {"minimum": 1}, "hidden": {"items": {"type": "integer", "minimum": 1}},
                   "epochs": {"minimum": 0}, "batch_size": {"minimum": 1},
                   "learning_rate": {"exclusiveMinimum": 0},
                   "validation_split": {"minimum": 0, "exclusiveMaximum": 1},
                   "early_stopping_patience": {"minimum": 0}}

    def __init__(self, encoding_dim: int = 64, hidden: Sequence[int] = (), epochs: int = 50,
                 batch_size: int = 256, learning_rate: float = 0.001, validation_split: float = 0.0,
                 early_stopping_patience: int | None = None, random_state: int | None = None):
        self.encoding_dim, self.hidden, self.epochs = encoding_dim, hidden, epochs
        self.batch_size, self.learning_rate = batch_size, learning_rate
        self.validation_split, self.early_stopping_patience = validation_split, early_stopping_patience
        self.random_state = random_state

    @classmethod
    def warm_up(cls, params: Mapping[str, Any]) -> None:
        """Import TensorFlow and Keras (seconds, once per process) before the cell's clock starts:
        the harness imports ``requires`` first, this makes sure Keras' backend is loaded too."""
        require("tensorflow", "tensorflow-cpu")
        require("keras").backend.floatx()

    def _check(self) -> None:
        if isinstance(self.hidden, (int, str)):
            raise PluginInputError(f"hidden must be a list of layer sizes, e.g. [128], got {self.hidden!r}")
        if self.encoding_dim < 1 or any(int(h) < 1 for h in self.hidden):
            raise PluginInputError("encoding_dim and hidden layer sizes must be positive")
        if not 0.0 <= self.validation_split < 1.0:
            raise PluginInputError(f"validation_split must be in [0, 1), got {self.validation_split}")
        if self.epochs < 0 or self.batch_size < 1:
            raise PluginInputError("epochs must be >= 0 (0: the untrained network) and batch_size positive")

    def _build(self, keras: Any, n_features: int) -> Any:
        hidden = [int(h) for h in self.hidden]
        layers = [keras.Input((n_features,))]
        layers += [keras.layers.Dense(h, activation="relu") for h in hidden]
        layers += [keras.layers.Dense(self.encoding_dim, activation="relu", name="code")]
        layers += [keras.layers.Dense(h, activation="relu") for h in reversed(hidden)]
        layers += [keras.layers.Dense(n_features, activation="sigmoid")]
        model = keras.Sequential(layers, name="autoencoder")
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy")
        return model

    def fit(self, X: np.ndarray) -> DenseAutoencoder:
        self._check()
        tf = require("tensorflow", "tensorflow-cpu")
        keras = require("keras")
        keras.backend.clear_session()
        if self.random_state is not None:
            keras.utils.set_random_seed(self.random_state)
            tf.config.experimental.enable_op_determinism()
        X = np.asarray(X, dtype=np.float32)
        validation = None
        n_val = int(round(len(X) * self.validation_split))
        if n_val:
            order = np.random.default_rng(self.random_state).permutation(len(X))
            validation = (X[order[:n_val]],) * 2
            X = X[np.sort(order[n_val:])]
        callbacks = [keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: report_progress(epoch + 1, self.epochs))]
        if self.early_stopping_patience is not None:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation else "loss", patience=self.early_stopping_patience,
                restore_best_weights=True))
        self.model_ = self._build(keras, X.shape[1])
        self.history_: dict[str, list[float]] = {}
        if self.epochs:
            history = self.model_.fit(X, X, epochs=self.epochs, batch_size=self.batch_size, shuffle=True,
                                      validation_data=validation, callbacks=callbacks, verbose=0)
            self.history_ = {key: [float(v) for v in values] for key, values in history.history.items()}
        self.epochs_run_ = len(self.history_.get("loss", []))
        return self

    def encode(self, X: np.ndarray) -> np.ndarray:
        """The code (``encoding_dim`` values) of each row."""
        keras = require("keras")
        encoder = keras.Model(self.model_.inputs, self.model_.get_layer("code").output)
        return np.asarray(encoder.predict(np.asarray(X, np.float32), batch_size=1024, verbose=0))

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(np.asarray(X, np.float32), batch_size=1024, verbose=0))

    def info(self) -> dict[str, Any]:
        return {"history": self.history_, "epochs_run": self.epochs_run_,
                "parameters": int(self.model_.count_params())}


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec("autoencoder", {RECONSTRUCTION: DenseAutoencoder}, KERAS,
                      summary="Keras dense autoencoder (784-64-784 by default), Adam + BCE")]
