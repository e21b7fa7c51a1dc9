"""Leaderboard: one line per (dataset, model configuration), mean and spread over folds and seeds.

A *configuration* is its ``config_id`` (model plugin + resolved parameters, seed excluded), not
its label: two seeds of a configuration are one line, the label shown is the one of the rows
given (the runner passes rows relabelled with the current suite's labels). Each line says how
many folds and how many seeds it averages; mean and standard deviation are over all of its
values (``—`` where there is a single value). It carries the configuration id, the split method
and a short *split fingerprint* — a hash of all its folds' fingerprints (failed cells included:
they were planned on those folds) — so two leaderboards can be joined without guessing.

Lines of one dataset are ranked against each other only when they used the same data and the
same splits (same dataset checksum and split fingerprint). Lines that did not (another split
seed, a partial run, another version of the data) form their own group, ranked within it and
marked, unless ``force=True`` ranks them all together (still marked).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmark.cells import configuration_id, shown_params, stable_hash

NONE = "—"


@dataclass
class Line:
    dataset: str
    task: str
    model: str
    params: dict[str, Any]  # without the seed-driven random_state
    config_id: str = ""
    dataset_checksum: str = ""
    split: str = ""
    values: dict[str, list[float]] = field(default_factory=dict)
    fit_seconds: list[float] = field(default_factory=list)
    predict_seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    fold_set: set[int] = field(default_factory=set)  # fold positions with an ok cell
    seed_set: set[int] = field(default_factory=set)  # seeds with an ok cell
    fingerprints: set[str] = field(default_factory=set)  # of every cell's fold, failed ones too
    runs: list[str] = field(default_factory=list)
    cells: int = 0  # ok cells averaged
    failed: int = 0
    error: str = ""
    rank: int | None = None
    group: int = 0  # 0: the dataset's main comparison group; n > 0: other splits or data
    note: str = ""

    @property
    def folds(self) -> int:
        return len(self.fold_set)

    @property
    def seeds(self) -> int:
        return len(self.seed_set)

    @property
    def split_fingerprint(self) -> str:
        """A short hash of all this line's fold fingerprints (order-independent)."""
        return stable_hash(sorted(self.fingerprints), 8) if self.fingerprints else ""

    @property
    def comparable(self) -> tuple[str, str, str]:
        return (self.dataset, self.dataset_checksum, self.split_fingerprint)

    def mean(self, metric: str) -> float | None:
        values = self.values.get(metric)
        return statistics.fmean(values) if values else None

    def std(self, metric: str) -> float | None:
        """Sample standard deviation over folds × seeds; ``None`` with fewer than two values."""
        values = self.values.get(metric)
        return statistics.stdev(values) if values and len(values) > 1 else None


def build(rows: Iterable[dict[str, Any]], metrics: Mapping[str, list[str]],
          greater_is_better: Mapping[str, bool], force: bool = False) -> list[Line]:
    """Aggregate cell rows into lines, ranked per dataset by its task's primary metric.

    ``metrics`` is ``{task: [metric, ...]}`` (the first ranks); ``greater_is_better`` gives each
    metric's direction. An experiment stored by several rows (two runs, two metric lists) counts
    once: :func:`benchmark.resultset.latest`. ``force`` ranks lines of different splits or data together.
    """
    from benchmark.resultset import latest

    lines: dict[tuple[str, str, str, str], Line] = {}
    for row in latest(rows):  # one row per experiment; invalid rows are left out
        # one line per split protocol too: kfold and predefined cells of one configuration are
        # different experiments; the split's seed may vary (several seeds average into a line)
        protocol = json.dumps([row.get("split", ""), {k: v for k, v in (row.get("split_params") or {}).items()
                                                      if k != "seed"}], sort_keys=True, default=str)
        key = (row["dataset"], row.get("dataset_checksum", ""), configuration_id(row), protocol)
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(row["dataset"], row["task"], row["model"], shown_params(row),
                                     config_id=key[2], dataset_checksum=key[1],
                                     split=row.get("split", ""))
        line.model = row["model"]  # the latest label given wins
        if row.get("split_fingerprint"):
            line.fingerprints.add(row["split_fingerprint"])
        if row.get("run") and row["run"] not in line.runs:
            line.runs.append(row["run"])
        if row.get("status") != "ok":
            line.failed += 1
            line.error = line.error or str(row.get("error"))
            continue
        line.cells += 1
        line.fold_set.add(int(row.get("fold", 0)))
        line.seed_set.add(row.get("seed", 0))
        line.params = shown_params(row)
        for name, value in (row.get("metrics") or {}).items():
            if value is not None:
                line.values.setdefault(name, []).append(float(value))
        for name in ("fit_seconds", "predict_seconds", "peak_rss_mb"):
            if row.get(name) is not None:
                getattr(line, name).append(float(row[name]))
    return _rank(list(lines.values()), metrics, greater_is_better, force)


def _rank(lines: list[Line], metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool],
          force: bool) -> list[Line]:
    datasets = list(dict.fromkeys(line.dataset for line in lines))
    out: list[Line] = []
    for dataset in datasets:
        group_lines = [line for line in lines if line.dataset == dataset]
        # comparison groups, the one with most lines first (ties: first seen)
        keys = list(dict.fromkeys(line.comparable for line in group_lines))
        keys.sort(key=lambda k: -sum(1 for line in group_lines if line.comparable == k))
        several = len(keys) > 1
        for line in group_lines:
            line.group = 0 if force else keys.index(line.comparable)
            if several:
                line.note = _note(line, _main(group_lines, keys[0]))
        for number in sorted({line.group for line in group_lines}):
            members = [line for line in group_lines if line.group == number]
            members.sort(key=lambda line: _order(line, metrics, greater_is_better))
            rank = 0
            for line in members:
                if _primary_value(line, metrics) is not None:
                    rank += 1
                    line.rank = rank
                else:
                    line.rank = None
            out.extend(members)
    return out


def _main(lines: list[Line], key: tuple[str, str, str]) -> Line:
    return next(line for line in lines if line.comparable == key)


def _note(line: Line, main: Line) -> str:
    if line.comparable == main.comparable:
        return ""
    if line.dataset_checksum != main.dataset_checksum:
        return f"different data (checksum {line.dataset_checksum[:8]})"
    return f"different splits ({line.split} {line.split_fingerprint})"


def _primary_value(line: Line, metrics: Mapping[str, list[str]]) -> float | None:
    primary = next(iter(metrics.get(line.task) or []), None)
    return line.mean(primary) if primary else None


def _order(line: Line, metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool]) -> tuple:
    primary = next(iter(metrics.get(line.task) or []), None)
    value = line.mean(primary) if primary else None
    if value is None:
        return (1, 0.0, line.model)
    return (0, -value if greater_is_better.get(primary or "") else value, line.model)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def mean_std(line: Line, metric: str) -> str:
    mean = line.mean(metric)
    if mean is None:
        return ""
    std = line.std(metric)
    return f"{mean:#.4g} ± {NONE if std is None else f'{std:#.2g}'}"


def table_rows(lines: list[Line], metric_names: list[str], runs: bool = False) -> list[list[str]]:
    out = []
    for line in lines:
        rank = "" if line.rank is None else str(line.rank)
        cells = [rank + ("*" if line.note else ""), line.model]
        cells += [mean_std(line, name) for name in metric_names]
        cells += [str(line.folds), str(line.seeds), _fmt(_mean(line.fit_seconds), 2),
                  _fmt(_mean(line.predict_seconds), 2), line.config_id[:8],
                  f"{line.split} {line.split_fingerprint}".strip()]
        if runs:
            cells.append(", ".join(line.runs))
        if any(l.failed for l in lines):
            cells.append(f"{line.failed} failed: {line.error[:60]}" if line.failed else "")
        if any(l.note for l in lines):
            cells.append(line.note)
        out.append(cells)
    return out


def render(lines: list[Line], metrics: Mapping[str, list[str]], fmt: str = "simple") -> str:
    """One table per dataset (tabulate ``fmt``: ``simple`` for terminals, ``github`` for Markdown).

    ``#`` is the rank within the line's comparison group; ``*`` marks a line that used other
    splits or data than the dataset's main group (its note says which).
    """
    from tabulate import tabulate

    show_runs = len({run for line in lines for run in line.runs}) > 1
    blocks = []
    for dataset in dict.fromkeys(line.dataset for line in lines):
        group = [line for line in lines if line.dataset == dataset]
        task = group[0].task
        names = [m for m in metrics.get(task, []) if any(l.values.get(m) for l in group)] or metrics.get(task, [])
        headers = ["#", "model"] + [f"{m} (mean ± std)" for m in names]
        headers += ["folds", "seeds", "fit s", "predict s", "config", "split"]
        if show_runs:
            headers.append("runs")
        if any(line.failed for line in group):
            headers.append("failures")
        if any(line.note for line in group):
            headers.append("note")
        table = tabulate(table_rows(group, names, show_runs), headers=headers, tablefmt=fmt,
                         disable_numparse=True)
        title = f"{dataset} ({task})"
        notes = []
        if any(line.note for line in group):
            if any(line.group for line in group):
                notes.append("* used other splits or data than the first group: ranked only among "
                             "lines with the same split (bench leaderboard --force ranks them together)")
            else:
                notes.append("* used other splits or data: ranked with the others because of --force")
        if fmt == "github":
            blocks.append("\n\n".join([f"## {title}", table] + notes))
        else:
            blocks.append("\n".join([title, table] + notes))
    return "\n\n".join(blocks) + "\n"


CSV_FIELDS = ["rank", "dataset", "task", "model", "config_id", "params", "dataset_checksum", "split",
              "split_fingerprint"]


def to_csv(lines: list[Line], metrics: Mapping[str, list[str]]) -> str:
    """One CSV row per line; ``<metric>_std`` is empty where there is a single value."""
    from benchmark.csvsafe import csv_safe_row
    names = list(dict.fromkeys(m for task in metrics.values() for m in task))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_safe_row(CSV_FIELDS + [f"{m}_{s}" for m in names for s in ("mean", "std")]
                                 + ["folds", "seeds", "cells", "failed", "fit_seconds", "predict_seconds",
                                    "peak_rss_mb", "runs", "note"]))
    for line in lines:
        writer.writerow(csv_safe_row(["" if line.rank is None else line.rank, line.dataset, line.task, line.model,
                         line.config_id, json.dumps(line.params, sort_keys=True, default=str),
                         line.dataset_checksum, line.split, line.split_fingerprint]
                        + [_fmt(f(m), 6) for m in names for f in (line.mean, line.std)]
                        + [line.folds, line.seeds, line.cells, line.failed,
                           _fmt(_mean(line.fit_seconds), 4), _fmt(_mean(line.predict_seconds), 4),
                           _fmt(_mean(line.peak_rss_mb), 1), " ".join(line.runs), line.note]))
    return buffer.getvalue()
