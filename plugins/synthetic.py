"""Synthetic low-rank ratings: known structure, any shape, fully determined by the seed.

Ratings are ``mid + spread * (latent signal + user bias + item bias) + noise``, rounded to the
rating step and clipped to the scale. The latent signal is a rank-``rank`` product of Gaussian
factors. Pairs are drawn uniformly without repetition, so any density works, up to the
shape of MovieLens 25M (162,541 users × 59,047 items, 25M ratings) in a few GB.

``implicit: true`` gives implicit feedback for the ranking task instead: every pair is an
interaction of value 1 (``info["implicit"]``: every test interaction is relevant, whatever the
threshold), and which pairs interact follows the latent signal: twice as many candidate pairs are
drawn and the half with the highest signal plus noise kept, so a model has structure to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.api import (
    RATING,
    DatasetFiles,
    DatasetSpec,
    PluginInputError,
    RatingData,
    declare_files,
    hookimpl,
)

_CHUNK = 1_000_000
CONSTRAINTS = {
    "n_users": {"minimum": 1}, "n_items": {"minimum": 1}, "density": {"exclusiveMinimum": 0, "maximum": 1},
    "n_ratings": {"minimum": 1}, "rank": {"minimum": 1}, "noise": {"minimum": 0},
    "step": {"exclusiveMinimum": 0}, "seed": {"minimum": 0},
}
"""What ``bench check`` refuses before any work; the loader checks how options relate
(``n_ratings`` at most ``n_users x n_items``, ``scale_min < scale_max``)."""


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for integers, by sorting: the same sorted array.

    numpy 2.4's ``np.unique`` is hash-based and slows down superlinearly on tens of millions of
    int64 codes; sorting and dropping repeats is many times faster here.
    """
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _unique_pairs(rng: np.random.Generator, n_users: int, n_items: int, n: int) -> np.ndarray:
    cells = n_users * n_items
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < n:
        extra = int((n - len(codes)) * 1.02) + 16
        codes = _sorted_unique(np.concatenate([codes, rng.integers(0, cells, extra, dtype=np.int64)]))
    if len(codes) > n:  # drop a few random extras (cheap: the extras are few)
        codes = np.delete(codes, rng.choice(len(codes), len(codes) - n, replace=False))
    return codes


def load_synthetic(n_users: int = 1000, n_items: int = 500, density: float = 0.05,
                   n_ratings: int | None = None, rank: int = 5, noise: float = 0.3,
                   scale_min: float = 1.0, scale_max: float = 5.0, step: float = 1.0,
                   seed: int = 0, implicit: bool = False) -> RatingData:
    """Seeded low-rank ratings; give ``density`` or an exact ``n_ratings``; ``implicit`` for
    interactions of value 1 chosen by the latent signal.

    :param n_users: number of users.
    :param n_items: number of items.
    :param density: share of the n_users x n_items pairs that are rated (unless n_ratings is given).
    :param n_ratings: exact number of ratings, at most n_users x n_items (None: from density).
    :param rank: rank of the latent signal (its number of factors).
    :param noise: standard deviation of the Gaussian noise added to each rating.
    :param scale_min: lowest rating (below scale_max).
    :param scale_max: highest rating (above scale_min).
    :param step: ratings are rounded to scale_min plus a multiple of it: 0.5 for half stars.
    :param seed: seed of everything drawn: the same seed, the same ratings.
    :param implicit: implicit feedback for the ranking task: every pair an interaction of value 1.
    """
    n = _count(n_users, n_items, density, n_ratings)
    if rank < 1 or scale_max <= scale_min or step <= 0:
        raise PluginInputError(f"need rank >= 1, scale_max > scale_min and step > 0, got rank {rank}, "
                               f"scale_min {scale_min}, scale_max {scale_max}, step {step}")
    rng = np.random.default_rng(seed)
    user_factors = rng.standard_normal((n_users, rank)).astype(np.float32)
    item_factors = rng.standard_normal((n_items, rank)).astype(np.float32)
    user_bias = rng.normal(0, 0.3, n_users).astype(np.float32)
    item_bias = rng.normal(0, 0.5, n_items).astype(np.float32)
    if implicit:
        return _implicit(rng, n_users, n_items, n, user_factors, item_factors, user_bias,
                         item_bias, rank, noise, seed)
    codes = _unique_pairs(rng, n_users, n_items, n)
    users, items = (codes // n_items).astype(np.int64), (codes % n_items).astype(np.int64)
    del codes
    mid, spread = (scale_min + scale_max) / 2, (scale_max - scale_min) / 4
    ratings = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        u, i = users[start:start + _CHUNK], items[start:start + _CHUNK]
        signal = np.einsum("ij,ij->i", user_factors[u], item_factors[i]) / np.sqrt(rank)
        value = mid + spread * (0.8 * signal + user_bias[u] + item_bias[i])
        value += noise * rng.standard_normal(len(u))
        ratings[start:start + _CHUNK] = value
    ratings -= scale_min  # onto the grid of steps, in place: min + round((r - min) / step) * step
    ratings /= step
    np.round(ratings, out=ratings)
    ratings *= step
    np.add(scale_min, ratings, out=ratings)
    np.clip(ratings, scale_min, scale_max, out=ratings)
    timestamps = rng.integers(946_684_800, 1_700_000_000, n, dtype=np.int64)
    frame = pd.DataFrame({"user": users, "item": items, "rating": ratings, "timestamp": timestamps},
                         copy=False)  # the columns are ours: no second copy of the data
    return RatingData(frame, (scale_min, scale_max),
                      info={"source": "synthetic", "rank": rank, "noise": noise, "seed": seed})


def _count(n_users: int, n_items: int, density: float, n_ratings: int | None) -> int:
    """The number of ratings to draw: ``n_ratings``, else ``density`` of the pairs; one line
    naming the options when it is not from 1 to the number of pairs."""
    cells = n_users * n_items
    n = n_ratings if n_ratings is not None else int(round(density * cells))
    if 0 < n <= cells:
        return n
    pairs = f"the n_users x n_items = {n_users} x {n_items} = {cells:,} pairs"
    if n_ratings is not None:
        raise PluginInputError(f"cannot draw {n:,} ratings (n_ratings) from {pairs}")
    raise PluginInputError(f"cannot draw {n:,} ratings: density {density:g} of {pairs}; "
                           f"raise density or give n_ratings")


def _implicit(rng: np.random.Generator, n_users: int, n_items: int, n: int,
              user_factors: np.ndarray, item_factors: np.ndarray, user_bias: np.ndarray,
              item_bias: np.ndarray, rank: int, noise: float, seed: int) -> RatingData:
    """``n`` interactions: of ``min(2n, all pairs)`` candidates, those with the highest signal."""
    codes = _unique_pairs(rng, n_users, n_items, min(2 * n, n_users * n_items))
    strength = np.empty(len(codes), dtype=np.float32)
    for start in range(0, len(codes), _CHUNK):
        part = codes[start:start + _CHUNK]
        u, i = part // n_items, part % n_items
        signal = np.einsum("ij,ij->i", user_factors[u], item_factors[i]) / np.sqrt(rank)
        strength[start:start + _CHUNK] = (signal + user_bias[u] + item_bias[i]
                                          + noise * rng.standard_normal(len(part)))
    keep = np.sort(np.argpartition(-strength, n - 1)[:n]) if n < len(codes) else np.arange(len(codes))
    codes = codes[keep]
    del strength, keep
    users, items = (codes // n_items).astype(np.int64), (codes % n_items).astype(np.int64)
    timestamps = rng.integers(946_684_800, 1_700_000_000, n, dtype=np.int64)
    frame = pd.DataFrame({"user": users, "item": items, "rating": np.ones(n), "timestamp": timestamps},
                         copy=False)
    return RatingData(frame, (0.0, 1.0), info={"source": "synthetic", "implicit": True, "rank": rank,
                                               "noise": noise, "seed": seed})


declare_files(load_synthetic, lambda: DatasetFiles(note="generated from its options: nothing to get"))


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("synthetic-ratings", load_synthetic, RATING,
                        summary="Seeded low-rank + noise ratings of any shape", constraints=CONSTRAINTS)]
