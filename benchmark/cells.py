"""A cell and its result: kept importable here for plugins and tests written against it.

The record types live in :mod:`benchmark.record` (the cell, its tuning information, its result,
the stored format's version and migration).
"""

from benchmark.record import SEED_PARAMS as SEED_PARAMS
from benchmark.record import Cell as Cell
from benchmark.record import CellResult as CellResult
from benchmark.record import configuration_id as configuration_id
from benchmark.record import shown_params as shown_params
from benchmark.record import stable_hash as stable_hash

__all__ = ["SEED_PARAMS", "Cell", "CellResult", "configuration_id", "shown_params", "stable_hash"]
