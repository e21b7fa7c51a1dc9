"""Print the arena's tables from cells.jsonl: per model, the mean and spread over ml-100k's five
folds, its library and version, the environment it ran in, and its time per fold.

    python results/reference/arena-ml100k/table.py [results/reference/arena-ml100k]

bench's leaderboard (leaderboard.md) ranks the same cells; this adds what the arena is about:
which library computed each line, in which environment, with which version.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

METRICS = {"ml-100k": ("ndcg@10", "recall@20", "precision@10"), "ml-100k-ratings": ("rmse", "mae")}
LIBRARIES = {"cornac": "cornac", "lenskit": "lenskit", "recbole": "recbole", "implicit": "implicit",
             "svd": "scikit-surprise"}


def library(row: dict) -> str:
    prefix = row["model_plugin"].split("-")[0]
    name = LIBRARIES.get(prefix) or LIBRARIES.get(row["model_plugin"])
    if name is None:
        return f"bench {row['plugin'].get('version', '')}".strip()
    version = next((v for k, v in row.get("libraries", {}).items() if k.lower().replace("_", "-") == name), "?")
    return f"{name} {version}"


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    latest: dict[str, dict] = {}
    for line in (folder / "cells.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            latest[row["cell_id"]] = row
    for dataset, metrics in METRICS.items():
        models: dict[str, list[dict]] = {}
        for row in latest.values():
            if row["dataset"] == dataset:
                models.setdefault(row["model"], []).append(row)
        if not models:
            continue
        primary = metrics[0]
        lower = primary in ("rmse", "mae")
        order = sorted(models, key=lambda m: statistics.mean(r["metrics"].get(primary, float("nan"))
                                                             for r in models[m]) * (1 if lower else -1))
        print(f"### {dataset} (folds u1-u5; mean ± sd over the folds)\n")
        print("| model | library | environment | " + " | ".join(metrics) + " | fit s | predict s | folds ok |")
        print("|---" * (len(metrics) + 6) + "|")
        for model in order:
            rows = models[model]
            ok = [r for r in rows if r["status"] == "ok"]
            cells = []
            for metric in metrics:
                values = [r["metrics"][metric] for r in ok if metric in r["metrics"]]
                cells.append(f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"
                             if len(values) > 1 else "—")
            environment = rows[0].get("code", {}).get("environment")
            where = f"{environment['name']} ({environment['hash'][:8]})" if environment else "bench's own"
            fit = statistics.mean(r.get("fit_seconds") or 0 for r in ok) if ok else 0
            predict = statistics.mean(r.get("predict_seconds") or 0 for r in ok) if ok else 0
            print(f"| {model} | {library(rows[0])} | {where} | {' | '.join(cells)} | {fit:.2f} | {predict:.2f} | "
                  f"{len(ok)}/{len(rows)} |")
        print()


if __name__ == "__main__":
    main()
