"""LensKit's scorers (https://lenskit.org, 2025.x) as models of bench's ``ranking`` task.

Each ``lenskit-*`` model trains LensKit's standard top-N pipeline (``topn_pipeline``: the user's
training history looked up, then the scorer) on the cell's training interactions and asks its
``scorer`` for every item of the catalogue, user by user. The candidates, the relevance
threshold, the tie rule and the metrics are bench's, never LensKit's ``RunAnalysis`` (whose NDCG
weights ranks 1 and 2 alike and whose Recall@k divides by min(|R|, k): ``docs/arena.md``).
Parameters are the fields of each scorer's LensKit configuration, with LensKit's names and
defaults, listed in each class so that ``bench plugins lenskit-ease`` shows them; ``seed``
(LensKit's ``TrainingOptions.rng``) follows the suite seed unless set.

An item the scorer cannot score (LensKit returns NaN: no usable neighbour, a user without
history) ranks after every item it scored, as LensKit's ranker drops it; items without a
training interaction rank last, as for every ranking model.

**LensKit needs an environment, not an extra**: LensKit 2025 requires pandas < 3 (bench runs
pandas 3) and PyTorch. A suite declares one (``torch==2.13.0`` keeps pip on the CPU wheel)::

    environments:
      lenskit: {requirements: ["lenskit>=2025.1,<2026", "torch==2.13.0"]}
    models:
      - {name: lenskit-ease, env: lenskit, params: {regularization: 500.0}}

LensKit is imported inside ``fit`` only.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from benchmark.api import ModelSpec, hookimpl, require
from benchmark.ranking import Interactions, RankingModel
from bench_plugins.ranking_core import RANKING

LENSKIT = {"lenskit": "lenskit"}
BENCH_ONLY = ("binary", "seed")
"""Parameters of an adapter that are bench's, not fields of the LensKit configuration."""


class LensKitModel(RankingModel):
    """Train ``topn_pipeline(<scorer>(**config))`` and score every item for each user.

    A subclass names the scorer (``module``, ``scorer``) and lists its configuration fields in
    ``__init__`` with LensKit's defaults; everything else is here."""

    requires = LENSKIT
    module: ClassVar[str] = ""
    scorer: ClassVar[str] = ""
    binary: bool
    seed: int | None

    def library_params(self) -> dict[str, Any]:
        """The scorer's configuration: the parameters set to something else than LensKit's
        default (bench's own left out). Only those: LensKit's presets (FlexMF's ``preset: bpr``)
        apply to the fields a user did not set, as when LensKit is called directly."""
        own = inspect.signature(type(self).__init__).parameters.values()
        return {p.name: getattr(self, p.name) for p in own
                if p.name != "self" and p.name not in BENCH_ONLY and getattr(self, p.name) != p.default}

    def prepare(self) -> None:
        """Import LensKit (and PyTorch under it) before the fit clock starts: seconds in a fresh
        worker, recorded as the cell's ``prepare_seconds``, not as LensKit's fit."""
        import importlib

        require("lenskit", LENSKIT["lenskit"])
        for module in ("lenskit.data", "lenskit.pipeline", "lenskit.training", self.module):
            importlib.import_module(module)

    def fit(self, train: Interactions) -> LensKitModel:
        require("lenskit", LENSKIT["lenskit"])
        import importlib

        import pandas as pd
        from lenskit.data import from_interactions_df
        from lenskit.pipeline import topn_pipeline
        from lenskit.training import TrainingOptions

        self.train_ = train
        matrix = train.matrix.tocoo()
        frame = pd.DataFrame({"user_id": matrix.row.astype(np.int64), "item_id": matrix.col.astype(np.int64)})
        if not self.binary:
            frame["rating"] = matrix.data.astype(np.float64)
        dataset = from_interactions_df(frame, user_col="user_id", item_col="item_id",
                                       rating_col=None if self.binary else "rating")
        scorer_class = getattr(importlib.import_module(self.module), self.scorer)
        self.pipeline_ = topn_pipeline(scorer_class(**self.library_params()))
        self.pipeline_.train(dataset, TrainingOptions(rng=self.seed))
        self.known_users_ = set(int(u) for u in dataset.users.ids())
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        from lenskit.data import ItemList

        candidates = ItemList(item_ids=np.arange(self.train_.n_items, dtype=np.int64))
        out = np.zeros((len(users), self.train_.n_items))
        for row, user in enumerate(np.asarray(users, dtype=np.int64)):
            if int(user) not in self.known_users_:
                continue  # no training history: LensKit scores nothing, every item 0
            scored = self.pipeline_.run("scorer", query=int(user), items=candidates)
            values = np.asarray(scored.scores(), dtype=np.float64)
            missing = ~np.isfinite(values)
            if missing.all():
                continue
            if missing.any():  # unscored items after every scored one, as LensKit's ranker drops them
                values[missing] = values[~missing].min() - 1.0
            out[row] = values
        return out

    def info(self) -> dict[str, Any]:
        return {"library": "lenskit", "scorer": f"{self.module}.{self.scorer}", "users_known": len(self.known_users_)}


class LensKitPop(LensKitModel):
    """LensKit's PopScorer: items by their number of training interactions.

    :param score_method: LensKit's 'score' (renamed: score is the ranking model's method):
        quantile (LensKit's default: cumulative share, which orders equal counts by LensKit's sort),
        rank, or count (equal counts tie and bench's tie rule orders them: bench's most-popular).
    :param binary: give LensKit the interactions only (true) or with their ratings (false).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.basic", "PopScorer"
    constraints = {"score_method": {"enum": ["quantile", "rank", "count"]}}

    def __init__(self, score_method: str = "quantile", binary: bool = False, seed: int | None = None):
        self.score_method, self.binary, self.seed = score_method, binary, seed

    def library_params(self) -> dict[str, Any]:
        return {} if self.score_method == "quantile" else {"score": self.score_method}


class LensKitEASE(LensKitModel):
    """LensKit's EASEScorer (Steck 2019), solved in float32 with PyTorch.

    :param regularization: L2 regularisation added to the Gram matrix's diagonal (LensKit's default 1;
        bench's ease uses 500).
    :param binary: give LensKit the interactions only (true) or with their ratings (false; EASE counts
        co-occurrences either way).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.knn", "EASEScorer"
    constraints = {"regularization": {"exclusiveMinimum": 0}}

    def __init__(self, regularization: float = 1.0, binary: bool = False, seed: int | None = None):
        self.regularization, self.binary, self.seed = regularization, binary, seed


class LensKitItemKNN(LensKitModel):
    """LensKit's ItemKNNScorer: item-based neighbourhood.

    :param max_nbrs: neighbours used to score an item.
    :param min_nbrs: fewest neighbours needed to score an item (else it is not scored).
    :param min_sim: smallest similarity kept.
    :param save_nbrs: neighbours saved per item (None: all above min_sim).
    :param feedback: explicit (mean-centred ratings, weighted average) or implicit (sum of similarities).
    :param block_size: items per block when computing similarities.
    :param binary: give LensKit the interactions only (true) or with their ratings (false).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.knn", "ItemKNNScorer"
    constraints = {"max_nbrs": {"minimum": 1}, "min_nbrs": {"minimum": 1}, "feedback": {"enum": ["explicit", "implicit"]}}

    def __init__(self, max_nbrs: int = 20, min_nbrs: int = 1, min_sim: float = 1e-6, save_nbrs: int | None = None,
                 feedback: str = "explicit", block_size: int = 250, binary: bool = False, seed: int | None = None):
        self.max_nbrs, self.min_nbrs, self.min_sim, self.save_nbrs = max_nbrs, min_nbrs, min_sim, save_nbrs
        self.feedback, self.block_size, self.binary, self.seed = feedback, block_size, binary, seed


class LensKitUserKNN(LensKitModel):
    """LensKit's UserKNNScorer: user-based neighbourhood.

    :param max_nbrs: neighbours used to score an item.
    :param min_nbrs: fewest neighbours needed to score an item (else it is not scored).
    :param min_sim: smallest similarity kept.
    :param feedback: explicit (mean-centred ratings, weighted average) or implicit (sum of similarities).
    :param binary: give LensKit the interactions only (true) or with their ratings (false).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.knn", "UserKNNScorer"
    constraints = {"max_nbrs": {"minimum": 1}, "min_nbrs": {"minimum": 1}, "feedback": {"enum": ["explicit", "implicit"]}}

    def __init__(self, max_nbrs: int = 20, min_nbrs: int = 1, min_sim: float = 1e-6, feedback: str = "explicit",
                 binary: bool = False, seed: int | None = None):
        self.max_nbrs, self.min_nbrs, self.min_sim, self.feedback = max_nbrs, min_nbrs, min_sim, feedback
        self.binary, self.seed = binary, seed


class LensKitImplicitMF(LensKitModel):
    """LensKit's ImplicitMFScorer: implicit-feedback ALS (Hu, Koren & Volinsky 2008).

    :param embedding_size: latent factors.
    :param epochs: ALS sweeps.
    :param regularization: L2 regularisation.
    :param user_embeddings: keep user embeddings (prefer: use them where the user is known).
    :param weight: confidence weight of an observed interaction.
    :param use_ratings: weight interactions by their rating.
    :param binary: give LensKit the interactions only (true) or with their ratings (false).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.als", "ImplicitMFScorer"
    constraints = {"embedding_size": {"minimum": 1}, "epochs": {"minimum": 1}, "regularization": {"exclusiveMinimum": 0}}

    def __init__(self, embedding_size: int = 50, epochs: int = 10, regularization: float = 0.1,
                 user_embeddings: bool | str = True, weight: float = 40.0, use_ratings: bool = False,
                 binary: bool = False, seed: int | None = None):
        self.embedding_size, self.epochs, self.regularization = embedding_size, epochs, regularization
        self.user_embeddings, self.weight, self.use_ratings = user_embeddings, weight, use_ratings
        self.binary, self.seed = binary, seed


class LensKitBiasedMF(LensKitModel):
    """LensKit's BiasedMFScorer: explicit-feedback biased MF by ALS (ranks by predicted rating).

    :param embedding_size: latent factors.
    :param epochs: ALS sweeps.
    :param regularization: L2 regularisation.
    :param user_embeddings: keep user embeddings (prefer: use them where the user is known).
    :param damping: damping of the user and item biases.
    :param binary: give LensKit the interactions only (true) or with their ratings (false).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.als", "BiasedMFScorer"
    constraints = {"embedding_size": {"minimum": 1}, "epochs": {"minimum": 1}, "regularization": {"exclusiveMinimum": 0}}

    def __init__(self, embedding_size: int = 50, epochs: int = 10, regularization: float = 0.1,
                 user_embeddings: bool | str = True, damping: float = 5.0, binary: bool = False,
                 seed: int | None = None):
        self.embedding_size, self.epochs, self.regularization = embedding_size, epochs, regularization
        self.user_embeddings, self.damping, self.binary, self.seed = user_embeddings, damping, binary, seed


class LensKitFlexMF(LensKitModel):
    """LensKit's FlexMFImplicitScorer: implicit-feedback MF in PyTorch (logistic, BPR or WARP loss).

    :param embedding_size: latent factors.
    :param batch_size: interactions per batch.
    :param learning_rate: Adam's step.
    :param epochs: epochs.
    :param regularization: regularisation strength.
    :param reg_method: AdamW (weight decay) or L2.
    :param preset: bpr, warp or lightgcn (sets loss and sampling), or None.
    :param loss: logistic, pairwise (BPR) or warp.
    :param negative_strategy: uniform, popular or misranked (None: the loss's default).
    :param negative_count: negatives per positive.
    :param positive_weight: weight of a positive interaction.
    :param user_bias: learn user biases (None: the loss's default).
    :param item_bias: learn item biases.
    :param convolution_layers: graph-convolution layers (LightGCN-style).
    :param binary: give LensKit the interactions only (true) or with their ratings (false).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.flexmf", "FlexMFImplicitScorer"
    constraints = {"embedding_size": {"minimum": 1}, "epochs": {"minimum": 1}, "batch_size": {"minimum": 1},
                   "loss": {"enum": ["logistic", "pairwise", "warp"]}, "learning_rate": {"exclusiveMinimum": 0},
                   "regularization": {"minimum": 0}}

    def __init__(self, embedding_size: int = 64, batch_size: int = 8192, learning_rate: float = 0.01, epochs: int = 10,
                 regularization: float = 0.01, reg_method: str | None = "AdamW", preset: str | None = None,
                 loss: str = "logistic", negative_strategy: str | None = None, negative_count: int = 1,
                 positive_weight: float = 1.0, user_bias: bool | None = None, item_bias: bool = True,
                 convolution_layers: int = 0, binary: bool = False, seed: int | None = None):
        self.embedding_size, self.batch_size, self.learning_rate, self.epochs = embedding_size, batch_size, learning_rate, epochs
        self.regularization, self.reg_method, self.preset, self.loss = regularization, reg_method, preset, loss
        self.negative_strategy, self.negative_count, self.positive_weight = negative_strategy, negative_count, positive_weight
        self.user_bias, self.item_bias, self.convolution_layers = user_bias, item_bias, convolution_layers
        self.binary, self.seed = binary, seed


class LensKitBiasedSVD(LensKitModel):
    """LensKit's BiasedSVDScorer: scikit-learn's TruncatedSVD of the bias-removed ratings.

    :param embedding_size: latent factors.
    :param damping: damping of the user and item biases.
    :param algorithm: arpack or randomized.
    :param n_iter: iterations of the randomized solver.
    :param binary: give LensKit the interactions only (true) or with their ratings (false).
    :param seed: LensKit's training seed (the suite seed unless set).
    """

    module, scorer = "lenskit.sklearn.svd", "BiasedSVDScorer"
    constraints = {"embedding_size": {"minimum": 1}, "algorithm": {"enum": ["arpack", "randomized"]},
                   "n_iter": {"minimum": 1}}

    def __init__(self, embedding_size: int = 50, damping: float = 5.0, algorithm: str = "randomized", n_iter: int = 5,
                 binary: bool = False, seed: int | None = None):
        self.embedding_size, self.damping, self.algorithm, self.n_iter = embedding_size, damping, algorithm, n_iter
        self.binary, self.seed = binary, seed


MODELS: dict[str, tuple[type[LensKitModel], str]] = {
    "lenskit-pop": (LensKitPop, "LensKit's PopScorer (score_method: count gives bench's most-popular)"),
    "lenskit-ease": (LensKitEASE, "LensKit's EASE (float32, PyTorch)"),
    "lenskit-item-knn": (LensKitItemKNN, "LensKit's item-based kNN"),
    "lenskit-user-knn": (LensKitUserKNN, "LensKit's user-based kNN"),
    "lenskit-implicit-mf": (LensKitImplicitMF, "LensKit's implicit-feedback ALS (Hu et al. 2008)"),
    "lenskit-biased-mf": (LensKitBiasedMF, "LensKit's explicit biased MF by ALS"),
    "lenskit-flexmf": (LensKitFlexMF, "LensKit's FlexMF implicit MF in PyTorch (logistic, BPR, WARP)"),
    "lenskit-biased-svd": (LensKitBiasedSVD, "LensKit's biased SVD (scikit-learn TruncatedSVD)"),
}


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec(name, {RANKING: model}, dict(model.requires), summary=summary)
            for name, (model, summary) in MODELS.items()]
