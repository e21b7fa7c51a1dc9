"""A comparison shown: the terminal and Markdown tables with their notes, ``--all``'s letters
table, and the CSV and JSON records (:data:`COLUMNS`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from typing import Any

from benchmark.compare.letters import letters_table as letters_table
from benchmark.compare.rows import NONE, NOTHING, SAME, Comparison, Row, is_empty

TEST_NAMES = {"t": "paired t-test over folds", "nb": "Nadeau–Bengio corrected resampled t-test",
              "permutation": "exact sign-flip permutation test over folds",
              "units": "paired bootstrap over units (one fold: conditional on the fitted models; several: drawn "
                       "jointly across folds, t over folds widened by the users they share)",
              "bayes": "Bayesian correlated t-test over folds (Corani & Benavoli 2015; signed-rank test over "
                       "datasets, Benavoli et al. 2017)"}

COLUMNS = ["dataset", "metric", "a", "b", "n", "delta", "ci_low", "ci_high", "p", "test", "verdict",
           "model", "config_id", "task", "greater_is_better", "a_mean", "b_mean", "relative_delta",
           "p_unadjusted", "ci_level", "folds", "seeds_averaged", "units", "reason", "prob_better",
           "prob_equivalent", "prob_worse", "rope", "changed"]
"""``--format csv|json``: one record per comparison; ``p`` is Holm-adjusted when the family has
several rows (``p_unadjusted`` is the test's own), ``ci_low``/``ci_high`` the interval at
``ci_level`` (the Holm step level or ``1 − alpha``), ``n`` the folds (or, for ``units``, the
unit–fold pairs: 943 users on 5 folds are 4,715; for the Bayesian row over datasets, the
datasets). ``prob_better``/``prob_equivalent``/``prob_worse`` (``--test bayes``): the posterior
probabilities that B is better than A by more than ``rope``, within it, or worse (in the
metric's direction); ``changed``: the parameters that differ between the paired configurations."""


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def records(comparison: Comparison) -> list[dict[str, Any]]:
    out = []
    for r in comparison.rows:
        a, b = (r.a_label, r.b_label) if comparison.by in ("rows", "all", "baseline") else \
            (comparison.a_name, comparison.b_name)
        units = r.result.n if r.result is not None and r.test == "units" else None
        out.append({"dataset": r.dataset, "metric": r.metric, "a": a, "b": b, "n": units or r.n,
                    "delta": _num(r.delta), "ci_low": None if r.ci is None else _num(r.ci[0]),
                    "ci_high": None if r.ci is None else _num(r.ci[1]), "p": r.p_adjusted, "test": r.test,
                    "verdict": r.verdict, "model": r.model, "config_id": r.config_id, "task": r.task,
                    "greater_is_better": r.greater_is_better, "a_mean": _num(r.mean_a), "b_mean": _num(r.mean_b),
                    "relative_delta": r.relative, "p_unadjusted": r.p,
                    "ci_level": None if r.ci is None else 1 - r.level, "folds": r.n, "seeds_averaged": r.seeds[1],
                    "units": units, "reason": r.reason, **_probabilities(r),
                    "rope": r.rope if r.test == "bayes" else None, "changed": "; ".join(r.changed) or None})
    return out


def _probabilities(row: Row) -> dict[str, float | None]:
    probs = row.probabilities
    names = ("prob_better", "prob_equivalent", "prob_worse")
    return dict(zip(names, probs if probs is not None else (None, None, None)))


def _g(value: float | None, digits: int = 4) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:#.{digits}g}"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<1e-4" if value < 1e-4 else f"{value:.4f}"


def _ci(row: Row) -> str:
    if row.ci is None:
        return ""
    low, high = row.ci
    return f"[{low:+.4g}, {high:+.4g}]"


def headers(comparison: Comparison) -> list[str]:
    ci = "CI of Δ (Holm step level)" if comparison.holm else f"{1 - comparison.alpha:.0%} CI of Δ"
    return ["dataset", "model", "metric", "n", "A", "B", "Δ", "rel Δ", ci, "p" + (" (Holm)" if comparison.holm else ""),
            "test", "verdict"]


def table(comparison: Comparison) -> list[list[str]]:
    out = []
    for row in comparison.rows:
        arrow = "↑" if row.greater_is_better else "↓"
        rel = row.relative
        verdict = row.verdict if row.verdict != NONE else f"{NONE}: {row.reason}"
        if row.verdict == SAME and row.reason:
            verdict += f" ({row.reason})"
        if row.probabilities is not None:
            better, equivalent, worse = row.probabilities
            verdict += f" (P better {better:.3f}, equivalent {equivalent:.3f}, worse {worse:.3f})"
        out.append([row.dataset, row.model, f"{row.metric} {arrow}", row.size(), _g(row.mean_a), _g(row.mean_b),
                    "" if not math.isfinite(row.delta) else f"{row.delta:+.4g}",
                    "" if rel is None else f"{rel:+.2%}", _ci(row), _p(row.p_adjusted), row.test, verdict])
    return out


def notes(comparison: Comparison) -> list[str]:
    """The sentences above a comparison table: what was compared, how cells were paired, which
    test decided and how its p-values and intervals were adjusted."""
    c = comparison
    seen_changes: set[tuple[str, tuple[str, ...]]] = set()
    if c.by in ("all", "baseline"):
        out = [f"configurations compared: {'every pair' if c.by == 'all' else 'each against ' + c.a_name}"]
    else:
        out = [f"A: {c.a_name}", f"B: {c.b_name}"]
    out.append("Δ = B − A over folds paired by (dataset checksum, split fingerprint, fold"
                 + ("" if c.ignore_seed else ", seed")
                 + (")" if c.by in ("rows", "all", "baseline")
                    else f", {'label' if c.by == 'label' else 'configuration'})")
                 + "; each fold's seeds averaged before the test"
                 + (" (each side's own seeds: --ignore-seed)" if c.ignore_seed else ""))
    used = sorted({row.test for row in c.rows if row.test})
    out.append("verdict from the " + "; ".join(f"{TEST_NAMES[t]} ({t})" for t in used) + f" at alpha {c.alpha:g}"
                 + ("" if c.test != "auto" else " (chosen per row: --test auto)")
                 + "; ↓ lower is better, ↑ greater is better" if used else "no row could be tested")
    if c.test == "bayes" and c.rope is not None:
        out.append(f"ROPE ±{c.rope:g}: a verdict needs a posterior probability of at least {1 - c.alpha:.0%} "
                   "(better / worse by more than the ROPE, or practically equivalent: within it); the interval "
                   "is the central credible interval; no p-values, nothing to adjust")
    for row in c.rows:
        if row.changed and row.over == "fold" and (row.model, row.changed) not in seen_changes:
            seen_changes.add((row.model, row.changed))
            out.append(f"paired by model: {row.model}; changed: {', '.join(row.changed)}")
    out += [f"warning: {w}" for w in c.warnings]
    if c.holm:
        metrics = sorted({row.metric for row in c.tested()})
        across = f" ({len(metrics)} metrics: {', '.join(metrics)}, one family)" if len(metrics) > 1 else ""
        out.append(f"p-values Holm-corrected across the {len(c.tested())} tested rows{across}; each CI is the test's own "
                     "interval at the row's Holm step level, so it excludes 0 exactly when the verdict is "
                     f"significant; it covers its Δ at least {1 - c.alpha:.0%} of the time (never narrower than "
                     "the per-pair interval) but is not a simultaneous band over the rows")
    elif c.tested():
        out.append(f"one tested row: p and the {1 - c.alpha:.0%} CI are unadjusted")
    return out


def unpaired_lines(comparison: Comparison) -> list[str]:
    """One line per (side, dataset, label, reason) of the cells that found no partner, counted."""
    counts = Counter((u.side, u.dataset, u.model, u.reason) for u in comparison.unpaired)
    return [f"{n} cell{'s' if n > 1 else ''} of {model} on {dataset} only in {side}: {reason}"
            for (side, dataset, model, reason), n in sorted(counts.items())]


def render(comparison: Comparison, fmt: str = "simple") -> str:
    """The comparison as text: ``simple`` (terminal), ``github`` (Markdown), ``csv``, ``json``."""
    if fmt == "json":
        return json.dumps(records(comparison), indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for record in records(comparison):
            writer.writerow({k: _csv(v) for k, v in record.items()})
        return buffer.getvalue()
    from tabulate import tabulate

    body = tabulate(table(comparison), headers=headers(comparison), tablefmt=fmt, disable_numparse=True) \
        if comparison.rows else NOTHING if is_empty(comparison) else "\n".join(["no paired cells"] + comparison.hints)
    if comparison.by == "all" and comparison.rows:
        body = letters_table(comparison, fmt) + "\n\n" + body
    unpaired = unpaired_lines(comparison)
    if fmt == "github":
        parts = ["\n".join(f"- {n}" for n in notes(comparison)), body]
        if not is_empty(comparison):
            parts.append("### Not paired\n\n" + "\n".join(f"- {u}" for u in unpaired) if unpaired
                         else "every cell was paired")
        if comparison.version_changes:
            parts.append("### Versions that differ\n\n" + "\n".join(f"- {v}" for v in comparison.version_changes))
        return "\n\n".join(parts) + "\n"
    parts = ["\n".join(notes(comparison)), body]
    if not is_empty(comparison):
        parts.append("not paired:\n" + "\n".join(f"  {u}" for u in unpaired) if unpaired else "every cell was paired")
    if comparison.version_changes:
        parts.append("versions that differ:\n" + "\n".join(f"  {v}" for v in comparison.version_changes))
    elif comparison.by in ("config", "label"):
        parts.append("plugin and library versions: the same in A and B")
    return "\n\n".join(parts) + "\n"



def stderr_notes(comparison: Comparison) -> str:
    """What CSV/JSON output cannot carry: the unpaired cells and the version changes."""
    lines = [f"not paired: {u}" for u in unpaired_lines(comparison)]
    lines += [f"versions differ: {v}" for v in comparison.version_changes]
    lines += [f"warning: {w}" for w in comparison.warnings]
    lines += comparison.hints if not comparison.rows else []
    return "".join(f"bench: {line}\n" for line in lines)


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (bool, int)):
        return str(value)
    from benchmark.csvsafe import csv_text

    return str(csv_text(str(value)))
