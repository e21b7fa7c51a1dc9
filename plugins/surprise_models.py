"""Rating models from scikit-surprise (https://surpriselib.com), with Surprise's own defaults.

Every wrapper lists the parameters of its Surprise algorithm, with the same defaults, and passes
them through unchanged (``sim_options``/``bsl_options`` of ``None`` mean Surprise's defaults;
``verbose`` is off). ``random_state`` follows the suite seed unless the suite sets it.

``fit`` builds a Surprise ``Trainset`` from the training rows in their order, exactly as
``Dataset.load_from_df(...).build_full_trainset()`` does; ``predict`` calls the fitted
algorithm's ``estimate`` per pair, as ``AlgoBase.predict(uid, iid, clip=False)`` does (unknown
ids become ``"UKN__<id>"``; ``PredictionImpossible`` gives ``default_prediction()``, the
training mean), so the numbers are those of ``algo.test``. The harness clips to the scale.

Every parameter is described once, in :data:`PARAMS` (a one-line doc and its range, from
Surprise's documentation and the values its code accepts), so ``bench check`` refuses
``n_factors: -3`` before anything runs instead of Surprise failing inside a cell, and
``bench plugins svd`` shows what each parameter means. Surprise is imported inside
``fit``/``predict`` only.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from benchmark.api import RATING, ModelSpec, RatingData, RatingModel, hookimpl, require

SURPRISE = {"surprise": "scikit-surprise"}


_RATE = {"exclusiveMinimum": 0}
_REG = {"minimum": 0}
_SIM_OPTIONS = {"type": ["object", "null"], "additionalProperties": False, "properties": {
    "name": {"enum": ["cosine", "msd", "pearson", "pearson_baseline"]},
    "user_based": {"type": "boolean"}, "min_support": {"type": "integer", "minimum": 0},
    "shrinkage": {"type": "number", "minimum": 0}}}
_BSL_OPTIONS = {"type": ["object", "null"], "additionalProperties": False, "properties": {
    "method": {"enum": ["als", "sgd"]}, "n_epochs": {"type": "integer", "minimum": 1},
    "reg": {"type": "number", "minimum": 0}, "reg_u": {"type": "number", "minimum": 0},
    "reg_i": {"type": "number", "minimum": 0},
    "learning_rate": {"type": "number", "exclusiveMinimum": 0}}}

PARAMS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "n_factors": ("number of latent factors", {"minimum": 1}),
    "n_epochs": ("passes of the optimiser over the training ratings", {"minimum": 0}),
    "biased": ("learn user and item biases too (SVD: unbiased is PMF)", {}),
    "init_mean": ("mean of the normal distribution the factors start from", {}),
    "init_std_dev": ("standard deviation of the factors' initial normal distribution", {"minimum": 0}),
    "init_low": ("lower bound of the factors' initial uniform distribution", {"minimum": 0}),
    "init_high": ("upper bound of the factors' initial uniform distribution", {"minimum": 0}),
    "lr_all": ("SGD learning rate of every parameter", _RATE),
    "reg_all": ("L2 regularisation of every parameter", _REG),
    "lr_bu": ("learning rate of user biases (None: lr_all)", _RATE),
    "lr_bi": ("learning rate of item biases (None: lr_all)", _RATE),
    "lr_pu": ("learning rate of user factors (None: lr_all)", _RATE),
    "lr_qi": ("learning rate of item factors (None: lr_all)", _RATE),
    "lr_yj": ("learning rate of implicit item factors (None: lr_all)", _RATE),
    "reg_bu": ("regularisation of user biases (None: reg_all)", _REG),
    "reg_bi": ("regularisation of item biases (None: reg_all)", _REG),
    "reg_pu": ("regularisation of user factors (None: reg_all)", _REG),
    "reg_qi": ("regularisation of item factors (None: reg_all)", _REG),
    "reg_yj": ("regularisation of implicit item factors (None: reg_all)", _REG),
    "random_state": ("seed of the initialisation (the suite seed unless set)", {}),
    "verbose": ("let Surprise print its progress", {}),
    "cache_ratings": ("cache each user's rated items (faster, more memory)", {}),
    "k": ("most neighbours taken into account", {"minimum": 1}),
    "min_k": ("fewest neighbours needed, else the baseline is predicted", {"minimum": 0}),
    "sim_options": ("similarity: name (cosine, msd, pearson, pearson_baseline), user_based, "
                    "min_support, shrinkage (None: Surprise's msd, user-based)", _SIM_OPTIONS),
    "bsl_options": ("baseline estimation: method (als, sgd), n_epochs, reg_u, reg_i or reg, "
                    "learning_rate (None: Surprise's ALS defaults)", _BSL_OPTIONS),
    "n_cltr_u": ("number of user clusters", {"minimum": 1}),
    "n_cltr_i": ("number of item clusters", {"minimum": 1}),
}
"""Every parameter of the wrappers: its one-line doc and its range (JSON Schema)."""


class SurpriseModel(RatingModel):
    """Template for one Surprise algorithm: subclasses name it and list its parameters.

    A subclass gets, from :data:`PARAMS`, the ``constraints`` and ``:param:`` docs of exactly
    the parameters its ``__init__`` takes.
    """

    requires = SURPRISE
    algorithm: ClassVar[str] = ""
    """The class name in ``surprise`` (e.g. ``"SVD"``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
        cls.constraints = {n: PARAMS[n][1] for n in names if PARAMS[n][1]}
        docs = "\n".join(f":param {n}: {PARAMS[n][0]}." for n in names)
        cls.__doc__ = inspect.cleandoc(cls.__doc__ or "") + ("\n\n" + docs if docs else "")

    def _keep(self, params: dict[str, Any]) -> None:
        """Store the ``__init__`` arguments unchanged (called with ``locals()``)."""
        for name in self.param_defaults():
            setattr(self, name, params[name])

    def _algorithm_params(self) -> dict[str, Any]:
        """Keyword arguments of the Surprise algorithm: ours, option dicts copied (Surprise edits them)."""
        params = self.get_params()
        for name in ("sim_options", "bsl_options"):
            if name in params:
                params[name] = dict(params[name] or {})
        return params

    def fit(self, train: RatingData) -> SurpriseModel:
        surprise = require("surprise", SURPRISE["surprise"])
        frame = train.ratings[["user", "item", "rating"]]
        reader = surprise.Reader(rating_scale=tuple(train.scale))
        trainset = surprise.Dataset.load_from_df(frame, reader).build_full_trainset()
        algo = getattr(surprise, self.algorithm)(**self._algorithm_params())
        self.algo_ = algo.fit(trainset)
        self.impossible_ = 0
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        from surprise.prediction_algorithms.predictions import PredictionImpossible

        algo = self.algo_
        estimate, default = algo.estimate, algo.default_prediction
        inner_users = algo.trainset._raw2inner_id_users
        inner_items = algo.trainset._raw2inner_id_items
        prediction = np.empty(len(users), dtype=np.float64)
        impossible = 0
        for n, (user, item) in enumerate(zip(np.asarray(users).tolist(), np.asarray(items).tolist())):
            u = inner_users.get(user)
            i = inner_items.get(item)
            try:
                est = estimate("UKN__" + str(user) if u is None else u,
                               "UKN__" + str(item) if i is None else i)
            except PredictionImpossible:
                est = default()
                impossible += 1
            prediction[n] = est[0] if isinstance(est, tuple) else est
        self.impossible_ = impossible
        return prediction

    def info(self) -> dict[str, Any]:
        trainset = self.algo_.trainset
        return {"impossible": self.impossible_, "n_users": trainset.n_users,
                "n_items": trainset.n_items}


class SVD(SurpriseModel):
    """Funk's biased matrix factorisation, trained by SGD (``surprise.SVD``)."""

    algorithm = "SVD"

    def __init__(self, n_factors: int = 100, n_epochs: int = 20, biased: bool = True,
                 init_mean: float = 0, init_std_dev: float = .1, lr_all: float = .005,
                 reg_all: float = .02, lr_bu: float | None = None, lr_bi: float | None = None,
                 lr_pu: float | None = None, lr_qi: float | None = None,
                 reg_bu: float | None = None, reg_bi: float | None = None,
                 reg_pu: float | None = None, reg_qi: float | None = None,
                 random_state: int | None = None, verbose: bool = False):
        self._keep(locals())


class SVDpp(SurpriseModel):
    """SVD with implicit feedback from which items a user rated (``surprise.SVDpp``)."""

    algorithm = "SVDpp"

    def __init__(self, n_factors: int = 20, n_epochs: int = 20, init_mean: float = 0,
                 init_std_dev: float = .1, lr_all: float = .007, reg_all: float = .02,
                 lr_bu: float | None = None, lr_bi: float | None = None,
                 lr_pu: float | None = None, lr_qi: float | None = None,
                 lr_yj: float | None = None, reg_bu: float | None = None,
                 reg_bi: float | None = None, reg_pu: float | None = None,
                 reg_qi: float | None = None, reg_yj: float | None = None,
                 random_state: int | None = None, verbose: bool = False,
                 cache_ratings: bool = False):
        self._keep(locals())


class NMF(SurpriseModel):
    """Non-negative matrix factorisation by multiplicative SGD updates (``surprise.NMF``)."""

    algorithm = "NMF"

    def __init__(self, n_factors: int = 15, n_epochs: int = 50, biased: bool = False,
                 reg_pu: float = .06, reg_qi: float = .06, reg_bu: float = .02,
                 reg_bi: float = .02, lr_bu: float = .005, lr_bi: float = .005,
                 init_low: float = 0, init_high: float = 1, random_state: int | None = None,
                 verbose: bool = False):
        self._keep(locals())


class BaselineOnly(SurpriseModel):
    """Global mean + user and item biases, by ALS or SGD (``surprise.BaselineOnly``)."""

    algorithm = "BaselineOnly"

    def __init__(self, bsl_options: dict[str, Any] | None = None, verbose: bool = False):
        self._keep(locals())


class KNNBaseline(SurpriseModel):
    """k-NN on the residuals of the baseline (``surprise.KNNBaseline``; MSD, user-based)."""

    algorithm = "KNNBaseline"

    def __init__(self, k: int = 40, min_k: int = 1, sim_options: dict[str, Any] | None = None,
                 bsl_options: dict[str, Any] | None = None, verbose: bool = False):
        self._keep(locals())


class SlopeOne(SurpriseModel):
    """Slope One: user mean + average item-to-item deviation (``surprise.SlopeOne``)."""

    algorithm = "SlopeOne"

    def __init__(self) -> None:
        pass


class CoClustering(SurpriseModel):
    """Co-clustering of users and items (``surprise.CoClustering``)."""

    algorithm = "CoClustering"

    def __init__(self, n_cltr_u: int = 3, n_cltr_i: int = 3, n_epochs: int = 20,
                 random_state: int | None = None, verbose: bool = False):
        self._keep(locals())


class NormalPredictor(SurpriseModel):
    """Random ratings from N(mean, std) of the training ratings (``surprise.NormalPredictor``).

    Surprise draws from numpy's global generator; ``fit`` seeds it with ``random_state``
    (``None`` leaves it alone), so a run is reproducible.
    """

    algorithm = "NormalPredictor"

    def __init__(self, random_state: int | None = None):
        self._keep(locals())

    def _algorithm_params(self) -> dict[str, Any]:
        return {}

    random_state: int | None

    def fit(self, train: RatingData) -> NormalPredictor:
        if self.random_state is not None:
            np.random.seed(self.random_state)
        super().fit(train)
        return self


MODELS: dict[str, tuple[type[SurpriseModel], str]] = {
    "svd": (SVD, "Surprise SVD: biased matrix factorisation by SGD"),
    "svdpp": (SVDpp, "Surprise SVD++: SVD with implicit feedback (slow)"),
    "nmf": (NMF, "Surprise NMF: non-negative matrix factorisation"),
    "baseline-only": (BaselineOnly, "Surprise BaselineOnly: mean + user and item biases (ALS)"),
    "knn-baseline": (KNNBaseline, "Surprise KNNBaseline: k-NN on baseline residuals"),
    "slope-one": (SlopeOne, "Surprise SlopeOne: user mean + item deviations"),
    "co-clustering": (CoClustering, "Surprise CoClustering: user and item co-clusters"),
    "normal-predictor": (NormalPredictor, "Surprise NormalPredictor: random N(mean, std) ratings"),
}


@hookimpl
def bench_models() -> list[ModelSpec]:
    return [ModelSpec(name, {RATING: cls}, SURPRISE, summary=summary)
            for name, (cls, summary) in MODELS.items()]
