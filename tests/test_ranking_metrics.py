"""Ranking metrics: hand-made lists with values worked out by hand, an independent per-user loop,
and ranx (a ranking-evaluation library) on the same ranked lists."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from benchmark.errors import BenchError
from benchmark.api import PerUnit, Predictions
from bench_plugins.ranking_core import RankedLists
from bench_plugins.ranking_metrics import AtK, bench_metrics, metric_spec, parse

# Three users, ten items. Lists are ranked item ids, best first.
#   A: [1, 5, 2, 7, 3], relevant {1, 2, 9}: hits at ranks 1 and 3
#   B: [4, 6, 8, 0, 2], relevant {0}:       a hit at rank 4
#   C: [3, 9, 1, 4, 5], relevant {7, 8}:    no hit
LISTS = [[1, 5, 2, 7, 3], [4, 6, 8, 0, 2], [3, 9, 1, 4, 5]]
RELEVANT = [{1, 2, 9}, {0}, {7, 8}]
L2_3 = math.log2(3)

# Worked out by hand at k = 5 (per user A, B, C):
BY_HAND = {
    # DCG_A = 1/log2(2) + 1/log2(4) = 1.5; IDCG_A over min(3, 5) = 3 hits = 1 + 1/log2(3) + 1/2
    # DCG_B = 1/log2(5); IDCG_B = 1
    "ndcg": [1.5 / (1.5 + 1 / L2_3), 1 / math.log2(5), 0.0],
    "recall": [2 / 3, 1.0, 0.0],
    "precision": [2 / 5, 1 / 5, 0.0],
    "map": [(1 / 1 + 2 / 3) / 3, (1 / 4) / 1, 0.0],  # sum of precision@rank of each hit / min(|R|, k)
    "mrr": [1.0, 1 / 4, 0.0],
    "hitrate": [1.0, 1.0, 0.0],
}


def ranked(lists: list[list[int]], relevant: list[set[int]], n_items: int) -> RankedLists:
    depth = max(len(row) for row in lists)
    top = np.full((len(lists), depth), -1, dtype=np.int64)
    for u, row in enumerate(lists):
        top[u, :len(row)] = row
    indices = [sorted(r) for r in relevant]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in indices])])
    matrix = sp.csr_matrix((np.ones(indptr[-1], bool), np.concatenate(indices).astype(int), indptr),
                           shape=(len(lists), n_items))
    return RankedLists(np.array([f"u{i:03d}" for i in range(len(lists))]), top, matrix, n_items)


def by_user(value: PerUnit) -> np.ndarray:
    """Per-user values in user order (the PerUnit lists users sorted by their id as a string)."""
    order = np.argsort([int(i[1:]) for i in value.ids])
    return np.asarray(value.num)[order]


def predictions(lists: RankedLists) -> Predictions:
    return Predictions("ranking", users=lists.users, extra={"ranking": lists})


def direct(kind: str, row: list[int], rel: set[int], k: int) -> float:
    """A second, loop-by-loop implementation of each definition (no shared code)."""
    row = [i for i in row[:k] if i >= 0]
    hits = [1.0 if item in rel else 0.0 for item in row]
    if kind == "ndcg":
        dcg = sum(h / math.log2(rank + 1) for rank, h in enumerate(hits, start=1))
        ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(rel), k) + 1))
        return dcg / ideal
    if kind == "recall":
        return sum(hits) / len(rel)
    if kind == "precision":
        return sum(hits) / k
    if kind == "map":
        total, found = 0.0, 0
        for rank, h in enumerate(hits, start=1):
            if h:
                found += 1
                total += found / rank
        return total / min(len(rel), k)
    if kind == "mrr":
        return next((1 / rank for rank, h in enumerate(hits, start=1) if h), 0.0)
    if kind == "hitrate":
        return 1.0 if any(hits) else 0.0
    raise ValueError(kind)


@pytest.mark.parametrize("kind", sorted(BY_HAND))
def test_hand_made_lists_give_the_values_worked_out_by_hand(kind):
    value = AtK(kind, 5)(predictions(ranked(LISTS, RELEVANT, 10)))
    assert isinstance(value, PerUnit) and value.unit == "user"
    assert list(value.ids) == ["u000", "u001", "u002"]
    np.testing.assert_allclose(value.num, BY_HAND[kind], rtol=1e-12)
    np.testing.assert_array_equal(value.den, [1, 1, 1])
    assert float(value) == pytest.approx(np.mean(BY_HAND[kind]), rel=1e-12)


@pytest.mark.parametrize("kind", sorted(BY_HAND))
def test_hand_made_lists_agree_with_the_direct_loop(kind):
    expected = [direct(kind, row, rel, 5) for row, rel in zip(LISTS, RELEVANT)]
    np.testing.assert_allclose(expected, BY_HAND[kind], rtol=1e-12)


def test_coverage_is_distinct_listed_items_over_the_catalogue():
    lists = ranked(LISTS, RELEVANT, 12)  # items 10 and 11 are never listed
    assert AtK("coverage", 5)(predictions(lists)) == pytest.approx(10 / 12)
    assert AtK("coverage", 1)(predictions(lists)) == pytest.approx(3 / 12)  # items 1, 4, 3


def random_case(seed: int, n_users: int = 40, n_items: int = 60, depth: int = 25):
    rng = np.random.default_rng(seed)
    lists, relevant = [], []
    for _ in range(n_users):
        length = int(rng.integers(1, depth + 1))  # some users have fewer candidates than depth
        lists.append(list(rng.permutation(n_items)[:length]))
        relevant.append(set(rng.choice(n_items, int(rng.integers(1, 15)), replace=False).tolist()))
    return lists, relevant


@pytest.mark.parametrize("k", [1, 3, 10, 25, 40])
@pytest.mark.parametrize("kind", sorted(BY_HAND))
def test_random_lists_agree_with_the_direct_loop(kind, k):
    lists, relevant = random_case(k)
    value = AtK(kind, k)(predictions(ranked(lists, relevant, 60)))
    expected = [direct(kind, row, rel, k) for row, rel in zip(lists, relevant)]
    np.testing.assert_allclose(by_user(value), expected, rtol=1e-12, atol=1e-15)


RANX = {"ndcg": "ndcg", "recall": "recall", "precision": "precision", "map": "map", "mrr": "mrr",
        "hitrate": "hit_rate"}


@pytest.mark.parametrize("k", [5, 10])
@pytest.mark.parametrize("kind", sorted(BY_HAND))
def test_random_lists_agree_with_ranx(kind, k):
    """ranx (Bassani 2022) on the same ranked lists. Its AP divides by |R|, ours by min(|R|, k)
    (RecBole's and Elliot's normalisation), so its per-user AP is rescaled before comparing."""
    ranx = pytest.importorskip("ranx", reason="ranx is not installed (pip install ranx)")
    lists, relevant = random_case(100 + k)
    qrels = ranx.Qrels({f"u{u:03d}": {f"i{i}": 1 for i in rel} for u, rel in enumerate(relevant)})
    run = ranx.Run({f"u{u:03d}": {f"i{i}": float(len(row) - r) for r, i in enumerate(row)}
                    for u, row in enumerate(lists)})
    theirs = ranx.evaluate(qrels, run, f"{RANX[kind]}@{k}", return_mean=False)
    theirs = np.asarray(theirs, dtype=np.float64)
    if kind == "map":
        sizes = np.array([len(rel) for rel in relevant])
        theirs = theirs * sizes / np.minimum(sizes, k)
    ours = AtK(kind, k)(predictions(ranked(lists, relevant, 60)))
    np.testing.assert_allclose(by_user(ours), theirs, rtol=1e-9, atol=1e-12)


def test_names_with_any_cut_off_parse():
    assert parse("ndcg@10") == ("ndcg", 10)
    assert parse("recall@37") == ("recall", 37)
    assert parse("coverage@1000") == ("coverage", 1000)
    for bad in ("ndcg", "ndcg@0", "ndcg@-1", "ndcg@k", "rmse@10", "NDCG@10", "ndcg@10x"):
        assert parse(bad) is None, bad
    spec = metric_spec("mrr@37")
    assert spec is not None and spec.task == "ranking" and spec.greater_is_better and spec.context
    assert metric_spec("rmse") is None


def test_registered_metrics_cover_the_reference_names_and_all_go_up():
    specs = {spec.name: spec for spec in bench_metrics()}
    for name in ("ndcg@10", "recall@20", "precision@10", "map@10", "mrr@10", "hitrate@10", "coverage@10"):
        assert specs[name].greater_is_better and specs[name].task == "ranking"


def test_a_metric_deeper_than_the_lists_asks_for_deeper_lists():
    lists = ranked(LISTS, RELEVANT, 10)
    asked = []

    def deeper(k):
        asked.append(k)
        return np.hstack([lists.top, np.full((3, k - lists.depth), -1)])

    lists.deeper = deeper
    AtK("recall", 8)(predictions(lists))
    assert asked == [8]


def test_metrics_refuse_predictions_without_ranked_lists():
    with pytest.raises(ValueError, match="ranked lists"):
        AtK("ndcg", 10)(Predictions("ranking"))


def test_any_k_is_a_metric_of_the_family():
    """``ndcg@37`` is not listed by the plugin, yet the registry finds it through the family."""
    from benchmark.registry import build_registry

    registry = build_registry()
    entry = registry.get("metric", "ndcg@37")
    assert entry.spec.name == "ndcg@37" and entry.spec.greater_is_better and entry.spec.task == "ranking"
    assert registry.get("metric", "ndcg@37") is entry  # registered once, on first use
    with pytest.raises(BenchError, match="unknown metric 'ndcg@x7'"):
        registry.get("metric", "ndcg@x7")
