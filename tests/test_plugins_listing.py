"""``bench plugins`` lists each ``@k`` family of metrics on one line."""

from __future__ import annotations

from benchmark.plugin_info import folded, table
from benchmark.registry import build_registry


def test_each_at_k_family_is_one_line_with_its_cut_offs():
    text = table(build_registry())
    lines = text.splitlines()
    (ndcg,) = [line for line in lines if line.startswith("ndcg@")]
    assert ndcg.startswith("ndcg@{1,3,5,10,20,50,100} ") and "(any k: ndcg@N)" in ndcg and "k = " not in ndcg
    assert not any(line.startswith("ndcg@10 ") for line in lines)
    for family in ("recall", "precision", "map", "mrr", "hitrate", "coverage"):
        assert sum(line.startswith(family + "@") for line in lines) == 1, family
    assert any(line.startswith("rmse ") for line in lines)  # other names as they are


def test_members_that_differ_in_state_or_provider_stay_apart():
    rows = [["x@5", "metric", "ranking", "a 1.0", "yes", "X (k = 5; any k: x@N)"],
            ["x@10", "metric", "ranking", "a 1.0", "yes", "X (k = 10; any k: x@N)"],
            ["x@20", "metric", "ranking", "b 2.0", "yes", "X (k = 20; any k: x@N)"],
            ["rmse", "metric", "rating", "a 1.0", "yes", "R"]]
    assert folded(rows) == [["x@{5,10}", "metric", "ranking", "a 1.0", "yes", "X (any k: x@N)"],
                            ["x@20", "metric", "ranking", "b 2.0", "yes", "X (k = 20; any k: x@N)"],
                            ["rmse", "metric", "rating", "a 1.0", "yes", "R"]]
