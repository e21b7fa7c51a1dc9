"""Full-catalogue ranking evaluation at the shape of MovieLens 25M, with bounded memory.

Generates synthetic implicit interactions with ml-25m's shape (162,541 users x 59,047 items,
25,000,095 interactions), holds out 20% of every user's interactions (``user-holdout``), and
evaluates a 100-factor model's top-100 for every test user: each user's scores over all 59,047
items, seen items excluded, the top 100 by partition, ndcg@10 and recall@100 from the lists.
The scores of all users at once would be 162,541 x 59,047 float32 = 38.4 GB; the evaluation
scores ``BATCH_ELEMENTS`` (16M) at a time instead. The model's factors are random (the fit is
not what is measured): scoring is one (batch x 100) @ (100 x items) product per batch, as for
any factor model (ALS, BPR, SVD).

Prints each step's wall time, the evaluation's peak resident memory and how much of it the
evaluation added to what the data already held.

    python benchmarks/ranking_scale.py [--scale 1.0] [--factors 100] [--depth 100] [--budget 16777216]
                                       [--threads 1] [--compare]

``--compare`` first runs the evaluation as it was before issue 27 (a partition of every row; a
mask to count non-finite scores) on the same data, then today's, and checks that the lists are
identical; ``--threads`` is the BLAS threads of the scoring product (1: the issue's one core).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from typing import Any

import numpy as np

from benchmark import ranking
from benchmark.ranking import BATCH_ELEMENTS, Interactions, RankingModel, evaluate
from bench_plugins.ranking_metrics import AtK
from bench_plugins.ranking_splits import user_holdout
from bench_plugins.synthetic import load_synthetic
from benchmark.provenance import PeakMemory
from threadpoolctl import threadpool_limits

ML25M = {"n_users": 162_541, "n_items": 59_047, "n_ratings": 25_000_095}


class RandomFactors(RankingModel):
    """A factor model with random factors: ``score`` is ``P[users] @ Q.T`` in float32.

    :param factors: latent dimensions.
    :param random_state: seed of the factors.
    """

    def __init__(self, factors: int = 100, random_state: int = 0):
        self.factors, self.random_state = factors, random_state

    def fit(self, train: Interactions) -> RandomFactors:
        rng = np.random.default_rng(self.random_state)
        self.train_ = train
        self.P_ = rng.standard_normal((train.n_users, self.factors), dtype=np.float32)
        self.Q_ = rng.standard_normal((train.n_items, self.factors), dtype=np.float32)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.P_[users] @ self.Q_.T


def masked_scores_before(raw: Any, users: np.ndarray, seen: Any, cold_items: np.ndarray) -> np.ndarray:
    """``benchmark.ranking.masked_scores`` as it was before issue 27 (a mask to count non-finite
    scores in every batch), for ``--compare``."""
    scores = np.asarray(raw)
    if scores.dtype.kind != "f":
        scores = scores.astype(np.float64)
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise ValueError(f"score returned {bad} non-finite values")
    if scores.base is not None or not scores.flags.writeable or not scores.flags.c_contiguous:
        scores = np.array(scores, order="C")
    if len(cold_items):
        scores[:, cold_items] = np.finfo(scores.dtype).min
    rows = seen[np.asarray(users)]
    scores[np.repeat(np.arange(len(users)), np.diff(rows.indptr)), rows.indices] = -np.inf
    return scores


def top_k_before(scores: np.ndarray, k: int) -> np.ndarray:
    """``benchmark.ranking.top_k`` as it was before issue 27: a partition of every row."""
    n, m = scores.shape
    k = min(int(k), m)
    if n == 0 or k <= 0:
        return np.full((n, max(int(k), 0)), -1, dtype=np.int64)
    return ranking._top_k_partition(scores, k)


def evaluated(model: RankingModel, train: Interactions, data: Any, test: np.ndarray, depth: int,
              label: str) -> tuple[Any, float, float, float, float]:
    """``evaluate`` timed: (evaluation, wall s, CPU s, peak MB, RSS GB before)."""
    before = rss_gb()
    start, cpu = time.perf_counter(), time.process_time()
    with PeakMemory() as memory:
        evaluation = evaluate(model, train, data, test, depth=depth)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    print(f"{'evaluate (' + label + '): top-' + str(depth) + ' of every test user':<40} {seconds:8.1f} s   "
          f"(CPU {cpu_seconds:.1f} s)", flush=True)
    return evaluation, seconds, cpu_seconds, memory.peak_mb, before


def rss_gb() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(label: str, func: Any) -> Any:
    start = time.perf_counter()
    value = func()
    print(f"{label:<40} {time.perf_counter() - start:8.1f} s   RSS {rss_gb():6.2f} GB  "
          f"(peak so far {peak_gb():6.2f} GB)", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of ml-25m's users, items "
                        "and interactions (1.0 = the full shape)")
    parser.add_argument("--factors", type=int, default=100)
    parser.add_argument("--depth", type=int, default=100, help="length of every ranked list")
    parser.add_argument("--budget", type=int, default=BATCH_ELEMENTS,
                        help="scores computed at once (users per batch = budget // items)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (1: one core, the issue's figure)")
    parser.add_argument("--compare", action="store_true", help="also run the evaluation as it was before "
                        "issue 27 on the same data, first, and check that the lists are identical")
    args = parser.parse_args()
    shape = {key: max(1, int(round(value * args.scale))) for key, value in ML25M.items()}
    print(f"shape {shape}, {args.factors} factors, top {args.depth}, budget {args.budget:,} scores "
          f"({args.budget // shape['n_items']} users per batch); {os.cpu_count()} cores, "
          f"{platform.machine()}, numpy {np.__version__}", flush=True)

    data = timed("generate implicit interactions", lambda: load_synthetic(
        **shape, rank=10, noise=0.5, implicit=True, seed=0))
    fold = timed("split: user-holdout 20%", lambda: user_holdout(data, seed=0, test_size=0.2)[0])
    train = timed("training interactions (CSR)", lambda: Interactions.from_rows(data, fold.train))
    model = timed(f"model: {args.factors} random factors", lambda: RandomFactors(args.factors).fit(train))
    ranking.BATCH_ELEMENTS = args.budget  # scores computed at once, read by evaluate
    with threadpool_limits(args.threads):
        if args.compare:  # the evaluation before issue 27, on the same data in the same process
            fast = ranking.masked_scores, ranking.top_k
            ranking.masked_scores, ranking.top_k = masked_scores_before, top_k_before
            try:
                old = evaluated(model, train, data, fold.test, args.depth, "before")
            finally:
                ranking.masked_scores, ranking.top_k = fast
        evaluation, seconds, cpu_seconds, peak_mb, before = evaluated(model, train, data, fold.test,
                                                                      args.depth, "now")
    if args.compare:
        same = np.array_equal(old[0].lists.top, evaluation.lists.top)
        print(f"  before: CPU {old[2]:.1f} s, wall {old[1]:.1f} s, peak {old[3] / 1024:.2f} GB; now: CPU "
              f"{cpu_seconds:.1f} s, wall {seconds:.1f} s ({old[2] / cpu_seconds:.2f}x less CPU); "
              f"identical lists: {same}", flush=True)
        if not same:
            raise SystemExit("the lists differ from the evaluation before issue 27")
    lists = evaluation.lists
    holder = type("Predictions", (), {"extra": {"ranking": lists}})()
    ndcg = float(AtK("ndcg", 10)(holder))
    recall = float(AtK("recall", args.depth)(holder))
    users = evaluation.counts["n_users_evaluated"]
    print(f"{'evaluate: top-' + str(args.depth) + ' of every test user':<40} {seconds:8.1f} s   "
          f"(CPU {cpu_seconds:.1f} s)", flush=True)
    print(f"  users evaluated {users:,} of {evaluation.counts['n_test_users']:,} test users; "
          f"{users / seconds:,.0f} users/s; {users * shape['n_items'] / seconds / 1e6:,.0f}M scores/s")
    print(f"  peak RSS during the evaluation {peak_mb / 1024:.2f} GB; before it {before:.2f} GB "
          f"(data, split, CSR, factors); added by the evaluation {peak_mb / 1024 - before:.2f} GB")
    print(f"  the lists: {lists.top.nbytes / 2**20:.0f} MB; ndcg@10 {ndcg:.5f}, recall@{args.depth} "
          f"{recall:.5f} (random factors: chance level)")
    print(f"  counts {evaluation.counts}")


if __name__ == "__main__":
    main()
