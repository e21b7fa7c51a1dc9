"""MovieLens datasets (GroupLens Research, https://grouplens.org/datasets/movielens/).

``movielens-latest-small`` ships inside bench (``data/ml-latest-small``, with its licence
README) so the default suite runs offline; a ``data_dir`` (or ``$BENCH_DATA_DIR``) holding
``ml-latest-small/ratings.csv`` is used instead when given.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.api import RATING, DatasetSpec, RatingData, data_dir as local_data_dir, hookimpl

EMBEDDED = Path(__file__).parent / "data"
CITATION = ("F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and "
            "Context. ACM TiiS 5, 4, Article 19. https://doi.org/10.1145/2827872")


def read_ratings_csv(path: Path) -> pd.DataFrame:
    """``userId,movieId,rating,timestamp`` with a header (ml-latest, ml-20m and later)."""
    frame = pd.read_csv(path, dtype={"userId": "int64", "movieId": "int64", "rating": "float64",
                                     "timestamp": "int64"})
    return frame.rename(columns={"userId": "user", "movieId": "item"})


def load_latest_small(data_dir: str | None = None) -> RatingData:
    """MovieLens latest-small: 100,836 ratings, 0.5-5 stars, 610 users, 9,724 movies."""
    local = local_data_dir(data_dir)
    path = local / "ml-latest-small" / "ratings.csv" if local else None
    if path is None or not path.is_file():
        path = EMBEDDED / "ml-latest-small" / "ratings.csv.gz"
    return RatingData(read_ratings_csv(path), (0.5, 5.0),
                      info={"source": str(path), "citation": CITATION})


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [DatasetSpec("movielens-latest-small", load_latest_small, RATING,
                        summary="MovieLens latest-small (embedded copy; 100k ratings, 0.5-5)")]
