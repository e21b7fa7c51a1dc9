"""Leaderboard: one row per (dataset, model configuration), mean ± std of each metric over folds."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Line:
    dataset: str
    task: str
    model: str
    params: dict[str, Any]
    values: dict[str, list[float]] = field(default_factory=dict)
    fit_seconds: list[float] = field(default_factory=list)
    predict_seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    folds: int = 0
    failed: int = 0
    error: str = ""

    def mean(self, metric: str) -> float | None:
        values = self.values.get(metric)
        return statistics.fmean(values) if values else None

    def std(self, metric: str) -> float | None:
        values = self.values.get(metric)
        if not values:
            return None
        return statistics.stdev(values) if len(values) > 1 else 0.0


def build(rows: Iterable[dict[str, Any]], metrics: Mapping[str, list[str]],
          greater_is_better: Mapping[str, bool]) -> list[Line]:
    """Aggregate result rows; sort each dataset's lines by its task's primary metric."""
    lines: dict[tuple[str, str], Line] = {}
    for row in rows:
        key = (row["dataset"], row["model"])
        line = lines.setdefault(key, Line(row["dataset"], row["task"], row["model"], row.get("params", {})))
        if row.get("status") != "ok":
            line.failed += 1
            line.error = line.error or str(row.get("error"))
            continue
        line.folds += 1
        line.params = row.get("params", line.params)
        for name, value in row["metrics"].items():
            line.values.setdefault(name, []).append(value)
        line.fit_seconds.append(row.get("fit_seconds", 0.0))
        line.predict_seconds.append(row.get("predict_seconds", 0.0))
        line.peak_rss_mb.append(row.get("peak_rss_mb", 0.0))

    position = {dataset: n for n, dataset in enumerate(dict.fromkeys(d for d, _ in lines))}

    def order(line: Line) -> tuple:
        primary = (metrics.get(line.task) or [None])[0]
        value = line.mean(primary) if primary else None
        if value is None:
            return (position[line.dataset], 1, 0.0, line.model)
        return (position[line.dataset], 0, -value if greater_is_better.get(primary) else value, line.model)

    return sorted(lines.values(), key=order)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def table_rows(lines: list[Line], metric_names: list[str]) -> list[list[str]]:
    out = []
    for line in lines:
        cells = [line.model]
        for name in metric_names:
            mean = line.mean(name)
            cells.append("" if mean is None else f"{mean:#.4g} ± {line.std(name):#.2g}")
        cells += [str(line.folds), _fmt(_mean(line.fit_seconds), 2), _fmt(_mean(line.predict_seconds), 2)]
        if any(l.failed for l in lines):
            cells.append(f"{line.failed} failed: {line.error[:60]}" if line.failed else "")
        out.append(cells)
    return out


def render(lines: list[Line], metrics: Mapping[str, list[str]], fmt: str = "simple") -> str:
    """One table per dataset (tabulate ``fmt``: ``simple`` for terminals, ``github`` for Markdown)."""
    from tabulate import tabulate

    blocks = []
    for dataset in dict.fromkeys(line.dataset for line in lines):
        group = [line for line in lines if line.dataset == dataset]
        task = group[0].task
        names = [m for m in metrics.get(task, []) if any(l.values.get(m) for l in group)] or metrics.get(task, [])
        headers = ["model"] + [f"{m} (mean ± std)" for m in names] + ["folds", "fit s", "predict s"]
        if any(l.failed for l in group):
            headers.append("failures")
        table = tabulate(table_rows(group, names), headers=headers, tablefmt=fmt, disable_numparse=True)
        title = f"## {dataset} ({task})" if fmt == "github" else f"{dataset} ({task})"
        blocks.append(f"{title}\n\n{table}" if fmt == "github" else f"{title}\n{table}")
    return "\n\n".join(blocks) + "\n"


def to_csv(lines: list[Line], metrics: Mapping[str, list[str]]) -> str:
    names = list(dict.fromkeys(m for task in metrics.values() for m in task))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", "task", "model", "params"] + [f"{m}_{s}" for m in names for s in ("mean", "std")]
                    + ["folds", "failed", "fit_seconds", "predict_seconds", "peak_rss_mb"])
    for line in lines:
        writer.writerow([line.dataset, line.task, line.model, json.dumps(line.params, sort_keys=True)]
                        + [_fmt(f(m), 6) for m in names for f in (line.mean, line.std)]
                        + [line.folds, line.failed, _fmt(_mean(line.fit_seconds), 4),
                           _fmt(_mean(line.predict_seconds), 4), _fmt(_mean(line.peak_rss_mb), 1)])
    return buffer.getvalue()
