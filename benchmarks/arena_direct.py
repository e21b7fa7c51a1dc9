"""One arena model fitted and scored by its library called directly, without bench: the "direct"
side of ``benchmarks/arena_timing.py``.

    python benchmarks/arena_direct.py MODEL 'PARAMS_JSON' DATA_DIR   (prints one JSON line)

Reads ml-100k's ``u1.base``/``u1.test`` with pandas, builds the library's own data structure,
fits the model the way the library's documentation does, and asks it for every test user's top
10 among the items that user did not rate in training (the library's own recommend call where it
has one: LensKit's ``recommender`` pipeline, implicit's ``recommend``; else its scores with the
training items masked). Timed: ``fit_seconds`` (building the library's data included) and
``score_seconds`` (every test user's top 10); the whole process is timed by the caller. Printed
too: NDCG@10 on those lists (relevant: test rating >= 4; users with a relevant test item), a check
that both sides computed the same thing where the model is deterministic. Nothing of bench is
imported, except for bench's own built-ins, whose "library" is bench's model classes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

K = 10
SEED = 0


def read(data_dir: str) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    names = ["user", "item", "rating", "timestamp"]
    train = pd.read_csv(Path(data_dir) / "ml-100k" / "u1.base", sep="\t", names=names)
    test = pd.read_csv(Path(data_dir) / "ml-100k" / "u1.test", sep="\t", names=names)
    for frame in (train, test):  # ids 1..943, 1..1682 -> positions
        frame["user"] -= 1
        frame["item"] -= 1
    return train, test, 943, 1682


def top_k(scores: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The K best unseen items, ties by item position (bench's rule)."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    scores[seen] = -np.inf
    order = np.lexsort((np.arange(len(scores)), -scores))
    return order[:K]


def ndcg(lists: dict[int, np.ndarray], test: pd.DataFrame) -> float:
    relevant = test[test["rating"] >= 4].groupby("user")["item"].apply(set)
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    values = []
    for user, items in relevant.items():
        found = lists.get(int(user), np.array([], dtype=np.int64))
        gains = np.array([1.0 if int(i) in items else 0.0 for i in found[:K]])
        ideal = discounts[:min(len(items), K)].sum()
        values.append(float((gains * discounts[:len(gains)]).sum() / ideal))
    return float(np.mean(values))


# --- Each library, called as its documentation does ------------------------------------------


def cornac_model(name: str, params: dict, train: pd.DataFrame, users: np.ndarray, n_items: int):
    import inspect

    import cornac

    started = time.perf_counter()
    classes = {"cornac-ease": "EASE", "cornac-most-pop": "MostPop", "cornac-item-knn": "ItemKNN", "cornac-bpr": "BPR"}
    params = dict(params)
    values = [1.0] * len(train) if params.pop("binary", True) else train["rating"].astype(float).tolist()
    triplets = list(zip(train["user"].tolist(), train["item"].tolist(), values))  # binary unless told, as bench's adapter
    data = cornac.data.Dataset.build(triplets, fmt="UIR", seed=SEED)
    model_class = getattr(cornac.models, classes[name])
    accepted = inspect.signature(model_class.__init__).parameters
    extra = {k: v for k, v in {"verbose": False, "num_threads": 1, "seed": SEED}.items() if k in accepted}
    model = model_class(**params, **extra)
    model.fit(data)
    fitted = time.perf_counter()
    positions = np.empty(len(data.iid_map), dtype=np.int64)
    positions[list(data.iid_map.values())] = list(data.iid_map)
    seen = train.groupby("user")["item"].apply(np.asarray)
    lists = {}
    for user in users:
        index = data.uid_map.get(int(user))
        if index is None:
            continue
        scores = np.full(n_items, -np.inf)
        scores[positions] = np.asarray(model.score(index)).ravel()[:len(positions)]
        lists[int(user)] = top_k(scores, seen[user])
    return fitted - started, time.perf_counter() - fitted, lists


def lenskit_model(name: str, params: dict, train: pd.DataFrame, users: np.ndarray, n_items: int):
    import importlib

    from lenskit.data import from_interactions_df
    from lenskit.pipeline import topn_pipeline
    from lenskit.training import TrainingOptions

    scorers = {"lenskit-pop": ("lenskit.basic", "PopScorer"), "lenskit-ease": ("lenskit.knn", "EASEScorer"),
               "lenskit-item-knn": ("lenskit.knn", "ItemKNNScorer"), "lenskit-implicit-mf": ("lenskit.als", "ImplicitMFScorer")}
    started = time.perf_counter()
    config = dict(params)
    binary = config.pop("binary", False)  # bench's adapter: the ratings unless told
    frame = train.rename(columns={"user": "user_id", "item": "item_id"})[["user_id", "item_id", "rating"]]
    data = from_interactions_df(frame.drop(columns="rating") if binary else frame, user_col="user_id",
                                item_col="item_id", rating_col=None if binary else "rating")
    module, scorer = scorers[name]
    if "score_method" in config:  # the adapter's name for LensKit's 'score' field
        config["score"] = config.pop("score_method")
    pipeline = topn_pipeline(getattr(importlib.import_module(module), scorer)(**config), n=K)
    pipeline.train(data, TrainingOptions(rng=SEED))
    fitted = time.perf_counter()
    known = set(int(u) for u in data.users.ids())
    lists = {}
    for user in users:
        if int(user) in known:  # LensKit's recommender: unseen items, its own top K
            lists[int(user)] = np.asarray(pipeline.run("recommender", query=int(user), n=K).ids(), dtype=np.int64)
    return fitted - started, time.perf_counter() - fitted, lists


def recbole_model(name: str, params: dict, train: pd.DataFrame, users: np.ndarray, n_items: int):
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset
    from recbole.data.utils import get_dataloader
    from recbole.data.interaction import Interaction
    from recbole.utils import get_model, get_trainer, init_seed

    models = {"recbole-pop": "Pop", "recbole-ease": "EASE", "recbole-item-knn": "ItemKNN"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "ml").mkdir()
        train[["user", "item"]].to_csv(Path(folder) / "ml" / "ml.train.inter", sep="\t", index=False,
                                       header=["user_id:token", "item_id:token"])
        argv, sys.argv = sys.argv, sys.argv[:1]  # RecBole reads --key=value options from the command line
        directory = os.getcwd()
        os.chdir(folder)  # its trainer writes log_tensorboard/ into the working directory
        config = Config(model=models[name], dataset="ml", config_dict={
            **params, "data_path": folder, "checkpoint_dir": folder, "benchmark_filename": ["train"],
            "train_neg_sample_args": None, "use_gpu": False, "show_progress": False, "state": "ERROR",
            "seed": SEED, "reproducibility": True, "save_dataset": False, "save_dataloaders": False})
        sys.argv = argv
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        (train_set,) = dataset.build()
        loader = get_dataloader(config, "train")(config, train_set, None, shuffle=config["shuffle"])
        model = get_model(config["model"])(config, loader._dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        trainer.fit(loader, valid_data=None, verbose=False, saved=False, show_progress=False)
        writer = getattr(trainer, "tensorboard", None)
        if writer is not None:  # its thread would write into the folder after it is gone
            writer.close()
        os.chdir(directory)
    fitted = time.perf_counter()
    user_ids = dataset.field2id_token[dataset.uid_field]
    item_positions = dataset.field2id_token[dataset.iid_field][1:].astype(np.int64)
    index = {int(token): i for i, token in enumerate(user_ids[1:], start=1)}
    seen = train.groupby("user")["item"].apply(np.asarray)
    lists = {}
    model.eval()
    known = [int(u) for u in users if int(u) in index]
    with torch.no_grad():
        for start in range(0, len(known), 256):
            batch = known[start:start + 256]
            query = Interaction({dataset.uid_field: torch.as_tensor([index[u] for u in batch])})
            scores = model.full_sort_predict(query).reshape(len(batch), -1).cpu().numpy()[:, 1:]
            for user, row in zip(batch, scores):
                full = np.full(n_items, -np.inf)
                full[item_positions] = row
                lists[user] = top_k(full, seen[user])
    return fitted - started, time.perf_counter() - fitted, lists


def implicit_model(name: str, params: dict, train: pd.DataFrame, users: np.ndarray, n_items: int):
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    matrix = sp.csr_matrix((np.ones(len(train), dtype=np.float32), (train["user"], train["item"])),
                           shape=(943, n_items))
    model_class = {"implicit-als": AlternatingLeastSquares, "implicit-bpr": BayesianPersonalizedRanking}[name]
    with threadpool_limits(1, "blas"):  # implicit's advice
        model = model_class(**params, random_state=SEED, num_threads=1)
        model.fit(matrix, show_progress=False)
    fitted = time.perf_counter()
    ids, _ = model.recommend(users, matrix[users], N=K, filter_already_liked_items=True)
    return fitted - started, time.perf_counter() - fitted, {int(u): np.asarray(row) for u, row in zip(users, ids)}


def surprise_model(name: str, params: dict, train: pd.DataFrame, users: np.ndarray, n_items: int):
    """Surprise's documented top-N recipe (its FAQ): predict every (user, item) pair the user did
    not rate, keep the best N; for the test users only, unclipped (bench ranks by the estimate)."""
    from surprise import SVD, Dataset, Reader

    started = time.perf_counter()
    data = Dataset.load_from_df(train[["user", "item", "rating"]], Reader(rating_scale=(1, 5)))
    trainset = data.build_full_trainset()
    algo = SVD(**params, random_state=SEED).fit(trainset)
    fitted = time.perf_counter()
    seen = train.groupby("user")["item"].apply(set)
    items = np.arange(n_items)
    lists = {}
    for user in users:
        if not trainset.knows_user(int(user)):
            continue
        scores = np.full(n_items, -np.inf)
        for item in items:
            if item not in seen[user]:
                scores[item] = algo.predict(int(user), int(item), clip=False).est
        lists[int(user)] = top_k(scores, np.fromiter(seen[user], dtype=np.int64))
    return fitted - started, time.perf_counter() - fitted, lists


def bench_model(name: str, params: dict, train: pd.DataFrame, users: np.ndarray, n_items: int):
    """bench's own built-ins: their classes called in a plain script (no suite, no worker)."""
    import scipy.sparse as sp

    from bench_plugins.ranking_models import EASE, ItemKNN, MostPopular
    from benchmark.ranking import Interactions

    started = time.perf_counter()
    matrix = sp.csr_matrix((train["rating"].astype(np.float64), (train["user"], train["item"])), shape=(943, n_items))
    interactions = Interactions(matrix, pd.Index(range(1, 944)), pd.Index(range(1, n_items + 1)), 4.0)
    model = {"most-popular": MostPopular, "item-knn": ItemKNN, "ease": EASE}[name](**params).fit(interactions)
    fitted = time.perf_counter()
    seen = train.groupby("user")["item"].apply(np.asarray)
    lists = {}
    for start in range(0, len(users), 1024):
        batch = users[start:start + 1024]
        for user, row in zip(batch, model.score(batch)):
            lists[int(user)] = top_k(row, seen[user])
    return fitted - started, time.perf_counter() - fitted, lists


LIBRARIES = {"cornac": cornac_model, "lenskit": lenskit_model, "recbole": recbole_model, "implicit": implicit_model}


def main(argv: list[str]) -> None:
    name, params, data_dir = argv[0], json.loads(argv[1]), argv[2]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    train, test, _, n_items = read(data_dir)
    users = np.sort(test["user"].unique())
    prefix = name.split("-")[0]
    run = LIBRARIES.get(prefix) or (surprise_model if name == "svd" else bench_model)
    fit_seconds, score_seconds, lists = run(name, params, train, users, n_items)
    print(json.dumps({"model": name, "fit_seconds": round(fit_seconds, 4), "score_seconds": round(score_seconds, 4),
                      "ndcg@10": round(ndcg(lists, test), 6), "users": len(lists)}))


if __name__ == "__main__":
    main(sys.argv[1:])
