"""Per-unit values stored beside a cell (contract 2): several metrics over the same or different ids."""

from __future__ import annotations

import numpy as np

from benchmark.api import PerUnit
from benchmark.execute import write_units


def test_two_metrics_over_the_same_ids_are_stored_unchanged(tmp_path):
    ids = np.array([5, 3, 9])
    parts = {"rmse": PerUnit("user", ids, np.array([1.0, 4.0, 9.0]), np.array([1.0, 2.0, 3.0]), "sqrt"),
             "mae": PerUnit("user", ids, np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))}
    field = write_units(tmp_path / "units", "cell", parts)
    stored = np.load(tmp_path / "units" / "cell.npz")
    assert field["unit"] == "user" and field["transforms"] == {"rmse": "sqrt", "mae": "identity"}
    assert list(stored["ids"]) == ["5", "3", "9"]
    assert list(stored["rmse.num"]) == [1.0, 4.0, 9.0] and list(stored["mae.den"]) == [1.0, 2.0, 3.0]


def test_metrics_over_different_ids_are_aligned_on_the_union(tmp_path):
    parts = {"a": PerUnit("user", np.array(["u2", "u1"]), np.array([2.0, 1.0]), np.array([1.0, 1.0])),
             "b": PerUnit("user", np.array(["u3"]), np.array([3.0]), np.array([1.0]))}
    write_units(tmp_path, "cell", parts)
    stored = np.load(tmp_path / "cell.npz")
    assert list(stored["ids"]) == ["u1", "u2", "u3"]
    assert list(stored["a.num"]) == [1.0, 2.0, 0.0] and list(stored["a.den"]) == [1.0, 1.0, 0.0]
    assert list(stored["b.num"]) == [0.0, 0.0, 3.0]
