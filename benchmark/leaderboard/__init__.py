"""Leaderboard: one line per (dataset, model configuration, split protocol), ranked honestly.

A *configuration* is its ``config_id`` (model plugin + resolved parameters, seed excluded), not
its label: two seeds of a configuration are one line; the label shown is the latest one given
(the runner passes rows relabelled with the current suite's labels). Rows come through
:mod:`benchmark.resultset` (one row per experiment, the latest; invalid rows set aside;
non-finite values turned into metric errors).

**The fold is the unit.** A line's values are first averaged over seeds within each fold (the
fold is identified by its fingerprint), then the mean and the ± are taken over those fold
means: ± is the standard deviation *over folds* (mostly fold difficulty, which every model
shares; that is why ranks come from a paired test, not from overlapping ±). With several
seeds per fold the seed spread is shown apart (the pooled within-fold s.d.). A non-finite
value is never averaged: it is refused and counted with the line's failures.

**Tuned lines.** A ``tune:`` block's refits (one per outer fold, each with the point its
inner search chose) are one line, its configuration the tuning procedure; the line says how
it was tuned (:func:`benchmark.resultset.tuning_note`: ``tuned: 20 trials, random, inner holdout
10 %``) in the ``tuning`` column of the table, the Markdown and the CSV alike. The trials
themselves are never lines: :mod:`benchmark.resultset` keeps them out of the rows, and
:func:`build` leaves out any trial row it is given directly.

This module turns rows into lines (:func:`build`) and a result set into a leaderboard
(:func:`board`, :func:`show`); the rest lives in one module per job:

* :mod:`benchmark.leaderboard.lines` — :class:`~benchmark.leaderboard.lines.Line`, a line's statistics over folds;
* :mod:`benchmark.leaderboard.ranking` — comparison groups on shared folds, completeness, ties with #1;
* :mod:`benchmark.leaderboard.plan` — what a run's runner planned (:func:`planned`, :class:`Plan`):
  ``incomplete (2/9 folds)`` after a Ctrl-C, ``no results yet`` for what never started;
* :mod:`benchmark.scoping` (the result set's, through
  :meth:`~benchmark.resultset.ResultSet.in_suite`) — which stored results belong to a run's
  current suite;
* :mod:`benchmark.leaderboard.labels` — shell-friendly aliases of labels, :func:`resolve_label`;
* :mod:`benchmark.leaderboard.tables` — the text, Markdown and CSV output.

Every step is linear in the number of rows and lines (issue 19: 5,000 configurations; see
``benchmarks/readers_scale.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.csvsafe import csv_safe as csv_safe
from benchmark.leaderboard.labels import alias as alias
from benchmark.leaderboard.labels import aliases
from benchmark.leaderboard.labels import resolve_label as resolve_label
from benchmark.leaderboard.labels import shell_friendly as shell_friendly
from benchmark.leaderboard.lines import Line as Line
from benchmark.leaderboard.lines import by_table as by_table
from benchmark.leaderboard.lines import finite
from benchmark.leaderboard.plan import Plan as Plan
from benchmark.leaderboard.plan import planned as planned
from benchmark.leaderboard.ranking import ALPHA, rank
from benchmark.leaderboard.splits import SplitIdentity
from benchmark.progress import sampled_negatives_warning
from benchmark.resultset import ResultSet, StoredResult, is_trial, latest, record, tuning_note
from benchmark.scoping import PLANNED as PLANNED
from benchmark.leaderboard.tables import Columns as Columns
from benchmark.leaderboard.tables import legend as legend
from benchmark.leaderboard.marks import mean_std as mean_std
from benchmark.leaderboard.tables import render as render
from benchmark.leaderboard.tables import to_csv as to_csv
from benchmark.leaderboard.marks import vs_first as vs_first


def build(rows: Iterable[StoredResult | Mapping[str, Any]], metrics: Mapping[str, list[str]],
          greater_is_better: Mapping[str, bool], force: bool = False, alpha: float = ALPHA,
          merged: bool = False, plan: Plan | None = None) -> list[Line]:
    """Aggregate cell rows into lines, ranked per (dataset, task) by the task's primary metric.

    ``metrics`` is ``{task: [metric, ...]}`` (the first ranks); ``greater_is_better`` gives each
    metric's direction. An experiment stored by several rows (two runs, two metric lists) counts
    once: :func:`benchmark.resultset.latest` (invalid rows are left out; non-finite values are
    metric errors). ``force`` ranks lines of different splits or data together; ``alpha`` is the
    level of the "tied with #1" test; ``merged`` says the rows are already one per experiment
    (a :class:`~benchmark.resultset.ResultSet`'s), so they are not merged again. With ``plan``
    (what the runner planned, :class:`Plan`) a line is complete only with every planned fold
    and seed, and a planned configuration without a row is a ``no results yet`` line.
    """
    lines: dict[tuple[str, str, str, str], Line] = {}
    given = [r for r in map(record, rows) if r is not None] if merged else latest(rows)
    splits = SplitIdentity.of([r for r in given if not is_trial(r)], plan)  # fingerprints decide
    given, plan = splits.distinct(given), splits.plan(plan)
    for r in given:
        if is_trial(r):  # scored on an inner split: never a line (rows from a ResultSet have none)
            continue
        key = (str(r.dataset), str(r.dataset_checksum), str(r.config_id), splits.protocol(r))
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(key[0], str(r.task), str(r.model), dict(r.config), config_id=key[2],
                                     dataset_checksum=key[1], split=str(r.split), protocol=key[3])
        _add(line, r)
    built = list(lines.values())
    if plan is not None:
        built += plan.not_started(built)
        for line in built:
            line.planned = plan.expected(line)
    out = rank(built, metrics, greater_is_better, force, alpha)
    assign_aliases(out)
    return out


def _add(line: Line, r: StoredResult) -> None:
    """Count one result into its line: a failure, or its values per fold (non-finite ones refused)."""
    line.model = str(r.model)  # the latest label given wins
    line.searches.add(r)  # every search of the line counts its failed trials, not only the last refit's
    line.tuned = tuning_note(r, line.searches) or line.tuned
    fold = str(r.split_fingerprint or f"fold {r.fold}")
    line.fingerprints.add(fold)
    if r.run and r.run not in line.runs:
        line.runs.append(r.run)
    if r.status != "ok":
        line.failed += 1
        line.error = line.error or str(r.error)
        return
    line.cells += 1
    line.warning = line.warning or sampled_negatives_warning(r.counts).strip()
    line.fold_keys.add(fold)
    line.fold_set.add(str(r.fold))
    line.seed_set.add(r.seed)
    line.params = dict(r.config)
    n_test, n_train = finite(r.n_test), finite(r.n_train)
    if n_test and n_train:
        line.test_train.append(n_test / n_train)
    if r.metric_errors:
        line.refused += len(r.metric_errors)
        line.refused_reason = line.refused_reason or "; ".join(f"{k}: {v}" for k, v in r.metric_errors.items())
    for name, value in r.metrics.items():
        number = finite(value)
        if number is None:
            if value is not None:
                line.refused += 1
                line.refused_reason = line.refused_reason or f"{name}: not a finite number ({value!r:.20})"
            continue
        line.fold_values.setdefault(name, {}).setdefault(fold, []).append(number)
        line.scored.setdefault(name, set()).add((fold, r.seed))
    for measured, into in ((r.fit_seconds, line.fit_seconds), (r.predict_seconds, line.predict_seconds),
                           (r.peak_rss_mb, line.peak_rss_mb)):
        seconds_or_mb = finite(measured)
        if seconds_or_mb is not None:
            into.append(seconds_or_mb)


def assign_aliases(lines: Sequence[Line]) -> None:
    names = aliases(line.model for line in lines)
    for line in lines:
        line.alias = names.get(line.model, "")


# --- From a loaded result set ------------------------------------------------------------------


@dataclass
class Board:
    """A leaderboard made from a result set: its lines, the metrics per task, the results it was
    made from (scoped) and the scope note."""

    lines: list[Line]
    metrics: dict[str, list[str]]
    rows: list[StoredResult]
    note: str


def board(loaded: ResultSet, force: bool = False, all_stored: bool = False, alpha: float = ALPHA) -> Board:
    """The leaderboard of a :class:`benchmark.resultset.ResultSet`: its results scoped to the
    runs' current suites (:meth:`~benchmark.resultset.ResultSet.in_suite`, unless ``all_stored``),
    directions and primary metrics from the results, completeness judged by what the runs'
    runners planned (:meth:`Plan.of_runs`) where they recorded it."""
    rows, note = list(loaded.rows), ""
    if not all_stored:
        scoped = loaded.in_suite(rows)
        rows = scoped.rows
        if scoped.hidden:
            note = (f"{len(scoped.hidden)} stored configuration(s) not in the current suite are not shown "
                    "(--all-stored shows every stored configuration)")
    metrics = loaded.metrics_by_task(rows)
    lines = build(rows, metrics, loaded.directions([m for names in metrics.values() for m in names]),
                  force=force, alpha=alpha, merged=True, plan=Plan.of_runs(loaded.runs))
    return Board(lines, metrics, rows, note)


def from_results(loaded: ResultSet, force: bool = False, all_stored: bool = False,
                 alpha: float = ALPHA) -> tuple[list[Line], dict[str, list[str]], str]:
    """``(lines, metrics, scope note)``: :func:`board` as a tuple."""
    made = board(loaded, force, all_stored, alpha)
    return made.lines, made.metrics, made.note


def show(loaded: ResultSet, fmt: str = "simple", force: bool = False, all_stored: bool = False) -> str:
    """``bench leaderboard``'s output: the tables (``fmt`` ``simple``/``github``, with the scope
    note under them) or the CSV (``fmt`` ``csv``; nothing but the table)."""
    lines, metrics, note = from_results(loaded, force, all_stored)
    if fmt == "csv":
        return to_csv(lines, metrics)
    return render(lines, metrics, fmt) + (f"\n{note}\n" if note else "")
