"""Compare two results tables cell by cell: ``bench compare A B`` and ``bench compare RUN --rows X Y``.

Cells are **paired** by what makes two measurements comparable — the same data (dataset
checksum), the same rows (split fingerprint of the fold), the same fold and seed — and the same
configuration (``config_id``, seed excluded; ``by="label"`` pairs by model label instead;
``ignore_seed`` pairs a seed-0 run with a seed-1 rerun on the same fixed splits). The
code version is not part of the key: comparing across code versions ("did my change help?") is
the main use; the versions that differ are reported instead. Nothing is dropped silently:
every cell that found no partner is listed with the reason (different data, different split,
missing in one run, failed in one run).

Per (dataset, configuration): the metric's mean in A and in B over the paired cells, the mean
difference Δ = B − A, the relative Δ (Δ / mean A), a t-based 95% confidence interval of Δ, the
paired t-test and the Wilcoxon signed-rank test (scipy.stats) over the paired differences.
With several rows the p-values are Holm-corrected across rows. The verdict comes from the
corrected t-test p-value at ``alpha``, its direction from the metric (lower RMSE is better):
``better`` (B is better), ``worse``, or ``no significant difference``. Wilcoxon is shown as a
check that does not assume normal differences; with 5 folds its smallest two-sided p-value is
0.0625, so it alone could never call a 5-fold difference significant at 0.05.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmark.errors import BenchError
from benchmark.cells import configuration_id
from benchmark.resultset import Run, directions, primary_metrics

TOO_SMALL = "n too small"
BETTER, WORSE, SAME = "better", "worse", "no significant difference"


@dataclass
class Row:
    """One (dataset, configuration) comparison."""

    dataset: str
    task: str
    model: str  # label (B's when both have one)
    config_id: str
    metric: str
    greater_is_better: bool
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    t_p: float | None = None
    wilcoxon_p: float | None = None
    t_p_holm: float | None = None
    wilcoxon_p_holm: float | None = None
    ci: tuple[float, float] | None = None
    verdict: str = SAME

    @property
    def n(self) -> int:
        return len(self.a)

    @property
    def mean_a(self) -> float:
        return math.fsum(self.a) / self.n

    @property
    def mean_b(self) -> float:
        return math.fsum(self.b) / self.n

    @property
    def delta(self) -> float:
        return math.fsum(b - a for a, b in zip(self.a, self.b)) / self.n

    @property
    def relative(self) -> float | None:
        return self.delta / abs(self.mean_a) if self.mean_a else None

    def worse_by(self) -> float:
        """How much worse B is than A, in the metric's units (negative when B is better)."""
        return -self.delta if self.greater_is_better else self.delta


@dataclass
class Unpaired:
    side: str  # "A" or "B"
    dataset: str
    model: str
    fold: Any
    seed: Any
    reason: str


@dataclass
class Comparison:
    a_name: str
    b_name: str
    rows: list[Row]
    unpaired: list[Unpaired]
    version_changes: list[str]
    alpha: float
    by: str
    holm: bool
    ignore_seed: bool = False

    def regressions(self, threshold: float | None = None) -> list[Row]:
        """Rows significantly worse, or with ``threshold``: worse by more than it (|Δ|)."""
        if threshold is None:
            return [row for row in self.rows if row.verdict == WORSE]
        return [row for row in self.rows if row.worse_by() > threshold]


def _ok(row: Mapping[str, Any], metric: str | None) -> bool:
    return row.get("status") == "ok" and metric is not None and \
        (row.get("metrics") or {}).get(metric) is not None


def _ident(row: Mapping[str, Any], by: str) -> str:
    return str(row.get("model")) if by == "label" else configuration_id(row)


def _key(row: Mapping[str, Any], by: str | None, ignore_seed: bool = False) -> tuple:
    where = (row.get("dataset_checksum"), row.get("split_fingerprint"), row.get("fold"),
             None if ignore_seed else row.get("seed"))
    return where if by is None else where + (_ident(row, by),)


def _reason(row: Mapping[str, Any], others: list[Mapping[str, Any]], other: str, by: str | None,
            metric: str | None, ignore_seed: bool = False) -> str:
    """Why ``row`` found no partner among ``others`` (the other side's rows)."""
    if row.get("status") != "ok":
        return f"{row.get('status')} in {'B' if other == 'A' else 'A'}"
    if not _ok(row, metric):
        return f"no {metric} value"
    same_config = [o for o in others if by is None or _ident(o, by) == _ident(row, by)]
    if not same_config:
        return f"configuration missing in {other}"
    same_place = [o for o in same_config if o.get("dataset") == row.get("dataset")
                  or o.get("dataset_checksum") == row.get("dataset_checksum")]
    if same_place and not any(o.get("dataset_checksum") == row.get("dataset_checksum") for o in same_place):
        theirs = sorted({str(o.get("dataset_checksum"))[:8] for o in same_place})
        return f"different data (checksum {str(row.get('dataset_checksum'))[:8]} vs {', '.join(theirs)})"
    same_data = [o for o in same_config if o.get("dataset_checksum") == row.get("dataset_checksum")]
    if not same_data:
        return f"dataset missing in {other}"
    exact = [o for o in same_data if _key(o, by, ignore_seed) == _key(row, by, ignore_seed)]
    if exact:
        status = exact[0].get("status")
        return f"{status} in {other}" if status != "ok" else f"no {metric} value in {other}"
    if not ignore_seed and not any(o.get("seed") == row.get("seed") for o in same_data):
        return f"seed {row.get('seed')} missing in {other}"
    at_fold = [o for o in same_data if o.get("fold") == row.get("fold")
               and (ignore_seed or o.get("seed") == row.get("seed"))]
    if at_fold:
        return (f"different split (fold {row.get('fold_name') or row.get('fold')} fingerprint "
                f"{str(row.get('split_fingerprint'))[:8]} vs {str(at_fold[0].get('split_fingerprint'))[:8]})")
    return f"fold {row.get('fold_name') or row.get('fold')} seed {row.get('seed')} missing in {other}"


def _stats(row: Row) -> None:
    import numpy as np
    from scipy import stats

    diffs = np.array(row.b) - np.array(row.a)
    if row.n < 2:
        return
    if np.all(diffs == 0):
        row.t_p = row.wilcoxon_p = 1.0
        row.ci = (0.0, 0.0)
        return
    sd = float(np.std(diffs, ddof=1))
    half = float(stats.t.ppf(0.975, row.n - 1)) * sd / math.sqrt(row.n)
    row.ci = (row.delta - half, row.delta + half)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = stats.ttest_rel(row.b, row.a)
        row.t_p = float(t.pvalue) if not math.isnan(t.pvalue) else (0.0 if sd == 0 else None)
        try:
            row.wilcoxon_p = float(stats.wilcoxon(diffs).pvalue)
            if math.isnan(row.wilcoxon_p):
                row.wilcoxon_p = None
        except ValueError:
            row.wilcoxon_p = None


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down correction (``None`` entries are left out and stay ``None``)."""
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(present)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[index] = running
    return out


def pair(a_rows: Iterable[Mapping[str, Any]], b_rows: Iterable[Mapping[str, Any]], metric: str | None,
         primary: Mapping[str, str], gib: Mapping[str, bool], by: str | None,
         label_a: str = "", label_b: str = "", ignore_seed: bool = False) -> tuple[list[Row], list[Unpaired]]:
    """Pair A's cells with B's; ``by=None`` pairs any configuration (the ``--rows`` mode)."""
    a_rows, b_rows = list(a_rows), list(b_rows)

    def metric_of(row: Mapping[str, Any]) -> str | None:
        return metric or primary.get(row.get("task", ""))

    b_index = {_key(r, by, ignore_seed): r for r in b_rows if _ok(r, metric_of(r))}
    rows: dict[tuple[str, str], Row] = {}
    paired_b: set[int] = set()
    unpaired: list[Unpaired] = []
    for a in a_rows:
        name = metric_of(a)
        b = b_index.pop(_key(a, by, ignore_seed), None) if _ok(a, name) else None
        if b is None:
            unpaired.append(Unpaired("A", a.get("dataset", ""), str(a.get("model")), a.get("fold_name") or a.get("fold"),
                                     a.get("seed"), _reason(a, b_rows, "B", by, name, ignore_seed)))
            continue
        paired_b.add(id(b))
        ident = configuration_id(b) if by is not None else f"{label_a} → {label_b}"
        model = str(b.get("model")) if by is not None else f"{label_a} → {label_b}"
        key = (str(a.get("dataset")), ident if by != "label" else str(b.get("model")))
        assert name is not None
        row = rows.setdefault(key, Row(str(b.get("dataset")), str(a.get("task")), model,
                                       ident if by is not None else "", name, gib.get(name, False)))
        row.a.append(float(a["metrics"][name]))
        row.b.append(float(b["metrics"][name]))
    for b in b_rows:
        if id(b) not in paired_b:
            unpaired.append(Unpaired("B", b.get("dataset", ""), str(b.get("model")), b.get("fold_name") or b.get("fold"),
                                     b.get("seed"), _reason(b, a_rows, "A", by, metric_of(b), ignore_seed)))
    return list(rows.values()), unpaired


def version_changes(a: Run, b: Run) -> list[str]:
    """Plugin and library versions that differ between the two runs (from the cells and
    environment.json)."""
    def versions(run: Run) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        plugins: dict[str, set[str]] = defaultdict(set)
        libraries: dict[str, set[str]] = defaultdict(set)
        for row in run.rows:
            plugin = row.get("plugin") or {}
            if plugin.get("name"):
                plugins[plugin["name"]].add(f"{plugin.get('distribution', '?')} {plugin.get('version', '?')}")
            for name, version in (row.get("libraries") or {}).items():
                libraries[name].add(str(version))
        for name, version in (run.environment.get("packages") or {}).items():
            libraries[name].add(str(version))
        return plugins, libraries

    (pa, la), (pb, lb) = versions(a), versions(b)
    out = []
    for kind, x, y in (("plugin", pa, pb), ("library", la, lb)):
        for name in sorted(set(x) | set(y)):
            if x.get(name, set()) != y.get(name, set()):
                before = ", ".join(sorted(x.get(name, set()))) or "absent"
                after = ", ".join(sorted(y.get(name, set()))) or "absent"
                out.append(f"{kind} {name}: {before} (A) vs {after} (B)")
    return out


def compare(a: Run, b: Run | None = None, *, rows: tuple[str, str] | None = None, metric: str | None = None,
            alpha: float = 0.05, by: str = "config", ignore_seed: bool = False) -> Comparison:
    """Compare run ``a`` with run ``b``, or two configurations (labels) of ``a`` with ``rows``."""
    if not 0 < alpha < 1:
        raise BenchError(f"expected a level between 0 and 1, got {alpha}", "--alpha")
    runs = [a] if b is None else [a, b]
    primary = primary_metrics(runs)
    if metric is not None:
        present = {m for run in runs for r in run.rows for m in (r.get("metrics") or {})}
        if metric not in present:
            from difflib import get_close_matches

            close = get_close_matches(metric, sorted(present), 1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BenchError(f"no cell has the metric {metric!r} (metrics: {', '.join(sorted(present))}){hint}",
                             "--metric")
    names = [metric] if metric else list(primary.values())
    gib = directions(names, [r for run in runs for r in run.rows])
    if rows is not None:
        label_a, label_b = rows
        labels = list(dict.fromkeys(str(r.get("model")) for r in a.rows))
        for label in rows:
            if label not in labels:
                from difflib import get_close_matches

                close = get_close_matches(label, labels, 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise BenchError(f"no configuration labelled {label!r} in {a.directory}{hint}", "--rows")
        a_rows = [r for r in a.rows if r.get("model") == label_a]
        b_rows = [r for r in a.rows if r.get("model") == label_b]
        lines, unpaired = pair(a_rows, b_rows, metric, primary, gib, None, label_a, label_b, ignore_seed)
        a_name, b_name, changes = label_a, label_b, []
    else:
        assert b is not None
        lines, unpaired = pair(a.rows, b.rows, metric, primary, gib, by, ignore_seed=ignore_seed)
        a_name, b_name, changes = str(a.directory), str(b.directory), version_changes(a, b)
    for line in lines:
        _stats(line)
    corrected = len([line for line in lines if line.t_p is not None]) > 1
    for line, t, w in zip(lines, holm([l.t_p for l in lines]), holm([l.wilcoxon_p for l in lines])):
        line.t_p_holm, line.wilcoxon_p_holm = t, w
        if line.n < 2:
            line.verdict = TOO_SMALL
        elif t is not None and t < alpha and line.delta != 0:
            line.verdict = WORSE if line.worse_by() > 0 else BETTER
    lines.sort(key=lambda l: (l.dataset, l.model))
    return Comparison(a_name, b_name, lines, unpaired, changes, alpha, "rows" if rows else by, corrected,
                      ignore_seed)


# --- Output ---------------------------------------------------------------------------------

HEADERS = ["dataset", "model", "metric", "n", "A", "B", "Δ", "rel Δ", "95% CI of Δ", "t-test p",
           "Wilcoxon p", "verdict"]


def _g(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:#.{digits}g}"


def _p(value: float | None) -> str:
    if value is None:
        return TOO_SMALL
    return "<1e-4" if value < 1e-4 else f"{value:.4f}"


def table(comparison: Comparison) -> list[list[str]]:
    out = []
    for row in comparison.rows:
        arrow = "↑" if row.greater_is_better else "↓"
        rel = row.relative
        ci = "" if row.ci is None else f"[{row.ci[0]:+.4g}, {row.ci[1]:+.4g}]"
        out.append([row.dataset, row.model, f"{row.metric} {arrow}", str(row.n), _g(row.mean_a), _g(row.mean_b),
                    f"{row.delta:+.4g}", "" if rel is None else f"{rel:+.2%}", ci,
                    _p(row.t_p_holm), _p(row.wilcoxon_p_holm), row.verdict])
    return out


def _notes(comparison: Comparison) -> list[str]:
    c = comparison
    notes = [f"A: {c.a_name}", f"B: {c.b_name}",
             "Δ = B − A over cells paired by (dataset checksum, split fingerprint, fold"
             + ("" if c.ignore_seed else ", seed")
             + (")" if c.by == "rows" else f", {'label' if c.by == 'label' else 'configuration'})")
             + f"; verdict from the paired t-test at alpha {c.alpha:g}; ↓ lower is better, ↑ greater is better"]
    if c.holm:
        notes.append(f"p-values Holm-corrected across the {sum(1 for r in c.rows if r.t_p is not None)} rows")
    return notes


def _unpaired_lines(comparison: Comparison) -> list[str]:
    counts = Counter((u.side, u.dataset, u.model, u.reason) for u in comparison.unpaired)
    return [f"{n} cell{'s' if n > 1 else ''} of {model} on {dataset} only in {side}: {reason}"
            for (side, dataset, model, reason), n in sorted(counts.items())]


def render(comparison: Comparison, fmt: str = "simple") -> str:
    """The comparison as text: ``simple`` (terminal), ``github`` (Markdown), ``csv``."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["dataset", "model", "config_id", "metric", "greater_is_better", "n", "a_mean", "b_mean",
                         "delta", "relative_delta", "ci_low", "ci_high", "t_p", "t_p_holm", "wilcoxon_p",
                         "wilcoxon_p_holm", "verdict"])
        for r in comparison.rows:
            writer.writerow([r.dataset, r.model, r.config_id, r.metric, r.greater_is_better, r.n, repr(r.mean_a),
                             repr(r.mean_b), repr(r.delta), "" if r.relative is None else repr(r.relative),
                             "" if r.ci is None else repr(r.ci[0]), "" if r.ci is None else repr(r.ci[1]),
                             _csv(r.t_p), _csv(r.t_p_holm), _csv(r.wilcoxon_p), _csv(r.wilcoxon_p_holm),
                             r.verdict])
        return buffer.getvalue()
    from tabulate import tabulate

    body = tabulate(table(comparison), headers=HEADERS, tablefmt=fmt, disable_numparse=True) \
        if comparison.rows else "no paired cells"
    unpaired = _unpaired_lines(comparison)
    if fmt == "github":
        parts = ["\n".join(f"- {n}" for n in _notes(comparison)), body]
        parts.append("### Not paired\n\n" + ("\n".join(f"- {u}" for u in unpaired) if unpaired
                                              else "every cell was paired"))
        if comparison.version_changes:
            parts.append("### Versions that differ\n\n" + "\n".join(f"- {v}" for v in comparison.version_changes))
        return "\n\n".join(parts) + "\n"
    parts = ["\n".join(_notes(comparison)), body]
    parts.append("not paired:\n" + "\n".join(f"  {u}" for u in unpaired) if unpaired else "every cell was paired")
    if comparison.version_changes:
        parts.append("versions that differ:\n" + "\n".join(f"  {v}" for v in comparison.version_changes))
    elif comparison.by != "rows":
        parts.append("plugin and library versions: the same in A and B")
    return "\n\n".join(parts) + "\n"


def stderr_notes(comparison: Comparison) -> str:
    """What CSV output cannot carry: the unpaired cells and the version changes."""
    lines = [f"not paired: {u}" for u in _unpaired_lines(comparison)]
    lines += [f"versions differ: {v}" for v in comparison.version_changes]
    return "".join(f"bench: {line}\n" for line in lines)


def _csv(value: float | None) -> str:
    return "" if value is None else repr(value)
