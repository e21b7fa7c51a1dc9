"""Checks of a model: for every task it declares, the estimator conventions (keyword parameters
with defaults, only stored by ``__init__``, described, clonable, picklable), then a fit and its
predictions on the kit's tiny data -- by the rating and reconstruction bases' own methods, or
through the task's runner for any other task.

Models are fitted as the harness fits them (:func:`benchmark.execute.make_model`): the kit's seed
fills ``random_state``/``seed`` unless given in ``params``, and the global generators are seeded
before ``fit`` and ``predict``.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from benchmark._internal import resolve
from benchmark.api import (
    MatrixData, Model, ModelSpec, Outcome, Predictions, RatingData, RatingModel, ReconstructionModel,
    TaskSpec,
)
from benchmark.errors import did_you_mean
from benchmark.execute import make_model, reset_random_state
from benchmark.methods import missing_methods
from benchmark.outputs import predictions_problem
from benchmark.params import model_params, signature_problems
from benchmark.ranking import RankedLists
from benchmark.record import SEED_PARAMS
from benchmark.testing.common import (
    SEED, Tasks, installed_tasks, json_problem, known_names, missing_hint, schema_problems,
)
from benchmark.testing.report import (
    FAILED, PASSED, SKIPPED, Check, Report, Skip, Step, Violation, exception_line, raised_at, run_steps,
)
from benchmark.testing.tiny import tiny_data, tiny_matrix, tiny_ratings


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(a, b))
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return False


def _differences(expected: np.ndarray, found: np.ndarray) -> str | None:
    """Why two prediction arrays are not identical, or None."""
    if expected.shape != found.shape:
        return f"shape {found.shape} instead of {expected.shape}"
    if np.array_equal(expected, found, equal_nan=True):
        return None
    differ = ~np.isclose(expected, found, rtol=0, atol=0, equal_nan=True)
    gap = float(np.nanmax(np.abs(expected - found)))
    return f"{int(differ.sum())} of {differ.size} values differ (by up to {gap:.3g})"


class _ModelCase:
    """One model class on one task, run through the contract step by step.

    A task whose base is ``RatingModel`` or ``ReconstructionModel`` (on their data) gets those
    bases' own checks (``fit`` returns self, unknown users...); any other task's models are
    fitted and scored through the task's runner on the task's tiny data.
    """

    def __init__(self, model_class: type[Model], task: TaskSpec, params: Mapping[str, Any]):
        self.model_class, self.spec, self.task, self.params = model_class, task, task.name, dict(params)
        base = resolve(task.model_base)
        self.base: type = base if isinstance(base, type) else Model
        direct_rating = issubclass(self.base, RatingModel) and task.serves(RatingData) and task.tiny_data is None
        direct_matrix = issubclass(self.base, ReconstructionModel) and task.serves(MatrixData) \
            and task.tiny_data is None
        self.ratings = tiny_ratings() if direct_rating else None
        self.matrix = tiny_matrix() if direct_matrix else None
        self.model: Any = None
        self.kwargs: dict[str, Any] = {}
        self.reference: np.ndarray | None = None
        self.outcome: Outcome | None = None
        self.cold: np.ndarray | Predictions | str | None = None  # a twin's predictions without warm_up
        self.warm_up_failed = False
        self.seed_differs = False  # 'same seed, same predictions' failed: no fit is a reference

    def steps(self) -> list[Step]:
        head = [
            Step("derives from the task's base", self.derives_from_base, essential=True),
            Step("writes the methods its base leaves to it", self.writes_methods, essential=True),
            Step("__init__ takes keyword parameters with defaults", self.signature),
            Step("parameters are described", self.described),
            Step("__init__ only stores parameters", self.construct, essential=True),
            Step("get_params returns the init arguments", self.get_params),
            Step("clone and set_params round-trip", self.round_trip),
            Step("picklable before fit", self.pickle_unfitted),
            Step("warm_up(params) runs", self.warm_up),
            Step("prepare() runs", self.prepare),
        ]
        if self.ratings is None and self.matrix is None:
            return head + [
                Step("runs through the task's runner", self.run_task, essential=True),
                Step("fit leaves parameters unchanged", self.run_changes_nothing),
                Step("info() is JSON-serialisable", self.info),
                Step("same seed, same predictions", self.same_seed_run),
                Step("picklable after fit", self.pickle_fitted_run),
                Step("same predictions with and without warm_up", self.warm_up_changes_nothing),
            ]
        return head + [
            Step("fit returns self", self.fit, essential=True),
            Step("fit leaves parameters and training data unchanged", self.fit_changes_nothing),
            Step("predictions have the right shape and are finite", self.predictions, essential=True),
            Step("unknown users and items get a number", self.unknown),
            Step("info() is JSON-serialisable", self.info),
            Step("same seed, same predictions", self.same_seed),
            Step("picklable after fit, predicts identically", self.pickle_fitted),
            Step("same predictions with and without warm_up", self.warm_up_changes_nothing),
        ]

    # --- before fit

    def derives_from_base(self) -> None:
        base = self.base
        if not (isinstance(self.model_class, type) and issubclass(self.model_class, base)):
            raise Violation(f"{self.model_class!r} is not a {base.__name__} subclass")

    def writes_methods(self) -> str | None:
        """The check ``bench check`` and ``bench plugins`` make (:mod:`benchmark.methods`)."""
        return "; ".join(missing_methods(self.model_class, self.base)) or None

    def signature(self) -> str | None:
        if self.model_class.__init__ is object.__init__:
            return None
        problems = signature_problems(self.model_class.__init__, f"{self.model_class.__name__}.__init__")
        return "; ".join(problems) or None

    def described(self) -> str | None:
        params = model_params(self.model_class)
        problems = schema_problems(params, getattr(self.model_class, "constraints", {}) or {},
                                   self.params)
        return "; ".join(problems) or None

    def construct(self) -> str | None:
        self.model = make_model(self.model_class, self.params, SEED)
        self.kwargs = {k: v for k, v in self.params.items()}
        for name in SEED_PARAMS:
            if name in self.model_class.param_defaults() and name not in self.kwargs:
                self.kwargs[name] = SEED
        learned = sorted(n for n in vars(self.model) if n.endswith("_") and not n.startswith("_"))
        if learned:
            return f"__init__ set learned attribute(s) {', '.join(learned)} (fit sets those)"
        return None

    def get_params(self) -> str | None:
        defaults = self.model_class.param_defaults()
        missing = [n for n in defaults if not hasattr(self.model, n)]
        if missing:
            return f"parameter(s) {', '.join(missing)} not stored as attributes of the same name"
        found = self.model.get_params()
        if list(found) != list(defaults):
            return f"get_params() returned keys {list(found)}, expected the __init__ parameters {list(defaults)}"
        changed = [f"{n}={found[n]!r} (given {self.kwargs.get(n, defaults[n])!r})" for n in defaults
                   if not _same(found[n], self.kwargs.get(n, defaults[n]))]
        return f"__init__ changed what it was given: {', '.join(changed)}" if changed else None

    def _params_differ(self, other: Any, how: str) -> str | None:
        if type(other) is not type(self.model):
            return f"{how} gave a {type(other).__name__}, not a {type(self.model).__name__}"
        mine, theirs = self.model.get_params(), other.get_params()
        differ = [n for n in mine if not _same(mine[n], theirs.get(n))]
        return f"{how} changed parameter(s) {', '.join(differ)}" if differ else None

    def round_trip(self) -> str | None:
        clone = self.model.clone()
        if clone is self.model:
            return "clone() returned the model itself"
        rebuilt = type(self.model)(**self.model.get_params())
        returned = self.model.set_params(**self.model.get_params())
        if returned is not self.model:
            return "set_params() did not return self"
        return self._params_differ(clone, "clone()") or self._params_differ(
            rebuilt, "type(m)(**m.get_params())") or self._params_differ(self.model, "set_params")

    def pickle_unfitted(self) -> str | None:
        return self._params_differ(pickle.loads(pickle.dumps(self.model)), "pickling")

    def warm_up(self) -> None:
        """The class's ``warm_up`` once, with the parameters the model is built with (its
        defaults, those given to the kit, the kit's seed), before ``prepare`` and ``fit``: a
        worker warms every cell's model so (:mod:`benchmark.warmup`). A class that writes its
        own first fits a twin without it, for :meth:`warm_up_changes_nothing`."""
        if _writes_warm_up(self.model_class):
            self.cold = self._cold_predictions()
        try:
            self.model_class.warm_up({**self.model_class.param_defaults(), **self.kwargs})
        except Exception as exc:  # the plugin's failure is the finding: one sentence, where it raised
            self.warm_up_failed = True
            raise Violation(f"{self.model_class.__qualname__}.warm_up(params) raised "
                            f"{exception_line(exc)}{raised_at(exc)}") from None

    def _cold_predictions(self) -> np.ndarray | Predictions | str:
        """What a twin fitted before the kit's warm-up predicts (why it could not, as a sentence)."""
        twin = make_model(self.model_class, self.params, SEED)
        try:
            twin.prepare()
            if self.ratings is None and self.matrix is None:
                return self._run(twin).predictions
            self._fit(twin)
            return self._predict(twin, self._known())
        except Exception as exc:
            return f"without warm_up(params) first, the fit or its predictions raised {exception_line(exc)}"

    def warm_up_changes_nothing(self) -> str | None:
        """A model fitted after ``warm_up`` predicts as its twin fitted without it (same seed):
        the warm-up pays one-time costs, it must not change what ``fit`` learns."""
        if self.warm_up_failed:
            raise Skip("needs 'warm_up(params) runs', which failed")
        if self.seed_differs:
            raise Skip("needs 'same seed, same predictions', which failed")
        if self.cold is None:  # inherits Model.warm_up, which does nothing
            return None
        if isinstance(self.cold, str):
            return self.cold + ", but not after it"
        how = "fitted after warm_up(params), the model predicts differently than without it"
        if isinstance(self.cold, Predictions):
            assert self.outcome is not None  # set by the essential run_task step
            return _outcome_differences(self.cold, self.outcome.predictions, how)
        assert self.reference is not None  # set by the essential predictions step
        differ = _differences(self.cold, self.reference)
        return f"{how}: {differ}" if differ else None

    def prepare(self) -> None:
        self.model.prepare()

    # --- fit and predict

    def _fit(self, model: Any) -> Any:
        reset_random_state(SEED)
        if self.ratings is not None:
            return model.fit(self.ratings.train)
        assert self.matrix is not None
        return model.fit(self.matrix.X[:30])

    def fit(self) -> str | None:
        self.params_before = copy.deepcopy(self.model.get_params())
        self.data_before = self._training_checksum()
        returned = self._fit(self.model)
        if returned is not self.model:
            what = "None" if returned is None else f"a {type(returned).__name__}"
            return f"fit returned {what}, not self"
        return None

    def fit_changes_nothing(self) -> str | None:
        changed = self._params_differ_from(self.params_before)
        if self._training_checksum() != self.data_before:
            return "fit modified the training data it was given"
        return f"fit changed parameter(s) {', '.join(changed)}" if changed else None

    def _training_checksum(self) -> str:
        if self.ratings is not None:
            return self.ratings.train.checksum()
        assert self.matrix is not None
        return self.matrix.checksum()

    def _params_differ_from(self, before: Mapping[str, Any]) -> list[str]:
        after = self.model.get_params()
        return [n for n in before if not _same(before[n], after.get(n))]

    def _predict(self, model: Any, pairs: slice = slice(None)) -> np.ndarray:
        """Predictions for the known test pairs (or rows); global generators seeded first."""
        reset_random_state(SEED)
        if self.ratings is not None:
            raw = model.predict(self.ratings.users[pairs], self.ratings.items[pairs])
        else:
            assert self.matrix is not None
            raw = model.reconstruct(self.matrix.X[30:])
        try:
            return np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise Violation(f"returned {type(raw).__name__}, not an array of numbers") from None

    def predictions(self) -> str | None:
        if self.ratings is not None:
            found = self._predict(self.model, slice(0, self.ratings.n_known))
            expected: tuple[int, ...] = (self.ratings.n_known,)
        else:
            assert self.matrix is not None
            found = self._predict(self.model)
            expected = (10, self.matrix.X.shape[1])
        if found.shape != expected:
            raise Violation(f"{'predict' if self.ratings else 'reconstruct'} returned shape "
                            f"{found.shape}, expected {expected}")
        bad = int((~np.isfinite(found)).sum())
        if bad:
            raise Violation(f"{bad} of {found.size} predictions are NaN or infinite")
        self.reference = found
        return None

    def unknown(self) -> str | None:
        if self.ratings is None:
            raise Skip("reconstruction has no users or items")
        n_known, n = self.ratings.n_known, len(self.ratings.users)
        try:
            found = self._predict(self.model)
        except Violation:
            raise
        except Exception as exc:
            return f"predict raised {exception_line(exc)} on test pairs with an unknown user or item"
        if found.shape != (n,):
            return f"predict returned shape {found.shape} for {n} pairs"
        bad = int((~np.isfinite(found[n_known:])).sum())
        if bad:
            return f"{bad} of {n - n_known} pairs with an unknown user or item got NaN or infinity"
        return None

    def info(self) -> str | None:
        return json_problem(self.model.info(), "info()")

    def same_seed(self) -> str | None:
        again = make_model(self.model_class, self.params, SEED)
        again.prepare()
        self._fit(again)
        assert self.reference is not None  # set by the essential predictions step
        differ = _differences(self.reference, self._predict(again, self._known()))
        if differ is None:
            return None
        self.seed_differs = True
        seeds = [f"{n}={self.kwargs[n]}" for n in SEED_PARAMS if n in self.kwargs]
        how = f"with {', '.join(seeds)}" if seeds else "with the global generators seeded (no seed parameter)"
        return f"two fits {how} predict differently: {differ}"

    def pickle_fitted(self) -> str | None:
        restored = pickle.loads(pickle.dumps(self.model))
        assert self.reference is not None
        differ = _differences(self.reference, self._predict(restored, self._known()))
        return f"the unpickled model predicts differently: {differ}" if differ else None

    def _known(self) -> slice:
        return slice(0, self.ratings.n_known) if self.ratings is not None else slice(None)

    # --- any task: through its runner

    def _run(self, model: Any) -> Outcome:
        data = tiny_data(self.spec)
        folds = data.folds.get("given") if hasattr(data.folds, "get") else None
        if not folds:
            raise Violation(f"the task's tiny data has no fold set 'given' (it has {list(data.folds)})")
        reset_random_state(SEED)
        outcome = resolve(self.spec.runner)(model, data, folds[0], dict(self.spec.options))
        if not isinstance(outcome, Outcome):
            raise Violation(f"the runner returned {type(outcome).__name__}, not an Outcome")
        if not isinstance(outcome.predictions, Predictions):
            raise Violation(f"the runner's outcome holds {type(outcome.predictions).__name__}, "
                            f"not Predictions")
        return outcome

    def run_task(self) -> str | None:
        self.params_before = copy.deepcopy(self.model.get_params())
        self.outcome = self._run(self.model)
        problem = predictions_problem(self.outcome.predictions, "the runner")  # as bench checks them
        if problem:
            raise Violation(problem)
        return None

    def run_changes_nothing(self) -> str | None:
        changed = self._params_differ_from(self.params_before)
        return f"fit changed parameter(s) {', '.join(changed)}" if changed else None

    def same_seed_run(self) -> str | None:
        again = make_model(self.model_class, self.params, SEED)
        again.prepare()
        assert self.outcome is not None
        differ = _outcome_differences(self.outcome.predictions, self._run(again).predictions)
        self.seed_differs = differ is not None
        return differ

    def pickle_fitted_run(self) -> str | None:
        assert self.outcome is not None
        fitted = self.outcome.predictions.model if self.outcome.predictions.model is not None else self.model
        return self._params_differ(pickle.loads(pickle.dumps(fitted)), "pickling the fitted model")


def _writes_warm_up(model_class: type[Model]) -> bool:
    """Whether the class (or a base of its own) writes ``warm_up``: a 1.0 model inherits
    :meth:`Model.warm_up`, which does nothing."""
    return getattr(model_class.warm_up, "__func__", None) is not getattr(Model.warm_up, "__func__", None)


def _outcome_differences(first: Predictions, second: Predictions,
                         how: str = "two fits with the same seed predict differently") -> str | None:
    """Why two runs' predictions differ: ``y_pred`` and every array of ``extra``."""
    pairs: list[tuple[str, Any, Any]] = [("y_pred", first.y_pred, second.y_pred)]
    pairs += [(f"extra[{k!r}]", v, second.extra.get(k)) for k, v in first.extra.items()
              if isinstance(v, np.ndarray)]
    pairs += [(f"extra[{k!r}] ranked lists", v.top, getattr(second.extra.get(k), "top", None))
              for k, v in first.extra.items() if isinstance(v, RankedLists)]
    for what, a, b in pairs:
        if not isinstance(b, np.ndarray):
            return f"{what} is missing from the second run"
        if a.dtype.kind in "fc" and b.dtype.kind in "fc":
            differ = _differences(a.astype(np.float64), b.astype(np.float64))
        else:
            differ = None if np.array_equal(a, b) else f"{what} differs"
        if differ:
            return f"{how}: {what}: {differ}"
    return None


def _model_classes(model: Any, known: Mapping[str, TaskSpec]) -> tuple[str, dict[str, Any], Mapping[str, str]]:
    """Subject, ``{task: class or lazy reference}`` and requirements of a spec or a class."""
    if isinstance(model, str):
        model = resolve(model)
    if isinstance(model, ModelSpec):
        return f"model {model.name!r}", dict(model.classes), model.requires
    if isinstance(model, type) and issubclass(model, Model):
        tasks = {}
        for name, spec in known.items():
            try:
                base = resolve(spec.model_base)
            except Exception:
                continue
            if isinstance(base, type) and issubclass(model, base):
                tasks[name] = model
        return f"model {model.__qualname__}", tasks, getattr(model, "requires", {}) or {}
    raise TypeError(f"check_model takes a ModelSpec or a Model subclass, not {model!r}")


def check_model(model: ModelSpec | type[Model] | str, task: str | None = None, *,
                params: Mapping[str, Any] | None = None, tasks: Tasks = None) -> Report:
    """Run a model (a :class:`ModelSpec`, a Model subclass or a ``"module:Class"`` reference)
    through the contract on every task it declares, or only ``task``.

    ``params`` are passed to ``__init__`` (e.g. fewer epochs, to keep a test fast); the kit's
    seed fills ``random_state``/``seed`` unless given there. ``tasks`` adds tasks that are not
    installed (a plugin's own); a bare Model class is checked on every task whose base it
    derives from.
    """
    known = installed_tasks(tasks)
    subject, classes, requires = _model_classes(model, known)
    report = Report(subject)
    declared = list(classes)
    unknown = [t for t in declared if t not in known]
    if not declared or unknown:
        what = f"unknown task(s) {unknown}" if unknown else "no task"
        report.checks.append(Check("declares tasks", FAILED, f"declares {what}; known: {known_names(known)}"))
    elif task is not None and task not in declared:
        report.checks.append(Check("declares tasks", FAILED,
                                   f"does not declare {task!r}; it declares {', '.join(declared)}"))
    else:
        report.checks.append(Check("declares tasks", PASSED))
    for each in [task] if task is not None else declared:
        if each not in classes or each not in known:
            continue
        missing = missing_hint(requires)
        if missing:
            report.checks.append(Check("model", SKIPPED, missing, each))
            continue
        try:
            model_class = resolve(classes[each])
        except ImportError as exc:
            report.checks.append(Check("imports", FAILED, f"cannot import {classes[each]!r}: "
                                                          f"{exception_line(exc)}", each))
            continue
        missing = missing_hint(getattr(model_class, "requires", {}) or {})
        if missing:
            report.checks.append(Check("model", SKIPPED, missing, each))
            continue
        given = dict(params or {})
        if isinstance(model_class, type) and issubclass(model_class, Model):  # else: the first step says so
            defaults = model_class.param_defaults()
            for name in given:
                if name not in defaults:
                    close = did_you_mean(name, defaults)
                    hint = f"; {close}" if close else ""
                    raise ValueError(f"params: {model_class.__name__} has no parameter {name!r}{hint}")
        run_steps(report, _ModelCase(cast(type[Model], model_class), known[each], given).steps(), each)
    return report


