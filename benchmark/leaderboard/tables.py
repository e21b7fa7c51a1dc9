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
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from benchmark.csvsafe import csv_text
from benchmark.leaderboard.lines import NOT_STARTED, Line, by_table
from benchmark.leaderboard.marks import mean_std, shared_mean_note, vs_first, vs_first_notes
from benchmark.leaderboard.ranking import ALPHA


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


WIDTH = 100
"""Columns a terminal table fits by default (``--wide`` shows every column however wide)."""
KEPT = ("#", "model", "vs #1", "failures", "note")
"""Columns never left out to fit the width (with the first metric)."""
DROPPED_FIRST = ("config", "split", "runs")
"""Columns a compact table leaves out whatever the width: hashes and run names (``--wide``, the
Markdown and the CSV have them)."""
DROP_ORDER = ("seeds", "predict s", "alias", "seed s.d.", "fit s")
"""Then, while the table is wider than :data:`WIDTH`: these, then the metrics after the first
(last first), then ``folds``, then ``tuning``."""
CELL_CHARS = 48
"""A compact table's longest failure, note or tuning text (the CSV keeps them whole)."""


@dataclass(frozen=True)
class Columns:
    """Which optional columns a table of lines shows (decided once per table: linear).

    ``compact`` (a terminal's default) heads each metric with its name alone (the legend says
    what ± is), shortens long texts and leaves out the columns named in ``hidden``
    (:func:`fitted` chooses them to fit :data:`WIDTH`)."""

    names: list[str]
    seed_sd: bool
    ties: bool
    aliases: bool
    runs: bool
    failures: bool
    notes: bool
    tuned: bool = False
    compact: bool = False
    hidden: frozenset[str] = frozenset()

    @classmethod
    def of(cls, lines: Sequence[Line], names: list[str], runs: bool = False) -> Columns:
        primary = names[0] if names else ""
        return cls(names, any(line.seed_std(primary) is not None for line in lines),
                   any(line.tie and not line.tie.startswith("untested") for line in lines),
                   any(line.alias for line in lines),
                   runs, any(line.failed or line.refused for line in lines), any(line.note for line in lines),
                   any(line.tuned for line in lines))

    def keys(self) -> list[str]:
        """Every column this table has, in order (before any is hidden); a metric's key is its name."""
        out = ["#", "model"] + (["alias"] if self.aliases else []) + list(self.names)
        out += (["seed s.d."] if self.seed_sd else []) + (["vs #1"] if self.ties else [])
        out += ["folds", "seeds", "fit s", "predict s", "config", "split"] + (["tuning"] if self.tuned else [])
        out += (["runs"] if self.runs else []) + (["failures"] if self.failures else [])
        return out + (["note"] if self.notes else [])

    def shown(self) -> list[str]:
        return [key for key in self.keys() if key not in self.hidden]

    def headers(self) -> list[str]:
        return [self._header(key) for key in self.shown()]

    def _header(self, key: str) -> str:
        if key in self.names and not self.compact:
            return f"{key} (mean ± s.d. over folds)"
        if key == "seed s.d.":
            return f"{self.names[0]} seed s.d."
        return key

    def row(self, line: Line) -> list[str]:
        return [self._cell(line, key) for key in self.shown()]

    def _cell(self, line: Line, key: str) -> str:
        if key in self.names:
            return mean_std(line, key)
        text = self._text(line, key)
        if self.compact and key == "tuning":  # the header says it: "2 trials, random, inner holdout 10 %"
            text = text.removeprefix("tuned: ")
        return _shortened(text) if self.compact and key in ("failures", "note", "tuning") else text

    def _text(self, line: Line, key: str) -> str:
        if key == "#":
            return ("" if line.rank is None else str(line.rank)) + ("*" if line.note else "")
        if key == "seed s.d.":
            sd = line.seed_std(self.names[0])
            return "" if sd is None else f"{sd:#.2g}"
        cells: dict[str, Any] = {
            "model": lambda: line.model, "alias": lambda: line.alias, "vs #1": lambda: vs_first(line),
            "folds": line.folds_shown, "seeds": lambda: str(line.seeds),
            "fit s": lambda: _fmt(_mean(line.fit_seconds), 2), "predict s": lambda: _fmt(_mean(line.predict_seconds), 2),
            "config": lambda: line.config_id[:8], "split": lambda: f"{line.split} {line.split_fingerprint}".strip(),
            "tuning": lambda: line.tuned, "runs": lambda: ", ".join(line.runs),
            "failures": lambda: failures(line), "note": lambda: line.note}
        return str(cells[key]())


def _shortened(text: str) -> str:
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS - 1] + "…"


HEADER_PADDING = 2
"""tabulate's ``simple`` format makes a column at least its header + 2 wide; columns are 2 apart."""


def fitted(columns: Columns, lines: Sequence[Line], width: int = WIDTH) -> Columns:
    """``columns`` made compact and narrowed to ``width``: the hashes and run names left out, then
    the columns of :data:`DROP_ORDER`, the metrics after the first (last first), ``folds`` and
    ``tuning``, one at a time, until the table fits (never ``#``, the model, the first metric, ``vs #1``,
    failures, notes). Each column's width is measured once."""
    compact = replace(columns, compact=True, hidden=frozenset(DROPPED_FIRST))
    keys = compact.keys()
    measured = {key: max([len(compact._header(key)) + HEADER_PADDING] + [len(compact._cell(line, key)) for line in lines])
                for key in keys}
    hidden = set(DROPPED_FIRST)

    def total() -> int:
        kept = [measured[key] for key in keys if key not in hidden]
        return sum(kept) + 2 * max(len(kept) - 1, 0)

    for key in list(DROP_ORDER) + list(reversed(columns.names[1:])) + ["folds", "tuning"]:
        if total() <= width:
            break
        if key in measured:
            hidden.add(key)
    return replace(compact, hidden=frozenset(hidden))


def left_out(columns: Columns, width: int = WIDTH) -> str:
    """The legend's sentence naming the columns a compact table left out."""
    names = ", ".join(key for key in columns.keys() if key in columns.hidden)
    return f"left out to fit {width} columns: {names} (--wide, or leaderboard.csv, shows them)."


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
    for line in lines:
        if line.warning:
            notes.append(f"{line.model}: {line.warning.removeprefix('warning: ')}; those users' lists ranked "
                         "fewer candidates than asked.")
    if any(line.tuned for line in lines):
        notes.append("tuning: the line's parameters were chosen on each outer fold by a search on an inner "
                     "split of that fold's training rows only, then refit on the whole training fold and "
                     "scored once on its test fold (bench results RUN --tuned shows the parameters each fold chose).")
        counted = next((line.searches for line in lines if line.searches.searches > 1 and line.searches.failed), None)
        if counted is not None:
            notes.append(f"failed trials: counted over all of a line's searches, one per outer fold and seed "
                         f"(\"{counted.failed} of {counted.trials} failed\": {counted.trials} trials in "
                         f"{counted.searches} searches).")
    return notes


def render(lines: list[Line], metrics: Mapping[str, list[str]], fmt: str = "simple", wide: bool = False,
           width: int = WIDTH) -> str:
    """One table per (dataset, task) (tabulate ``fmt``: ``simple`` for terminals, ``github`` for Markdown).

    ``#`` is the rank within the line's comparison group; ``*`` marks a line with a note
    (incomplete, or other splits or data than the dataset's main group). A ``simple`` table is
    compact unless ``wide``: it fits ``width`` columns (:func:`fitted`) and its legend, wrapped
    to that width, names what it left out. Markdown shows every column.
    """
    from tabulate import tabulate

    show_runs = len({run for line in lines for run in line.runs}) > 1
    blocks = []
    for (dataset, task), group in by_table(lines).items():
        names = [m for m in metrics.get(task, []) if any(line.fold_values.get(m) for line in group)] \
            or list(metrics.get(task, []))
        columns = Columns.of(group, names, show_runs)
        compact = fmt == "simple" and not wide
        if compact:
            columns = fitted(columns, group, width)
        table = tabulate([columns.row(line) for line in group], headers=columns.headers(), tablefmt=fmt,
                         disable_numparse=True)
        title = f"{dataset} ({task})"
        notes = legend(group)
        if compact:
            notes = [textwrap.fill(note, width) for note in notes + [left_out(columns, width)]
                     if not (note.startswith("alias:") and "alias" in columns.hidden)]
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
                       "note", "warning"])
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
                           _fmt(_mean(line.peak_rss_mb), 1), _text(" ".join(line.runs)), _text(line.note),
                           _text(line.warning)])
    return buffer.getvalue()
