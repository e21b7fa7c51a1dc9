"""The ranking task end to end through ``bench run``, and the data it runs on: every rating
dataset (MovieLens, ratings-file) serves it, synthetic implicit data of any shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.registry import build_registry
from bench_plugins.synthetic import load_synthetic
from tests.conftest import run_bench

SYNTHETIC_SUITE = """
name: ranking-synthetic
seed: 0
datasets:
  - name: synthetic-ratings
    task: ranking
    threshold: 4
    options: {n_users: 60, n_items: 40, density: 0.3}
    split: {method: user-holdout, test_size: 0.25}
models:
  - most-popular
  - {name: ease, params: {l2: 50.0}}
  - bias-baseline                     # a rating model, ranking by its predicted ratings
metrics: [ndcg@10, recall@20, precision@10, coverage@10]
"""


def rows_of(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_ranking_suite_runs_and_stores_per_user_values(tmp_path, write_suite):
    suite = write_suite(SYNTHETIC_SUITE)
    result = run_bench("run", str(suite), "--out", str(tmp_path / "out"), "--executor", "inline")
    assert result.returncode == 0, result.stderr
    rows = {row["model"]: row for row in rows_of(tmp_path / "out" / "cells.jsonl")}
    assert set(rows) == {"most-popular", "ease(l2=50.0)", "bias-baseline"}
    for row in rows.values():
        assert row["status"] == "ok" and row["task"] == "ranking", row.get("error")
        assert set(row["metrics"]) == {"ndcg@10", "recall@20", "precision@10", "coverage@10"}
        assert all(info["greater_is_better"] for info in row["metric_info"].values())
        assert row["task_options"] == {"threshold": 4, "negatives": 0}  # defaults stated in the row
        counts = row["counts"]
        assert counts["n_users_evaluated"] + counts["n_users_no_relevant"] == counts["n_test_users"]
        units = np.load(tmp_path / "out" / row["units"]["file"])
        assert row["units"]["unit"] == "user" and len(units["ids"]) == counts["n_users_evaluated"]
        mean = units["ndcg@10.num"].sum() / units["ndcg@10.den"].sum()
        assert mean == pytest.approx(row["metrics"]["ndcg@10"], rel=1e-12)
        assert "coverage@10.num" not in units  # a catalogue value has no per-user parts


def test_the_default_metrics_of_a_ranking_dataset(tmp_path, write_suite):
    suite = write_suite(SYNTHETIC_SUITE.replace("metrics: [ndcg@10, recall@20, precision@10, coverage@10]\n", "")
                        .replace("  - {name: ease, params: {l2: 50.0}}\n  - bias-baseline"
                                 "                     # a rating model, ranking by its predicted ratings\n", ""))
    result = run_bench("run", str(suite), "--out", str(tmp_path / "out"), "--executor", "inline")
    assert result.returncode == 0, result.stderr
    [row] = rows_of(tmp_path / "out" / "cells.jsonl")
    assert set(row["metrics"]) == {"ndcg@10", "recall@20", "precision@10", "map@10", "mrr@10",
                                   "hitrate@10", "coverage@10"}


def test_a_bad_threshold_is_one_line_naming_the_key(write_suite):
    suite = write_suite(SYNTHETIC_SUITE.replace("threshold: 4", "threshold: high"))
    result = run_bench("check", str(suite))
    assert result.returncode == 2
    assert "threshold" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_every_rating_dataset_serves_the_ranking_task():
    registry = build_registry()
    datasets = registry.entries["dataset"]
    rating = [name for name, entry in datasets.items() if entry.spec.task == "rating"]
    assert {"movielens-100k", "movielens-1m", "movielens-10m", "movielens-20m", "movielens-25m",
            "movielens-32m", "movielens-latest-small", "ratings-file", "synthetic-ratings"} <= set(rating)
    assert "ranking" in registry.serving("rating")
    for name in ("leave-n-out", "temporal", "user-holdout", "predefined", "holdout", "kfold"):
        assert registry.split_accepts(registry.get("split", name).spec, "ranking"), name


def test_synthetic_implicit_interactions_exact_unique_valued_one_and_seeded():
    data = load_synthetic(n_users=300, n_items=200, n_ratings=6_000, implicit=True, seed=4)
    frame = data.ratings
    assert len(frame) == 6_000 and not frame.duplicated(["user", "item"]).any()
    assert (frame["rating"] == 1.0).all() and data.info["implicit"] is True
    assert data.checksum() == load_synthetic(n_users=300, n_items=200, n_ratings=6_000,
                                             implicit=True, seed=4).checksum()


def test_synthetic_implicit_interactions_have_structure_a_model_finds():
    from bench_plugins.ranking_core import Interactions, evaluate
    from bench_plugins.ranking_metrics import AtK
    from bench_plugins.ranking_models import EASE
    from bench_plugins.ranking_splits import user_holdout

    data = load_synthetic(n_users=400, n_items=150, density=0.1, rank=3, noise=0.1,
                          implicit=True, seed=5)
    fold = user_holdout(data, seed=0, test_size=0.2)[0]
    train = Interactions.from_rows(data, fold.train, threshold=4.0)  # implicit: threshold ignored

    class Random(EASE):
        def score(self, users):
            return np.random.default_rng(0).random((len(users), train.n_items))

    def ndcg(model):
        lists = evaluate(model.fit(train), train, data, fold.test).lists
        return float(AtK("ndcg", 10)(type("P", (), {"extra": {"ranking": lists}})()))

    assert ndcg(EASE(l2=10.0)) > 2 * ndcg(Random())


# --- Real data --------------------------------------------------------------------------------

ISSUE_SUITE = """
name: ranking-issue
datasets:
  - name: movielens-100k
    task: ranking                     # a rating dataset serves the ranking task; relevance = rating >= threshold
    split: {method: predefined, name: u, folds: [u1]}
models:
  - most-popular                      # ranks by the number of training ratings (any value), ties by item id
  - {name: ease, params: {l2: 500.0}} # Steck 2019, closed form
metrics: [ndcg@10, recall@20, precision@10]
"""


def test_the_issues_suite_on_ml100k_u1(shared_data, tmp_path, write_suite):
    """The suite text of issue 15, as is; the values are those of the committed reference."""
    suite = write_suite(ISSUE_SUITE)
    result = run_bench("run", str(suite), "--out", str(tmp_path / "out"), "--executor", "inline",
                       "--data-dir", str(shared_data))
    assert result.returncode == 0, result.stderr
    rows = {row["model"]: row for row in rows_of(tmp_path / "out" / "cells.jsonl")}
    popular, ease = rows["most-popular"], rows["ease(l2=500.0)"]
    assert popular["counts"]["n_users_evaluated"] == 456 and popular["counts"]["n_users_no_relevant"] == 3
    assert popular["metrics"]["ndcg@10"] == pytest.approx(0.2451, abs=5e-5)
    assert popular["metrics"]["recall@20"] == pytest.approx(0.1769, abs=5e-5)
    assert popular["metrics"]["precision@10"] == pytest.approx(0.2136, abs=5e-5)
    assert ease["metrics"]["ndcg@10"] == pytest.approx(0.4476, abs=5e-5)
    assert ease["metrics"]["recall@20"] == pytest.approx(0.3548, abs=5e-5)
