"""``bench results RUN --rankings DIR``: the ranked lists a run stored, as TREC run and qrels files
that other tools read, reproduce the stored metrics (an independent numpy evaluation here; ranx in
the slow tier) — for the ranking task, with sampled negatives, and for next-item."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import BenchError
from benchmark.trec import read_rankings
from bench_plugins.ranking_task import largest_cutoff
from tests.conftest import run_bench

SUITE = """
name: rankings-export
seed: 0
datasets:
  - name: movielens-latest-small
    task: ranking
    split: {method: user-holdout, test_size: 0.2}
  - name: movielens-latest-small
    label: sampled
    task: ranking
    negatives: 50
    split: {method: user-holdout, test_size: 0.2}
  - name: movielens-latest-small
    label: next
    task: next-item
models:
  - most-popular
  - markov-chain
metrics: [ndcg@10, recall@20, mrr@10, hitrate@5]
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """One run of the suite (4 cells) and its rankings exported: (run directory, export directory)."""
    root = tmp_path_factory.mktemp("rankings")
    (root / "suite.yaml").write_text(SUITE)
    ran = run_bench("run", str(root / "suite.yaml"), "--out", str(root / "out"), "--executor", "inline", "-q")
    assert ran.returncode == 0, ran.stderr
    result = run_bench("results", str(root / "out"), "--rankings", str(root / "trec"))
    assert result.returncode == 0, result.stderr
    assert "4 cell(s) written" in result.stdout
    return root / "out", root / "trec"


def stored_rows(run: Path) -> dict[str, dict]:
    return {row["cell_id"]: row for row in map(json.loads, (run / "cells.jsonl").read_text().splitlines())}


def read_trec(run_file: Path, qrels_file: Path) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
    """Each user's items in the order of their scores (as any TREC tool reads them), and each
    user's relevant items."""
    scored: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for line in run_file.read_text().splitlines():
        user, q0, item, rank, score, tag = line.split()
        assert q0 == "Q0" and tag
        scored[user].append((float(score), item))
    ranked = {user: [item for _, item in sorted(pairs, key=lambda p: -p[0])] for user, pairs in scored.items()}
    relevant: dict[str, set[str]] = defaultdict(set)
    for line in qrels_file.read_text().splitlines():
        user, zero, item, grade = line.split()
        assert zero == "0" and grade == "1"
        relevant[user].add(item)
    return ranked, relevant


def numpy_metric(name: str, ranked: dict[str, list[str]], relevant: dict[str, set[str]]) -> float:
    """ndcg/recall/mrr/hitrate@k by their textbook definitions, averaged over the qrels' users."""
    kind, k = name.split("@")
    k = int(k)
    values = []
    for user, judged in relevant.items():
        hits = np.array([item in judged for item in ranked.get(user, [])[:k]], dtype=bool)
        if kind == "ndcg":
            discounts = 1 / np.log2(np.arange(2, k + 2))
            ideal = discounts[:min(len(judged), k)].sum()
            values.append(float((discounts[:len(hits)] * hits).sum() / ideal))
        elif kind == "recall":
            values.append(hits.sum() / len(judged))
        elif kind == "mrr":
            values.append(1 / (np.argmax(hits) + 1) if hits.any() else 0.0)
        elif kind == "hitrate":
            values.append(float(hits.any()))
    return float(np.mean(values))


def test_every_ranking_and_next_item_cell_gets_a_run_and_a_qrels_file(exported):
    run, trec = exported
    rows = stored_rows(run)
    assert len(rows) == 4
    index = {line["cell_id"]: line for line in csv.DictReader((trec / "cells.csv").open())}
    assert set(index) == set(rows)
    for cell_id, row in rows.items():
        assert (trec / f"{cell_id}.run").is_file() and (trec / f"{cell_id}.qrels").is_file()
        assert index[cell_id]["task"] == row["task"] and index[cell_id]["k"] == "20"  # the largest cut-off
        ranked, relevant = read_trec(trec / f"{cell_id}.run", trec / f"{cell_id}.qrels")
        assert set(ranked) == set(relevant)  # the same users in both: the evaluated ones
        assert len(relevant) == row["counts"]["n_users_evaluated"]
        assert sum(map(len, relevant.values())) == row["counts"]["n_relevant"]
        assert max(map(len, ranked.values())) == 20


def test_an_independent_numpy_evaluation_of_the_files_reproduces_the_stored_metrics(exported):
    run, trec = exported
    for cell_id, row in stored_rows(run).items():
        ranked, relevant = read_trec(trec / f"{cell_id}.run", trec / f"{cell_id}.qrels")
        for name, stored in row["metrics"].items():
            assert numpy_metric(name, ranked, relevant) == pytest.approx(stored, rel=1e-12, abs=1e-15), \
                (row["dataset"], row["model"], name)


def test_sampled_negatives_lists_hold_only_the_candidates(exported):
    run, trec = exported
    (row,) = [r for r in stored_rows(run).values() if r["dataset"] == "sampled"]
    ranked, relevant = read_trec(trec / f"{row['cell_id']}.run", trec / f"{row['cell_id']}.qrels")
    # each list is at most 20 deep; a user with few relevant items has at most 50 + |R| candidates
    assert all(len(ranked[user]) == min(20, 50 + len(relevant[user])) for user in relevant)


@pytest.mark.slow  # ranx compiles its metrics with numba on first use: minutes on 2 shared cores
def test_ranx_on_the_exported_files_reproduces_the_stored_metrics(exported):
    ranx = pytest.importorskip("ranx", reason="ranx is not installed (pip install ranx)")
    run, trec = exported
    names = {"ndcg@10": "ndcg@10", "recall@20": "recall@20", "mrr@10": "mrr@10", "hitrate@5": "hit_rate@5"}
    for cell_id, row in stored_rows(run).items():
        qrels = ranx.Qrels.from_file(str(trec / f"{cell_id}.qrels"), kind="trec")
        ranking = ranx.Run.from_file(str(trec / f"{cell_id}.run"), kind="trec")
        theirs = ranx.evaluate(qrels, ranking, list(names.values()))
        for ours, their_name in names.items():
            assert theirs[their_name] == pytest.approx(row["metrics"][ours], rel=1e-12, abs=1e-15), \
                (row["dataset"], row["model"], ours)


def test_cells_stored_before_rankings_were_kept_are_named_and_the_exit_is_1(exported, tmp_path):
    run, _ = exported
    old = tmp_path / "old"
    old.mkdir()
    lines = []
    for row in stored_rows(run).values():
        row["artifacts"] = []  # as a run of an earlier bench stored it
        lines.append(json.dumps(row))
    (old / "cells.jsonl").write_text("\n".join(lines) + "\n")
    result = run_bench("results", str(old), "--rankings", str(tmp_path / "trec"))
    assert result.returncode == 1
    assert "4 ranking cell(s) have no stored ranked lists" in result.stderr and "--fresh" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_damaged_rankings_file_is_one_line(exported, tmp_path):
    run, _ = exported
    with pytest.raises(BenchError, match="not a readable rankings file"):
        read_rankings(b"not a zip file", "artifacts/x/rankings.npz")
    row = next(iter(stored_rows(run).values()))
    (stored,) = row["artifacts"]
    data = (run / stored).read_bytes()
    assert read_rankings(data, "x").k == 20
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "cells.jsonl").write_text(json.dumps(row) + "\n")
    (copy / stored).parent.mkdir(parents=True)
    (copy / stored).write_bytes(data[: len(data) // 2])
    result = run_bench("results", str(copy), "--rankings", str(tmp_path / "trec"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "rankings.npz" in result.stderr


def test_the_stored_depth_is_the_largest_cut_off_of_the_cells_metrics():
    assert largest_cutoff(["ndcg@10", "recall@20", "coverage@5"]) == 20
    assert largest_cutoff(["rmse"], default=100) == 100
    assert largest_cutoff(["mrr@1000"]) == 1000
