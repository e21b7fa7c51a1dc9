"""``bench compare --all``'s letters: a compact letter display (Piepho 2004) per dataset and
metric, and the ranking over datasets.

Configurations that share a letter are not significantly different; two that share none are
(Holm over the family of every pair's test). This is the standard display of a family of pairwise
tests; the letters it replaces listed, per configuration, those it was "better than", which read
as a ranking it was not and said nothing about which ones could not be told apart (issue 26).

:func:`compact_letters` is Piepho's *insert-absorb* algorithm: start with one letter shared by
all; for each significantly different pair, split every letter held by both into two (one without
each member), then drop any letter whose holders are a subset of another's. It yields a correct
display (shared letter ⇔ not significantly different) for any set of pairs, transitive or not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from benchmark.compare.rows import BETTER, WORSE, Comparison, Row

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def compact_letters(names: Sequence[str], different: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{name: letters}``: names sharing a letter are not in ``different`` (pairs significantly
    different), names in a pair of ``different`` share none. ``names`` best first: the letters
    are ordered so that the best name's first letter is ``a``. Beyond 26 letters: ``a1``, ``b1``…"""
    columns: list[set[str]] = [set(names)]
    for a, b in different:
        if a == b:
            continue
        split: list[set[str]] = []
        for column in columns:
            if a in column and b in column:
                split += [column - {a}, column - {b}]
            else:
                split.append(column)
        columns = _absorbed(split)
    position = {name: i for i, name in enumerate(names)}
    columns.sort(key=lambda column: (min(position[n] for n in column), sorted(position[n] for n in column)))
    labels = [LETTERS[i % 26] + (str(i // 26) if i >= 26 else "") for i in range(len(columns))]
    return {name: "".join(label for label, column in zip(labels, columns) if name in column) for name in names}


def _absorbed(columns: list[set[str]]) -> list[set[str]]:
    """Columns with every empty one, duplicate and subset of another removed (the "absorb" step)."""
    unique: list[set[str]] = []
    for column in sorted(columns, key=len, reverse=True):
        if column and not any(column <= kept for kept in unique):
            unique.append(column)
    return unique


def letters_table(comparison: Comparison, fmt: str = "simple") -> str:
    """``--all``: per (dataset, metric) each configuration with its mean and its letters
    (:func:`compact_letters` from the rows' Holm-adjusted verdicts), then the ranking over
    datasets (Friedman, Nemenyi) when there are several."""
    from tabulate import tabulate

    from benchmark.leaderboard.marks import p_text

    blocks = []
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in comparison.rows:
        groups[(row.dataset, row.metric)].append(row)
    for (dataset, metric), rows in groups.items():
        means: dict[str, list[float]] = defaultdict(list)
        for row in rows:
            means[row.a_label].append(row.mean_a)
            means[row.b_label].append(row.mean_b)
        greater = rows[0].greater_is_better
        order = sorted(means, key=lambda m: (-1 if greater else 1) * max(means[m]))
        different = [(row.a_label, row.b_label) for row in rows if row.verdict in (BETTER, WORSE)]
        letters = compact_letters(order, different)
        body = [[model, f"{sum(means[model]) / len(means[model]):#.4g}", letters[model]] for model in order]
        arrow = "↑" if greater else "↓"
        blocks.append(f"{dataset}: {metric} {arrow} (configurations sharing a letter are not significantly "
                      f"different at alpha {comparison.alpha:g}, Holm over every pair; no shared letter: different)\n"
                      + tabulate(body, headers=["model", metric, "letters"], tablefmt=fmt, disable_numparse=True))
    for (task, metric), cd in comparison.ranking.items():
        ordered = sorted(cd.models, key=lambda m: cd.average_ranks[m])
        ranks = ", ".join(f"{m} {cd.average_ranks[m]:.2f}" for m in ordered)
        line = f"{task} {metric} over {len(cd.datasets)} datasets: average ranks {ranks}"
        if cd.cd is not None:
            friedman = (f"{p_text(cd.friedman_p, cd.friedman_floor)} ({cd.friedman_method})"
                        if cd.friedman_p is not None else f"— ({cd.friedman_reason})")
            line += f"; Friedman p = {friedman}; Nemenyi CD = {cd.cd:.2f} at alpha {cd.alpha:g}; "
            line += (f"no post-hoc claim: {cd.posthoc_reason}" if cd.posthoc_reason else
                     "not significantly different: " + ("; ".join(", ".join(g) for g in cd.cliques()) or "none"))
        else:
            line += f" ({cd.reason})"
        blocks.append(line)
    return "\n\n".join(blocks)
