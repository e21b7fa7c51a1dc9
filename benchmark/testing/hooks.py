"""The hooks a finished cell calls, called as a run would: ``bench_cell_artifacts`` with a
finished rating cell and a finished reconstruction cell (the kit's data and models), then
``bench_cell_finished`` with their results."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from benchmark.api import (
    RATING, RECONSTRUCTION, Cell, CellResult, Fold, Model, Predictions, RatingData, RatingModel,
    ReconstructionModel,
)
from benchmark.testing.common import SEED, installed_tasks
from benchmark.testing.report import Step
from benchmark.testing.tiny import tiny_matrix, tiny_predictions, tiny_ratings


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
    predictions = tiny_predictions(installed_tasks()[RATING], noisy=True)
    cases.append((_tiny_cell(RATING, fold), rating_model, dataclasses_replace(predictions, model=rating_model)))
    matrix = tiny_matrix()
    fold = matrix.folds["given"][0]
    rows_model = _KitRows().fit(matrix.X[fold.train])
    predictions = tiny_predictions(installed_tasks()[RECONSTRUCTION], noisy=True)
    cases.append((_tiny_cell(RECONSTRUCTION, fold), rows_model,
                  dataclasses_replace(predictions, model=rows_model, info={"image_shape": [4, 4]})))
    return cases


def dataclasses_replace(predictions: Predictions, **changes: Any) -> Predictions:
    """``dataclasses.replace`` typed for :class:`Predictions` (kept public: the kit exported it)."""
    return dataclasses.replace(predictions, **changes)


def hook_steps(module: ModuleType) -> list[Step]:
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

        steps.append(Step("bench_cell_artifacts writes the files it names", call_artifacts))
    if callable(finished):
        def call_finished() -> str | None:
            for cell, _, _ in _hook_cases():
                result = CellResult.start(cell, "kit-run", {"host": "kit"}, "2026-01-01T00:00:00+00:00")
                result.metrics, result.finished_at = {"rmse": 1.0}, "2026-01-01T00:00:01+00:00"
                returned = finished(result=result)
                if returned is not None:
                    return f"returned {type(returned).__name__}; bench ignores it (return None)"
            return None

        steps.append(Step("bench_cell_finished accepts a result", call_finished))
    return steps


