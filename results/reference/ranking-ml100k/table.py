"""Print this reference's table: one line per cell with its metrics, time, memory and counts.

    python results/reference/ranking-ml100k/table.py [results/reference/ranking-ml100k]

The leaderboard bench writes (leaderboard.md) ranks the same cells; this table adds what a
reader of a ranking result needs beside the numbers: the relevance threshold, how many users
were evaluated or skipped, and each cell's peak memory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

METRICS = ("ndcg@10", "recall@20", "map@10", "hitrate@10", "coverage@10")


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    rows = [json.loads(line) for line in (folder / "cells.jsonl").read_text().splitlines() if line.strip()]
    latest = {}
    for row in rows:  # the newest row of each cell
        latest[row["cell_id"]] = row
    for dataset in dict.fromkeys(row["dataset"] for row in latest.values()):
        cells = sorted((r for r in latest.values() if r["dataset"] == dataset),
                       key=lambda r: -r["metrics"].get("ndcg@10", -1))
        first = cells[0]
        counts, options = first.get("counts", {}), first.get("task_options", {})
        fold = first.get("fold_name", "")
        split = first["split"] if fold in ("", first["split"]) else f"{first['split']} {fold}"
        print(f"### {dataset} ({split}; relevant: test rating >= "
              f"{options.get('threshold')}; {counts.get('n_users_evaluated')} users evaluated, "
              f"{counts.get('n_users_no_relevant')} skipped without a relevant test item, "
              f"{counts.get('n_users_no_train')} without training interactions; "
              f"{counts.get('n_items')} items, {counts.get('n_items_no_train')} never rated in training)\n")
        print("| model | " + " | ".join(METRICS) + " | fit s | rank s | peak RSS MB | status |")
        print("|---" * (len(METRICS) + 5) + "|")
        for r in cells:
            values = " | ".join(f"{r['metrics'][m]:.4f}" if m in r["metrics"] else "—" for m in METRICS)
            print(f"| {r['model']} | {values} | {r.get('fit_seconds') or 0:.2f} | "
                  f"{r.get('predict_seconds') or 0:.2f} | {r.get('peak_rss_mb') or 0:.0f} | {r['status']} |")
        print()


if __name__ == "__main__":
    main()
