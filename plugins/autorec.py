"""AutoRec (Sedhain, Menon, Sanner and Xie, WWW 2015) for the ``rating`` task.

I-AutoRec (the default, ``variant="item"``) encodes each item as the vector of its users'
ratings (0 where unobserved) and reconstructs it through one sigmoid hidden layer and an
identity output. U-AutoRec (``variant="user"``) swaps the roles. The objective is the
paper's: the squared error on observed ratings only, plus ``reg / 2 · (‖W‖² + ‖V‖²)``.

Written in numpy with hand-written gradients, optimised full-batch with L-BFGS as in the
paper (scipy), or with minibatch Adam. Why not Keras: the network is one dense layer pair on
a ~1,000 × 1,700 matrix, so numpy costs ~0.1 s per full-batch step, needs no 5-10 s
TensorFlow import, gives exactly reproducible numbers, and lets scipy's L-BFGS (the
paper's optimiser) drive it. Pairs with an unknown user or item get the baseline estimate
(:class:`bench_plugins.baselines.Biases`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmark.api import RATING, ModelSpec, PluginInputError, RatingData, hookimpl, report_progress
from bench_plugins.baselines import BaselineFallback

MAX_DENSE_GB = 4.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class AutoRec(BaselineFallback):
    """I-AutoRec / U-AutoRec.

    :param hidden: hidden units (the paper's k; 500).
    :param variant: ``"item"`` (I-AutoRec: rows are items) or ``"user"`` (U-AutoRec).
    :param reg: the paper's L2 weight λ on ``(λ/2)(‖W‖² + ‖V‖²)`` (300 suits ml-100k).
    :param optimizer: ``"lbfgs"`` (full batch, scipy) or ``"adam"`` (minibatches of rows).
    :param epochs: L-BFGS iterations, or Adam passes over the rows.
    :param learning_rate: Adam step size (unused by L-BFGS).
    :param batch_size: rows per Adam step (unused by L-BFGS).
    :param random_state: seed of the initial weights and of Adam's row order (the suite seed).

    ``reg`` sits next to the *summed* squared error, so the right value grows with the number of
    ratings: on ml-100k 100 overfits and 1,000 underfits; tune it per dataset as the paper did.
    """

    constraints = {"hidden": {"minimum": 1}, "variant": {"enum": ["item", "user"]},
                   "reg": {"minimum": 0}, "optimizer": {"enum": ["lbfgs", "adam"]},
                   "epochs": {"minimum": 1}, "learning_rate": {"exclusiveMinimum": 0},
                   "batch_size": {"minimum": 1}}

    def __init__(self, hidden: int = 500, variant: str = "item", reg: float = 300.0,
                 optimizer: str = "lbfgs", epochs: int = 200, learning_rate: float = 0.001,
                 batch_size: int = 64, random_state: int | None = None):
        self.hidden, self.variant, self.reg = hidden, variant, reg
        self.optimizer, self.epochs = optimizer, epochs
        self.learning_rate, self.batch_size = learning_rate, batch_size
        self.random_state = random_state

    # --- the network ---------------------------------------------------------------------

    def _shapes(self, n_in: int) -> list[tuple[int, ...]]:
        k = self.hidden
        return [(n_in, k), (k,), (k, n_in), (n_in,)]  # V, mu, W, b

    def _unpack(self, theta: np.ndarray) -> list[np.ndarray]:
        parts, start = [], 0
        for shape in self._shapes(self.n_in_):
            size = int(np.prod(shape))
            parts.append(theta[start:start + size].reshape(shape))
            start += size
        return parts

    def _loss_grad(self, theta: np.ndarray, R: Any) -> tuple[float, np.ndarray]:
        """Summed squared error on the observed entries of the sparse rows ``R``, plus the L2
        penalty; and the gradient. Only the output layer is computed densely."""
        V, mu, W, b = self._unpack(theta)
        rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
        H = _sigmoid(R @ V + mu)
        error = (H @ W)[rows, R.indices] + b[R.indices] - R.data
        self._sse = float(error @ error)
        loss = self._sse + 0.5 * self.reg * float(np.sum(V * V) + np.sum(W * W))
        dO = R.copy()
        dO.data = 2.0 * error  # the gradient is zero at unobserved entries
        dZ = np.asarray(dO @ W.T) * H * (1.0 - H)
        grads = [np.asarray(R.T @ dZ) + self.reg * V, dZ.sum(0), np.asarray(dO.T @ H).T + self.reg * W,
                 np.bincount(R.indices, dO.data, self.n_in_)]
        return loss, np.concatenate([g.ravel() for g in grads])

    def _init(self, rng: np.random.Generator) -> np.ndarray:
        n_in, k = self.n_in_, self.hidden
        limit = np.sqrt(6.0 / (n_in + k))  # Glorot uniform
        V = rng.uniform(-limit, limit, (n_in, k))
        W = rng.uniform(-limit, limit, (k, n_in))
        return np.concatenate([V.ravel(), np.zeros(k), W.ravel(), np.zeros(n_in)])

    def _fit_lbfgs(self, theta: np.ndarray, R: Any) -> np.ndarray:
        from scipy.optimize import minimize

        losses: list[float] = []
        n_observed = max(R.nnz, 1)

        def record(intermediate_result: Any) -> None:  # the last evaluation is the accepted point
            losses.append(self._sse / n_observed)
            report_progress(len(losses), self.epochs)

        result = minimize(self._loss_grad, theta, args=(R,), jac=True, method="L-BFGS-B",
                          callback=record, options={"maxiter": self.epochs, "maxcor": 10})
        self.loss_curve_ = losses
        self.converged_ = bool(result.success)
        return result.x

    def _fit_adam(self, theta: np.ndarray, R: Any, rng: np.random.Generator) -> np.ndarray:
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        m, v, step = np.zeros_like(theta), np.zeros_like(theta), 0
        n_rows, losses = R.shape[0], []
        for _ in range(self.epochs):
            for batch in np.array_split(rng.permutation(n_rows), max(1, n_rows // self.batch_size)):
                step += 1
                _, grad = self._loss_grad(theta, R[np.sort(batch)])
                # the weight penalty belongs to the whole objective: scale it to the batch's share
                grad -= (1 - len(batch) / n_rows) * self._penalty_grad(theta)
                m = beta1 * m + (1 - beta1) * grad
                v = beta2 * v + (1 - beta2) * grad * grad
                theta = theta - self.learning_rate * (m / (1 - beta1 ** step)) / (
                    np.sqrt(v / (1 - beta2 ** step)) + eps)
            observed = self._reconstruct(theta, R)[np.repeat(np.arange(n_rows), np.diff(R.indptr)), R.indices]
            losses.append(float(np.mean((observed - R.data) ** 2)))
            report_progress(len(losses), self.epochs)
        self.loss_curve_, self.converged_ = losses, False
        return theta

    def _reconstruct(self, theta: np.ndarray, R: Any) -> np.ndarray:
        V, mu, W, b = self._unpack(theta)
        return _sigmoid(np.asarray(R @ V) + mu) @ W + b

    def _penalty_grad(self, theta: np.ndarray) -> np.ndarray:
        V, mu, W, b = self._unpack(theta)
        return np.concatenate([(self.reg * V).ravel(), np.zeros_like(mu), (self.reg * W).ravel(),
                               np.zeros_like(b)])

    # --- the RatingModel interface -------------------------------------------------------

    def fit(self, train: RatingData) -> AutoRec:
        if self.variant not in ("item", "user"):
            raise PluginInputError(f"variant must be 'item' or 'user', got {self.variant!r}")
        if self.optimizer not in ("lbfgs", "adam"):
            raise PluginInputError(f"optimizer must be 'lbfgs' or 'adam', got {self.optimizer!r}")
        if self.hidden < 1 or self.epochs < 1:
            raise PluginInputError("hidden and epochs must be positive")
        u, i = self.fit_baseline(train)
        n_users, n_items = len(self.users_), len(self.items_)
        rows, cols = (i, u) if self.variant == "item" else (u, i)
        shape = (n_items, n_users) if self.variant == "item" else (n_users, n_items)
        needed_gb = 3 * shape[0] * shape[1] * 8 / 2**30  # the dense output layer and its copies
        if needed_gb > MAX_DENSE_GB:
            raise PluginInputError(f"autorec works on a dense {shape[0]:,} x {shape[1]:,} matrix "
                                   f"(about {needed_gb:.1f} GB), above {MAX_DENSE_GB} GB")
        from scipy.sparse import csr_matrix

        ratings = train.ratings["rating"].to_numpy(np.float64)
        pairs = pd.DataFrame({"row": rows, "col": cols, "rating": ratings})
        pairs = pairs.drop_duplicates(["row", "col"], keep="last")  # a rating given twice counts once
        R = csr_matrix((pairs["rating"].to_numpy(), (pairs["row"].to_numpy(), pairs["col"].to_numpy())),
                       shape=shape)
        self.n_in_ = shape[1]
        rng = np.random.default_rng(self.random_state)
        theta = self._init(rng)
        if self.optimizer == "lbfgs":
            theta = self._fit_lbfgs(theta, R)
        else:
            theta = self._fit_adam(theta, R, rng)
        self.reconstruction_ = self._reconstruct(theta, R)  # rows × inputs
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        rows, cols = (i, u) if self.variant == "item" else (u, i)
        return self.reconstruction_[rows, cols]

    def info(self) -> dict[str, Any]:
        """``history["loss"]``: the mean squared error on the observed training ratings per epoch."""
        return {"history": {"loss": self.loss_curve_}, "epochs_run": len(self.loss_curve_),
                "converged": self.converged_}


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec("autorec", {RATING: AutoRec},
                      summary="I-AutoRec / U-AutoRec (Sedhain et al. 2015), numpy + L-BFGS")]
