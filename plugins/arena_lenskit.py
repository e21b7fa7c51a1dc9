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

from typing import Any, ClassVar

import numpy as np

from benchmark.api import ModelSpec, hookimpl
from benchmark.ranking import Interactions
from bench_plugins.arena_base import ArenaModel, model_specs
from bench_plugins.ranking_core import RANKING

LENSKIT = {"lenskit": "lenskit"}


class LensKitModel(ArenaModel):
    """Train ``topn_pipeline(<scorer>(**config))`` and score every item for each user.

    A subclass names the scorer (``module``, ``scorer``) and lists its configuration fields in
    ``__init__`` with LensKit's defaults; everything else is here, the docs of the parameters
    several scorers take included (``param_docs``: :mod:`bench_plugins.arena_base`)."""

    requires = LENSKIT
    module: ClassVar[str] = ""
    scorer: ClassVar[str] = ""
    bench_only = ("binary", "seed")  # not fields of the LensKit configuration
    param_docs = {
        **ArenaModel.param_docs,
        "embedding_size": "latent factors.",
        "damping": "damping of the user and item biases.",
        "binary": "give LensKit the interactions only (true) or with their ratings (false).",
        "seed": "LensKit's training seed (the suite seed unless set).",
    }
    binary: bool
    seed: int | None

    def library_params(self) -> dict[str, Any]:
        """The scorer's configuration: the parameters set to something else than LensKit's
        default (bench's own left out). Only those: LensKit's presets (FlexMF's ``preset: bpr``)
        apply to the fields a user did not set, as when LensKit is called directly."""
        defaults = self.param_defaults()
        return {name: value for name, value in self.own_params().items() if value != defaults[name]}

    def prepare(self) -> None:
        """Import LensKit (and PyTorch under it) before the fit clock starts: seconds in a fresh
        worker, recorded as the cell's ``prepare_seconds``, not as LensKit's fit."""
        import importlib

        self.require_all()
        for module in ("lenskit.data", "lenskit.pipeline", "lenskit.training", self.module):
            importlib.import_module(module)

    def fit(self, train: Interactions) -> LensKitModel:
        self.require_all()
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
    """

    module, scorer = "lenskit.basic", "PopScorer"
    constraints = {"score_method": {"enum": ["quantile", "rank", "count"]}}
    score_method: str

    def __init__(self, score_method: str = "quantile", binary: bool = False, seed: int | None = None):
        self._keep(locals())

    def library_params(self) -> dict[str, Any]:
        return {} if self.score_method == "quantile" else {"score": self.score_method}


class LensKitEASE(LensKitModel):
    """LensKit's EASEScorer (Steck 2019), solved in float32 with PyTorch.

    :param regularization: L2 regularisation added to the Gram matrix's diagonal (LensKit's default 1;
        bench's ease uses 500).
    :param binary: give LensKit the interactions only (true) or with their ratings (false; EASE counts
        co-occurrences either way).
    """

    module, scorer = "lenskit.knn", "EASEScorer"
    constraints = {"regularization": {"exclusiveMinimum": 0}}

    def __init__(self, regularization: float = 1.0, binary: bool = False, seed: int | None = None):
        self._keep(locals())


class _LensKitKNN(LensKitModel):
    """LensKit's item- and user-based neighbourhoods: the parameters both take."""

    module = "lenskit.knn"
    constraints = {"max_nbrs": {"minimum": 1}, "min_nbrs": {"minimum": 1}, "feedback": {"enum": ["explicit", "implicit"]}}
    param_docs = {
        **LensKitModel.param_docs,
        "max_nbrs": "neighbours used to score an item.",
        "min_nbrs": "fewest neighbours needed to score an item (else it is not scored).",
        "min_sim": "smallest similarity kept.",
        "feedback": "explicit (mean-centred ratings, weighted average) or implicit (sum of similarities).",
    }


class LensKitItemKNN(_LensKitKNN):
    """LensKit's ItemKNNScorer: item-based neighbourhood.

    :param save_nbrs: neighbours saved per item (None: all above min_sim).
    :param block_size: items per block when computing similarities.
    """

    scorer = "ItemKNNScorer"

    def __init__(self, max_nbrs: int = 20, min_nbrs: int = 1, min_sim: float = 1e-6, save_nbrs: int | None = None,
                 feedback: str = "explicit", block_size: int = 250, binary: bool = False, seed: int | None = None):
        self._keep(locals())


class LensKitUserKNN(_LensKitKNN):
    """LensKit's UserKNNScorer: user-based neighbourhood."""

    scorer = "UserKNNScorer"

    def __init__(self, max_nbrs: int = 20, min_nbrs: int = 1, min_sim: float = 1e-6, feedback: str = "explicit",
                 binary: bool = False, seed: int | None = None):
        self._keep(locals())


class _LensKitALS(LensKitModel):
    """LensKit's matrix factorisations by alternating least squares: the parameters both take."""

    module = "lenskit.als"
    constraints = {"embedding_size": {"minimum": 1}, "epochs": {"minimum": 1}, "regularization": {"exclusiveMinimum": 0}}
    param_docs = {
        **LensKitModel.param_docs,
        "epochs": "ALS sweeps.",
        "regularization": "L2 regularisation.",
        "user_embeddings": "keep user embeddings (prefer: use them where the user is known).",
    }


class LensKitImplicitMF(_LensKitALS):
    """LensKit's ImplicitMFScorer: implicit-feedback ALS (Hu, Koren & Volinsky 2008).

    :param weight: confidence weight of an observed interaction.
    :param use_ratings: weight interactions by their rating.
    """

    scorer = "ImplicitMFScorer"

    def __init__(self, embedding_size: int = 50, epochs: int = 10, regularization: float = 0.1,
                 user_embeddings: bool | str = True, weight: float = 40.0, use_ratings: bool = False,
                 binary: bool = False, seed: int | None = None):
        self._keep(locals())


class LensKitBiasedMF(_LensKitALS):
    """LensKit's BiasedMFScorer: explicit-feedback biased MF by ALS (ranks by predicted rating)."""

    scorer = "BiasedMFScorer"

    def __init__(self, embedding_size: int = 50, epochs: int = 10, regularization: float = 0.1,
                 user_embeddings: bool | str = True, damping: float = 5.0, binary: bool = False,
                 seed: int | None = None):
        self._keep(locals())


class LensKitFlexMF(LensKitModel):
    """LensKit's FlexMFImplicitScorer: implicit-feedback MF in PyTorch (logistic, BPR or WARP loss).

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
        self._keep(locals())


class LensKitBiasedSVD(LensKitModel):
    """LensKit's BiasedSVDScorer: scikit-learn's TruncatedSVD of the bias-removed ratings.

    :param algorithm: arpack or randomized.
    :param n_iter: iterations of the randomized solver.
    """

    module, scorer = "lenskit.sklearn.svd", "BiasedSVDScorer"
    constraints = {"embedding_size": {"minimum": 1}, "algorithm": {"enum": ["arpack", "randomized"]},
                   "n_iter": {"minimum": 1}}

    def __init__(self, embedding_size: int = 50, damping: float = 5.0, algorithm: str = "randomized", n_iter: int = 5,
                 binary: bool = False, seed: int | None = None):
        self._keep(locals())


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
    return model_specs(MODELS, RANKING)
