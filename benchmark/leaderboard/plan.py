"""What a run's runner planned, recorded in its ``environment.json`` and read back as the
yardstick of a leaderboard line's completeness.

**What was planned.** A run's ``environment.json`` records what its runner planned
(:func:`planned`); with it (:class:`Plan`) a line is complete only with a result on every
planned fold and seed — ``incomplete (2/9 folds)`` after a Ctrl-C, n from the plan, not from
the folds that happen to be stored — and a planned configuration with no row is listed
``no results yet``. A tuned model's line is in the record too (its refits' configuration is
known before the trials choose), so a run stopped during its trials lists it ``no results yet``
with its ``tuned: …`` note. Runs stored without the record are judged by their stored folds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmark.leaderboard.lines import Line, protocol
from benchmark.record import Cell, Trial
from benchmark.resultset import Run, tuning_note
from benchmark.scoping import PLANNED, experiment_key, suite_tunes, tune_key

def planned(cells: Iterable[Cell], seeds: Iterable[int], refits: Iterable[Cell] = ()) -> dict[str, Any]:
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
    cells = list(cells)
    keys = sorted({experiment_key(c.dataset_checksum, c.split, c.split_params, c.config_id) for c in cells})
    tables: dict[tuple[str, str, str, str], _PlannedTable] = {}
    configurations: dict[str, list[Any]] = {}
    for c in [*cells, *refits]:
        where = protocol(c.split, c.split_params)
        table = tables.setdefault((c.dataset, c.task, c.dataset_checksum, where),
                                  _PlannedTable(c.dataset, c.task, c.dataset_checksum, c.split,
                                                {k: v for k, v in c.split_params.items() if k != "seed"}))
        if isinstance(c.tuning, Trial):
            # a trial's fold is an inner split: its outer fold is the one its tuned line is scored on
            table.folds.add((str(c.tuning.outer_fingerprint), c.seed))
            continue
        table.folds.add((c.fingerprint, c.seed))
        table.configurations.add(c.config_id)
        configurations[c.config_id] = [c.model, dict(c.config)]
        note = tuning_note(c)
        if note:
            table.tuned[c.config_id] = note
    return {PLANNED: {"experiments": [json.loads(key) for key in keys], "seeds": sorted(set(seeds)),
                      "tables": [table.to_json() for table in tables.values()],
                      "configurations": configurations}}


@dataclass
class _PlannedTable:
    """One (dataset entry, task, data, split protocol) of a plan record as it is gathered."""

    dataset: str
    task: str
    checksum: str
    split: str
    split_params: dict[str, Any]  # without the seed
    folds: set[tuple[str, int]] = field(default_factory=set)  # (fold fingerprint, seed)
    configurations: set[str] = field(default_factory=set)
    tuned: dict[str, str] = field(default_factory=dict)  # config id -> tuning note

    def to_json(self) -> dict[str, Any]:
        """The table as the record stores it (keys in this order, lists sorted)."""
        return {"dataset": self.dataset, "task": self.task, "checksum": self.checksum, "split": self.split,
                "split_params": self.split_params, "folds": sorted(map(list, self.folds)),
                "configurations": sorted(self.configurations), "tuned": self.tuned}


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

    @classmethod
    def of_runs(cls, runs: Iterable[Run]) -> Plan | None:
        """The union of the runs' ``planned`` records, each less the tuned configurations its
        run's stored suite no longer tunes alike (:func:`benchmark.scoping.in_suite` leaves out
        their refits, so they are not planned lines either)."""
        plan = cls()
        for run in runs:
            record = run.environment.get(PLANNED)
            if isinstance(record, Mapping) and isinstance(record.get("tables"), list):
                plan._add(record, suite_tunes(run.suite_data))
        return plan if plan.tables else None

    def _add(self, record: Mapping[str, Any], tunes: set[Any] | None = None) -> None:
        """Add one record; with ``tunes`` (the stored suite's ``tune:`` blocks) a tuned
        configuration tuned otherwise now is left out of its tables."""
        labels = record.get("configurations")
        for config_id, entry in (labels.items() if isinstance(labels, Mapping) else ()):
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], Mapping):
                self.labels[str(config_id)] = (str(entry[0]), dict(entry[1]))

        def gone(config_id: Any) -> bool:
            if tunes is None or not isinstance(labels, Mapping):
                return False
            entry = labels.get(config_id)
            config = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
            return isinstance(config, Mapping) and "tune" in config and tune_key(config["tune"]) not in tunes

        for table in record["tables"]:
            if not isinstance(table, Mapping) or not isinstance(table.get("folds"), list) \
                    or not isinstance(table.get("configurations"), list):
                continue
            where = (str(table.get("checksum", "")), protocol(table.get("split", ""), table.get("split_params")))
            self.units.setdefault(where, set()).update(
                (str(f[0]), f[1]) for f in table["folds"] if isinstance(f, list) and len(f) == 2)
            ids = [str(i) for i in table["configurations"] if not gone(i)]
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
        for dataset, task, checksum, split_protocol, ids in self.tables:
            split = json.loads(split_protocol)[0]
            for config_id in ids:
                if (checksum, split_protocol, config_id) in have:
                    continue
                have.add((checksum, split_protocol, config_id))
                label, config = self.labels.get(config_id, (config_id[:8], {}))
                out.append(Line(dataset, task, label, config, config_id=config_id, dataset_checksum=checksum,
                                split=split, protocol=split_protocol, tuned=self.tuned.get(config_id, "")))
        return out
