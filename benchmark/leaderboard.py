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

**Lines are ranked only on the folds they share.** Lines of one table — one dataset label and
one task (:func:`by_table`: a rating and a ranking run on one label share no metric) — form a
*comparison group* when they used the same data (checksum) and overlapping folds. In a group, the folds
that count are those on which any line has a result for the ranking metric; a line that lacks
one of them (a failed cell, a run stopped by Ctrl-C, a missing metric) is marked
``incomplete (k/n folds)`` and left unranked, below the ranked ones — never ranked on fewer
folds than the others. Lines that share no fold with the main group (another split seed,
another protocol, other data) form their own group, ranked within it and marked, unless
``force=True`` ranks every line of a table together (still marked).

**What was planned.** A run's ``environment.json`` records what its runner planned
(:func:`planned`); with it (:class:`Plan`) a line is complete only with a result on every
planned fold and seed — ``incomplete (2/9 folds)`` after a Ctrl-C, n from the plan, not from
the folds that happen to be stored — and a planned configuration with no row is listed
``no results yet``. A tuned model's line is in the record too (its refits' configuration is
known before the trials choose), so a run stopped during its trials lists it ``no results yet``
with its ``tuned: …`` note. Runs stored without the record are judged by their stored folds.

**Ties.** Every ranked line is compared with #1 by a paired test over the folds they share
(fold means, seeds averaged first), Holm-adjusted over the lines of the group; a line whose
difference is not significant at ``alpha`` is ``tied`` with #1. A zero-variance difference or
fewer than two folds give no verdict, with the reason.

**Tuned lines.** A ``tune:`` block's refits (one per outer fold, each with the point its
inner search chose) are one line, its configuration the tuning procedure; the line says how
it was tuned (:func:`benchmark.resultset.tuning_note`: ``tuned: 20 trials, random, inner holdout
10 %``) in the ``tuning`` column of the table, the Markdown and the CSV alike. The trials
themselves are never lines: :mod:`benchmark.resultset` keeps them out of the rows, and
:func:`build` leaves out any trial row it is given directly.

**Aliases.** A label that a shell would need quoted (``svd(k=4)``, ``fast svd``) gets a short
alias (``m`` + 6 hex digits of the label's hash: the same in every view) shown in the table;
:func:`resolve_label` accepts a label, an alias or a configuration-id prefix and, for anything
else, lists the valid ones closest first.

Every step is linear in the number of rows and lines (issue 19: 5,000 configurations; see
``benchmarks/readers_scale.md``).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmark.cells import shown_params, stable_hash
from benchmark.csvsafe import csv_safe, csv_text
from benchmark.errors import BenchError, did_you_mean
from benchmark.resultset import is_refit

NONE = "—"
NOT_STARTED = "no results yet"  # the note of a planned configuration with no stored row
ALPHA = 0.05
# what a POSIX shell passes through unquoted; a leading "-" would read as an option
SHELL_FRIENDLY = re.compile(r"^[A-Za-z0-9_@%+=:,./][A-Za-z0-9_@%+=:,./-]*$")


@dataclass
class Line:
    dataset: str
    task: str
    model: str
    params: dict[str, Any]  # without the seed-driven random_state
    config_id: str = ""
    dataset_checksum: str = ""
    split: str = ""
    protocol: str = ""  # split method + parameters other than its seed
    # metric -> fold key (fingerprint) -> finite values over seeds
    fold_values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    fit_seconds: list[float] = field(default_factory=list)
    predict_seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    fold_keys: set[str] = field(default_factory=set)  # fold fingerprints with an ok cell: the units
    fold_set: set[str] = field(default_factory=set)  # fold positions with an ok cell
    seed_set: set[Any] = field(default_factory=set)  # seeds with an ok cell
    fingerprints: set[str] = field(default_factory=set)  # of every cell's fold, failed ones too
    runs: list[str] = field(default_factory=list)
    cells: int = 0  # ok cells
    failed: int = 0
    error: str = ""
    refused: int = 0  # metric values refused (non-finite, not a number, a metric error)
    refused_reason: str = ""
    rank: int | None = None
    group: int = 0  # 0: the dataset's main comparison group; n > 0: other splits or data
    note: str = ""
    expected_folds: int = 0  # folds of the line's comparison group
    complete: bool = True
    tie: str = ""  # against #1: "tied", "different", "untested: reason"; "" for #1 and unranked
    p_vs_first: float | None = None  # Holm-adjusted
    tie_test: str = ""  # "t" or "nb" (repeated CV): the test behind ``tie``
    test_train: list[float] = field(default_factory=list)  # n_test / n_train of the ok cells
    alias: str = ""
    tuned: str = ""  # how a tuned line was tuned (benchmark.resultset.tuning_note); "" if it was not
    scored: dict[str, set[tuple[str, Any]]] = field(default_factory=dict)  # metric -> (fold, seed) with a value
    planned: set[tuple[str, Any]] = field(default_factory=set)  # (fold, seed) the runner planned (Plan)

    @property
    def folds(self) -> int:
        """Fold positions with a result (fold 3 of 5 under three split seeds counts once)."""
        return len(self.fold_set)

    @property
    def units(self) -> int:
        """Distinct folds (fingerprints) with a result: several per position under repeated CV."""
        return len(self.fold_keys)

    def folds_shown(self) -> str:
        return str(self.folds) if self.units == self.folds else f"{self.units} ({self.folds} per split)"

    @property
    def seeds(self) -> int:
        return len(self.seed_set)

    @property
    def split_fingerprint(self) -> str:
        """A short hash of all this line's fold fingerprints (order-independent)."""
        return stable_hash(sorted(self.fingerprints), 8) if self.fingerprints else ""

    def fold_means(self, metric: str) -> dict[str, float]:
        """``{fold: mean over its seeds}`` of ``metric``: the unit every statistic is taken on."""
        return {fold: math.fsum(values) / len(values)
                for fold, values in (self.fold_values.get(metric) or {}).items() if values}

    def mean(self, metric: str) -> float | None:
        means = list(self.fold_means(metric).values())
        return math.fsum(means) / len(means) if means else None

    def std(self, metric: str) -> float | None:
        """Sample standard deviation over fold means; ``None`` with fewer than two folds."""
        means = list(self.fold_means(metric).values())
        return statistics.stdev(means) if len(means) > 1 else None

    def seed_std(self, metric: str) -> float | None:
        """Pooled within-fold standard deviation over seeds; ``None`` without a fold of two seeds."""
        pooled, dof = 0.0, 0
        for values in (self.fold_values.get(metric) or {}).values():
            if len(values) > 1:
                pooled += statistics.variance(values) * (len(values) - 1)
                dof += len(values) - 1
        return math.sqrt(pooled / dof) if dof else None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _protocol(row: Mapping[str, Any]) -> str:
    params = row.get("split_params")
    params = {k: v for k, v in params.items() if k != "seed"} if isinstance(params, Mapping) else {}
    return json.dumps([row.get("split", ""), params], sort_keys=True, default=str)


def build(rows: Iterable[Mapping[str, Any]], metrics: Mapping[str, list[str]],
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
    from benchmark.resultset import is_trial, latest, tuning_note

    lines: dict[tuple[str, str, str, str], Line] = {}
    for row in rows if merged else latest(rows):
        if is_trial(row):  # scored on an inner split: never a line (rows from a ResultSet have none)
            continue
        dataset = str(row.get("dataset", ""))
        key = (dataset, str(row.get("dataset_checksum", "")), str(row["config_id"]), _protocol(row))
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(dataset, str(row.get("task", "")), str(row.get("model", "")),
                                     shown_params(row), config_id=key[2], dataset_checksum=key[1],
                                     split=str(row.get("split", "")), protocol=key[3])
        line.model = str(row.get("model", ""))  # the latest label given wins
        line.tuned = tuning_note(row) or line.tuned
        fold = str(row.get("split_fingerprint") or f"fold {row.get('fold', 0)}")
        line.fingerprints.add(fold)
        if row.get("run") and row["run"] not in line.runs:
            line.runs.append(str(row["run"]))
        if row.get("status") != "ok":
            line.failed += 1
            line.error = line.error or str(row.get("error"))
            continue
        line.cells += 1
        line.fold_keys.add(fold)
        line.fold_set.add(str(row.get("fold", 0)))
        line.seed_set.add(row.get("seed", 0))
        line.params = shown_params(row)
        n_test, n_train = _finite(row.get("n_test")), _finite(row.get("n_train"))
        if n_test and n_train:
            line.test_train.append(n_test / n_train)
        metric_errors = row.get("metric_errors")
        if isinstance(metric_errors, Mapping) and metric_errors:
            line.refused += len(metric_errors)
            line.refused_reason = line.refused_reason or "; ".join(f"{k}: {v}" for k, v in metric_errors.items())
        values = row.get("metrics")
        for name, value in (values.items() if isinstance(values, Mapping) else ()):
            number = _finite(value)
            if number is None:
                if value is not None:
                    line.refused += 1
                    line.refused_reason = line.refused_reason or f"{name}: not a finite number ({value!r:.20})"
                continue
            line.fold_values.setdefault(name, {}).setdefault(fold, []).append(number)
            line.scored.setdefault(name, set()).add((fold, row.get("seed", 0)))
        for name in ("fit_seconds", "predict_seconds", "peak_rss_mb"):
            number = _finite(row.get(name))
            if number is not None:
                getattr(line, name).append(number)
    built = list(lines.values())
    if plan is not None:
        built += plan.not_started(built)
        for line in built:
            line.planned = plan.expected(line)
    out = _rank(built, metrics, greater_is_better, force, alpha)
    assign_aliases(out)
    return out


def _primary(line: Line, metrics: Mapping[str, list[str]]) -> str | None:
    return next(iter(metrics.get(line.task) or []), None)


def _groups(lines: list[Line]) -> list[list[Line]]:
    """Lines of one table split into comparison groups: same checksum and, transitively, a
    shared fold, stored or planned; the group with most lines first (ties: first seen). Linear: union-find on folds."""
    parent = list(range(len(lines)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, line in enumerate(lines):
        folds = line.fingerprints | {fold for fold, _ in line.planned}
        for fold in folds or {f"no folds {i}"}:
            j = first.setdefault((line.dataset_checksum, fold), i)
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[Line]] = {}
    for i, line in enumerate(lines):
        groups.setdefault(find(i), []).append(line)
    return sorted(groups.values(), key=len, reverse=True)  # stable: first seen wins ties


def _rank(lines: list[Line], metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool],
          force: bool, alpha: float) -> list[Line]:
    out: list[Line] = []
    for group_lines in by_table(lines).values():
        groups = _groups(group_lines)
        main = groups[0][0]
        for number, members in enumerate(groups):
            expected = set().union(*(line.fingerprints for line in members))
            primary = _primary(members[0], metrics)
            have = {id(line): set(line.fold_means(primary)) if primary else set() for line in members}
            counted = set().union(*have.values())  # folds on which any line has a ranking value
            for line in members:
                line.group = 0 if force else number
                notes = [] if number == 0 else [_note(line, main)]
                completeness = _completeness(line, have[id(line)], counted, expected, primary)
                line.note = "; ".join(([completeness] if completeness else []) + notes)
        for number in sorted({line.group for line in group_lines}):
            members = [line for line in group_lines if line.group == number]
            rankable = [line for line in members if (line.complete or force)
                        and _primary_value(line, metrics) is not None]
            rankable.sort(key=lambda line: _order(line, metrics, greater_is_better))
            ranked = {id(line) for line in rankable}
            rest = [line for line in members if id(line) not in ranked]
            for rank, line in enumerate(rankable, 1):
                line.rank = rank
            for line in rest:
                line.rank = None
            _ties(rankable, metrics, alpha)
            out.extend(rankable)
            out.extend(sorted(rest, key=lambda line: _order(line, metrics, greater_is_better)))
    return out


def _completeness(line: Line, mine: set[str], counted: set[str], expected: set[str], primary: str | None) -> str:
    """Set ``line.complete`` and ``line.expected_folds``; the note that says why a line is not
    ranked (or on which folds it is), empty when there is nothing to say.

    ``mine``: the folds with the line's ranking value; ``counted``: those with any line's;
    ``expected``: every fold of the group's cells. A planned line (:class:`Plan`) must also
    have every planned (fold, seed): a stopped run's lines say how far they got."""
    line.complete = bool(mine) and mine == counted
    line.expected_folds = len(counted) if line.complete else len(expected)
    if line.planned:
        done = (line.scored.get(primary, set()) if primary else set()) & line.planned
        folds = {fold for fold, _ in line.planned}
        line.expected_folds = len(folds)
        if done != line.planned:
            line.complete = False
            if not line.cells and not line.failed:
                return NOT_STARTED
            if len(folds) == len(line.planned):  # one seed per fold: count folds
                return f"incomplete ({len({fold for fold, _ in done})}/{len(folds)} folds)" if done else "no result"
            return f"incomplete ({len(done)}/{len(line.planned)} folds × seeds)" if done else "no result"
    if not line.complete:
        return f"incomplete ({len(mine)}/{len(expected)} folds)" if mine else "no result"
    if len(counted) < len(expected):
        return f"ranked on the {len(counted)} of {len(expected)} folds any line finished"
    return ""


def _note(line: Line, main: Line) -> str:
    if line.dataset_checksum != main.dataset_checksum:
        return f"different data (checksum {line.dataset_checksum[:8]})"
    return f"different splits ({f'{line.split} {line.split_fingerprint}'.strip()})"


def _primary_value(line: Line, metrics: Mapping[str, list[str]]) -> float | None:
    primary = _primary(line, metrics)
    return line.mean(primary) if primary else None


def _order(line: Line, metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool]) -> tuple:
    primary = _primary(line, metrics)
    value = line.mean(primary) if primary else None
    if value is None:
        return (1, 0.0, line.model)
    return (0, -value if greater_is_better.get(primary or "") else value, line.model)


# --- Scope: the current suite ------------------------------------------------------------------

PLANNED = "planned"
"""Key of ``environment.json`` under which the runner records what its suite planned
(:func:`planned`): the exact scope of the stored suite. Runs without it are scoped from
``suite.yaml``."""


def _experiment_key(checksum: Any, split: Any, split_params: Any, config_id: Any) -> str:
    params = {k: v for k, v in split_params.items() if k != "seed"} if isinstance(split_params, Mapping) else {}
    return json.dumps([str(checksum or ""), str(split or ""), params, str(config_id or "")], sort_keys=True,
                      default=str)


def planned(cells: Iterable[Any], seeds: Iterable[int], refits: Iterable[Any] = ()) -> dict[str, Any]:
    """``{"planned": ...}`` for the runner's environment record: every (dataset checksum, split
    protocol, configuration) its cells cover (``experiments``: what :func:`in_suite` scopes by),
    the suite's seeds, and per dataset entry its folds (split fingerprint and seed of each) and
    configurations (``tables``), with each configuration's label (``configurations``): what
    :class:`Plan` judges a line's completeness by. Independent of the metric list; 10,000
    configurations on two datasets of 5 folds: 2.6 MB (1.2 MB of it ``experiments``), well
    under the 10 MB :mod:`benchmark.resultset` reads.

    ``refits`` are the tuned models' refits as planned before their trials chose
    (:meth:`benchmark.tuning.Searches.planned_refits`): a table lists their configurations too,
    and ``tuned`` maps each to its note (``tuned: 5 trials, random, inner 3-fold``), so a run
    stopped during the trials still shows its tuned lines. Records written before ``tuned``
    show a tuned line only once a refit is stored.

    The runner adds it with ``store.write_environment(run_id, {**environment(...),
    **leaderboard.planned(cells, suite.seeds, searches.planned_refits())})``.
    """
    from benchmark.resultset import is_trial, tuning_note

    cells = list(cells)
    keys = sorted({_experiment_key(c.dataset_checksum, c.split, c.split_params, c.config_id) for c in cells})
    tables: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    configurations: dict[str, list[Any]] = {}
    for c in [*cells, *refits]:
        split_params = {k: v for k, v in c.split_params.items() if k != "seed"}
        where = json.dumps([c.split, split_params], sort_keys=True, default=str)
        table = tables.setdefault((c.dataset, c.task, c.dataset_checksum, where), {
            "dataset": c.dataset, "task": c.task, "checksum": c.dataset_checksum, "split": c.split,
            "split_params": split_params, "folds": set(), "configurations": set(), "tuned": {}})
        trial = is_trial({"tuning": c.tuning})
        # a trial's fold is an inner split: its outer fold is the one its tuned line is scored on
        table["folds"].add((str(c.tuning["outer_fingerprint"]) if trial else c.fingerprint, c.seed))
        if not trial:
            table["configurations"].add(c.config_id)
            configurations[c.config_id] = [c.model, dict(c.config)]
            note = tuning_note({"tuning": c.tuning})
            if note:
                table["tuned"][c.config_id] = note
    return {PLANNED: {"experiments": [json.loads(key) for key in keys], "seeds": sorted(set(seeds)),
                      "tables": [{**t, "folds": sorted(map(list, t["folds"])),
                                  "configurations": sorted(t["configurations"])} for t in tables.values()],
                      "configurations": configurations}}


@dataclass
class Plan:
    """What the runners of the loaded runs planned (the ``tables`` of their :func:`planned`
    records): the yardstick of a line's completeness. A line whose configuration was planned on
    its data and split protocol is complete only with a result on every planned (fold, seed);
    a planned configuration with no stored row at all is shown as ``no results yet`` (a tuned
    one with its note, from the tables' ``tuned``).

    A Ctrl-C'd run used to be judged by the folds *stored*: with several seeds each seed's folds
    have their own fingerprints, so a line with 2 of 9 folds ranked #1 and a configuration that
    never started was not listed. Runs without a record (older bench) are judged as before.
    """

    units: dict[tuple[str, str], set[tuple[str, int]]] = field(default_factory=dict)  # (checksum, protocol)
    configurations: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (checksum, protocol)
    tables: list[tuple[str, str, str, str, list[str]]] = field(default_factory=list)  # label, task, sum, protocol, ids
    labels: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # config id -> (label, config)
    tuned: dict[str, str] = field(default_factory=dict)  # config id -> its tuning note (tuned lines only)

    @classmethod
    def of(cls, records: Iterable[Any]) -> Plan | None:
        """The union of ``planned`` records (``None`` when none has tables: judge as before)."""
        plan = cls()
        for record in records:
            if isinstance(record, Mapping) and isinstance(record.get("tables"), list):
                plan._add(record)
        return plan if plan.tables else None

    def _add(self, record: Mapping[str, Any]) -> None:
        labels = record.get("configurations")
        for config_id, entry in (labels.items() if isinstance(labels, Mapping) else ()):
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], Mapping):
                self.labels[str(config_id)] = (str(entry[0]), dict(entry[1]))
        for table in record["tables"]:
            if not isinstance(table, Mapping) or not isinstance(table.get("folds"), list) \
                    or not isinstance(table.get("configurations"), list):
                continue
            where = (str(table.get("checksum", "")), _protocol(table))
            self.units.setdefault(where, set()).update(
                (str(f[0]), f[1]) for f in table["folds"] if isinstance(f, list) and len(f) == 2)
            ids = [str(i) for i in table["configurations"]]
            notes = table.get("tuned")
            self.tuned.update((str(i), str(n)) for i, n in (notes.items() if isinstance(notes, Mapping) else ()))
            self.configurations.setdefault(where, set()).update(ids)
            self.tables.append((str(table.get("dataset", "")), str(table.get("task", "")), *where, ids))

    def expected(self, line: Line) -> set[tuple[str, int]]:
        """The (fold fingerprint, seed) a line was planned on; empty when it was not planned
        (judged as before). A tuned line counts as planned on its data's folds: its refits are
        planned only once their trials have chosen."""
        where = (line.dataset_checksum, line.protocol)
        if line.config_id in self.configurations.get(where, ()) or line.tuned:
            return set(self.units.get(where, ()))
        return set()

    def not_started(self, lines: Iterable[Line]) -> list[Line]:
        """A line, ``no results yet``, for each planned configuration with no stored row."""
        have = {(line.dataset_checksum, line.protocol, line.config_id) for line in lines}
        out: list[Line] = []
        for dataset, task, checksum, protocol, ids in self.tables:
            split = json.loads(protocol)[0]
            for config_id in ids:
                if (checksum, protocol, config_id) in have:
                    continue
                have.add((checksum, protocol, config_id))
                label, config = self.labels.get(config_id, (config_id[:8], {}))
                out.append(Line(dataset, task, label, config, config_id=config_id, dataset_checksum=checksum,
                                split=split, protocol=protocol, tuned=self.tuned.get(config_id, "")))
        return out


def in_suite(run: Any) -> Callable[[Mapping[str, Any]], bool] | None:
    """Whether a row of ``run`` belongs to the run's current suite (``None``: no suite to say).

    Exact when the runner recorded what it planned in ``environment.json`` (:func:`planned`);
    otherwise from the stored ``suite.yaml``: the row's dataset label and seed are the suite's,
    and its model label is one the suite gives, with every parameter the suite sets for it equal
    (so a removed configuration or one whose parameters changed under the same label is out).
    Labels renamed since a cell was stored hide that cell from this fallback; ``--all-stored``
    shows it.

    A tuned model's refit is planned only once its trials have chosen (the record holds the
    trials), so with a record a refit row belongs when every one of its trials stored in
    ``run.trials`` was planned and the stored suite still tunes with its objective over its
    parameters (:func:`_tunes`): a search changed since stays out, as a changed grid does.
    """
    record = (getattr(run, "environment", None) or {}).get(PLANNED)
    if isinstance(record, Mapping) and isinstance(record.get("experiments"), list):
        keys = {_experiment_key(*entry) for entry in record["experiments"]
                if isinstance(entry, list) and len(entry) == 4}
        planned_seeds = set(record["seeds"]) if isinstance(record.get("seeds"), list) else None
        trial_keys = {row.get("cell_id"): _experiment_key(row.get("dataset_checksum"), row.get("split"),
                                                          row.get("split_params"), row.get("config_id"))
                      for row in getattr(run, "trials", None) or ()}
        tunes = _tunes(getattr(run, "suite_data", None))

        def planned_row(row: Mapping[str, Any]) -> bool:
            if planned_seeds is not None and row.get("seed", 0) not in planned_seeds:
                return False
            if _experiment_key(row.get("dataset_checksum"), row.get("split"), row.get("split_params"),
                               row.get("config_id")) in keys:
                return True
            if not is_refit(row):
                return False
            trials = [trial_keys[i] for i in row["tuning"].get("trial_cell_ids") or () if i in trial_keys]
            return bool(trials) and all(key in keys for key in trials) and (tunes is None or _tuned_as(row) in tunes)

        return planned_row
    data = getattr(run, "suite_data", None)
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), list) \
            or not isinstance(data.get("datasets"), list):
        return None
    given_seeds = data.get("seeds") or [data.get("seed", 0)]
    seeds = set(given_seeds) if isinstance(given_seeds, list) else {given_seeds}
    datasets = [{"name": d} if isinstance(d, str) else d for d in data["datasets"]]
    dataset_labels = {str(d.get("label", d.get("name"))) for d in datasets if isinstance(d, Mapping)}
    models: dict[str, tuple[dict[str, Any], set[str], Any]] = {}  # label -> (given params, datasets, tuned as)
    for entry in data["models"]:
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            return None  # a suite shape this reader does not know: show everything
        params: Mapping[str, Any] = entry["params"] if isinstance(entry.get("params"), Mapping) else {}
        grid: Mapping[str, Any] = entry["grid"] if isinstance(entry.get("grid"), Mapping) else {}
        chosen = set(map(str, entry["datasets"])) if isinstance(entry.get("datasets"), list) else dataset_labels
        names = list(grid)
        combos: list[dict[str, Any]] = [{}]
        for name in names:
            values = grid[name] if isinstance(grid[name], list) else [grid[name]]
            combos = [{**combo, name: value} for combo in combos for value in values]
            if len(combos) > 100_000:
                return None
        tuned = _tune_entry(entry)
        for combo in combos:
            given = {**params, **combo}
            label = str(entry.get("label", entry["name"]))
            shown = combo if "label" in entry else given
            if shown:
                label = f"{label}({', '.join(f'{k}={shown[k]}' for k in sorted(shown))})"
            if tuned is not None and "label" not in entry:
                label += " tuned"  # as benchmark.suite labels a tuned model
            models[label] = (given, chosen, tuned)

    def belongs(row: Mapping[str, Any]) -> bool:
        model = models.get(str(row.get("model")))
        if model is None or row.get("seed", 0) not in seeds:
            return False
        given, chosen, tuned = model
        if str(row.get("dataset")) not in chosen or _tuned_as(row) != tuned:
            return False
        config = row.get("config") if isinstance(row.get("config"), Mapping) else row.get("params")
        config = config if isinstance(config, Mapping) else {}
        return all(key in config and _same(config[key], value) for key, value in given.items())

    return belongs


def _tune_key(block: Any) -> Any:
    """What identifies a ``tune:`` block to :func:`in_suite`: its objective and the names of the
    parameters it searches (``None`` for no block)."""
    if not isinstance(block, Mapping):
        return None
    space = block.get("space")
    return (str(block.get("objective")), tuple(sorted(map(str, space))) if isinstance(space, Mapping) else ())


def _tune_entry(entry: Mapping[str, Any]) -> Any:
    """:func:`_tune_key` of a suite entry."""
    return _tune_key(entry.get("tune"))


def _tuned_as(row: Mapping[str, Any]) -> Any:
    """:func:`_tune_key` of a stored row: the ``tune`` description in a refit's configuration."""
    config = row.get("config")
    return _tune_key(config.get("tune") if isinstance(config, Mapping) else None)


def _tunes(data: Any) -> set[Any] | None:
    """The tune blocks of a stored suite as :func:`_tune_entry` gives them (``None``: no suite)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), list):
        return None
    return {_tune_entry(entry) for entry in data["models"] if isinstance(entry, Mapping)} - {None}


def _still_tuned(record: Any, run: Any) -> Any:
    """``record`` less the tuned configurations that ``run``'s stored suite no longer tunes alike
    (:func:`_tunes`): :func:`in_suite` leaves out their refits, so they are not planned lines either."""
    tunes = _tunes(getattr(run, "suite_data", None))
    if tunes is None or not isinstance(record, Mapping) or not isinstance(record.get("tables"), list) \
            or not isinstance(record.get("configurations"), Mapping):
        return record
    labels = record["configurations"]

    def gone(config_id: Any) -> bool:
        entry = labels.get(config_id)
        config = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
        return isinstance(config, Mapping) and "tune" in config and _tune_key(config["tune"]) not in tunes

    return {**record, "tables": [{**t, "configurations": [i for i in t["configurations"] if not gone(i)]}
                                 if isinstance(t, Mapping) and isinstance(t.get("configurations"), list) else t
                                 for t in record["tables"]]}


def _same(stored: Any, given: Any) -> bool:
    if isinstance(stored, (int, float)) and isinstance(given, (int, float)) \
            and not isinstance(stored, bool) and not isinstance(given, bool):
        return float(stored) == float(given)
    return json.dumps(stored, sort_keys=True, default=str) == json.dumps(given, sort_keys=True, default=str)


def scope(runs: Sequence[Any], rows: Iterable[Mapping[str, Any]],
          all_stored: bool = False) -> tuple[list[Mapping[str, Any]], str]:
    """The rows of the runs' current suites (all of them with ``all_stored``) and a one-line
    note saying what was left out (empty when nothing was).

    Each row is judged by the suite of the run it came from (``row["run_dir"]``).
    """
    rows = list(rows)
    if all_stored:
        return rows, ""
    judges = {str(getattr(run, "directory", "")): in_suite(run) for run in runs}
    kept, hidden = [], set()
    for row in rows:
        judge = judges.get(str(row.get("run_dir", "")))
        if judge is None or judge(row):
            kept.append(row)
        else:
            hidden.add((str(row.get("dataset")), str(row.get("config_id"))))
    if not hidden:
        return kept, ""
    return kept, (f"{len(hidden)} stored configuration(s) not in the current suite are not shown "
                  "(--all-stored shows every stored configuration)")


# --- Ties with #1 ----------------------------------------------------------------------------


def paired_test(a: Sequence[float], b: Sequence[float],
                test_train_ratio: float | None = None) -> tuple[float | None, str, str]:
    """Two-sided paired test of fold means ``a`` against ``b`` (:mod:`benchmark.stats`, the tests
    ``bench compare`` uses): ``(p, "", test)`` or ``(None, reason, test)``.

    One partition into folds: Student's paired t. Folds from several partitions (repeated CV,
    ``test_train_ratio`` given): the Nadeau–Bengio corrected t, since such folds share training
    data and the plain t is far too confident.
    """
    from benchmark import stats

    differences = [x - y for x, y in zip(a, b)]
    result = stats.paired_t(differences) if test_train_ratio is None else \
        stats.nadeau_bengio(differences, test_train_ratio)
    return result.p, result.reason, result.test


def _ties(ranked: list[Line], metrics: Mapping[str, list[str]], alpha: float) -> None:
    """Mark each ranked line tied with #1 or not, from a paired test over the folds they share,
    Holm-adjusted over the lines of the group."""
    from benchmark import stats

    if len(ranked) < 2:
        return
    primary = _primary(ranked[0], metrics)
    if primary is None:
        return
    first = ranked[0].fold_means(primary)
    tested: list[tuple[Line, float]] = []
    for line in ranked[1:]:
        means = line.fold_means(primary)
        shared = sorted(set(first) & set(means))
        repeated = line.units > line.folds or ranked[0].units > ranked[0].folds
        ratios = line.test_train + ranked[0].test_train
        ratio = math.fsum(ratios) / len(ratios) if repeated and ratios else (math.nan if repeated else None)
        p, reason, line.tie_test = paired_test([means[f] for f in shared], [first[f] for f in shared], ratio)
        if p is not None:
            tested.append((line, p))
        elif shared and all(means[f] == first[f] for f in shared):
            line.tie, line.p_vs_first = "tied", None  # identical on every shared fold
        else:
            line.tie, line.p_vs_first = f"untested: {reason}", None
    for (line, _), (adjusted, _level) in zip(tested, stats.holm([p for _, p in tested], alpha)):
        line.p_vs_first = adjusted
        line.tie = "tied" if adjusted is None or adjusted >= alpha else "different"


# --- Labels ------------------------------------------------------------------------------------


def shell_friendly(label: str) -> bool:
    return bool(SHELL_FRIENDLY.match(label))


def alias(label: str, length: int = 6) -> str:
    """The alias of a label: ``m`` and the first ``length`` hex digits of its hash.

    Derived from the label alone, so the same label has the same alias in every view — the
    leaderboard.md of a run, ``bench leaderboard`` of several runs, ``bench compare --rows``
    long after more configurations were stored — which a numbering (m1, m2...) could not
    promise: adding one configuration would renumber the rest.
    """
    return "m" + stable_hash(label, length)


def aliases(labels: Iterable[str]) -> dict[str, str]:
    """``{label: alias}`` for the labels a shell would need quoted. Two labels whose short
    aliases collide both get the 12-digit one; an alias never equals a label."""
    labels = set(labels)
    wanted = sorted(label for label in labels if not shell_friendly(label))
    short: dict[str, list[str]] = {}
    for label in wanted:
        short.setdefault(alias(label), []).append(label)
    out: dict[str, str] = {}
    for name, owners in short.items():
        for label in owners:
            out[label] = name if len(owners) == 1 and name not in labels else alias(label, 12)
    return out


def assign_aliases(lines: Sequence[Line]) -> None:
    names = aliases(line.model for line in lines)
    for line in lines:
        line.alias = names.get(line.model, "")


def resolve_label(label: str, lines: Sequence[Any], where: str = "--rows") -> Any:
    """The line (or label, for a list of strings) that ``label`` names: a label, an alias shown
    in the leaderboard, or a unique prefix (4+ characters) of a configuration id.

    Raises :class:`BenchError` listing the valid labels (with their aliases), closest first,
    located at ``where``. For ``bench compare --rows`` / ``--baseline``.
    """
    labels = [item if isinstance(item, str) else item.model for item in lines]
    names = aliases(labels)
    for item, name in zip(lines, labels):
        if label == name or (label == names.get(name)):
            return item
    if len(label) >= 4:
        matches = {getattr(item, "config_id", ""): item for item in lines
                   if getattr(item, "config_id", "").startswith(label)}
        if len(matches) == 1:
            return next(iter(matches.values()))
    distinct = list(dict.fromkeys(labels))
    close = difflib.get_close_matches(label, distinct + list(names.values()), n=len(distinct) + len(names),
                                      cutoff=0.0)
    ordered = list(dict.fromkeys(next((n for n, a in names.items() if a == c), c) for c in close))
    ordered += [name for name in distinct if name not in ordered]
    shown = [f"{name} ({names[name]})" if name in names else name for name in ordered]
    listing = ", ".join(shown[:20]) + (f" and {len(shown) - 20} more" if len(shown) > 20 else "")
    hint = did_you_mean(label, distinct)
    hint = f"{hint} " if hint else ""
    raise BenchError(f"no configuration labelled {label!r}; {hint}valid (closest first): {listing or 'none'}",
                     where)


# --- Output ------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def mean_std(line: Line, metric: str) -> str:
    """``mean ± s.d. over folds`` (``—`` for a single fold)."""
    mean = line.mean(metric)
    if mean is None:
        return ""
    std = line.std(metric)
    return f"{mean:#.4g} ± {NONE if std is None else f'{std:#.2g}'}"


def vs_first(line: Line) -> str:
    """The "vs #1" cell: ``#1``, ``tied (p 0.41)``, ``worse (p 0.003)``, ``untested: ...`` or empty."""
    if line.rank == 1:
        return "#1"
    if line.tie == "tied" and line.p_vs_first is None:
        return "tied (identical)"
    if line.tie in ("tied", "different") and line.p_vs_first is not None:
        test = " NB" if line.tie_test == "nb" else ""
        return f"{'tied' if line.tie == 'tied' else 'worse'} (p{test} {line.p_vs_first:.2g})"
    return line.tie.split(":")[0] if line.tie.startswith("untested") else line.tie


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
    untested = sorted({line.tie.split(": ", 1)[1] for line in lines if line.tie.startswith("untested: ")})
    if untested and not any(line.tie and not line.tie.startswith("untested") for line in lines):
        notes.append("vs #1: no line could be tested against #1 (" + "; ".join(untested) + ")"
                     + ("; bench compare --test units pairs the users or examples of a single split"
                        if any(r.startswith("n = 1") for r in untested) else "") + ".")
    elif any(line.tie for line in lines):
        nb = any(line.tie_test == "nb" for line in lines)
        notes.append("vs #1: paired t-test of fold means over the folds shared with #1"
                     + (" (NB: Nadeau–Bengio corrected, for folds of several partitions)" if nb else "")
                     + f", Holm-adjusted over the lines of the table; tied = no significant difference at "
                     f"α = {alpha:g}; worse = significantly worse than #1"
                     + (f"; untested: {'; '.join(untested)}" if untested else "") + ".")
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


def by_table(lines: Iterable[Line]) -> dict[tuple[str, str], list[Line]]:
    """``{(dataset label, task): lines}`` in first-seen order: one table, one ranking each.

    A dataset label alone is not enough: two runs may use one label for a rating and a ranking
    task, whose lines share no metric and must not be ranked or shown together."""
    out: dict[tuple[str, str], list[Line]] = {}
    for line in lines:
        out.setdefault((line.dataset, line.task), []).append(line)
    return out


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


# --- From a loaded result set ------------------------------------------------------------------


@dataclass
class Board:
    """A leaderboard made from a result set: its lines, the metrics per task, the rows it was
    made from (scoped) and the scope note."""

    lines: list[Line]
    metrics: dict[str, list[str]]
    rows: list[Mapping[str, Any]]
    note: str


def board(loaded: Any, force: bool = False, all_stored: bool = False, alpha: float = ALPHA) -> Board:
    """The leaderboard of a :class:`benchmark.resultset.ResultSet`: its rows scoped to the runs'
    current suites (unless ``all_stored``), directions from the rows, completeness judged by
    what the runs' runners planned (:class:`Plan`) where they recorded it."""
    from benchmark.resultset import metrics_by_task

    rows, note = scope(loaded.runs, loaded.rows, all_stored)
    metrics = metrics_by_task(loaded.runs, rows)
    plan = Plan.of(_still_tuned((getattr(run, "environment", None) or {}).get(PLANNED), run) for run in loaded.runs)
    lines = build(rows, metrics, loaded.directions([m for names in metrics.values() for m in names]),
                  force=force, alpha=alpha, merged=True, plan=plan)
    return Board(lines, metrics, rows, note)


def from_results(loaded: Any, force: bool = False, all_stored: bool = False,
                 alpha: float = ALPHA) -> tuple[list[Line], dict[str, list[str]], str]:
    """``(lines, metrics, scope note)``: :func:`board` as a tuple."""
    made = board(loaded, force, all_stored, alpha)
    return made.lines, made.metrics, made.note


def show(loaded: Any, fmt: str = "simple", force: bool = False, all_stored: bool = False) -> str:
    """``bench leaderboard``'s output: the tables (``fmt`` ``simple``/``github``, with the scope
    note under them) or the CSV (``fmt`` ``csv``; nothing but the table)."""
    lines, metrics, note = from_results(loaded, force, all_stored)
    if fmt == "csv":
        return to_csv(lines, metrics)
    return render(lines, metrics, fmt) + (f"\n{note}\n" if note else "")
