"""What bench-tastes adds to every finished cell: a table of each taster's error (an artifact)
and, when ``TASTES_LOG`` names a file, one JSON line per stored result."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from benchmark.api import RATING, hookimpl

BENCH_API_VERSION = 1


@hookimpl
def bench_cell_artifacts(cell, model, predictions, directory):
    if cell.task != RATING or predictions.users is None:
        return None  # only rating cells have tasters
    errors = np.abs(predictions.y_true - predictions.y_pred)
    table = (pd.DataFrame({"user": predictions.users, "error": errors})
             .groupby("user", sort=False)["error"].agg(["count", "mean"])
             .sort_values("mean", ascending=False))
    table.to_csv(directory / "taster-errors.csv")
    return ["taster-errors.csv"]


@hookimpl
def bench_cell_finished(result):
    log = os.environ.get("TASTES_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps({"run": result.run_id, "model": result.model, "status": result.status,
                                     "metrics": result.metrics}) + "\n")
