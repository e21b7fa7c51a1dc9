"""Ids to positions, a chunk at a time: what a rating model learns from its training ids and how
it finds test ids among them, with temporaries the size of a chunk, not of the data.

``pandas.unique`` sizes its hash table by the values it is given (~13 bytes a value), and
``Index.get_indexer`` makes a temporary the size of its input: on 5M ratings each was a peak of
its own. Exported by :mod:`benchmark.api` (contract 1.2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CHUNK = 1 << 20
"""Values the chunked helpers (:func:`distinct_in_order`, :func:`positions_in`, the template
``RatingModel.predict``) take at once: their temporaries are a chunk's, not the data's."""


def distinct_in_order(values: pd.Series | np.ndarray) -> pd.Index:
    """``pandas.Index(pandas.unique(values))``: the distinct values in order of first appearance,
    found a chunk at a time (``pandas.unique`` sizes its hash table by the values it is given,
    ~13 bytes a value; this one's by the distinct values)."""
    column = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
    if len(column) <= CHUNK:
        return pd.Index(pd.unique(column))
    # each chunk's distinct values, in order; merged (pd.unique of the concatenation keeps the
    # order of first appearance) whenever they outgrow what was found: linear time overall
    found = pd.Series(pd.unique(column.iloc[:CHUNK]))
    pending: list[pd.Series] = []
    waiting = 0
    for start in range(CHUNK, len(column), CHUNK):
        pending.append(pd.Series(pd.unique(column.iloc[start:start + CHUNK])))
        waiting += len(pending[-1])
        if waiting > max(CHUNK, len(found)) or start + CHUNK >= len(column):
            found = pd.Series(pd.unique(pd.concat([found, *pending], ignore_index=True)))
            pending, waiting = [], 0
    return pd.Index(found.array)


def positions_in(index: pd.Index, values: pd.Series | np.ndarray, dtype: Any = np.intp) -> np.ndarray:
    """``index.get_indexer(values)`` (-1 where absent) as ``dtype``, a chunk at a time: no
    temporary the size of ``values`` beside the result."""
    column = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
    positions = np.empty(len(column), dtype=dtype)
    for start in range(0, len(column), CHUNK):
        positions[start:start + CHUNK] = index.get_indexer(column.iloc[start:start + CHUNK])
    return positions
