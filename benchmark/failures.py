"""What failed in a run, said where the user looks: at the end of ``bench run``'s output.

A failed cell's reason is one line in the progress display, but its traceback used to live only
in ``cells.jsonl``, so a newcomer whose model raised saw ``ERROR: ValueError: ...`` scroll past
and had to dig a JSON file for the line that raised. :func:`failure_summary` is the block the
runner prints after the leaderboard: every failure with the last lines of its traceback (the
frame that raised and the exception), the whole traceback with ``-v``, and the metrics that
could not be computed for cells that otherwise succeeded.

Cells failing the same way (same dataset, model configuration, status and error — typically
every fold of one configuration) are one entry naming their folds, so five folds of a broken
model cost five lines, not five tracebacks. The cell ids are printed so the full record can be
found in ``cells.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from benchmark.record import CellResult

TAIL_LINES = 3
"""Traceback lines shown per failure without ``-v``: usually the raising frame and the exception."""
MAX_ENTRIES = 20
"""Failure groups shown without ``-v``; the rest are counted in one line."""


NOISE = ("Extension modules: ",)
"""Log lines a short summary leaves out: faulthandler's list of every loaded extension module
(hundreds of characters) that ends a segfault's log."""


def _tail(text: str, lines: int | None) -> list[str]:
    kept = [line.rstrip() for line in text.strip("\n").splitlines() if line.strip()]
    if lines is None:
        return kept
    return [line for line in kept if not line.startswith(NOISE)][-lines:]


def _typed(row: CellResult | Mapping[str, Any]) -> CellResult:
    return row if isinstance(row, CellResult) else CellResult.from_stored(row)


def _evidence(result: CellResult) -> str:
    """The traceback, or for a crash/kill (no Python traceback) the end of the cell's log."""
    if isinstance(result.traceback, str) and result.traceback.strip():
        return result.traceback
    return result.log if isinstance(result.log, str) else ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _fold(result: CellResult) -> str:
    return str(result.fold_name or result.fold)


def _where(results: list[CellResult]) -> str:
    first = results[0]
    folds = ", ".join(_fold(result) for result in results)
    seeds = sorted({result.seed for result in results}, key=str)
    seed = f" seed {seeds[0]}" if len(seeds) == 1 and seeds[0] is not None else ""
    return f"{first.dataset} {first.model} (fold{'s' if len(results) > 1 else ''} {folds}{seed})"


def failure_summary(rows: Iterable[CellResult | Mapping[str, Any]], verbose: bool = False) -> str:
    """The failed cells and metric errors of ``rows`` (results, or stored rows), or ``""`` if none.

    Without ``verbose``: one entry per group of cells failing alike, with the last
    :data:`TAIL_LINES` lines of its traceback (for crashed or killed cells, of its log), at
    most :data:`MAX_ENTRIES` entries. With ``verbose``: every entry, every traceback in full.
    """
    groups: dict[tuple[Any, ...], list[CellResult]] = {}
    metric_errors: list[str] = []
    for result in map(_typed, rows):
        if result.status != "ok":
            key = (result.dataset, result.model, result.status, result.error)
            groups.setdefault(key, []).append(result)
        elif result.metric_errors:
            errors = "; ".join(f"{name}: {error}" for name, error in result.metric_errors.items())
            metric_errors.append(f"  {result.dataset} fold {_fold(result)} {result.model}: {errors}")
    lines: list[str] = []
    if groups:
        failed = sum(len(group) for group in groups.values())
        lines.append(f"{_plural(failed, 'failed cell')}:")
        shown = list(groups.items()) if verbose else list(groups.items())[:MAX_ENTRIES]
        for (_, _, status, error), group in shown:
            lines.append(f"  {str(status).upper()} {_where(group)}: {error}")
            ids = ", ".join(result.cell_id or "?" for result in group)
            lines.append(f"    cell{'s' if len(group) > 1 else ''} {ids} in cells.jsonl")
            evidence = _tail(_evidence(group[0]), None if verbose else TAIL_LINES)
            lines.extend(f"    | {line}" for line in evidence)
        if len(shown) < len(groups):
            lines.append(f"  ... and {_plural(len(groups) - len(shown), 'more failure')} (-v lists all)")
        if not verbose and any(_evidence(group[0]).strip() for group in groups.values()):
            lines.append(f"  (last {TAIL_LINES} lines of each traceback; -v shows them in full)")
    if metric_errors:
        lines.append(f"metric errors in {_plural(len(metric_errors), 'cell')}:")
        lines.extend(metric_errors if verbose else metric_errors[:MAX_ENTRIES])
        if not verbose and len(metric_errors) > MAX_ENTRIES:
            lines.append(f"  ... and {len(metric_errors) - MAX_ENTRIES} more (-v lists all)")
    return "\n".join(lines) + ("\n" if lines else "")
