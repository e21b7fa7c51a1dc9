"""The public API for plugins: data containers, model base classes, plugin specs, metric context.

Everything a plugin (built-in or third-party) needs is importable from here, including every
type a hook receives (:class:`Cell`, :class:`CellResult`, :class:`Predictions`, :class:`Model`).
This module imports only numpy and pandas. A plugin module may set ``BENCH_API_VERSION = 1`` to
declare the contract it targets; bench refuses (and lists as unusable) a plugin that targets a
newer major version than :data:`API_VERSION`.

Each minor version only adds (every 1.0 plugin still loads); docs/writing-plugins.md lists what.

:class:`DatasetFiles`, :func:`download_file`, :func:`cached_sha256`, :func:`damaged` and
:func:`extract_archive` declare, fetch and verify a dataset's files (:mod:`benchmark.datafiles`);
:func:`clip` and :func:`excerpt` bound what a plugin quotes in an error message to one short line.

This module is the contract; some of what it exports is implemented below it and re-exported
here as the same objects: the exceptions (:mod:`benchmark.errors`), :func:`require`
(:mod:`benchmark.requirements`), :func:`data_dir`/:func:`cache_dir` (:mod:`benchmark.locations`),
:func:`distinct_in_order`/:func:`positions_in` (:mod:`benchmark.indexing`).
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from benchmark._internal import column_chunks, sha256_hex, sha256_stream
from benchmark.cells import Cell, CellResult
from benchmark.datafiles import (
    DataFile,
    DatasetFiles,
    Source,
    cached_sha256,
    damaged,
    declare_files,
    download_file,
    extract_archive,
    file_sha256,
)
from benchmark.errors import (
    ChecksumMismatch, DownloadError, MissingDependency, PluginInputError, clip, excerpt,
)
from benchmark.hookspec import hookimpl
from benchmark.indexing import CHUNK as CHUNK  # plugins/metrics.py takes it from here
from benchmark.indexing import distinct_in_order, positions_in
from benchmark.locations import cache_dir, data_dir
from benchmark.requirements import require

__all__ = [
    "API_VERSION",
    "API_MINOR_VERSION",
    "RATING",
    "RECONSTRUCTION",
    "TASKS",
    "TaskSpec",
    "Outcome",
    "Timing",
    "PerUnit",
    "Cell",
    "CellResult",
    "check_shape_finite",
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
    "DatasetFiles",
    "DataFile",
    "Source",
    "declare_files",
    "download_file",
    "DownloadError",
    "ChecksumMismatch",
    "file_sha256",
    "cached_sha256",
    "damaged",
    "extract_archive",
    "SplitSpec",
    "MetricSpec",
    "MissingDependency",
    "PluginInputError",
    "hookimpl",
    "cache_dir",
    "data_dir",
    "require",
    "fingerprint_indices",
    "distinct_in_order",
    "positions_in",
    "report_progress",
    "clip",
    "excerpt",
]

API_VERSION = 1
"""Major version of the plugin contract (this module and :mod:`benchmark.hookspec`)."""
API_MINOR_VERSION = 5
"""Minor version: 1.1 added tasks as plugins, Outcome, PerUnit; 1.2 ``RatingModel.learn_ids``,
``index_training(dtype=)``, ``own_index_training``, :func:`distinct_in_order`, :func:`positions_in`;
1.3 a dataset's files (:class:`DatasetFiles`, :func:`declare_files`) and :func:`download_file`; 1.4
``MetricSpec.tasks`` and the public ranking module :mod:`benchmark.ranking`; 1.5 ``Model.warm_up``;
a 1.0 plugin loads unchanged."""

RATING = "rating"
"""Explicit feedback: fit on (user, item, rating) triples, predict held-out pairs."""
RECONSTRUCTION = "reconstruction"
"""Dense rows (e.g. images): fit on train rows, reconstruct test rows."""
TASKS = (RATING, RECONSTRUCTION)
"""The two tasks bench itself registers (through ``bench_tasks``, like any plugin). Kept as names
for 1.0 plugins; the installed tasks are whatever the registry holds (``bench plugins``)."""


ProgressSink = Callable[[int, "int | None", str], None]
_progress_sink: ProgressSink | None = None


def report_progress(done: int, total: int | None = None, unit: str = "epoch") -> None:
    """Tell the harness how far a running ``fit`` is (e.g. ``report_progress(epoch, epochs)``).

    Shown in ``bench run``'s live display; a no-op when nothing listens. Cheap: call it freely.
    """
    if _progress_sink is not None:
        _progress_sink(done, total, unit)


def fingerprint_indices(train: np.ndarray, test: np.ndarray) -> str:
    """Hash of exactly which rows are train and which are test, in order."""
    return sha256_hex(  # the arrays themselves, not bytes copies of them
        b"train", np.ascontiguousarray(train, dtype=np.int64),
        b"test", np.ascontiguousarray(test, dtype=np.int64),
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

    def __iter__(self) -> Iterator[str]:
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

        def parts() -> Iterator[Any]:  # streamed: no column is copied whole to be hashed
            for c in columns:
                yield c.encode()
                yield from column_chunks(self.ratings[c])

        return sha256_stream(parts())[:16]

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
        return cast(np.ndarray, self.X[rows])

    def checksum(self) -> str:
        X = np.ascontiguousarray(self.X, dtype=np.float32)
        return sha256_hex(str(X.shape).encode(), X)[:16]

    def describe(self) -> dict[str, Any]:
        return {"rows": int(self.X.shape[0]), "features": int(self.X.shape[1])}


@dataclass(frozen=True)
class Predictions:
    """A finished cell's test set and what the model predicted: what metrics and artifacts see.

    For ``rating``: ``y_true``/``y_pred`` are the test ratings and predictions (clipped to the
    scale), ``users``/``items`` the test pairs, ``train`` the training :class:`RatingData`.
    For ``reconstruction``: the test rows and their reconstructions (clipped to the value
    range), ``train`` the training rows; ``users``/``items`` are ``None``, ``extra["rows"]``
    the test rows' positions in the dataset. ``info`` is the dataset's ``info`` (e.g.
    ``image_shape``).

    Since contract 1.1: ``model`` is the fitted model (so a metric can score the whole
    catalogue, not only the test pairs), ``options`` the task options of the dataset entry
    (e.g. ranking's ``threshold``), and ``extra`` whatever else a task's runner hands its
    metrics (e.g. the candidate items); a task documents its keys. A task whose metrics do not
    read ``y_true``/``y_pred`` leaves them empty.
    """

    task: str
    y_true: np.ndarray = field(default_factory=lambda: np.empty(0))
    y_pred: np.ndarray = field(default_factory=lambda: np.empty(0))
    users: np.ndarray | None = None
    items: np.ndarray | None = None
    train: Any = None
    info: Mapping[str, Any] = field(default_factory=dict)
    model: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

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
    uses_gpu: ClassVar[bool] = False
    """Whether the model fits or predicts on a GPU when one is given (contract 1.5): each of its
    cells gets one device of ``bench run --gpus N`` through ``CUDA_VISIBLE_DEVICES``, or runs on
    the CPU with ``device: cpu`` and a note in ``model_info`` (docs/writing-plugins.md)."""

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

    @classmethod
    def warm_up(cls, params: Mapping[str, Any]) -> None:
        """This process's one-time costs of the model (contract 1.5; the default does nothing):
        imports, compiling kernels on a tiny problem, first calls. Called before *every* cell of
        the class with its parameters, *outside* its time limit (``warmup_seconds`` in the row):
        keep a repeated call cheap. An exception fails the cell (docs/writing-plugins.md)."""

    def prepare(self) -> None:
        """Called before the fit clock starts (``prepare_seconds``, inside the time limit: a
        process's one-time costs, imports and compilation, belong in :meth:`warm_up`)."""

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

    def learn_ids(self, train: RatingData) -> None:
        """Learn the training ids (``users_``, ``items_``, as ``pandas.Index``) and ``mean_``."""
        ratings = train.ratings
        self.users_, self.items_ = distinct_in_order(ratings["user"]), distinct_in_order(ratings["item"])
        self.mean_ = float(ratings["rating"].mean()) if len(ratings) else 0.0

    def index_training(self, train: RatingData, dtype: Any = np.intp) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`learn_ids`, then return each rating's user and item positions as ``dtype``
        (``np.int32`` halves them; a model that needs none calls :meth:`learn_ids` alone)."""
        self.learn_ids(train)
        ratings = train.ratings
        return positions_in(self.users_, ratings["user"], dtype), positions_in(self.items_, ratings["item"], dtype)

    def own_index_training(self) -> bool:
        """Whether this class overrides :meth:`index_training`: a model written for contract 1.1
        has it as ``index_training(train)``, and the built-in models then call it that way
        (without ``dtype``, and rather than :meth:`learn_ids`)."""
        return type(self).index_training is not RatingModel.index_training

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
        if len(users) <= CHUNK:
            return self._predict_pairs(users, items)
        prediction = np.empty(len(users), dtype=np.float64)  # one chunk's positions at a time
        for start in range(0, len(users), CHUNK):
            part = slice(start, start + CHUNK)
            prediction[part] = self._predict_pairs(users[part], items[part])
        return prediction

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u, i = self.positions(users, items)
        known = (u >= 0) & (i >= 0)
        if known.all():  # the usual case: no mask copies of the positions
            return _one_each(self.estimate(u, i), len(u), "estimate")
        prediction = np.empty(len(u), dtype=np.float64)
        prediction[~known] = _one_each(self.fallback(u[~known], i[~known]), int((~known).sum()), "fallback")
        if known.any():
            prediction[known] = _one_each(self.estimate(u[known], i[known]), int(known.sum()), "estimate")
        return prediction


def _one_each(raw: Any, n: int, method: str) -> np.ndarray:
    """``raw`` as ``n`` floats, or the kit's sentence instead of numpy's indexing error."""
    values = np.asarray(raw, dtype=np.float64)
    if values.shape != (n,):
        raise ValueError(f"{method} returned shape {values.shape}, expected {(n,)}")
    return values


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
    """Tasks whose data this split works on: it accepts any task served by the same data
    (``(RATING,)`` also accepts ``ranking``, whose data is ``RatingData`` too)."""


@dataclass(frozen=True)
class MetricSpec:
    """A named metric; lower is better unless ``greater_is_better``.

    ``func(y_true, y_pred) -> float`` for a pointwise metric; with ``context=True``,
    ``func(predictions) -> float`` receives the whole :class:`Predictions` (test users and
    items, training data, the fitted ``model``, the task's ``options`` and ``extra``), e.g.
    for a per-user or ranking metric. Either may return a :class:`PerUnit` instead of a float.
    ``version`` is recorded with every value (bump it when the numbers may change).
    ``family`` makes one spec stand for a family of names such as ``ndcg@k``: given a name the
    registry does not know (``ndcg@37``), it returns that name's spec, or ``None``.
    ``tasks`` (contract 1.4) lists every task whose predictions the metric scores when that is
    more than ``task``, its home task (the ranking metrics score ``ranking`` and ``next-item``);
    empty means ``(task,)``. A metric name stays one metric: these tasks share it.
    """

    name: str
    func: Factory
    task: str
    greater_is_better: bool = False
    summary: str = ""
    context: bool = False
    version: str = ""
    family: Callable[[str], MetricSpec | None] | None = None
    tasks: tuple[str, ...] = ()

    @property
    def scored_tasks(self) -> tuple[str, ...]:
        """``task``, then the other tasks of ``tasks``: every task this metric scores."""
        return tuple(dict.fromkeys((self.task, *self.tasks)))


# --- Tasks (contract 1.1) -------------------------------------------------------------------


class Timing:
    """Wall-clock and CPU seconds of a ``with`` block: how a task runner times fit and predict.

    ::

        with Timing() as fit_time:
            model.fit(train)
    """

    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def __enter__(self) -> Timing:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


@dataclass
class Outcome:
    """What a task runner returns for one cell.

    ``predictions`` is what the task's metrics and the artifact hooks receive (the harness
    fills in ``model`` and ``options`` if the runner left them unset). ``counts`` are integer
    facts about the cell stored with its result (``n_unknown``: test pairs with an unknown user
    or item; ``n_clipped``: predictions clipped to the scale; a task may add its own, e.g.
    users skipped for lack of a relevant test item). ``fit``/``predict`` time the two phases.
    """

    predictions: Predictions
    counts: dict[str, int] = field(default_factory=dict)
    fit: Timing = field(default_factory=Timing)
    predict: Timing = field(default_factory=Timing)


Runner = Callable[[Any, Any, Fold, Mapping[str, Any]], Outcome]
"""``run(model, data, fold, options) -> Outcome``: fit ``model`` on the fold's training part of
``data``, predict what the task's metrics read; ``options`` are the task options of the dataset
entry, defaults filled in."""


def check_shape_finite(raw: Any, expected: tuple[int, ...], method: str) -> np.ndarray:
    """``raw`` as float64, or a ``ValueError`` naming ``method`` when its shape differs from
    ``expected`` or a value is NaN or infinite (the cell then fails with that one line)."""
    values = np.asarray(raw, dtype=np.float64)
    if values.shape != expected:
        raise ValueError(f"{method} returned shape {values.shape}, expected {expected}")
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ValueError(f"{method} returned {bad} non-finite values")
    return values


@dataclass(frozen=True)
class TaskSpec:
    """A task: what a cell of it does, on which data, with which models, judged how.

    :param name: the task's name, as suites and specs say it (``rating``, ``ranking``).
    :param model_base: the class (or lazy ``"module:Class"``) every model of the task derives
        from; ``ModelSpec.classes[name]`` must be a subclass.
    :param data_types: the data classes a dataset of this task may hold. A dataset declared for
        another task serves this one too when its data is one of these (e.g. ``RatingData``
        serves both ``rating`` and ``ranking``: a suite says ``task: ranking`` on the entry).
        A data class provides ``__len__``, ``checksum()``, ``describe()``, ``folds``, ``info``.
    :param runner: ``run(model, data, fold, options) -> Outcome`` (or a lazy reference): fit
        on the fold's training part, produce the :class:`Predictions` the task's metrics read.
        It times fit and predict with :class:`Timing`; an exception fails the cell with its
        one-line message.
    :param default_metrics: the metrics a suite without ``metrics`` gets, primary first;
        empty means every metric of the task, in plugin order.
    :param primary_metric: the metric that ranks a leaderboard of this task when the suite
        names none (default: the first of ``default_metrics``).
    :param greater_is_better: the primary metric's direction, checked against its MetricSpec
        when both are loaded (``None``: take the metric's).
    :param options: task options of a dataset entry and their defaults (ranking:
        ``{"threshold": 4.0}``); a suite sets them as keys of the entry. They reach the runner
        and ``Predictions.options``, and are part of the experiment's identity.
    :param constraints: JSON Schema per option, as for model parameters.
    :param splits: the split methods this task accepts (``None``: every split whose data types
        fit); a split accepts the data of the tasks in its ``SplitSpec.tasks``.
    :param default_split: the split a dataset entry of this task gets when the suite names
        none (``None``: the dataset's own default, else 5-fold).
    :param tiny_data: ``tiny_data(seed) -> data`` with a fold set ``"given"`` for the kit to run
        this task's models (default: the kit's tiny data of the first of ``data_types``).
    :param examples: ``examples(noisy: bool, seed) -> Predictions``, perfect or noisy, for the
        kit to check this task's metrics (e.g. that ``greater_is_better`` points the right way).
    :param adapters: models of other tasks that also run on this one: ``{other task: mixin}``,
        a plain class (or lazy reference) writing this task's methods with the other task's
        (ranking: ``{"rating": RatingAsRanking}``, whose ``score`` calls ``predict``); such a
        model runs here as ``type(name, (mixin, ModelClass, model_base), {})``
        (:mod:`benchmark.adapters`).
    """

    name: str
    model_base: Factory
    data_types: tuple[type, ...]
    runner: Factory
    default_metrics: tuple[str, ...] = ()
    primary_metric: str = ""
    greater_is_better: bool | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    constraints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    splits: tuple[str, ...] | None = None
    default_split: Mapping[str, Any] | None = None
    tiny_data: Factory | None = None
    examples: Factory | None = None
    requires: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    adapters: Mapping[str, Factory] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        """The primary metric's name ('' when the task names none)."""
        return self.primary_metric or (self.default_metrics[0] if self.default_metrics else "")

    def serves(self, data: Any) -> bool:
        """Whether ``data`` (an instance, or a data class) is data this task runs on."""
        kind = data if isinstance(data, type) else type(data)
        return any(issubclass(kind, accepted) for accepted in self.data_types)


TRANSFORMS = ("identity", "sqrt")


@dataclass(frozen=True, eq=False)
class PerUnit:
    """A metric value with its per-unit parts, for paired tests on one split (contract 1.1).

    A metric may return this instead of a float. ``value = transform(sum(num) / sum(den))``
    over the units (``"user"``, ``"example"``...) named by ``ids``: RMSE is ``num`` = each
    user's sum of squared errors, ``den`` = their count, ``transform="sqrt"``; a per-user ranking
    metric is ``num`` = the user's value, ``den`` = 1. ``exact`` is the value the metric reports
    when it computes it another way (e.g. ``np.mean`` over all pairs, which rounds differently
    from summing per-user sums); the row stores ``float(per_unit)``. The harness stores the
    parts in ``units/<cell id>.npz`` for ``bench compare``.
    """

    unit: str
    ids: np.ndarray
    num: np.ndarray
    den: np.ndarray
    transform: str = "identity"
    exact: float | None = None

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"PerUnit transform {self.transform!r}; expected one of {TRANSFORMS}")
        if not len(self.ids) == len(self.num) == len(self.den):
            raise ValueError(f"PerUnit ids, num and den differ in length "
                             f"({len(self.ids)}, {len(self.num)}, {len(self.den)})")

    @property
    def value(self) -> float:
        if self.exact is not None:
            return float(self.exact)
        total = float(np.sum(self.den))
        mean = float(np.sum(self.num)) / total if total else math.nan
        return math.sqrt(mean) if self.transform == "sqrt" else mean

    def __float__(self) -> float:
        return self.value
