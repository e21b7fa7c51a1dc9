"""The ``ranking`` task's own names; the ranking machinery itself is public in :mod:`benchmark.ranking`.

Until bench-harness 0.4 the model base, the interactions and the evaluator lived here; they moved
to :mod:`benchmark.ranking` (the documented, stable module a plugin imports) and are re-exported
below so that every import from ``bench_plugins.ranking_core`` keeps working. What is left here is
the ranking task's: its name, its dataset-entry options and their check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from benchmark.api import PluginInputError
from benchmark.ranking import BATCH_ELEMENTS as BATCH_ELEMENTS
from benchmark.ranking import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from benchmark.ranking import DEPTH as DEPTH
from benchmark.ranking import KRICHENE_RENDLE as KRICHENE_RENDLE
from benchmark.ranking import Evaluation as Evaluation
from benchmark.ranking import Interactions as Interactions
from benchmark.ranking import RankedLists as RankedLists
from benchmark.ranking import RankingModel as RankingModel
from benchmark.ranking import SampledMetricsWarning as SampledMetricsWarning
from benchmark.ranking import Sequences as Sequences
from benchmark.ranking import Universe as Universe
from benchmark.ranking import batches as batches
from benchmark.ranking import evaluate as evaluate
from benchmark.ranking import fold_seed as fold_seed
from benchmark.ranking import masked_scores as masked_scores
from benchmark.ranking import rank_users as rank_users
from benchmark.ranking import relevance as relevance
from benchmark.ranking import top_k as top_k
from benchmark.ranking import universe as universe

RANKING = "ranking"
"""The task's name."""
OPTIONS: dict[str, Any] = {"threshold": DEFAULT_THRESHOLD, "negatives": 0}
"""The task options of a ranking dataset entry and their defaults (validated by
:func:`check_options`)."""


def check_options(options: Mapping[str, Any]) -> tuple[float, int]:
    """The task options ``threshold`` and ``negatives``, validated."""
    threshold = options.get("threshold", OPTIONS["threshold"])
    negatives = options.get("negatives", OPTIONS["negatives"])
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise PluginInputError(f"threshold: expected a number, got {threshold!r}")
    if isinstance(negatives, bool) or not isinstance(negatives, int) or negatives < 0:
        raise PluginInputError(f"negatives: expected an integer >= 0, got {negatives!r}")
    return float(threshold), int(negatives)
