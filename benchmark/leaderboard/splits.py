"""One split, one identity: spellings of a split that give the same folds are one protocol.

A leaderboard line is a (dataset, configuration, split protocol), and a protocol was the split's
*spelling* (its method and parameters, :func:`~benchmark.leaderboard.lines.protocol`). Two suites
that spell the u1–u5 folds of MovieLens differently (``folds: [u1, ..., u5]`` listed, or the
default) measured the same folds, yet their rows made two lines in ``bench leaderboard`` and
``bench report``. The folds' fingerprints decide instead: protocols of one dataset whose rows (or
whose planned folds, :class:`~benchmark.leaderboard.plan.Plan`) share a fold fingerprint are one
split, shown as one line under one spelling -- the plan's when a run planned it (so that its
completeness is judged against what it planned), else the first one met.

Stored rows and their cell ids are unchanged (a cell's id still holds its split as spelled):
only the readers' grouping changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmark.leaderboard.lines import protocol
from benchmark.leaderboard.plan import Plan
from benchmark.resultset import StoredResult

Where = tuple[str, str]
"""(dataset checksum, split protocol as spelled)."""


@dataclass
class SplitIdentity:
    """Which spelled protocols are one split (union by shared fold fingerprints, per dataset)."""

    _parent: dict[Where, Where] = field(default_factory=dict)
    _first: dict[tuple[str, str], Where] = field(default_factory=dict)  # (checksum, fingerprint)
    _planned: set[Where] = field(default_factory=set)

    def _root(self, where: Where) -> Where:
        self._parent.setdefault(where, where)
        while self._parent[where] != where:
            self._parent[where] = self._parent[self._parent[where]]
            where = self._parent[where]
        return where

    def _see(self, where: Where, fingerprint: str) -> None:
        root = self._root(where)
        if not fingerprint:
            return
        other = self._first.setdefault((where[0], fingerprint), where)
        other_root = self._root(other)
        if other_root == root:
            return
        # the root names the group: a planned spelling wins, else the one met first
        keep, drop = (other_root, root) if other_root in self._planned or root not in self._planned \
            else (root, other_root)
        self._parent[drop] = keep

    @classmethod
    def of(cls, rows: Iterable[StoredResult], plan: Plan | None) -> SplitIdentity:
        """The identity of the splits of ``rows`` and of ``plan``'s planned folds."""
        identity = cls()
        if plan is not None:
            identity._planned = set(plan.units)
            for where, units in plan.units.items():
                identity._root(where)
                for fingerprint, _seed in sorted(units):
                    identity._see(where, fingerprint)
        for r in rows:
            identity._see(identity.where(r), str(r.split_fingerprint or ""))
        return identity

    @staticmethod
    def where(r: StoredResult) -> Where:
        return str(r.dataset_checksum), protocol(r.split, r.split_params)

    def protocol(self, r: StoredResult) -> str:
        """The protocol ``r``'s line is keyed by: its split's, as the group spells it."""
        return self.canonical(self.where(r))[1]

    def distinct(self, rows: list[StoredResult]) -> list[StoredResult]:
        """``rows`` less those that measured an experiment another row measured under another
        spelling of its split (same data, fold, configuration, seed and task options): the one
        that finished last stays, as :func:`benchmark.resultset.latest` decides within one
        spelling, so two spellings never count one fold's result twice."""
        best: dict[tuple[object, ...], tuple[tuple[str, int], StoredResult]] = {}
        for index, r in enumerate(rows):
            e = r.experiment
            key = (e.dataset_checksum, self.protocol(r), e.fold, e.fingerprint, e.config_id, e.seed,
                   e.task_options, bool(r.tuning))
            order = (str(r.finished_at or ""), index)
            if key not in best or order >= best[key][0]:
                best[key] = (order, r)
        kept = {id(r) for _, r in best.values()}
        return [r for r in rows if id(r) in kept]

    def canonical(self, where: Where) -> Where:
        return self._root(where) if where in self._parent else where

    def plan(self, plan: Plan | None) -> Plan | None:
        """``plan`` with each planned table under its split's one spelling (two runs that
        planned one split under two spellings plan one line, not two)."""
        if plan is None:
            return None
        units: dict[Where, set[tuple[str, int]]] = {}
        configurations: dict[Where, set[str]] = {}
        for where, found in plan.units.items():
            units.setdefault(self.canonical(where), set()).update(found)
        for where, ids in plan.configurations.items():
            configurations.setdefault(self.canonical(where), set()).update(ids)
        tables = [(dataset, task, *self.canonical((checksum, spelled)), ids)
                  for dataset, task, checksum, spelled, ids in plan.tables]
        return dataclasses.replace(plan, units=units, configurations=configurations, tables=tables)
