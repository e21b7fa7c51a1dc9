"""bench's own tasks, ``rating`` and ``reconstruction``, registered through ``bench_tasks``.

They use only :mod:`benchmark.api`, exactly as a third party's task would: the core knows no task
by name. Each runner is the small part that differs by task (what ``fit`` gets, how predictions
are checked and clipped); everything else of a cell (seeding, timing, metrics, provenance) is
:func:`benchmark.execute.execute`, the same for every task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from benchmark.api import (
    RATING, RECONSTRUCTION, Fold, MatrixData, Outcome, Predictions, RatingData, RatingModel,
    ReconstructionModel, TaskSpec, Timing, check_shape_finite, hookimpl,
)


def run_rating(model: RatingModel, data: RatingData, fold: Fold,
               options: Mapping[str, Any]) -> Outcome:
    """Fit on the fold's training ratings, predict its test pairs, clip to the rating scale."""
    train, test = data.subset(fold.train), data.subset(fold.test).ratings  # shared data: mapped, not copied
    users, items = test["user"].to_numpy(), test["item"].to_numpy()
    with Timing() as fit_time:
        model.fit(train)
    with Timing() as predict_time:
        raw = model.predict(users, items)
    raw = check_shape_finite(raw, (len(test),), "predict")
    prediction = np.clip(raw, *data.scale)
    known_users = np.isin(users, train.ratings["user"].unique())
    known_items = np.isin(items, train.ratings["item"].unique())
    counts = {"n_unknown": int((~(known_users & known_items)).sum()),
              "n_clipped": int((prediction != raw).sum())}
    predictions = Predictions(RATING, test["rating"].to_numpy(np.float64), prediction,
                              users, items, train, data.info, model=model, options=options)
    return Outcome(predictions, counts, fit_time, predict_time)


def run_reconstruction(model: ReconstructionModel, data: MatrixData, fold: Fold,
                       options: Mapping[str, Any]) -> Outcome:
    """Fit on the fold's training rows, reconstruct its test rows, clip to the value range.

    ``Predictions.extra["rows"]`` holds the test rows' positions in the dataset: the unit ids of
    per-example metrics.
    """
    X_train, X_test = data.X[fold.train], data.X[fold.test]
    with Timing() as fit_time:
        model.fit(X_train)
    with Timing() as predict_time:
        raw = model.reconstruct(X_test)
    raw = check_shape_finite(raw, X_test.shape, "reconstruct")
    prediction = np.clip(raw, *data.value_range)
    predictions = Predictions(RECONSTRUCTION, X_test.astype(np.float64), prediction,
                              train=X_train, info=data.info, model=model, options=options,
                              extra={"rows": np.asarray(fold.test)})
    return Outcome(predictions, {"n_clipped": int((prediction != raw).sum())}, fit_time, predict_time)


@hookimpl
def bench_tasks() -> list[TaskSpec]:
    return [
        TaskSpec(RATING, RatingModel, (RatingData,), run_rating,
                 default_metrics=("rmse", "mae", "fcp"),
                 summary="Explicit ratings: fit on (user, item, rating), predict held-out pairs"),
        TaskSpec(RECONSTRUCTION, ReconstructionModel, (MatrixData,), run_reconstruction,
                 default_metrics=("mse", "bce"),
                 summary="Dense rows (e.g. images): fit on training rows, reconstruct test rows"),
    ]
