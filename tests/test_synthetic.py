"""The synthetic low-rank generator: exact size, unique pairs, on the rating grid, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from bench_plugins.synthetic import load_synthetic
from benchmark.api import PluginInputError


def test_exact_size_unique_pairs_on_the_grid():
    data = load_synthetic(n_users=500, n_items=300, n_ratings=40_000, scale_min=0.5, scale_max=5.0,
                          step=0.5, seed=3)
    frame = data.ratings
    assert len(frame) == 40_000
    assert not frame.duplicated(["user", "item"]).any()
    assert frame["user"].between(0, 499).all() and frame["item"].between(0, 299).all()
    assert set(np.unique(frame["rating"])) <= set(np.arange(0.5, 5.01, 0.5))
    assert data.scale == (0.5, 5.0)


def test_seed_determines_everything():
    first, again = load_synthetic(seed=1), load_synthetic(seed=1)
    assert first.checksum() == again.checksum()
    assert first.checksum() != load_synthetic(seed=2).checksum()


def test_low_rank_structure_is_there():
    data = load_synthetic(n_users=200, n_items=100, density=1.0, rank=2, noise=0.0, step=0.01, seed=0)
    matrix = data.ratings.pivot(index="user", columns="item", values="rating").to_numpy()
    singular = np.linalg.svd(matrix - matrix.mean(), compute_uv=False)
    # rank-2 signal plus rank-2 biases: almost all energy in the first few directions
    assert (singular[:5] ** 2).sum() / (singular ** 2).sum() > 0.95


def test_impossible_request():
    with pytest.raises(PluginInputError, match="cannot draw"):
        load_synthetic(n_users=10, n_items=10, n_ratings=101)


# Checksums captured with the np.unique implementation, before the sort-based one replaced it.
@pytest.mark.parametrize("options, checksum", [
    ({"seed": 0}, "0db3388099b894ad"),
    ({"seed": 1, "n_users": 500, "n_items": 300, "n_ratings": 40_000}, "b5d59ed93a409ec9"),
    ({"seed": 7, "n_users": 50, "n_items": 40, "density": 0.9}, "e7fdf435508110bd"),
    ({"seed": 3, "n_users": 2000, "n_items": 1000, "n_ratings": 300_000}, "4ec2847725448ccc"),
])
def test_sort_based_unique_gives_the_same_data_as_np_unique(options, checksum):
    assert load_synthetic(**options).checksum() == checksum


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sorted_unique_equals_np_unique(seed):
    from bench_plugins.synthetic import _sorted_unique

    rng = np.random.default_rng(seed)
    for size, high in [(0, 5), (1, 5), (1000, 50), (100_000, 10**12)]:
        values = rng.integers(0, high, size, dtype=np.int64)
        np.testing.assert_array_equal(_sorted_unique(values), np.unique(values))
