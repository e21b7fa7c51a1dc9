"""Leaderboard lines shown: the text and Markdown tables, their legends, and leaderboard.csv.

One :class:`Columns` decides once per table which optional columns it shows (seed s.d., vs #1,
alias, runs, failures, note, tuning) and gives both the headers and each line's cells, so the
terminal table, the Markdown and ``bench report``'s HTML table agree; :func:`to_csv` writes
every column, each text cell made safe for a spreadsheet (:func:`benchmark.csvsafe.csv_text`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.csvsafe import csv_text
from benchmark.leaderboard.lines import NOT_STARTED, Line, by_table
from benchmark.leaderboard.marks import mean_std, shared_mean_note, vs_first, vs_first_notes
from benchmark.leaderboard.ranking import ALPHA


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


@dataclass(frozen=True)
class Columns:
    """Which optional columns a table of lines shows (decided once per table: linear)."""

    names: list[str]
    seed_sd: bool
    ties: bool
    aliases: bool
    runs: bool
    failures: bool
    notes: bool
    tuned: bool = False

    @classmethod
    def of(cls, lines: Sequence[Line], names: list[str], runs: bool = False) -> Columns:
        primary = names[0] if names else ""
        return cls(names, any(line.seed_std(primary) is not None for line in lines),
                   any(line.tie and not line.tie.startswith("untested") for line in lines),
                   any(line.alias for line in lines),
                   runs, any(line.failed or line.refused for line in lines), any(line.note for line in lines),
                   any(line.tuned for line in lines))

    def headers(self) -> list[str]:
        out = ["#", "model"] + (["alias"] if self.aliases else [])
        out += [f"{m} (mean ± s.d. over folds)" for m in self.names]
        if self.seed_sd:
            out.append(f"{self.names[0]} seed s.d.")
        if self.ties:
            out.append("vs #1")
        out += ["folds", "seeds", "fit s", "predict s", "config", "split"] + (["tuning"] if self.tuned else [])
        out += (["runs"] if self.runs else []) + (["failures"] if self.failures else [])
        return out + (["note"] if self.notes else [])

    def row(self, line: Line) -> list[str]:
        rank = "" if line.rank is None else str(line.rank)
        cells = [rank + ("*" if line.note else ""), line.model] + ([line.alias] if self.aliases else [])
        cells += [mean_std(line, name) for name in self.names]
        if self.seed_sd:
            sd = line.seed_std(self.names[0])
            cells.append("" if sd is None else f"{sd:#.2g}")
        if self.ties:
            cells.append(vs_first(line))
        cells += [line.folds_shown(), str(line.seeds), _fmt(_mean(line.fit_seconds), 2),
                  _fmt(_mean(line.predict_seconds), 2), line.config_id[:8],
                  f"{line.split} {line.split_fingerprint}".strip()]
        if self.tuned:
            cells.append(line.tuned)
        if self.runs:
            cells.append(", ".join(line.runs))
        if self.failures:
            cells.append(failures(line))
        if self.notes:
            cells.append(line.note)
        return cells


def failures(line: Line) -> str:
    parts = []
    if line.failed:
        parts.append(f"{line.failed} failed: {line.error[:60]}")
    if line.refused:
        parts.append(f"{line.refused} value(s) refused: {line.refused_reason[:60]}")
    return "; ".join(parts)


def legend(lines: Sequence[Line], alpha: float = ALPHA) -> list[str]:
    """The sentences under a table that say what its marks mean."""
    notes = ["± is the s.d. over folds of the fold means (seeds are averaged within a fold first)."]
    if any(line.seed_std(m) is not None for line in lines for m in list(line.fold_values)[:1]):
        notes.append("seed s.d.: the pooled standard deviation over seeds within a fold.")
    notes += vs_first_notes(lines, alpha) + shared_mean_note(lines)
    if any(not line.complete and not line.note.startswith(NOT_STARTED) for line in lines):
        notes.append("incomplete (k/n folds): results missing for some folds (failed, stopped or not "
                     "run); not ranked against lines with every fold.")
    if any(line.note.startswith(NOT_STARTED) for line in lines):
        notes.append("no results yet: planned by the run's suite, no cell of it stored (the run stopped "
                     "before it started; rerun to resume).")
    if any(line.note and line.group for line in lines):
        notes.append("* used other splits or data than the first group: ranked only among lines with the "
                     "same split (bench leaderboard --force ranks them together)")
    elif any("different" in line.note for line in lines):
        notes.append("* used other splits or data: ranked with the others because of --force")
    if any(line.alias for line in lines):
        notes.append("alias: a short name for a label that needs shell quoting (bench compare --rows "
                     "accepts it).")
    if any(line.tuned for line in lines):
        notes.append("tuning: the line's parameters were chosen on each outer fold by a search on an inner "
                     "split of that fold's training rows only, then refit on the whole training fold and "
                     "scored once on its test fold (bench results shows the chosen parameters per fold).")
    return notes


def render(lines: list[Line], metrics: Mapping[str, list[str]], fmt: str = "simple") -> str:
    """One table per (dataset, task) (tabulate ``fmt``: ``simple`` for terminals, ``github`` for Markdown).

    ``#`` is the rank within the line's comparison group; ``*`` marks a line with a note
    (incomplete, or other splits or data than the dataset's main group).
    """
    from tabulate import tabulate

    show_runs = len({run for line in lines for run in line.runs}) > 1
    blocks = []
    for (dataset, task), group in by_table(lines).items():
        names = [m for m in metrics.get(task, []) if any(line.fold_values.get(m) for line in group)] \
            or list(metrics.get(task, []))
        columns = Columns.of(group, names, show_runs)
        table = tabulate([columns.row(line) for line in group], headers=columns.headers(), tablefmt=fmt,
                         disable_numparse=True)
        title = f"{dataset} ({task})"
        notes = legend(group)
        if fmt == "github":
            blocks.append("\n\n".join([f"## {title}", table] + notes))
        else:
            blocks.append("\n".join([title, table] + notes))
    return "\n\n".join(blocks) + "\n"



CSV_FIELDS = ["rank", "dataset", "task", "model", "alias", "config_id", "params", "dataset_checksum", "split",
              "split_fingerprint", "tuning"]


def _text(value: Any) -> str:
    """A text cell of leaderboard.csv: :func:`~benchmark.csvsafe.csv_text` (:func:`csv_safe`, and a
    carriage return written as ``\\r``)."""
    return str(csv_text("" if value is None else str(value)))


def to_csv(lines: list[Line], metrics: Mapping[str, list[str]]) -> str:
    """One CSV row per line; ``<metric>_std`` is the s.d. over folds (empty for one fold),
    ``<metric>_seed_std`` the pooled s.d. over seeds within folds. Every text cell passes
    through :func:`csv_safe`."""
    names = list(dict.fromkeys(m for task in metrics.values() for m in task))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS + [f"{m}_{s}" for m in names for s in ("mean", "std", "seed_std")]
                    + ["folds", "fold_units", "expected_folds", "complete", "seeds", "cells", "failed", "refused",
                       "vs_first", "p_vs_first", "fit_seconds", "predict_seconds", "peak_rss_mb", "runs",
                       "note"])
    for line in lines:
        texts = [line.dataset, line.task, line.model, line.alias, line.config_id,
                 json.dumps(line.params, sort_keys=True, default=str), line.dataset_checksum, line.split,
                 line.split_fingerprint, line.tuned]
        writer.writerow(["" if line.rank is None else line.rank] + [_text(t) for t in texts]
                        + [_fmt(f(m), 6) for m in names for f in (line.mean, line.std, line.seed_std)]
                        + [line.folds, line.units, line.expected_folds, str(line.complete).lower(), line.seeds, line.cells,
                           line.failed, line.refused, _text(line.tie or ("#1" if line.rank == 1 else "")),
                           _fmt(line.p_vs_first, 6),
                           _fmt(_mean(line.fit_seconds), 4), _fmt(_mean(line.predict_seconds), 4),
                           _fmt(_mean(line.peak_rss_mb), 1), _text(" ".join(line.runs)), _text(line.note)])
    return buffer.getvalue()
