"""Cornac's recommenders (https://cornac.preferred.ai) as models of bench's ``ranking`` task.

Each ``cornac-*`` model fits the Cornac recommender of the same name on the cell's training
interactions and returns its scores for every item; the candidates (every item the user did not
rate in training), the relevance threshold, the tie rule and the metrics are bench's, never
Cornac's ``ranking_eval`` (whose own candidates keep the items a user rated below its threshold:
``docs/arena.md`` has what that changes). The parameters are Cornac's, with Cornac's names and
defaults, listed in each class so that ``bench plugins cornac-ease`` shows them; ``seed`` follows
the suite seed unless set, and Cornac's ``verbose`` is off.

Two choices are bench's:

* ``binary`` — what Cornac is given as the rating of a training interaction: 1 (bench's implicit
  models count any rating as one interaction; the default of the item-based and ranking models)
  or the rating itself (the default of Cornac's rating-prediction models, MF and PMF). With
  ``binary: true`` and ``posB: false``, ``cornac-ease`` is bench's ``ease`` (docs/arena.md).
* ``num_threads`` defaults to 1 where Cornac's default is 0 (every core): a cell gets the cores
  it declares, and one thread makes BPR's updates reproducible.

A user Cornac does not know (no training interaction) scores 0 for every item unless the model
scores unknown users itself (MostPop); items without a training interaction rank last, as for
every ranking model. Cornac installs beside bench (``pip install bench-harness[cornac]``);
VAECF and RecVAE also need PyTorch. Cornac is imported inside ``fit`` only.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from benchmark.api import ModelSpec, hookimpl, require
from benchmark.ranking import Interactions, RankingModel
from bench_plugins.ranking_core import RANKING

CORNAC = {"cornac": "cornac"}
TORCH = {"cornac": "cornac", "torch": "torch"}
BENCH_ONLY = ("binary",)
"""Parameters of an adapter that are bench's, not passed to Cornac."""


class CornacModel(RankingModel):
    """Fit ``cornac.models.<cornac_class>`` with this object's parameters; score every item.

    A subclass names the Cornac class and lists its parameters in ``__init__`` (with Cornac's
    defaults); everything else is here."""

    requires = CORNAC
    cornac_class: ClassVar[str] = ""
    binary: bool

    def library_params(self) -> dict[str, Any]:
        """The parameters passed to Cornac: this object's, less bench's own, plus ``verbose``
        off where the Cornac class has it."""
        import cornac

        own = [name for name in inspect.signature(type(self).__init__).parameters if name != "self"]
        params = {name: getattr(self, name) for name in own if name not in BENCH_ONLY}
        accepted = inspect.signature(getattr(cornac.models, self.cornac_class).__init__).parameters
        if "verbose" in accepted:
            params["verbose"] = False
        return params

    def prepare(self) -> None:
        """Import Cornac (and PyTorch for VAECF/RecVAE) before the fit clock starts (recorded as
        the cell's ``prepare_seconds``)."""
        for module, distribution in self.requires.items():
            require(module, distribution)
        import cornac.models  # noqa: F401

    def fit(self, train: Interactions) -> CornacModel:
        cornac = require("cornac", CORNAC["cornac"])
        for module, distribution in self.requires.items():
            require(module, distribution)
        self.train_ = train
        matrix = train.matrix.tocoo()
        values = np.ones(matrix.nnz) if self.binary else matrix.data.astype(np.float64)
        triplets = zip(matrix.row.tolist(), matrix.col.tolist(), values.tolist())
        train_set = cornac.data.Dataset.build(list(triplets), fmt="UIR", seed=getattr(self, "seed", None))
        self.model_ = getattr(cornac.models, self.cornac_class)(**self.library_params())
        self.model_.fit(train_set)
        self.user_index_ = np.full(train.n_users, -1, dtype=np.int64)  # bench position -> Cornac's index
        self.user_index_[list(train_set.uid_map)] = list(train_set.uid_map.values())
        self.item_positions_ = np.empty(len(train_set.iid_map), dtype=np.int64)  # Cornac's index -> position
        self.item_positions_[list(train_set.iid_map.values())] = list(train_set.iid_map)
        self.unknown_user_ = train_set.num_users
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        from cornac.exception import ScoreException

        out = np.zeros((len(users), self.train_.n_items))
        for row, user in enumerate(np.asarray(users, dtype=np.int64)):
            index = int(self.user_index_[user])
            try:
                scores = self.model_.score(index if index >= 0 else self.unknown_user_)
            except (ScoreException, IndexError):  # a user Cornac cannot score: every item 0
                continue
            out[row, self.item_positions_] = np.asarray(scores, dtype=np.float64).ravel()[:len(self.item_positions_)]
        return out

    def info(self) -> dict[str, Any]:
        return {"library": "cornac", "cornac_class": self.cornac_class,
                "users_known": int((self.user_index_ >= 0).sum()), "items_known": len(self.item_positions_)}


class CornacEASE(CornacModel):
    """Cornac's EASE (Steck 2019): closed-form item-item model.

    :param lamb: L2 regularisation added to the Gram matrix's diagonal.
    :param posB: keep only the positive weights of B (Cornac's default; Steck's EASE keeps all: false).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    :param seed: Cornac's seed (the suite seed unless set).
    """

    cornac_class = "EASE"
    constraints = {"lamb": {"exclusiveMinimum": 0}}

    def __init__(self, lamb: float = 500.0, posB: bool = True, binary: bool = True, seed: int | None = None):
        self.lamb, self.posB, self.binary, self.seed = lamb, posB, binary, seed


class CornacMostPop(CornacModel):
    """Cornac's MostPop: items by their number of training interactions.

    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    """

    cornac_class = "MostPop"

    def __init__(self, binary: bool = True):
        self.binary = binary


class CornacBPR(CornacModel):
    """Cornac's BPR (Rendle et al. 2009): pairwise ranking by SGD over sampled triples.

    :param k: latent factors.
    :param max_iter: epochs.
    :param learning_rate: SGD step.
    :param lambda_reg: L2 regularisation.
    :param use_bias: learn an item bias.
    :param num_threads: OpenMP threads (1: reproducible; Cornac's default 0 is every core).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    :param seed: seed of the initial factors and of the sampling (the suite seed unless set).
    """

    cornac_class = "BPR"
    constraints = {"k": {"minimum": 1}, "max_iter": {"minimum": 1}, "learning_rate": {"exclusiveMinimum": 0},
                   "lambda_reg": {"minimum": 0}, "num_threads": {"minimum": 0}}

    def __init__(self, k: int = 10, max_iter: int = 100, learning_rate: float = 0.001, lambda_reg: float = 0.01,
                 use_bias: bool = True, num_threads: int = 1, binary: bool = True, seed: int | None = None):
        self.k, self.max_iter, self.learning_rate, self.lambda_reg = k, max_iter, learning_rate, lambda_reg
        self.use_bias, self.num_threads, self.binary, self.seed = use_bias, num_threads, binary, seed


class _CornacKNN(CornacModel):
    def __init__(self, k: int = 20, similarity: str = "cosine", mean_centered: bool = False,
                 weighting: str | None = None, amplify: float = 1.0, num_threads: int = 1,
                 binary: bool = True, seed: int | None = None):
        self.k, self.similarity, self.mean_centered, self.weighting = k, similarity, mean_centered, weighting
        self.amplify, self.num_threads, self.binary, self.seed = amplify, num_threads, binary, seed

    constraints = {"k": {"minimum": 1}, "similarity": {"enum": ["cosine", "pearson"]},
                   "weighting": {"enum": [None, "idf", "bm25"]}, "num_threads": {"minimum": 0}}


class CornacItemKNN(_CornacKNN):
    """Cornac's ItemKNN: item-based neighbourhood.

    :param k: neighbours.
    :param similarity: cosine or pearson.
    :param mean_centered: subtract each user's mean rating first (adjusted cosine).
    :param weighting: none, idf or bm25 weighting of the ratings.
    :param amplify: exponent applied to the similarities.
    :param num_threads: OpenMP threads (Cornac's default 0 is every core).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    :param seed: Cornac's seed (the suite seed unless set).
    """

    cornac_class = "ItemKNN"


class CornacUserKNN(_CornacKNN):
    """Cornac's UserKNN: user-based neighbourhood.

    :param k: neighbours.
    :param similarity: cosine or pearson.
    :param mean_centered: subtract each user's mean rating first.
    :param weighting: none, idf or bm25 weighting of the ratings.
    :param amplify: exponent applied to the similarities.
    :param num_threads: OpenMP threads (Cornac's default 0 is every core).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    :param seed: Cornac's seed (the suite seed unless set).
    """

    cornac_class = "UserKNN"


class CornacMF(CornacModel):
    """Cornac's MF: biased matrix factorisation of the ratings by SGD (ranks by predicted rating).

    :param k: latent factors.
    :param max_iter: epochs.
    :param learning_rate: SGD step.
    :param lambda_reg: L2 regularisation.
    :param use_bias: learn user and item biases.
    :param early_stop: stop when the training loss stops improving.
    :param num_threads: OpenMP threads (Cornac's default 0 is every core).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false, the default).
    :param seed: seed of the initial factors (the suite seed unless set).
    """

    cornac_class = "MF"
    constraints = {"k": {"minimum": 1}, "max_iter": {"minimum": 1}, "learning_rate": {"exclusiveMinimum": 0},
                   "lambda_reg": {"minimum": 0}, "num_threads": {"minimum": 0}}

    def __init__(self, k: int = 10, max_iter: int = 20, learning_rate: float = 0.01, lambda_reg: float = 0.02,
                 use_bias: bool = True, early_stop: bool = False, num_threads: int = 1, binary: bool = False,
                 seed: int | None = None):
        self.k, self.max_iter, self.learning_rate, self.lambda_reg = k, max_iter, learning_rate, lambda_reg
        self.use_bias, self.early_stop, self.num_threads = use_bias, early_stop, num_threads
        self.binary, self.seed = binary, seed


class CornacPMF(CornacModel):
    """Cornac's PMF (Salakhutdinov & Mnih 2008): probabilistic matrix factorisation.

    :param k: latent factors.
    :param max_iter: epochs.
    :param learning_rate: step of the optimiser.
    :param gamma: momentum.
    :param lambda_reg: L2 regularisation.
    :param variant: linear or non_linear (ratings through a sigmoid).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false, the default).
    :param seed: seed of the initial factors (the suite seed unless set).
    """

    cornac_class = "PMF"
    constraints = {"k": {"minimum": 1}, "max_iter": {"minimum": 1}, "learning_rate": {"exclusiveMinimum": 0},
                   "lambda_reg": {"minimum": 0}, "variant": {"enum": ["linear", "non_linear"]}}

    def __init__(self, k: int = 5, max_iter: int = 100, learning_rate: float = 0.001, gamma: float = 0.9,
                 lambda_reg: float = 0.001, variant: str = "non_linear", binary: bool = False,
                 seed: int | None = None):
        self.k, self.max_iter, self.learning_rate, self.gamma = k, max_iter, learning_rate, gamma
        self.lambda_reg, self.variant, self.binary, self.seed = lambda_reg, variant, binary, seed


class CornacHPF(CornacModel):
    """Cornac's HPF (Gopalan et al. 2015): hierarchical Poisson factorisation.

    :param k: latent factors.
    :param max_iter: variational iterations.
    :param hierarchical: the hierarchical model (false: plain Poisson factorisation).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    :param seed: seed of the initial parameters (the suite seed unless set).
    """

    cornac_class = "HPF"
    constraints = {"k": {"minimum": 1}, "max_iter": {"minimum": 1}}

    def __init__(self, k: int = 5, max_iter: int = 100, hierarchical: bool = True, binary: bool = True,
                 seed: int | None = None):
        self.k, self.max_iter, self.hierarchical, self.binary, self.seed = k, max_iter, hierarchical, binary, seed


class CornacVAECF(CornacModel):
    """Cornac's VAECF (Liang et al. 2018, Mult-VAE): a variational autoencoder of user rows (PyTorch).

    :param k: latent dimension.
    :param autoencoder_structure: hidden layer sizes of the encoder (the decoder mirrors them).
    :param act_fn: activation (tanh, sigmoid, relu, relu6, elu).
    :param likelihood: mult, bern, gaus or pois.
    :param n_epochs: epochs.
    :param batch_size: users per batch.
    :param learning_rate: Adam's step.
    :param beta: weight of the KL term.
    :param use_gpu: train on the GPU bench gives the cell (``uses_gpu``; none: the CPU).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    :param seed: PyTorch's seed (the suite seed unless set).
    """

    uses_gpu = True  # PyTorch: one device per cell when bench has one

    requires = TORCH
    cornac_class = "VAECF"
    constraints = {"k": {"minimum": 1}, "n_epochs": {"minimum": 1}, "batch_size": {"minimum": 1},
                   "learning_rate": {"exclusiveMinimum": 0}, "beta": {"minimum": 0},
                   "likelihood": {"enum": ["mult", "bern", "gaus", "pois"]}}

    def __init__(self, k: int = 10, autoencoder_structure: list[int] | None = None, act_fn: str = "tanh",
                 likelihood: str = "mult", n_epochs: int = 100, batch_size: int = 100,
                 learning_rate: float = 0.001, beta: float = 1.0, use_gpu: bool = True,
                 binary: bool = True, seed: int | None = None):
        self.k, self.act_fn, self.likelihood, self.n_epochs = k, act_fn, likelihood, n_epochs
        self.autoencoder_structure = autoencoder_structure if autoencoder_structure is not None else [20]
        self.batch_size, self.learning_rate, self.beta, self.use_gpu = batch_size, learning_rate, beta, use_gpu
        self.binary, self.seed = binary, seed


class CornacRecVAE(CornacModel):
    """Cornac's RecVAE (Shenbin et al. 2020): Mult-VAE with a composite prior (PyTorch).

    :param hidden_dim: hidden layer size.
    :param latent_dim: latent dimension.
    :param batch_size: users per batch.
    :param beta: weight of the KL term (None: RecVAE's user-dependent weight).
    :param gamma: scale of the user-dependent KL weight.
    :param lr: Adam's step.
    :param n_epochs: epochs.
    :param n_enc_epochs: encoder updates per epoch.
    :param n_dec_epochs: decoder updates per epoch.
    :param use_gpu: train on the GPU bench gives the cell (``uses_gpu``; none: the CPU).
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false).
    :param seed: PyTorch's seed (the suite seed unless set).
    """

    uses_gpu = True  # PyTorch: one device per cell when bench has one

    requires = TORCH
    cornac_class = "RecVAE"
    constraints = {"hidden_dim": {"minimum": 1}, "latent_dim": {"minimum": 1}, "batch_size": {"minimum": 1},
                   "n_epochs": {"minimum": 1}, "lr": {"exclusiveMinimum": 0}, "n_enc_epochs": {"minimum": 1},
                   "n_dec_epochs": {"minimum": 1}}

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, batch_size: int = 500,
                 beta: float | None = None, gamma: float = 0.005, lr: float = 0.0005, n_epochs: int = 50,
                 n_enc_epochs: int = 3, n_dec_epochs: int = 1, use_gpu: bool = True, binary: bool = True,
                 seed: int | None = None):
        self.hidden_dim, self.latent_dim, self.batch_size, self.beta = hidden_dim, latent_dim, batch_size, beta
        self.gamma, self.lr, self.n_epochs, self.n_enc_epochs = gamma, lr, n_epochs, n_enc_epochs
        self.n_dec_epochs, self.use_gpu, self.binary, self.seed = n_dec_epochs, use_gpu, binary, seed


MODELS: dict[str, tuple[type[CornacModel], str]] = {
    "cornac-ease": (CornacEASE, "Cornac's EASE (posB: false and binary input give bench's ease)"),
    "cornac-most-pop": (CornacMostPop, "Cornac's MostPop: items by number of training interactions"),
    "cornac-bpr": (CornacBPR, "Cornac's BPR (Rendle et al. 2009)"),
    "cornac-item-knn": (CornacItemKNN, "Cornac's item-based kNN"),
    "cornac-user-knn": (CornacUserKNN, "Cornac's user-based kNN"),
    "cornac-mf": (CornacMF, "Cornac's biased MF by SGD, ranking by predicted rating"),
    "cornac-pmf": (CornacPMF, "Cornac's probabilistic MF (Salakhutdinov & Mnih 2008)"),
    "cornac-hpf": (CornacHPF, "Cornac's hierarchical Poisson factorisation (Gopalan et al. 2015)"),
    "cornac-vaecf": (CornacVAECF, "Cornac's Mult-VAE (Liang et al. 2018), PyTorch"),
    "cornac-recvae": (CornacRecVAE, "Cornac's RecVAE (Shenbin et al. 2020), PyTorch"),
}


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec(name, {RANKING: model}, dict(model.requires), summary=summary)
            for name, (model, summary) in MODELS.items()]
