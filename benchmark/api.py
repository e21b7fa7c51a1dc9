"""The public API for plugins: data containers, model base classes and plugin specs.

Everything a plugin (built-in or third-party) needs is importable from here or from
:mod:`benchmark.hookspec`. This module imports only numpy and pandas.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from benchmark.hookspec import hookimpl

__all__ = [
    "RATING",
    "RECONSTRUCTION",
    "TASKS",
    "Fold",
    "LazyFolds",
    "RatingData",
    "MatrixData",
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
    "data_dir",
    "require",
    "fingerprint_indices",
    "report_progress",
]

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


def _sha(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def fingerprint_indices(train: np.ndarray, test: np.ndarray) -> str:
    """Hash of exactly which rows are train and which are test, in order."""
    return _sha(
        b"train", np.ascontiguousarray(train, dtype=np.int64).tobytes(),
        b"test", np.ascontiguousarray(test, dtype=np.int64).tobytes(),
    )[:16]


def _column_bytes(column: pd.Series) -> bytes:
    if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column.to_numpy(np.int64).tobytes()
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy(np.float64)
        if np.all(np.isfinite(values)) and np.array_equal(values, np.round(values)):
            return values.astype(np.int64).tobytes()  # 4.0 and 4 hash alike
        return values.tobytes()
    return "\0".join(column.astype(str).tolist()).encode()


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
        return _sha(*(c.encode() + _column_bytes(self.ratings[c]) for c in columns))[:16]

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
        return _sha(str(X.shape).encode(), X.tobytes())[:16]

    def describe(self) -> dict[str, Any]:
        return {"rows": int(self.X.shape[0]), "features": int(self.X.shape[1])}


class Model:
    """Base of all models, after scikit-learn's estimator conventions.

    ``__init__`` only stores keyword parameters (all with defaults); ``fit`` returns ``self``;
    learned state ends in ``_``. ``requires`` maps import names to pip distributions so that
    the harness can report a missing library and record its version.
    """

    requires: ClassVar[Mapping[str, str]] = {}

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
    """A model of the ``rating`` task. Subclasses write ``fit`` and ``predict``.

    The harness clips predictions to the rating scale and counts test pairs whose user or
    item was not in the training data; ``predict`` must still return a number for them.
    """

    def fit(self, train: RatingData) -> RatingModel:
        raise NotImplementedError

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ReconstructionModel(Model):
    """A model of the ``reconstruction`` task: learn from rows, then reconstruct rows."""

    def fit(self, X: np.ndarray) -> ReconstructionModel:
        raise NotImplementedError

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


Factory = str | Callable[..., Any]
"""A callable, or a lazy ``"package.module:attribute"`` reference imported on first use."""


def resolve(factory: Factory) -> Callable[..., Any]:
    """Import a lazy ``"module:attr"`` reference (or return a callable unchanged)."""
    if not isinstance(factory, str):
        return factory
    module, _, attribute = factory.partition(":")
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def missing_requirements(requires: Mapping[str, str]) -> list[str]:
    """Pip distributions of ``requires`` that are not installed (checked without importing)."""
    missing = []
    for module, distribution in requires.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(distribution)
    return missing


@functools.cache
def _providers() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def versions(requires: Mapping[str, str]) -> dict[str, str]:
    """Installed versions of the libraries in ``requires`` (read from metadata, no import).

    The distribution that really provides each module is recorded (``tensorflow`` may come
    from ``tensorflow-cpu`` or ``tensorflow``); the declared one when none is installed.
    """
    found = {}
    for module, declared in requires.items():
        try:  # the declared distribution first: scanning every installed one costs ~0.25 s
            metadata = importlib.metadata.distribution(declared).metadata
            found[metadata["Name"]] = metadata["Version"]
            continue
        except importlib.metadata.PackageNotFoundError:
            pass
        for distribution in _providers().get(module.split(".")[0]) or [declared]:
            try:
                metadata = importlib.metadata.distribution(distribution).metadata
                found[metadata["Name"]] = metadata["Version"]
            except importlib.metadata.PackageNotFoundError:
                found[distribution] = "missing"
    return found


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
    default_split: Mapping[str, Any] | None = None
    """The split a suite gets when it names none (e.g. ``{"method": "predefined", "name": "u"}``
    for a dataset with a canonical fold set); ``None`` means 5-fold cross-validation."""


@dataclass(frozen=True)
class SplitSpec:
    """A named split method. ``func(data, seed=..., **params)`` returns a list of :class:`Fold`.

    ``params`` is a JSON Schema ``properties`` mapping used to validate suites and to
    document the method in ``bench schema``; ``required`` lists mandatory parameters.
    """

    name: str
    func: Factory
    params: Mapping[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    summary: str = ""
    tasks: tuple[str, ...] = TASKS


@dataclass(frozen=True)
class MetricSpec:
    """A named metric. ``func(y_true, y_pred)`` returns a float; lower is better unless stated."""

    name: str
    func: Factory
    task: str
    greater_is_better: bool = False
    summary: str = ""
