"""The public API for plugins: data containers, model base classes, plugin specs, metric context.

Everything a plugin (built-in or third-party) needs is importable from here or from
:mod:`benchmark.hookspec`. This module imports only numpy and pandas. A plugin module may set
``BENCH_API_VERSION = 1`` to declare the contract it targets; bench refuses (and lists as
unusable) a plugin that targets a newer major version than :data:`API_VERSION`.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from benchmark._internal import column_bytes, sha256_hex
from benchmark.hookspec import hookimpl

__all__ = [
    "API_VERSION",
    "RATING",
    "RECONSTRUCTION",
    "TASKS",
    "Fold",
    "LazyFolds",
    "RatingData",
    "MatrixData",
    "Predictions",
    "Model",
    "RatingModel",
    "ReconstructionModel",
    "ModelSpec",
    "DatasetSpec",
    "SplitSpec",
    "MetricSpec",
    "MissingDependency",
    "PluginInputError",
    "hookimpl",
    "cache_dir",
    "data_dir",
    "require",
    "fingerprint_indices",
    "report_progress",
]

API_VERSION = 1
"""Major version of the plugin contract (this module and :mod:`benchmark.hookspec`)."""

RATING = "rating"
"""Explicit feedback: fit on (user, item, rating) triples, predict held-out pairs."""
RECONSTRUCTION = "reconstruction"
"""Dense rows (e.g. images): fit on train rows, reconstruct test rows."""
TASKS = (RATING, RECONSTRUCTION)


class MissingDependency(ImportError):
    """An optional library a plugin needs is not installed."""

    def __init__(self, module: str, distribution: str, plugin: str = ""):
        self.module, self.distribution = module, distribution
        who = f"{plugin} needs " if plugin else "needs "
        super().__init__(f"{who}{module!r}: pip install {distribution}")


class PluginInputError(ValueError):
    """A plugin rejects its input (bad option, data that cannot be used).

    The runner reports it as a one-line error, never as a traceback.
    """


def require(module: str, distribution: str | None = None) -> Any:
    """Import ``module`` or raise :class:`MissingDependency` with the pip hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] != module.split(".")[0]:
            raise
        raise MissingDependency(module, distribution or module) from None


ProgressSink = Callable[[int, "int | None", str], None]
_progress_sink: ProgressSink | None = None


def report_progress(done: int, total: int | None = None, unit: str = "epoch") -> None:
    """Tell the harness how far a running ``fit`` is (e.g. ``report_progress(epoch, epochs)``).

    Shown in ``bench run``'s live display; a no-op when nothing listens. Cheap: call it freely.
    """
    if _progress_sink is not None:
        _progress_sink(done, total, unit)


def data_dir(option: str | os.PathLike | None = None) -> Path | None:
    """Where local copies of datasets live: an explicit option, else ``$BENCH_DATA_DIR``."""
    chosen = option or os.environ.get("BENCH_DATA_DIR")
    return Path(chosen).expanduser() if chosen else None


def cache_dir() -> Path:
    """Where downloads are cached: ``$BENCH_CACHE_DIR`` or ``~/.cache/bench``."""
    return Path(os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "bench")


def fingerprint_indices(train: np.ndarray, test: np.ndarray) -> str:
    """Hash of exactly which rows are train and which are test, in order."""
    return sha256_hex(
        b"train", np.ascontiguousarray(train, dtype=np.int64).tobytes(),
        b"test", np.ascontiguousarray(test, dtype=np.int64).tobytes(),
    )[:16]


@dataclass(frozen=True)
class Fold:
    """One train/test partition, as row positions into the dataset (order is kept)."""

    name: str
    train: np.ndarray
    test: np.ndarray

    @property
    def fingerprint(self) -> str:
        return fingerprint_indices(self.train, self.test)


class LazyFolds(Mapping[str, Sequence[Fold]]):
    """Fold sets built only when a split asks for them: ``{name: build}`` -> ``{name: folds}``.

    Loaders use it when fold sets are costly (e.g. read from files) and most runs use
    another split method.
    """

    def __init__(self, builders: Mapping[str, Callable[[], Sequence[Fold]]]):
        self._builders = dict(builders)
        self._built: dict[str, Sequence[Fold]] = {}

    def __getitem__(self, name: str) -> Sequence[Fold]:
        if name not in self._built:
            self._built[name] = list(self._builders[name]())
        return self._built[name]

    def __iter__(self):
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


@dataclass(eq=False)
class RatingData:
    """Explicit ratings: a frame with columns ``user``, ``item``, ``rating`` (and maybe ``timestamp``).

    ``scale`` is the (lowest, highest) rating. ``folds`` holds predefined fold sets by name
    (e.g. MovieLens 100k's ``u1``..``u5`` as ``"u"``). ``info`` describes the source.
    """

    ratings: pd.DataFrame
    scale: tuple[float, float]
    folds: Mapping[str, Sequence[Fold]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    task: ClassVar[str] = RATING

    def __post_init__(self) -> None:
        missing = {"user", "item", "rating"} - set(self.ratings.columns)
        if missing:
            raise PluginInputError(f"ratings lack column(s) {sorted(missing)}")

    def __len__(self) -> int:
        return len(self.ratings)

    def subset(self, rows: np.ndarray) -> RatingData:
        """The ratings at ``rows`` (positions), same scale, no folds."""
        return RatingData(self.ratings.iloc[rows].reset_index(drop=True), self.scale, info=self.info)

    def checksum(self) -> str:
        """Hash of the parsed content: the same ratings give the same checksum from any file format."""
        columns = [c for c in ("user", "item", "rating", "timestamp") if c in self.ratings.columns]
        return sha256_hex(*(c.encode() + column_bytes(self.ratings[c]) for c in columns))[:16]

    def describe(self) -> dict[str, Any]:
        frame = self.ratings
        return {"rows": len(frame), "users": int(frame["user"].nunique()),
                "items": int(frame["item"].nunique()), "scale": list(self.scale)}


@dataclass(eq=False)
class MatrixData:
    """Dense rows to reconstruct, as a float32 array of shape (rows, features).

    Values lie in ``value_range`` ((0, 1) by default, as binary cross-entropy needs); the
    harness clips reconstructions to it, as it clips predicted ratings to the rating scale.
    ``info["image_shape"]`` (e.g. ``(28, 28)``) lets reporters draw rows as pictures.
    """

    X: np.ndarray
    folds: Mapping[str, Sequence[Fold]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    value_range: tuple[float, float] = (0.0, 1.0)
    task: ClassVar[str] = RECONSTRUCTION

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, rows: np.ndarray) -> np.ndarray:
        return self.X[rows]

    def checksum(self) -> str:
        X = np.ascontiguousarray(self.X, dtype=np.float32)
        return sha256_hex(str(X.shape).encode(), X.tobytes())[:16]

    def describe(self) -> dict[str, Any]:
        return {"rows": int(self.X.shape[0]), "features": int(self.X.shape[1])}


@dataclass(frozen=True)
class Predictions:
    """A finished cell's test set and what the model predicted: what metrics and artifacts see.

    For ``rating``: ``y_true``/``y_pred`` are the test ratings and predictions (clipped to the
    scale), ``users``/``items`` the test pairs, ``train`` the training :class:`RatingData`.
    For ``reconstruction``: the test rows and their reconstructions (clipped to the value
    range), ``train`` the training rows; ``users``/``items`` are ``None``. ``info`` is the
    dataset's ``info`` (e.g. ``image_shape``).
    """

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray
    users: np.ndarray | None = None
    items: np.ndarray | None = None
    train: RatingData | np.ndarray | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def by_user(self) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
        """``(user, y_true, y_pred)`` for each test user, in order of first appearance."""
        if self.users is None:
            raise ValueError("per-user grouping needs rating predictions")
        codes, uniques = pd.factorize(pd.Series(self.users))
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        for group in np.split(order, bounds) if len(order) else []:
            yield uniques[codes[group[0]]], self.y_true[group], self.y_pred[group]

    def per_user(self, metric: Callable[[np.ndarray, np.ndarray], float],
                 min_ratings: int = 1) -> np.ndarray:
        """``metric(y_true, y_pred)`` of every test user with at least ``min_ratings`` ratings."""
        return np.array([metric(t, p) for _, t, p in self.by_user() if len(t) >= min_ratings],
                        dtype=np.float64)


class Model:
    """Base of all models, after scikit-learn's estimator conventions.

    ``__init__`` only stores keyword parameters, all with defaults (no ``*args``/``**kwargs``):
    bench reads them from its signature, with their types (annotations), their one-line docs
    (``:param name: ...`` in the class docstring) and optional ``constraints`` (JSON Schema per
    parameter, e.g. ``{"n_components": {"minimum": 1}}``), to validate suites and list them in
    ``bench plugins NAME``. ``fit`` returns ``self``; learned state ends in ``_``. ``requires``
    maps import names to pip distributions so that the harness can report a missing library
    and record its version.
    """

    requires: ClassVar[Mapping[str, str]] = {}
    constraints: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return {name: p.default for name, p in signature.parameters.items()
                if name != "self" and p.kind in kinds}

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_defaults()}

    def set_params(self, **params: Any) -> Model:
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def clone(self) -> Model:
        """A new, unfitted model with the same parameters."""
        return type(self)(**self.get_params())

    def prepare(self) -> None:
        """Called before the fit clock starts: import libraries, compile kernels (e.g. numba).

        Its time is recorded as ``prepare_seconds``, apart from ``fit_seconds``.
        """

    def info(self) -> dict[str, Any]:
        """JSON-serialisable facts learned while fitting (loss curve, epochs run...)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class RatingModel(Model):
    """A model of the ``rating`` task. Subclasses write ``fit`` and ``predict`` — or, as with
    Surprise's ``AlgoBase``, ``fit`` (calling :meth:`index_training`) and ``estimate``.

    The template :meth:`predict` maps raw ids to training positions, asks :meth:`estimate` for
    pairs whose user and item are both known, and :meth:`fallback` for the others (the
    training mean unless overridden, e.g. by a baseline). The harness clips predictions to
    the rating scale and counts test pairs with an unknown user or item.
    """

    def fit(self, train: RatingData) -> RatingModel:
        raise NotImplementedError

    def index_training(self, train: RatingData) -> tuple[np.ndarray, np.ndarray]:
        """Learn the training ids (``users_``, ``items_``, ``mean_``); return each rating's
        user and item positions."""
        ratings = train.ratings
        self.users_ = pd.Index(pd.unique(ratings["user"]))
        self.items_ = pd.Index(pd.unique(ratings["item"]))
        self.mean_ = float(ratings["rating"].mean()) if len(ratings) else 0.0
        return self.users_.get_indexer(ratings["user"]), self.items_.get_indexer(ratings["item"])

    def positions(self, users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training positions of ``users``/``items``; -1 where unknown."""
        return self.users_.get_indexer(users), self.items_.get_indexer(items)

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Predictions for known positions ``u``/``i`` (used by the template :meth:`predict`)."""
        raise NotImplementedError

    def fallback(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Predictions for pairs with an unknown user or item (position -1): the training mean."""
        return np.full(len(u), self.mean_, dtype=np.float64)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u, i = self.positions(users, items)
        known = (u >= 0) & (i >= 0)
        prediction = np.asarray(self.fallback(u, i), dtype=np.float64).copy()
        if known.any():
            prediction[known] = self.estimate(u[known], i[known])
        return prediction


class ReconstructionModel(Model):
    """A model of the ``reconstruction`` task: learn from rows, then reconstruct rows."""

    def fit(self, X: np.ndarray) -> ReconstructionModel:
        raise NotImplementedError

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


TASK_BASES: Mapping[str, type[Model]] = {RATING: RatingModel, RECONSTRUCTION: ReconstructionModel}
"""The base class a model of each task must derive from."""


Factory = str | Callable[..., Any]
"""A callable, or a lazy ``"package.module:attribute"`` reference imported on first use."""


@dataclass(frozen=True)
class ModelSpec:
    """A named model. ``classes`` maps each supported task to a Model subclass (or lazy ref)."""

    name: str
    classes: Mapping[str, Factory]
    requires: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.classes)


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset. ``loader(**options)`` returns :class:`RatingData` or :class:`MatrixData`.

    Options come from the suite; a loader that accepts ``data_dir`` receives the
    ``--data-dir``/``BENCH_DATA_DIR`` directory unless the suite sets it. Options named in
    ``path_options`` are file paths: relative ones are resolved against the suite's folder,
    like the suite's own ``plugins`` and ``data_dir``.
    """

    name: str
    loader: Factory
    task: str
    requires: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    path_options: tuple[str, ...] = ()
    constraints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    default_split: Mapping[str, Any] | None = None
    """The split a suite gets when it names none (e.g. ``{"method": "predefined", "name": "u"}``
    for a dataset with a canonical fold set); ``None`` means 5-fold cross-validation."""


@dataclass(frozen=True)
class SplitSpec:
    """A named split method. ``func(data, seed=..., **params)`` returns a list of :class:`Fold`.

    Parameters, their types and defaults come from ``func``'s signature; ``params`` adds JSON
    Schema constraints per parameter (e.g. ``{"k": {"minimum": 2}}``); ``required`` lists
    mandatory parameters.
    """

    name: str
    func: Factory
    params: Mapping[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    summary: str = ""
    tasks: tuple[str, ...] = TASKS


@dataclass(frozen=True)
class MetricSpec:
    """A named metric; lower is better unless ``greater_is_better``.

    ``func(y_true, y_pred) -> float`` for a pointwise metric; with ``context=True``,
    ``func(predictions) -> float`` receives the whole :class:`Predictions` (test users and
    items, training data), e.g. for a per-user or ranking metric.
    """

    name: str
    func: Factory
    task: str
    greater_is_better: bool = False
    summary: str = ""
    context: bool = False
