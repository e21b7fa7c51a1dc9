"""What a leaderboard line's cells say about its standing, and the legend sentences for them:
the mean shown (for an unranked line, put on #1's folds) and the ``vs #1`` verdict.

Kept apart from :mod:`benchmark.leaderboard.tables` (the layout of the tables) because these are
statistical claims: each wording here is explained by a legend sentence here
(:func:`vs_first_notes`, :func:`shared_mean_note`), so a mark and its explanation change together.

**An unranked line's mean.** A line missing folds (a failed cell, a stopped run) has its mean
over the folds it has — which need not be as hard as the folds of the ranked lines: a line
that skipped its hardest fold looked as good as #1 (issue 26: 0.9422 against #1's 0.9419, yet
0.9457 when put on the same folds). Such a line shows ``#1's mean + its mean difference from #1
on the folds they share`` marked ``†``, its own-fold mean only beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.leaderboard.lines import NONE, Line
from benchmark.leaderboard.ranking import ALPHA, IDENTICAL, NOT_DIFFERENT, WORSE

SHARED_MARK = "†"


def p_text(p: float, floor: float = 0.0) -> str:
    """A p-value as printed: two significant digits, ``≤ floor`` when a resampling test's
    smallest attainable p was reached (the true p may be far smaller)."""
    if floor > 0 and p <= floor * (1 + 1e-9):
        return f"≤ {floor:.2g}"
    return f"{p:.2g}"


def mean_std(line: Line, metric: str) -> str:
    """``mean ± s.d. over folds`` (``—`` for a single fold); an unranked line put on #1's folds:
    ``0.9457† (own 0.9422 ± 0.0050)``."""
    mean = line.mean(metric)
    if mean is None:
        return ""
    std = line.std(metric)
    own = f"{mean:#.4g} ± {NONE if std is None else f'{std:#.2g}'}"
    shared = line.on_first_folds.get(metric)
    return own if shared is None else f"{shared:#.4g}{SHARED_MARK} (own {own})"


def vs_first(line: Line) -> str:
    """The "vs #1" cell: ``#1``, ``n.s. (p 0.41)``, ``worse (p 0.003)``, ``identical``,
    ``untested`` or empty (``NB``: under repeated CV, the Nadeau–Bengio factor)."""
    if line.rank == 1:
        return "#1"
    if line.tie == IDENTICAL:
        return "identical"
    if line.tie in (NOT_DIFFERENT, WORSE) and line.p_vs_first is not None:
        test = " NB" if line.tie_test == "nb" else ""
        return f"{'n.s.' if line.tie == NOT_DIFFERENT else 'worse'} (p{test} {p_text(line.p_vs_first, line.p_floor)})"
    return line.tie.split(":")[0] if line.tie.startswith("untested") else line.tie


def vs_first_notes(lines: Sequence[Line], alpha: float = ALPHA) -> list[str]:
    """The legend sentences of the ``vs #1`` column (none when no line has a verdict)."""
    untested = sorted({line.tie.split(": ", 1)[1] for line in lines if line.tie.startswith("untested: ")})
    if untested and not any(line.tie and not line.tie.startswith("untested") for line in lines):
        return ["vs #1: no line could be tested against #1 (" + "; ".join(untested) + ")"
                + ("; bench compare --test units pairs the users or examples of a single split"
                   if any(r.startswith("n = 1") for r in untested) else "") + "."]
    if not any(line.tie for line in lines):
        return []
    nb = any(line.tie_test == "nb" for line in lines)
    return ["vs #1: every ranked line against #1 at once, on their fold means over #1's folds, adjusted for #1 "
            "having been chosen as the best (Tukey's studentized range over the lines × folds, stepped down; "
            f"with all lines truly equal and alike in noise, a false 'worse' in at most {alpha:.0%} of tables)"
            + (" (NB: Nadeau–Bengio corrected, for folds of several partitions)" if nb else "")
            + f"; worse = significantly worse than #1 at α = {alpha:g}; n.s. = not significantly different "
            "from #1 (the folds cannot tell them apart; not a proof that they are equal)"
            + (f"; untested: {'; '.join(untested)}" if untested else "") + "."]


def shared_mean_note(lines: Sequence[Line]) -> list[str]:
    """The legend sentence for ``†`` (none when no line is marked)."""
    marked = [line for line in lines if line.on_first_folds]
    if not marked:
        return []
    counts = sorted({line.shared_folds for line in marked})
    return [f"{SHARED_MARK} an unranked line's mean put on #1's folds: #1's mean plus the line's mean difference "
            f"from #1 on the {'/'.join(map(str, counts))} fold(s) they share; 'own' is its mean over its own "
            "folds only, not comparable with the ranked lines."]
