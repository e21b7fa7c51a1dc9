"""Ranking leaderboard lines: comparison groups, completeness, order and ties with #1.

**Lines are ranked only on the folds they share.** Lines of one table — one dataset label and
one task (:func:`benchmark.leaderboard.lines.by_table`: a rating and a ranking run on one label share no
metric) — form a *comparison group* when they used the same data (checksum) and overlapping
folds. In a group, the folds that count are those on which any line has a result for the
ranking metric; a line that lacks one of them (a failed cell, a run stopped by Ctrl-C, a missing
metric) is marked ``incomplete (k/n folds)`` and left unranked, below the ranked ones — never
ranked on fewer folds than the others. Lines that share no fold with the main group (another
split seed, another protocol, other data) form their own group, ranked within it and marked,
unless ``force=True`` ranks every line of a table together (still marked). A line planned by
the run's runner (:class:`benchmark.leaderboard.plan.Plan`) is complete only with every planned fold and seed.

**vs #1.** #1 is the best-looking of k noisy lines, so its lead over each other line is biased
away from 0: a paired test per line, even Holm-adjusted, marked truly equal lines worse than #1
in 7 %, 12 % and 15 % of worlds with 5, 10 and 20 lines (issue 26). The ranked lines are compared
with #1 together (:func:`benchmark.best_line.compare_with_best`: the studentized range over the lines
× folds layout of fold means, seeds averaged first; the Nadeau–Bengio factor under repeated CV),
so that with all lines equal some line is marked ``worse`` in at most ``alpha`` of worlds
(``benchmarks/calibration_best.py``). A line not significantly worse is ``not significantly
different`` from #1 — which is not a proof of equality. A zero-variance layout or fewer than two
folds give no verdict, with the reason.

Linear in the number of lines (union-find on folds; one sort per group).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from benchmark.leaderboard.lines import NOT_STARTED, Line, by_table

ALPHA = 0.05
NOT_DIFFERENT = "not significantly different"  # from #1 (``Line.tie``)
WORSE = "worse"
IDENTICAL = "identical"  # equal to #1 on every fold


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


def rank(lines: list[Line], metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool],
         force: bool = False, alpha: float = ALPHA) -> list[Line]:
    """``lines`` ranked per table and comparison group, the ranked lines of each group first;
    sets each line's ``rank``, ``group``, ``note``, ``complete``, ``expected_folds`` and its tie
    with #1. ``metrics`` is ``{task: [metric, ...]}`` (the first ranks)."""
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
            for place, line in enumerate(rankable, 1):
                line.rank = place
            for line in rest:
                line.rank = None
            _ties(rankable, metrics, alpha, greater_is_better)
            for line in rest:
                if rankable:
                    put_on_first_folds(line, rankable[0])
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


def _order(line: Line, metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool]) -> tuple[int, float, str]:
    primary = _primary(line, metrics)
    value = line.on_first_folds.get(primary or "", line.mean(primary) if primary else None)
    if value is None:
        return (1, 0.0, line.model)
    return (0, -value if greater_is_better.get(primary or "") else value, line.model)


# --- Ties with #1 ----------------------------------------------------------------------------


def _ties(ranked: list[Line], metrics: Mapping[str, list[str]], alpha: float,
          greater_is_better: Mapping[str, bool] | None = None) -> None:
    """Mark each ranked line ``worse`` than #1 or ``not significantly different``, adjusted for
    #1 having been chosen as the best (:func:`benchmark.best_line.compare_with_best`: the studentized
    range over the lines × folds layout; with all lines truly equal, any "worse" mark in at most
    ``alpha`` of worlds). The family is #1 and every ranked line with a value on each of #1's
    folds; a line lacking some is ``untested`` with the reason."""
    from benchmark.best_line import compare_with_best

    if len(ranked) < 2:
        return
    primary = _primary(ranked[0], metrics)
    if primary is None:
        return
    first = ranked[0].fold_means(primary)
    folds = sorted(first)
    family = [ranked[0]]
    for line in ranked[1:]:
        means = line.fold_means(primary)
        if all(fold in means for fold in folds):
            family.append(line)
        else:
            shared = sum(fold in means for fold in folds)
            line.tie, line.p_vs_first = f"untested: shares {shared} of the {len(folds)} folds of #1", None
    if len(family) < 2:
        return
    layout = [[line.fold_means(primary)[fold] for fold in folds] for line in family]
    repeated = any(line.units > line.folds for line in family)
    ratios = [r for line in family for r in line.test_train]
    ratio = (math.fsum(ratios) / len(ratios) if ratios else math.nan) if repeated else None
    greater = bool((greater_is_better or {}).get(primary, False))
    result = compare_with_best(layout, greater, ratio, alpha, best=0)
    for line, p, row in zip(family[1:], result.p[1:], layout[1:]):
        line.tie_test = "nb" if result.method == "tukey-nb" else "t"
        line.p_vs_first, line.p_floor = p, result.floor
        if row == layout[0]:
            line.tie, line.p_vs_first = IDENTICAL, None
        elif p is None:
            line.tie = f"untested: {result.reason}"
        else:
            line.tie = NOT_DIFFERENT if p >= alpha else WORSE


# --- An unranked line on #1's folds --------------------------------------------------------


def put_on_first_folds(line: Line, first: Line) -> None:
    """Set ``line.on_first_folds`` (per metric, the line's mean put on ``first``'s folds) and
    ``line.shared_folds`` when the line lacks some of ``first``'s folds and shares at least one."""
    line.on_first_folds = {}
    for metric in line.fold_values:
        mine, theirs = line.fold_means(metric), first.fold_means(metric)
        shared = [fold for fold in theirs if fold in mine]
        if not shared or len(shared) == len(theirs):
            continue
        difference = math.fsum(mine[fold] - theirs[fold] for fold in shared) / len(shared)
        line.on_first_folds[metric] = math.fsum(theirs.values()) / len(theirs) + difference
        line.shared_folds = len(shared)
