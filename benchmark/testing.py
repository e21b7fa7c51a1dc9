"""The conformance kit: run a plugin through the whole bench contract on tiny data.

In the spirit of scikit-learn's ``check_estimator``. Each ``check_*`` function returns a
:class:`Report` of every check — passed, failed with one line saying what was found, or
skipped with the reason — and :func:`assert_conforms` turns failures into one
``AssertionError`` listing them all, for a plugin's own tests::

    from benchmark.testing import assert_conforms
    from bench_item_mean import ItemMean

    def test_item_mean_conforms():
        assert_conforms(ItemMean)                      # or a ModelSpec, a DatasetSpec, a module

What is checked (the data is generated here: 30 users × 20 items with 200 ratings on 1-5 and
test pairs with unknown users and items; a 40 × 16 matrix in [0, 1]):

* a model, for every task it declares: the class derives from the task's base; ``__init__``
  takes keyword parameters with defaults and only stores them (``get_params`` returns them,
  ``clone`` and ``type(m)(**m.get_params())`` round-trip, no learned ``_`` attribute yet); its
  parameters are described (declared ``constraints`` are JSON Schema, defaults satisfy them);
  it pickles before and after ``fit``; ``prepare()`` runs; ``fit`` returns ``self`` and leaves
  its parameters and data alone; predictions have the right shape and are finite, unknown
  users and items included; the same seed gives the same predictions; ``info()`` is JSON.
* a dataset: its loader returns data of the declared task, well-formed, with the same
  checksum on a second load; ``describe()`` is JSON; predefined folds are within range.
* a split method: folds within range, disjoint, the same for the same seed.
* a metric: a finite number, the same for the same input, and perfect predictions score at
  least as well as noisy ones (``greater_is_better`` points the right way); a
  :class:`~benchmark.api.PerUnit` value's parts add up to it.
* a task (any, bench's own included): its spec, runner, options, tiny data and examples. Its
  models are fitted and scored through its runner; models of ``RatingModel`` and
  ``ReconstructionModel`` bases also get those bases' own checks above.
* a plugin module: all of the above for what its hooks return (its own tasks included), then
  its ``bench_cell_artifacts`` and ``bench_cell_finished`` are called as a run would call them.

Models are fitted as the harness fits them: the suite seed fills ``random_state``/``seed``
(unless given in ``params``) and the global generators are seeded before ``fit``.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import jsonschema
import numpy as np
import pandas as pd

from benchmark._internal import missing_requirements, resolve
from benchmark.api import (
    RATING, RECONSTRUCTION, Cell, CellResult, DatasetSpec, Fold, MatrixData, MetricSpec,
    MissingDependency, Model, ModelSpec, Outcome, PerUnit, PluginInputError, Predictions,
    RatingData, RatingModel, ReconstructionModel, SplitSpec, TaskSpec,
)
from benchmark.errors import did_you_mean
from benchmark.execute import SEED_PARAMS, make_model, reset_random_state
from benchmark.params import Param, describe, model_params, signature_problems, task_params
from benchmark.registry import hook_problems, task_problems

__all__ = ["Check", "Report", "check_model", "check_dataset", "check_split", "check_metric",
           "check_task", "check_plugin", "assert_conforms", "each_check", "installed_tasks", "SEED"]

SEED = 0
"""The seed the kit runs with (as a suite's ``seed``)."""

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

Tasks = Mapping[str, TaskSpec] | Sequence[TaskSpec] | None
"""Tasks a check may use besides the installed ones (e.g. those of the plugin being checked)."""


@functools.lru_cache(maxsize=1)
def _installed() -> dict[str, TaskSpec]:
    from benchmark.registry import build_registry

    return build_registry().tasks()


def installed_tasks(extra: Tasks = None) -> dict[str, TaskSpec]:
    """The tasks of the installed plugins (``rating``, ``reconstruction``, ...), with ``extra``
    (a plugin's own, not installed yet) over them."""
    found = dict(_installed())
    if isinstance(extra, Mapping):
        found.update(extra)
    elif extra:
        found.update({t.name: t for t in extra})
    return found


def _known(tasks: Mapping[str, TaskSpec]) -> str:
    return ", ".join(tasks) or "none"


# --- Reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check's outcome. ``scope`` says what it was run on (a task, a spec in a plugin)."""

    name: str
    status: str
    detail: str = ""
    scope: str = ""

    def line(self) -> str:
        """``check 'fit returns self' (rating): fit returned None``."""
        where = f" ({self.scope})" if self.scope else ""
        return f"check '{self.name}'{where}" + (f": {self.detail}" if self.detail else "")

    @property
    def id(self) -> str:
        """``rating: fit returns self``: a pytest id."""
        return f"{self.scope}: {self.name}" if self.scope else self.name

    def assert_ok(self) -> None:
        """Raise ``AssertionError`` with :meth:`line` if it failed; skip the test if it was skipped."""
        if self.status == FAILED:
            raise AssertionError(self.line())
        if self.status == SKIPPED:
            import pytest

            pytest.skip(self.line())


@dataclass(repr=False)
class Report:
    """Every check run on one plugin; ``ok`` when none failed. ``print(report)`` shows the
    counts, then one line per failed and per skipped check."""

    subject: str
    checks: list[Check] = field(default_factory=list)

    def _with(self, status: str) -> list[Check]:
        return [c for c in self.checks if c.status == status]

    @property
    def passed(self) -> list[Check]:
        return self._with(PASSED)

    @property
    def failed(self) -> list[Check]:
        return self._with(FAILED)

    @property
    def skipped(self) -> list[Check]:
        return self._with(SKIPPED)

    @property
    def ok(self) -> bool:
        return not self.failed

    def violations(self) -> list[str]:
        """One line per failed check."""
        return [c.line() for c in self.failed]

    def status(self, name: str, scope: str | None = None) -> str:
        """The status of the check called ``name`` (in ``scope``, if given)."""
        found = [c.status for c in self.checks if c.name == name and scope in (None, c.scope)]
        if not found:
            raise KeyError(f"no check {name!r} in the report of {self.subject}")
        return FAILED if FAILED in found else found[0]

    def add(self, other: Report, scope: str = "") -> None:
        """Take ``other``'s checks, their scope prefixed (``model 'svd', rating``)."""
        for c in other.checks:
            inner = ", ".join(s for s in (scope or other.subject, c.scope) if s)
            self.checks.append(Check(c.name, c.status, c.detail, inner))

    def __str__(self) -> str:
        head = (f"{self.subject}: {len(self.passed)} passed, {len(self.failed)} failed, "
                f"{len(self.skipped)} skipped")
        lines = [f"  FAILED {c.line()}" for c in self.failed]
        lines += [f"  skipped {c.line()}" for c in self.skipped]
        return "\n".join([head, *lines])

    __repr__ = __str__  # what pytest shows for ``assert report.ok, report``


class Violation(Exception):
    """Raised by a check: the contract is broken (the message says how)."""


class Skip(Exception):
    """Raised by a check: it does not apply (the message says why)."""


@dataclass
class _Step:
    name: str
    run: Callable[[], str | None]
    essential: bool = False  # when it fails, the later steps cannot run


def _run_steps(report: Report, steps: list[_Step], scope: str = "") -> None:
    """Run the steps in order; each returns a violation (or None), or raises.

    An exception fails the step ("raised ..."), a :class:`Skip` skips it. After an essential
    step fails or is skipped, or a library turns out to be missing, the remaining steps are
    skipped.
    """
    stopped = ""
    for step in steps:
        if stopped:
            report.checks.append(Check(step.name, SKIPPED, stopped, scope))
            continue
        try:
            problem = step.run()
        except Skip as exc:
            report.checks.append(Check(step.name, SKIPPED, str(exc), scope))
            stopped = str(exc) if step.essential else ""
            continue
        except MissingDependency as exc:
            report.checks.append(Check(step.name, SKIPPED, str(exc), scope))
            stopped = str(exc)
            continue
        except Violation as exc:
            problem = str(exc)
        except Exception as exc:  # the plugin's own failure is the finding
            problem = f"raised {_exception(exc)}{_raised_at(exc)}"
        report.checks.append(Check(step.name, FAILED if problem else PASSED, problem or "", scope))
        if problem and step.essential:
            stopped = f"needs '{step.name}', which failed"


def _raised_at(exc: BaseException) -> str:
    """`` (at model.py:12 in fit)``: the innermost frame outside bench, where the plugin raised."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f"{os.sep}benchmark{os.sep}" not in f.filename]
    return f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""


def _exception(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


# --- Tiny data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TinyRatings:
    """Training ratings and test pairs: ``known`` pairs, then pairs with an unknown user or item."""

    train: RatingData
    users: np.ndarray      # test pairs: known ones first
    items: np.ndarray
    ratings: np.ndarray    # true ratings of the known test pairs
    n_known: int
    everything: RatingData  # train and known test rows, with the fold set "given"


def tiny_ratings(seed: int = SEED) -> TinyRatings:
    """30 users × 20 items, 200 training ratings on a 1-5 scale, 60 known test pairs and 6
    with an unknown user, item or both. Ids are not positions (users 10, 13, ...; items
    500, 507, ...), so a model that indexes arrays by raw id fails."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 30, 20
    user_ids, item_ids = 10 + 3 * np.arange(n_users), 500 + 7 * np.arange(n_items)
    cover = [(u, u % n_items) for u in range(n_users)]  # every user and item in training
    others = [(u, i) for u in range(n_users) for i in range(n_items) if (u, i) not in set(cover)]
    drawn = rng.permutation(len(others))[:230]
    pairs = np.array(cover + [others[k] for k in drawn])
    u, i = pairs[:, 0], pairs[:, 1]
    taste = rng.normal(0, 1, (n_users, 2)) @ rng.normal(0, 1, (2, n_items))
    value = 3 + 0.8 * taste[u, i] + rng.normal(0, 0.5, len(u))
    frame = pd.DataFrame({"user": user_ids[u], "item": item_ids[i],
                          "rating": np.clip(np.round(value), 1, 5).astype(np.float64),
                          "timestamp": 1_000_000_000 + rng.permutation(len(u)).astype(np.int64)})
    train_rows, test_rows = np.arange(200), np.arange(200, 260)
    everything = RatingData(frame, (1.0, 5.0), folds={"given": [Fold("given", train_rows, test_rows)]},
                            info={"source": "benchmark.testing"})
    test = frame.iloc[test_rows]
    unknown_users = np.array([9001, 9001, user_ids[0], user_ids[3], 9002, 9003])
    unknown_items = np.array([item_ids[0], item_ids[5], 9901, 9902, 9902, 9903])
    return TinyRatings(everything.subset(train_rows),
                       np.concatenate([test["user"].to_numpy(), unknown_users]),
                       np.concatenate([test["item"].to_numpy(), unknown_items]),
                       test["rating"].to_numpy(np.float64), len(test), everything)


def tiny_matrix(seed: int = SEED) -> MatrixData:
    """40 rows × 16 features in (0, 1), float32, of rank-3 structure plus noise; the fold set
    ``"given"`` tests on the last 10 rows."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (40, 3)) @ rng.normal(0, 1, (3, 16)) + rng.normal(0, 0.3, (40, 16))
    X = (1 / (1 + np.exp(-logits))).astype(np.float32)
    return MatrixData(X, folds={"given": [Fold("given", np.arange(30), np.arange(30, 40))]},
                      info={"source": "benchmark.testing"})


def tiny_data(task: TaskSpec, seed: int = SEED) -> Any:
    """Tiny data a model of ``task`` runs on, with a fold set ``"given"``: the task's own
    ``tiny_data``, else the kit's ratings or matrix when the task runs on those."""
    if task.tiny_data is not None:
        return resolve(task.tiny_data)(seed)
    if task.serves(RatingData):
        return tiny_ratings(seed).everything
    if task.serves(MatrixData):
        return tiny_matrix(seed)
    raise Skip(f"task {task.name!r} runs on {', '.join(k.__name__ for k in task.data_types)} and "
               f"gives no tiny_data for the kit")


# --- Shared helpers -------------------------------------------------------------------------


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


def _schema_problems(params: Mapping[str, Param], constraints: Mapping[str, Any],
                     given: Mapping[str, Any]) -> list[str]:
    """Declared constraints that are not JSON Schema or name no parameter; defaults and given
    values that break their parameter's schema."""
    problems, invalid = [], set()
    validator = jsonschema.validators.validator_for({})
    for name, fragment in constraints.items():
        if name not in params:
            close = did_you_mean(name, params)
            hint = f" ({close})" if close else ""
            problems.append(f"constraints name no parameter {name!r}{hint}")
        try:
            validator.check_schema(dict(fragment))
        except (jsonschema.SchemaError, TypeError, ValueError) as exc:
            problems.append(f"constraint of {name!r} is not JSON Schema: "
                            f"{getattr(exc, 'message', exc)}")
            invalid.add(name)
    for p in params.values():
        if p.name in invalid:
            continue
        values = [("default", p.default)] if not p.required else []
        values += [("given value", given[p.name])] if p.name in given else []
        for what, value in values:
            json_value = list(value) if isinstance(value, tuple) else value
            try:
                json.dumps(json_value)
            except (TypeError, ValueError):
                continue  # not expressible in a suite: nothing to validate
            error = jsonschema.exceptions.best_match(validator(dict(p.schema)).iter_errors(json_value))
            if error is not None:
                problems.append(f"{what} {value!r} of {p.name!r} breaks its schema: {error.message}")
    return problems


def _json_problem(value: Any, what: str) -> str | None:
    if not isinstance(value, dict):
        return f"{what} returned {type(value).__name__}, expected a dict"
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        return f"{what} is not JSON-serialisable: {exc}"
    return None


def _fold_problems(folds: Any, n_rows: int, where: str) -> list[str]:
    """Folds must be a non-empty list of :class:`Fold` of in-range, disjoint row positions."""
    folds = list(folds)
    if not folds:
        return [f"{where} has no folds"]
    problems = []
    for fold in folds:
        if not isinstance(fold, Fold):
            problems.append(f"{where} holds a {type(fold).__name__}, not a Fold")
            continue
        label = f"{where} fold {fold.name!r}"
        train, test = np.asarray(fold.train), np.asarray(fold.test)
        if train.ndim != 1 or test.ndim != 1 or not all(np.issubdtype(a.dtype, np.integer)
                                                         for a in (train, test)):
            problems.append(f"{label}: train and test must be 1-D arrays of integer positions")
            continue
        outside = [int(v) for v in np.concatenate([train, test]) if not 0 <= v < n_rows][:3]
        if outside:
            problems.append(f"{label}: positions {outside} outside 0..{n_rows - 1}")
        if not len(test):
            problems.append(f"{label}: empty test set")
        shared = np.intersect1d(train, test)
        if len(shared):
            problems.append(f"{label}: {len(shared)} row(s) in both train and test")
        if not isinstance(fold.fingerprint, str):
            problems.append(f"{label}: no fingerprint")
    return problems


def _missing(requires: Mapping[str, str]) -> str:
    missing = missing_requirements(requires)
    return f"needs pip install {' '.join(missing)}" if missing else ""


# --- Models ---------------------------------------------------------------------------------


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

    def steps(self) -> list[_Step]:
        head = [
            _Step("derives from the task's base", self.derives_from_base, essential=True),
            _Step("__init__ takes keyword parameters with defaults", self.signature),
            _Step("parameters are described", self.described),
            _Step("__init__ only stores parameters", self.construct, essential=True),
            _Step("get_params returns the init arguments", self.get_params),
            _Step("clone and set_params round-trip", self.round_trip),
            _Step("picklable before fit", self.pickle_unfitted),
            _Step("prepare() runs", self.prepare),
        ]
        if self.ratings is None and self.matrix is None:
            return head + [
                _Step("runs through the task's runner", self.run_task, essential=True),
                _Step("fit leaves parameters unchanged", self.run_changes_nothing),
                _Step("info() is JSON-serialisable", self.info),
                _Step("same seed, same predictions", self.same_seed_run),
                _Step("picklable after fit", self.pickle_fitted_run),
            ]
        return head + [
            _Step("fit returns self", self.fit, essential=True),
            _Step("fit leaves parameters and training data unchanged", self.fit_changes_nothing),
            _Step("predictions have the right shape and are finite", self.predictions, essential=True),
            _Step("unknown users and items get a number", self.unknown),
            _Step("info() is JSON-serialisable", self.info),
            _Step("same seed, same predictions", self.same_seed),
            _Step("picklable after fit, predicts identically", self.pickle_fitted),
        ]

    # --- before fit

    def derives_from_base(self) -> None:
        base = self.base
        if not (isinstance(self.model_class, type) and issubclass(self.model_class, base)):
            raise Violation(f"{self.model_class!r} is not a {base.__name__} subclass")

    def signature(self) -> str | None:
        if self.model_class.__init__ is object.__init__:
            return None
        problems = signature_problems(self.model_class.__init__, f"{self.model_class.__name__}.__init__")
        return "; ".join(problems) or None

    def described(self) -> str | None:
        params = model_params(self.model_class)
        problems = _schema_problems(params, getattr(self.model_class, "constraints", {}) or {},
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
            return f"predict raised {_exception(exc)} on test pairs with an unknown user or item"
        if found.shape != (n,):
            return f"predict returned shape {found.shape} for {n} pairs"
        bad = int((~np.isfinite(found[n_known:])).sum())
        if bad:
            return f"{bad} of {n - n_known} pairs with an unknown user or item got NaN or infinity"
        return None

    def info(self) -> str | None:
        return _json_problem(self.model.info(), "info()")

    def same_seed(self) -> str | None:
        again = make_model(self.model_class, self.params, SEED)
        again.prepare()
        self._fit(again)
        assert self.reference is not None  # set by the essential predictions step
        differ = _differences(self.reference, self._predict(again, self._known()))
        if differ is None:
            return None
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
        predicted = np.asarray(self.outcome.predictions.y_pred)
        if predicted.size and np.issubdtype(predicted.dtype, np.number):
            bad = int((~np.isfinite(predicted)).sum())
            if bad:
                raise Violation(f"{bad} of {predicted.size} predictions are NaN or infinite")
        return None

    def run_changes_nothing(self) -> str | None:
        changed = self._params_differ_from(self.params_before)
        return f"fit changed parameter(s) {', '.join(changed)}" if changed else None

    def same_seed_run(self) -> str | None:
        again = make_model(self.model_class, self.params, SEED)
        again.prepare()
        assert self.outcome is not None
        return _outcome_differences(self.outcome.predictions, self._run(again).predictions)

    def pickle_fitted_run(self) -> str | None:
        assert self.outcome is not None
        fitted = self.outcome.predictions.model if self.outcome.predictions.model is not None else self.model
        return self._params_differ(pickle.loads(pickle.dumps(fitted)), "pickling the fitted model")


def _outcome_differences(first: Predictions, second: Predictions) -> str | None:
    """Why two runs' predictions differ: ``y_pred`` and every array of ``extra``."""
    pairs: list[tuple[str, Any, Any]] = [("y_pred", first.y_pred, second.y_pred)]
    pairs += [(f"extra[{k!r}]", v, second.extra.get(k)) for k, v in first.extra.items()
              if isinstance(v, np.ndarray)]
    for what, a, b in pairs:
        if not isinstance(b, np.ndarray):
            return f"{what} is missing from the second run"
        if a.dtype.kind in "fc" and b.dtype.kind in "fc":
            differ = _differences(a.astype(np.float64), b.astype(np.float64))
        else:
            differ = None if np.array_equal(a, b) else f"{what} differs"
        if differ:
            return f"two fits with the same seed predict differently: {what}: {differ}"
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
        report.checks.append(Check("declares tasks", FAILED, f"declares {what}; known: {_known(known)}"))
    elif task is not None and task not in declared:
        report.checks.append(Check("declares tasks", FAILED,
                                   f"does not declare {task!r}; it declares {', '.join(declared)}"))
    else:
        report.checks.append(Check("declares tasks", PASSED))
    for each in [task] if task is not None else declared:
        if each not in classes or each not in known:
            continue
        missing = _missing(requires)
        if missing:
            report.checks.append(Check("model", SKIPPED, missing, each))
            continue
        try:
            model_class = resolve(classes[each])
        except ImportError as exc:
            report.checks.append(Check("imports", FAILED, f"cannot import {classes[each]!r}: "
                                                          f"{_exception(exc)}", each))
            continue
        missing = _missing(getattr(model_class, "requires", {}) or {})
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
        _run_steps(report, _ModelCase(cast(type[Model], model_class), known[each], given).steps(), each)
    return report


# --- Datasets -------------------------------------------------------------------------------


class _DatasetCase:
    """One dataset loader with its options, run through the contract."""

    def __init__(self, loader: Callable[..., Any], task: TaskSpec | None,
                 constraints: Mapping[str, Any], options: Mapping[str, Any],
                 default_split: Mapping[str, Any] | None, refusal_skips: bool):
        self.loader, self.task, self.constraints = loader, task, constraints
        self.options, self.default_split, self.refusal_skips = dict(options), default_split, refusal_skips
        self.data: Any = None

    def steps(self) -> list[_Step]:
        return [
            _Step("loader takes keyword options with defaults", self.signature),
            _Step("options are described", self.described),
            _Step("loads data of its task", self.load, essential=True),
            _Step("data is well-formed", self.well_formed),
            _Step("checksum is stable across two loads", self.stable),
            _Step("describe() is JSON-serialisable", self.describe),
            _Step("folds are within range and fingerprintable", self.folds),
        ]

    def signature(self) -> str | None:
        return "; ".join(signature_problems(self.loader, "loader", skip=())) or None

    def described(self) -> str | None:
        params = describe(self.loader, self.constraints, skip=())
        unknown = [k for k in self.options if k not in params]
        if unknown:
            raise ValueError(f"options: the loader has no option(s) {unknown}; it has {list(params)}")
        return "; ".join(_schema_problems(params, self.constraints, self.options)) or None

    def load(self) -> str | None:
        try:
            self.data = self.loader(**self.options)
        except PluginInputError as exc:
            if self.refusal_skips:
                raise Skip(f"the loader needs options here: {exc}") from None
            raise
        if self.task is None:
            if not isinstance(self.data, (RatingData, MatrixData)):
                raise Violation(f"the loader returned {type(self.data).__name__}, not RatingData or MatrixData")
        elif not self.task.serves(self.data):
            own = getattr(self.data, "task", "")
            raise Violation(f"the loader returned {type(self.data).__name__}{f' ({own})' if own else ''}, "
                            f"but the dataset declares {self.task.name!r}")
        for attribute in ("checksum", "describe", "folds", "info", "__len__"):
            if not hasattr(self.data, attribute):
                raise Violation(f"the data ({type(self.data).__name__}) has no {attribute!r}")
        return None

    def well_formed(self) -> str | None:
        data = self.data
        if not isinstance(data, (RatingData, MatrixData)):
            raise Skip(f"the kit has no rules for {type(data).__name__}")
        if isinstance(data, RatingData):
            low, high = data.scale
            values = data.ratings["rating"].to_numpy(np.float64)
            if not len(values):
                return "no ratings"
            if not low < high:
                return f"scale {data.scale} is not (lowest, highest)"
            if not np.all(np.isfinite(values)):
                return f"{int((~np.isfinite(values)).sum())} ratings are NaN or infinite"
            outside = int(((values < low) | (values > high)).sum())
            if outside:
                return f"{outside} ratings lie outside the scale {data.scale}"
            for column in ("user", "item"):
                if data.ratings[column].isna().any():
                    return f"column {column!r} has missing ids"
            return None
        X = np.asarray(data.X)
        if X.ndim != 2 or not X.size:
            return f"X has shape {X.shape}, expected (rows, features) with rows"
        if not np.issubdtype(X.dtype, np.floating):
            return f"X has dtype {X.dtype}, expected floats"
        if not np.all(np.isfinite(X)):
            return f"{int((~np.isfinite(X)).sum())} values are NaN or infinite"
        low, high = data.value_range
        if X.min() < low or X.max() > high:
            return f"values span [{X.min():g}, {X.max():g}], outside value_range {data.value_range}"
        return None

    def stable(self) -> str | None:
        first, second = self.data.checksum(), self.loader(**self.options).checksum()
        return f"checksums differ: {first} then {second}" if first != second else None

    def describe(self) -> str | None:
        return _json_problem(self.data.describe(), "describe()")

    def folds(self) -> str | None:
        sets = self.data.folds
        wanted = (self.default_split or {}).get("name") \
            if (self.default_split or {}).get("method") == "predefined" else None
        if wanted is not None and wanted not in sets:
            return f"default_split names fold set {wanted!r}, which the data lacks ({list(sets)})"
        if not len(sets):
            raise Skip("the data defines no folds")
        problems = []
        for name in sets:
            problems += _fold_problems(sets[name], len(self.data), f"fold set {name!r}")
        return "; ".join(problems) or None


def check_dataset(dataset: DatasetSpec | Callable[..., Any], *, tasks: Tasks = None,
                  **options: Any) -> Report:
    """Run a dataset (a :class:`DatasetSpec` or a bare loader) through the contract, loading
    it (twice) with ``options`` (e.g. ``data_dir``, or a ``limit`` that keeps it small).
    ``tasks`` adds tasks that are not installed (a plugin's own)."""
    return _check_dataset(dataset, options, refusal_skips=False, tasks=tasks)


def _check_dataset(dataset: Any, options: Mapping[str, Any], refusal_skips: bool,
                   tasks: Tasks = None) -> Report:
    if isinstance(dataset, DatasetSpec):
        report = Report(f"dataset {dataset.name!r}")
        known = installed_tasks(tasks)
        if dataset.task in known:
            report.checks.append(Check("declares a task", PASSED))
        else:
            report.checks.append(Check("declares a task", FAILED,
                                       f"declares {dataset.task!r}; known: {_known(known)}"))
            return report
        missing = _missing(dataset.requires)
        if missing:
            report.checks.append(Check("dataset", SKIPPED, missing))
            return report
        loader, task = resolve(dataset.loader), known[dataset.task]
        constraints, default_split = dataset.constraints, dataset.default_split
    elif callable(dataset):
        report = Report(f"dataset loader {getattr(dataset, '__qualname__', dataset)!r}")
        loader, task, constraints, default_split = dataset, None, {}, None
    else:
        raise TypeError(f"check_dataset takes a DatasetSpec or a loader, not {dataset!r}")
    _run_steps(report, _DatasetCase(loader, task, constraints, options, default_split,
                                    refusal_skips).steps())
    return report


# --- Splits and metrics ---------------------------------------------------------------------


def _split_steps(func: Callable[..., Any], data: RatingData | MatrixData,
                 params: Mapping[str, Any]) -> list[_Step]:
    folds: list[Any] = []

    def within_range() -> str | None:
        folds[:] = list(func(data, **{"seed": SEED, **params}))
        return "; ".join(_fold_problems(folds, len(data), "the split")) or None

    def same_seed() -> str | None:
        again = list(func(data, **{"seed": SEED, **params}))
        if [f.fingerprint for f in folds] != [f.fingerprint for f in again]:
            return "two calls with the same seed gave different folds"
        return None

    return [_Step("folds are within range and disjoint", within_range, essential=True),
            _Step("same seed, same folds", same_seed)]


def check_split(split: SplitSpec, *, tasks: Tasks = None, **params: Any) -> Report:
    """Run a split method on tiny data of each task it supports (with a timestamp column and
    a predefined fold set ``"given"``), with ``params``. ``tasks`` adds tasks that are not
    installed."""
    report = Report(f"split {split.name!r}")
    known = installed_tasks(tasks)
    unknown = [t for t in split.tasks if t not in known]
    report.checks.append(Check("declares tasks", FAILED if unknown or not split.tasks else PASSED,
                               f"declares {unknown or 'no task'}; known: {_known(known)}"
                               if unknown or not split.tasks else ""))
    func = resolve(split.func)

    def signature() -> str | None:
        problems = signature_problems(func, "split function", skip=("data",), need_defaults=False)
        if "seed" not in describe(func, skip=("data",)):
            problems.append("split function takes no 'seed' keyword (bench passes one)")
        return "; ".join(problems) or None

    def described() -> str | None:
        params_ = describe(func, split.params, skip=("data",))
        for name, schema in split.params.items():
            params_.setdefault(name, Param(name, schema=schema))
        return "; ".join(_schema_problems(params_, split.params, params)) or None

    _run_steps(report, [_Step("function takes data, seed and keyword parameters", signature),
                        _Step("parameters are described", described)])
    for task in [t for t in split.tasks if t in known]:
        try:
            data = tiny_data(known[task])
        except Skip as exc:
            report.checks.append(Check("folds are within range and disjoint", SKIPPED, str(exc), task))
            continue
        _run_steps(report, _split_steps(func, data, params), task)
    return report


def _tiny_predictions(task: TaskSpec, noisy: bool) -> Predictions:
    """Perfect or noisy predictions of ``task``: its ``examples``, else the kit's own for
    bench's rating and reconstruction tasks."""
    if task.examples is not None:
        return resolve(task.examples)(noisy, SEED)
    rng = np.random.default_rng(SEED + 1)
    if task.name not in (RATING, RECONSTRUCTION):
        raise Skip(f"task {task.name!r} gives no examples for the kit to score")
    if task.name == RATING:
        tiny = tiny_ratings()
        n = tiny.n_known
        truth = tiny.ratings
        guess = np.clip(truth + rng.normal(0, 1.0, n), 1, 5) if noisy else truth.copy()
        return Predictions(RATING, truth, guess, tiny.users[:n], tiny.items[:n], tiny.train,
                           tiny.everything.info)
    matrix = tiny_matrix()
    truth = matrix.X[30:].astype(np.float64)
    guess = np.clip(truth + rng.normal(0, 0.2, truth.shape), 0, 1) if noisy else truth.copy()
    return Predictions(RECONSTRUCTION, truth, guess, train=matrix.X[:30], info=matrix.info)


def check_metric(metric: MetricSpec, *, tasks: Tasks = None) -> Report:
    """Score tiny perfect and noisy predictions of the metric's task (a :class:`Predictions`
    with test users, items and training data when ``context=True``; a task of a plugin gives
    them as ``TaskSpec.examples``). ``tasks`` adds tasks that are not installed."""
    report = Report(f"metric {metric.name!r}")
    known = installed_tasks(tasks)
    if metric.task not in known:
        report.checks.append(Check("declares a task", FAILED,
                                   f"declares {metric.task!r}; known: {_known(known)}"))
        return report
    report.checks.append(Check("declares a task", PASSED))
    task = known[metric.task]
    func = resolve(metric.func)
    scores: dict[str, float] = {}
    returned: dict[str, Any] = {}

    def score(predictions: Predictions) -> float:
        value = func(predictions) if metric.context else func(predictions.y_true, predictions.y_pred)
        returned["value"] = value
        return float(value)

    def finite() -> str | None:
        scores["noisy"] = score(_tiny_predictions(task, noisy=True))
        return None if np.isfinite(scores["noisy"]) else f"scored {scores['noisy']}"

    def per_unit() -> str | None:
        value = returned["value"]
        if not isinstance(value, PerUnit):
            raise Skip("returns a plain number")
        den = float(np.sum(value.den))
        if not den:
            return "every den is 0"
        mean = float(np.sum(value.num)) / den
        parts = math.sqrt(mean) if value.transform == "sqrt" else mean
        if not math.isclose(parts, float(value), rel_tol=1e-9, abs_tol=1e-12):
            return f"transform(sum(num) / sum(den)) is {parts!r}, the value {float(value)!r}"
        if len(set(np.asarray(value.ids).astype(str))) != len(value.ids):
            return "ids repeat"
        return None

    def deterministic() -> str | None:
        again = score(_tiny_predictions(task, noisy=True))
        return None if again == scores["noisy"] else f"scored {scores['noisy']} then {again}"

    def direction() -> str | None:
        perfect, noisy = score(_tiny_predictions(task, noisy=False)), scores["noisy"]
        better = perfect >= noisy if metric.greater_is_better else perfect <= noisy
        if better:
            return None
        flag = "greater_is_better=True" if metric.greater_is_better else "lower is better"
        return f"perfect predictions score {perfect:.4g}, noisy ones {noisy:.4g}, but {flag}"

    _run_steps(report, [_Step("returns a finite number", finite, essential=True),
                        _Step("per-unit parts agree with the value", per_unit),
                        _Step("same predictions, same score", deterministic),
                        _Step("perfect predictions score at least as well as noisy ones", direction)])
    return report


# --- Tasks ----------------------------------------------------------------------------------


def check_task(task: TaskSpec) -> Report:
    """Check a task: its spec (base class, data classes, runner, options and their schema),
    its tiny data for the kit (a fold set ``"given"`` of in-range folds), and its examples for
    metrics (perfect and noisy :class:`Predictions`). Its models are checked by
    :func:`check_model` (through its runner)."""
    report = Report(f"task {task.name!r}")
    missing = _missing(task.requires)
    if missing:
        report.checks.append(Check("task", SKIPPED, missing))
        return report

    def spec() -> str | None:
        return "; ".join(task_problems(task)) or None

    def base() -> str | None:
        found = resolve(task.model_base)
        if not (isinstance(found, type) and issubclass(found, Model)):
            return f"model_base {found!r} is not a Model subclass"
        return None

    def runner() -> str | None:
        found = resolve(task.runner)
        if not callable(found):
            return f"runner {found!r} is not callable"
        params = describe(found, skip=())
        if len(params) < 4 and not any(p.kind == p.VAR_POSITIONAL for p in
                                       __import__("inspect").signature(found).parameters.values()):
            return f"runner takes {list(params)}; bench passes (model, data, fold, options)"
        return None

    def options() -> str | None:
        return "; ".join(_schema_problems(task_params(task), task.constraints, {})) or None

    def data() -> str | None:
        found = tiny_data(task)
        if not task.serves(found):
            return f"tiny_data returned {type(found).__name__}, which the task does not run on"
        folds = found.folds.get("given") if hasattr(found.folds, "get") else None
        if not folds:
            return f"tiny_data has no fold set 'given' (it has {list(found.folds)})"
        return "; ".join(_fold_problems(folds, len(found), "fold set 'given'")) or None

    def examples() -> str | None:
        for noisy in (False, True):
            found = _tiny_predictions(task, noisy)
            if not isinstance(found, Predictions):
                return f"examples returned {type(found).__name__}, not Predictions"
            if found.task != task.name:
                return f"examples are predictions of task {found.task!r}"
        return None

    _run_steps(report, [_Step("the spec is well-formed", spec, essential=True),
                        _Step("model_base is a Model subclass", base),
                        _Step("runner takes model, data, fold, options", runner),
                        _Step("options are described", options),
                        _Step("tiny data for the kit has a fold set 'given'", data),
                        _Step("examples for metrics are Predictions of the task", examples)])
    return report


# --- Hooks a cell calls -----------------------------------------------------------------------


class _KitMean(RatingModel):
    """The kit's own fitted model, handed to artifact hooks: every pair gets the training mean."""

    def fit(self, train: RatingData) -> _KitMean:
        self.index_training(train)
        return self

    def estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return np.full(len(u), self.mean_)


class _KitRows(ReconstructionModel):
    """The kit's reconstruction model for artifact hooks: every row is the training mean row."""

    def fit(self, X: np.ndarray) -> _KitRows:
        self.mean_ = X.mean(axis=0)
        return self

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        return np.tile(self.mean_, (len(X), 1))


def _tiny_cell(task: str, fold: Fold, model: str = "kit-model") -> Cell:
    return Cell(suite="conformance", task=task, dataset="tiny", dataset_plugin="tiny", dataset_options={},
                dataset_checksum="0" * 16, split="predefined", split_params={"name": "given", "seed": SEED},
                seed=SEED, fold=0, fold_name=fold.name, fingerprint=fold.fingerprint, model=model,
                model_plugin=model, params={}, config={}, metrics=())


def _hook_cases() -> list[tuple[Cell, Model, Predictions]]:
    """A finished rating cell and a finished reconstruction cell (the kit's data and models)."""
    cases: list[tuple[Cell, Model, Predictions]] = []
    ratings = tiny_ratings()
    fold = ratings.everything.folds["given"][0]
    rating_model = _KitMean().fit(ratings.train)
    predictions = _tiny_predictions(installed_tasks()[RATING], noisy=True)
    cases.append((_tiny_cell(RATING, fold), rating_model, dataclasses_replace(predictions, model=rating_model)))
    matrix = tiny_matrix()
    fold = matrix.folds["given"][0]
    rows_model = _KitRows().fit(matrix.X[fold.train])
    predictions = _tiny_predictions(installed_tasks()[RECONSTRUCTION], noisy=True)
    cases.append((_tiny_cell(RECONSTRUCTION, fold), rows_model,
                  dataclasses_replace(predictions, model=rows_model, info={"image_shape": [4, 4]})))
    return cases


def dataclasses_replace(predictions: Predictions, **changes: Any) -> Predictions:
    import dataclasses

    return dataclasses.replace(predictions, **changes)


def _hook_steps(module: ModuleType) -> list[_Step]:
    """Call the module's ``bench_cell_artifacts`` and ``bench_cell_finished`` as a run would."""
    steps = []
    artifacts = getattr(module, "bench_cell_artifacts", None)
    finished = getattr(module, "bench_cell_finished", None)
    if callable(artifacts):
        def call_artifacts() -> str | None:
            problems = []
            for cell, model, predictions in _hook_cases():
                with tempfile.TemporaryDirectory() as folder:
                    directory = Path(folder)
                    names = artifacts(cell=cell, model=model, predictions=predictions, directory=directory)
                    if names is None:
                        continue
                    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                        problems.append(f"{cell.task}: returned {names!r}, not a list of file names")
                        continue
                    absent = [n for n in names if not (directory / n).is_file()]
                    if absent:
                        problems.append(f"{cell.task}: returned {absent} but wrote no such file(s)")
            return "; ".join(problems) or None

        steps.append(_Step("bench_cell_artifacts writes the files it names", call_artifacts))
    if callable(finished):
        def call_finished() -> str | None:
            for cell, _, _ in _hook_cases():
                result = CellResult.start(cell, "kit-run", {"host": "kit"}, "2026-01-01T00:00:00+00:00")
                result.metrics, result.finished_at = {"rmse": 1.0}, "2026-01-01T00:00:01+00:00"
                returned = finished(result=result)
                if returned is not None:
                    return f"returned {type(returned).__name__}; bench ignores it (return None)"
            return None

        steps.append(_Step("bench_cell_finished accepts a result", call_finished))
    return steps


# --- Whole plugins --------------------------------------------------------------------------
# --- Whole plugins --------------------------------------------------------------------------


HOOK_CHECKS = {"bench_tasks": TaskSpec, "bench_models": ModelSpec, "bench_datasets": DatasetSpec,
               "bench_splits": SplitSpec, "bench_metrics": MetricSpec}


def _specs(module: ModuleType, report: Report) -> Iterator[Any]:
    for hook, spec_type in HOOK_CHECKS.items():
        function = getattr(module, hook, None)
        if function is None:
            continue
        try:
            specs = list(function() or [])
        except Exception as exc:
            report.checks.append(Check(f"{hook} returns specs", FAILED, f"raised {_exception(exc)}"))
            continue
        wrong = [type(s).__name__ for s in specs if not isinstance(s, spec_type)]
        report.checks.append(Check(f"{hook} returns specs", FAILED if wrong else PASSED,
                                   f"returned {', '.join(wrong)}, expected {spec_type.__name__}"
                                   if wrong else ""))
        yield from (s for s in specs if isinstance(s, spec_type))


def check_plugin(module: ModuleType, *, params: Mapping[str, Mapping[str, Any]] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> Report:
    """Check a plugin module's hook names and API version, then every model, dataset, split
    and metric its hooks return. ``params``/``options`` map a model/dataset name to the
    parameters/options to use; a dataset without options whose loader refuses the defaults
    (e.g. it needs a file) is skipped with the loader's reason."""
    params, options = dict(params or {}), dict(options or {})
    report = Report(f"plugin {module.__name__}")
    problems = hook_problems(module)
    report.checks.append(Check("hooks are known and the API version is supported",
                               FAILED if problems else PASSED, "; ".join(problems)))
    specs = list(_specs(module, report))
    for given, kind, spec_type in ((params, "model", ModelSpec), (options, "dataset", DatasetSpec)):
        provided = [s.name for s in specs if isinstance(s, spec_type)]
        stray = [name for name in given if name not in provided]
        if stray:
            hint = did_you_mean(stray[0], provided) or f"it provides {', '.join(provided) or 'none'}"
            raise ValueError(f"{'params' if kind == 'model' else 'options'}: {module.__name__} provides "
                             f"no {kind} {stray[0]!r}; {hint}")
    own = [s for s in specs if isinstance(s, TaskSpec)]
    for spec in specs:
        if isinstance(spec, TaskSpec):
            inner = check_task(spec)
        elif isinstance(spec, ModelSpec):
            inner = check_model(spec, params=params.get(spec.name), tasks=own)
        elif isinstance(spec, DatasetSpec):
            inner = _check_dataset(spec, options.get(spec.name, {}), spec.name not in options, own)
        elif isinstance(spec, SplitSpec):
            inner = check_split(spec, tasks=own)
        else:
            inner = check_metric(spec, tasks=own)
        report.add(inner)
    _run_steps(report, _hook_steps(module))
    return report


def each_check(target: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """One pytest case per check, as scikit-learn's ``parametrize_with_checks``::

        @pytest.mark.parametrize("check", each_check(my_plugin))
        def test_bench_contract(check):
            check.assert_ok()

    ``target`` and the other arguments are as for :func:`assert_conforms`. The checks run once,
    when pytest collects the tests; each case then reports one of them, with its own id
    (``model 'item-mean', rating: fit returns self``), so one can be run (``-k``), skipped or
    read on its own."""
    import pytest

    report = _report(target, *args, **kwargs)
    return [pytest.param(check, id=check.id) for check in report.checks]


def _report(target: Any, *args: Any, **kwargs: Any) -> Report:
    if isinstance(target, Report):
        return target
    if isinstance(target, ModuleType):
        return check_plugin(target, *args, **kwargs)
    if isinstance(target, DatasetSpec):
        return check_dataset(target, *args, **kwargs)
    if isinstance(target, SplitSpec):
        return check_split(target, *args, **kwargs)
    if isinstance(target, MetricSpec):
        return check_metric(target, *args, **kwargs)
    if isinstance(target, TaskSpec):
        return check_task(target)
    return check_model(target, *args, **kwargs)


def assert_conforms(target: Any, *args: Any, **kwargs: Any) -> Report:
    """Check ``target`` and raise ``AssertionError`` listing every violation; return the report.

    ``target`` is a model (ModelSpec or Model subclass; ``task``/``params`` as for
    :func:`check_model`), a dataset (DatasetSpec; ``**options``), a SplitSpec, a MetricSpec,
    a TaskSpec, a plugin module (``params``/``options`` as for :func:`check_plugin`) or a
    finished Report.
    """
    report = _report(target, *args, **kwargs)
    if not report.ok:
        raise AssertionError(f"{report.subject} breaks the bench contract:\n  "
                             + "\n  ".join(report.violations()))
    return report
