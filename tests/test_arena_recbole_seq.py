"""RecBole's sequential recommenders (SASRec, GRU4Rec) as models of the next-item task
(plugins/arena_recbole.py): the training rows bench builds for RecBole, the histories it scores
from, and (slow tier, inside an environment with RecBole) a short fit through the next-item
task's own runner that learns a sequential pattern bench's metrics can see."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.api import MissingDependency
from benchmark.params import model_params
from benchmark.ranking import Sequences
from bench_plugins import arena_recbole
from bench_plugins.next_item import NEXT_ITEM, tiny_data
from bench_plugins.ranking_core import Interactions
from tests.conftest import ROOT

SEQUENTIAL = {name: cls for name, (cls, _) in arena_recbole.SEQUENTIAL_MODELS.items()}


# --- Registered, documented, and lazy ----------------------------------------------------------------


def test_the_sequential_models_are_next_item_models_that_need_recbole():
    from benchmark.registry import build_registry

    registry = build_registry()
    for name in SEQUENTIAL:
        entry = registry.get("model", name)
        assert "recbole" in entry.requires and "torch" in entry.requires, entry.requires
        assert NEXT_ITEM in entry.spec.tasks and "ranking" not in entry.spec.tasks, entry.spec.tasks


@pytest.mark.parametrize("name", sorted(SEQUENTIAL))
def test_every_parameter_is_documented_and_the_training_ones_have_ranges(name):
    params = model_params(SEQUENTIAL[name])
    assert not [p.name for p in params.values() if not p.doc]
    for key in ("epochs", "learning_rate", "max_seq_length", "train_batch_size"):
        assert params[key].schema.get("minimum", params[key].schema.get("exclusiveMinimum")) is not None, key
    assert SEQUENTIAL[name].uses_gpu is True


def test_max_seq_length_is_recbole_s_max_item_list_length_and_bench_s_use_gpu_is_passed():
    params = arena_recbole.RecBoleSASRec(max_seq_length=7, epochs=2, seed=3, use_gpu=False).library_params()
    assert params["MAX_ITEM_LIST_LENGTH"] == 7 and "max_seq_length" not in params
    assert params["epochs"] == 2 and params["seed"] == 3 and params["use_gpu"] is False
    assert params["train_neg_sample_args"] is None  # cross-entropy over every item: no sampled negatives
    assert params["eval_args"]["order"] == "TO" and params["alias_of_item_id"] == ["item_id_list"]


def test_a_missing_library_is_a_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "recbole", None)
    data = tiny_data()
    train = Interactions.from_rows(data, data.folds["given"][0].train, implicit=True)
    with pytest.raises(MissingDependency, match="pip install recbole"):
        arena_recbole.RecBoleGRU4Rec().fit(train)


# --- The rows bench writes for RecBole, and the histories it scores from -----------------------------


def sequences(*users: list[int]) -> Sequences:
    lengths = [len(items) for items in users]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Sequences(indptr, np.array([i for items in users for i in items], dtype=np.int64))


def test_the_training_rows_are_each_target_with_at_most_max_length_items_before_it(tmp_path: Path):
    rows = arena_recbole._write_sequences(sequences([4, 2, 7, 2, 9], [5], [], [1, 3]), tmp_path, max_length=3)
    lines = (tmp_path / "bench" / "bench.train.inter").read_text().splitlines()
    assert lines[0] == "user_id:token\titem_id:token\titem_id_list:token_seq"
    assert lines[1:] == ["0\t2\t4", "0\t7\t4 2", "0\t2\t4 2 7", "0\t9\t2 7 2",  # the oldest item dropped
                         "3\t3\t1"]  # a one-item user and an empty one give no row
    assert rows == 5


def test_a_user_s_history_is_the_last_items_in_recbole_s_ids_padded_at_the_end():
    model = arena_recbole.RecBoleSASRec(max_seq_length=3)
    model.sequences_ = sequences([4, 2, 7, 2, 9], [5], [], [1, 3])
    model.item_index_ = np.array([0, 1, 2, 3, 4, 0, 5, 6, 0, 7])  # item 5 unknown to RecBole (id 0)
    padded, lengths = model.histories(np.array([0, 1, 2, 3]))
    assert lengths.tolist() == [3, 0, 0, 2]
    assert padded.tolist() == [[6, 2, 7], [0, 0, 0], [0, 0, 0], [1, 3, 0]]


# --- A short fit in an environment with RecBole ---------------------------------------------------

IN_RECBOLE = """
import json, sys
import numpy as np, pandas as pd
from benchmark.api import RatingData
from bench_plugins.arena_recbole import RecBoleGRU4Rec, RecBoleSASRec
from bench_plugins.next_item import run_next_item
from bench_plugins.ranking_metrics import AtK
from bench_plugins.ranking_models import MostPopular
from bench_plugins.splits import leave_n_out

# 200 users walking one fixed successor permutation of 60 items from a random start, 8-12 steps
# each: the next item follows from the last one, and popularity is nearly uniform.
rng = np.random.default_rng(0)
successor = rng.permutation(60)
frames = []
for user in range(200):
    item, items = int(rng.integers(60)), []
    for _ in range(int(rng.integers(8, 13))):
        items.append(item)
        item = int(successor[item])
    frames.append(pd.DataFrame({"user": user, "item": items, "rating": 1.0,
                                "timestamp": np.arange(len(items)) + 1000 * user}))
data = RatingData(pd.concat(frames, ignore_index=True), (1.0, 1.0), info={"name": "walks"})
fold = leave_n_out(data, n=1, order="time")[0]
found = {}
for label, model in {"most-popular": MostPopular(), "model": eval(sys.argv[1])}.items():
    outcome = run_next_item(model, data, fold, {})
    found[label] = {metric: float(AtK(metric, 10)(outcome.predictions).exact) for metric in ("hitrate", "ndcg")}
    lists = outcome.predictions.extra["ranking"]
seen = np.array([len(set(items)) for items in (frame["item"].iloc[:-1] for frame in frames)])
found["random"] = float(np.mean(10 / (60 - seen)))  # hitrate@10 of a random order of the candidates
print(json.dumps(found))
"""


def recbole_python() -> tuple[str, dict[str, str]]:
    """An interpreter with RecBole for this checkout: this one, or a built environment's
    (``bench env build suites/next-item-arena.yaml``); a skip with the reason otherwise."""
    if importlib.util.find_spec("recbole") is not None:
        return sys.executable, dict(os.environ)
    from tests.test_arena_adapters import built_environment

    env = built_environment("recbole")
    if env is None:
        pytest.skip("recbole is not importable here and no environment with it is built for this checkout "
                    "(docs/arena.md: bench env build suites/next-item-arena.yaml)")
    return str(env.python), env.worker_variables(os.environ)


@pytest.mark.slow  # a fit in an interpreter with RecBole and PyTorch
@pytest.mark.parametrize("model", [
    "RecBoleSASRec(epochs=2, learning_rate=0.01, train_batch_size=64, max_seq_length=5, use_gpu=False, seed=0)",
    "RecBoleGRU4Rec(epochs=2, learning_rate=0.01, train_batch_size=64, max_seq_length=5, use_gpu=False, seed=0)",
])
def test_a_short_fit_learns_the_walk_bench_s_next_item_metrics_see(model):
    python, variables = recbole_python()
    result = subprocess.run([python, "-c", IN_RECBOLE, model], capture_output=True, text=True, timeout=600,
                            env=variables, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    learned, popular, random = found["model"], found["most-popular"], found["random"]
    assert all(np.isfinite(value) for value in [*learned.values(), *popular.values()])
    assert popular["hitrate"] < 2 * random  # the data gives popularity nothing to go on
    assert learned["hitrate"] > 3 * random and learned["hitrate"] > popular["hitrate"] + 0.2, found
    assert learned["ndcg"] > popular["ndcg"], found
