"""Image datasets for reconstruction: scikit-learn's embedded 8×8 digits."""

from __future__ import annotations

import numpy as np

from benchmark.api import RECONSTRUCTION, DatasetSpec, MatrixData, hookimpl, require


def load_digits() -> MatrixData:
    """scikit-learn's 1,797 handwritten 8×8 digits, pixels scaled from 0..16 to [0, 1]."""
    datasets = require("sklearn.datasets", "scikit-learn")
    digits = datasets.load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    return MatrixData(X, info={"image_shape": [8, 8], "scale": "pixels / 16",
                               "source": "sklearn.datasets.load_digits"})


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("digits", load_digits, RECONSTRUCTION, {"sklearn": "scikit-learn"},
                        summary="scikit-learn 8x8 digits (1,797 rows, embedded)")]
