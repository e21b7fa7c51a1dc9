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

from benchmark.api import ModelSpec, hookimpl
from benchmark.ranking import Interactions
from bench_plugins.arena_base import ArenaModel, model_specs
from bench_plugins.ranking_core import RANKING

CORNAC = {"cornac": "cornac"}
TORCH = {"cornac": "cornac", "torch": "torch"}


class CornacModel(ArenaModel):
    """Fit ``cornac.models.<cornac_class>`` with this object's parameters; score every item.

    A subclass names the Cornac class and lists its parameters in ``__init__`` (with Cornac's
    defaults); everything else is here, the docs of the parameters several models take included
    (``param_docs``: :mod:`bench_plugins.arena_base`)."""

    requires = CORNAC
    cornac_class: ClassVar[str] = ""
    bench_only = ("binary",)
    param_docs = {
        **ArenaModel.param_docs,
        "binary": "fit on 1 for every training interaction (true) or on the ratings (false).",
        "num_threads": "OpenMP threads (Cornac's default 0 is every core).",
        "seed": "Cornac's seed (the suite seed unless set).",
    }
    binary: bool

    def library_params(self) -> dict[str, Any]:
        """The parameters passed to Cornac: this object's, less bench's own, plus ``verbose``
        off where the Cornac class has it."""
        import cornac

        params = self.own_params()
        accepted = inspect.signature(getattr(cornac.models, self.cornac_class).__init__).parameters
        if "verbose" in accepted:
            params["verbose"] = False
        return params

    def prepare(self) -> None:
        """Import Cornac (and PyTorch for VAECF/RecVAE) before the fit clock starts (recorded as
        the cell's ``prepare_seconds``)."""
        self.require_all()
        import cornac.models  # noqa: F401

    def fit(self, train: Interactions) -> CornacModel:
        self.require_all()
        import cornac

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
    """

    cornac_class = "EASE"
    constraints = {"lamb": {"exclusiveMinimum": 0}}

    def __init__(self, lamb: float = 500.0, posB: bool = True, binary: bool = True, seed: int | None = None):
        self._keep(locals())


class CornacMostPop(CornacModel):
    """Cornac's MostPop: items by their number of training interactions."""

    cornac_class = "MostPop"

    def __init__(self, binary: bool = True):
        self._keep(locals())


class CornacBPR(CornacModel):
    """Cornac's BPR (Rendle et al. 2009): pairwise ranking by SGD over sampled triples.

    :param k: latent factors.
    :param max_iter: epochs.
    :param learning_rate: SGD step.
    :param lambda_reg: L2 regularisation.
    :param use_bias: learn an item bias.
    :param num_threads: OpenMP threads (1: reproducible; Cornac's default 0 is every core).
    :param seed: seed of the initial factors and of the sampling (the suite seed unless set).
    """

    cornac_class = "BPR"
    constraints = {"k": {"minimum": 1}, "max_iter": {"minimum": 1}, "learning_rate": {"exclusiveMinimum": 0},
                   "lambda_reg": {"minimum": 0}, "num_threads": {"minimum": 0}}

    def __init__(self, k: int = 10, max_iter: int = 100, learning_rate: float = 0.001, lambda_reg: float = 0.01,
                 use_bias: bool = True, num_threads: int = 1, binary: bool = True, seed: int | None = None):
        self._keep(locals())


class _CornacKNN(CornacModel):
    """Cornac's ItemKNN and UserKNN: one constructor, one set of parameters."""

    constraints = {"k": {"minimum": 1}, "similarity": {"enum": ["cosine", "pearson"]},
                   "weighting": {"enum": [None, "idf", "bm25"]}, "num_threads": {"minimum": 0}}
    param_docs = {
        **CornacModel.param_docs,
        "k": "neighbours.",
        "similarity": "cosine or pearson.",
        "weighting": "none, idf or bm25 weighting of the ratings.",
        "amplify": "exponent applied to the similarities.",
    }

    def __init__(self, k: int = 20, similarity: str = "cosine", mean_centered: bool = False,
                 weighting: str | None = None, amplify: float = 1.0, num_threads: int = 1,
                 binary: bool = True, seed: int | None = None):
        self._keep(locals())


class CornacItemKNN(_CornacKNN):
    """Cornac's ItemKNN: item-based neighbourhood.

    :param mean_centered: subtract each user's mean rating first (adjusted cosine).
    """

    cornac_class = "ItemKNN"


class CornacUserKNN(_CornacKNN):
    """Cornac's UserKNN: user-based neighbourhood.

    :param mean_centered: subtract each user's mean rating first.
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
    :param binary: fit on 1 for every training interaction (true) or on the ratings (false, the default).
    :param seed: seed of the initial factors (the suite seed unless set).
    """

    cornac_class = "MF"
    constraints = {"k": {"minimum": 1}, "max_iter": {"minimum": 1}, "learning_rate": {"exclusiveMinimum": 0},
                   "lambda_reg": {"minimum": 0}, "num_threads": {"minimum": 0}}

    def __init__(self, k: int = 10, max_iter: int = 20, learning_rate: float = 0.01, lambda_reg: float = 0.02,
                 use_bias: bool = True, early_stop: bool = False, num_threads: int = 1, binary: bool = False,
                 seed: int | None = None):
        self._keep(locals())


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
        self._keep(locals())


class CornacHPF(CornacModel):
    """Cornac's HPF (Gopalan et al. 2015): hierarchical Poisson factorisation.

    :param k: latent factors.
    :param max_iter: variational iterations.
    :param hierarchical: the hierarchical model (false: plain Poisson factorisation).
    :param seed: seed of the initial parameters (the suite seed unless set).
    """

    cornac_class = "HPF"
    constraints = {"k": {"minimum": 1}, "max_iter": {"minimum": 1}}

    def __init__(self, k: int = 5, max_iter: int = 100, hierarchical: bool = True, binary: bool = True,
                 seed: int | None = None):
        self._keep(locals())


class _CornacTorch(CornacModel):
    """Cornac's PyTorch models: they declare ``uses_gpu``, so bench gives each cell one device
    when it has one (``bench run --gpus N``) and none otherwise."""

    uses_gpu = True
    requires = TORCH
    param_docs = {**CornacModel.param_docs, "seed": "PyTorch's seed (the suite seed unless set)."}


class CornacVAECF(_CornacTorch):
    """Cornac's VAECF (Liang et al. 2018, Mult-VAE): a variational autoencoder of user rows (PyTorch).

    :param k: latent dimension.
    :param autoencoder_structure: hidden layer sizes of the encoder (the decoder mirrors them).
    :param act_fn: activation (tanh, sigmoid, relu, relu6, elu).
    :param likelihood: mult, bern, gaus or pois.
    :param n_epochs: epochs.
    :param batch_size: users per batch.
    :param learning_rate: Adam's step.
    :param beta: weight of the KL term.
    """

    cornac_class = "VAECF"
    constraints = {"k": {"minimum": 1}, "n_epochs": {"minimum": 1}, "batch_size": {"minimum": 1},
                   "learning_rate": {"exclusiveMinimum": 0}, "beta": {"minimum": 0},
                   "likelihood": {"enum": ["mult", "bern", "gaus", "pois"]}}

    def __init__(self, k: int = 10, autoencoder_structure: list[int] | None = None, act_fn: str = "tanh",
                 likelihood: str = "mult", n_epochs: int = 100, batch_size: int = 100,
                 learning_rate: float = 0.001, beta: float = 1.0, use_gpu: bool = True,
                 binary: bool = True, seed: int | None = None):
        self._keep(locals())
        self.autoencoder_structure = autoencoder_structure if autoencoder_structure is not None else [20]


class CornacRecVAE(_CornacTorch):
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
    """

    cornac_class = "RecVAE"
    constraints = {"hidden_dim": {"minimum": 1}, "latent_dim": {"minimum": 1}, "batch_size": {"minimum": 1},
                   "n_epochs": {"minimum": 1}, "lr": {"exclusiveMinimum": 0}, "n_enc_epochs": {"minimum": 1},
                   "n_dec_epochs": {"minimum": 1}}

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, batch_size: int = 500,
                 beta: float | None = None, gamma: float = 0.005, lr: float = 0.0005, n_epochs: int = 50,
                 n_enc_epochs: int = 3, n_dec_epochs: int = 1, use_gpu: bool = True, binary: bool = True,
                 seed: int | None = None):
        self._keep(locals())


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
    return model_specs(MODELS, RANKING)
