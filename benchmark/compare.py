"""Compare results fold by fold: ``bench compare A B``, ``bench compare RUN --rows X Y``,
``bench compare RUN --all`` and ``bench compare RUN --baseline X``.

**The unit is the fold.** Cells are paired by what makes two measurements comparable — the same
data (dataset checksum), the same rows (the fold's split fingerprint), the same fold and seed —
and the same configuration (``config_id``, seed excluded; ``by="label"`` pairs by model label).
The seeds of one (dataset, fold, configuration) are then **averaged before the test**: seeds on
fixed folds are repeated measurements of one fold, not independent pairs. Pooling them was how
five seeds of fast-svd on fixed ml-100k folds became "better, p = 0.0019, n = 25" when the
fold-level test says p = 0.072 (and 18.5 % false verdicts with 5 seeds instead of 5 %;
``benchmarks/calibration.md`` measures the new rule at ≤ 6 %). ``ignore_seed`` pairs each fold's
seed mean in A with the one in B, whatever the seeds. Nothing is dropped silently: a cell that
found no partner is listed with the reason (different data, different split, missing, failed,
no finite value).

**The test** (:mod:`benchmark.stats`), named in the output; ``test="auto"`` (the default) picks:

* one partition into folds (k-fold, fixed folds): the paired t-test over the fold differences —
  inference about these folds;
* folds from several partitions (repeated CV: the split's seed differs): the Nadeau–Bengio
  corrected resampled t-test with the cells' stored ``n_test``/``n_train``;
* a single fold (holdout, temporal, leave-n-out) with this metric's per-unit values stored for
  both sides: the paired bootstrap over users (or examples), conditional on the fitted models,
  with resamples sized from the family so that Holm can reach alpha; without them no test
  applies and the row says why.

``t``, ``nb``, ``permutation`` (exact sign-flip) and ``units`` force one. With several rows the
p-values are Holm-adjusted over the family and each row's interval is drawn at its Holm step
level (:func:`benchmark.stats.holm`), so the printed CI always agrees with the verdict (an
adjusted per-row interval, covering its Δ at ≥ 1 − alpha; not a simultaneous band). n < 2, a
zero variance or a non-finite Δ give no p and no verdict, with the reason.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark import stats
from benchmark.errors import BenchError, did_you_mean
from benchmark.resultset import Run, directions, primary_metrics

BETTER, WORSE, SAME, NONE = "better", "worse", "no significant difference", "no verdict"
NOTHING = "nothing to compare: no result row in A or B (a tune: search's trials are not results)"
"""What a comparison with no row and no unpaired cell says, instead of both "no paired cells"
and "every cell was paired" (a run stopped during its trials has no result row yet)."""
TESTS = ("auto",) + stats.TESTS
TEST_NAMES = {"t": "paired t-test over folds", "nb": "Nadeau–Bengio corrected resampled t-test",
              "permutation": "exact sign-flip permutation test over folds",
              "units": "paired bootstrap over units within folds (conditional on the fitted models)"}


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (``None`` stays ``None``); see :func:`benchmark.stats.holm`."""
    return [p for p, _ in stats.holm(pvalues)]


@dataclass
class Fold:
    """One paired fold: the seed means of the metric in A and in B."""

    where: tuple[Any, ...]  # (dataset checksum, split fingerprint, fold)
    partition: str  # split method and parameters: several = repeated CV
    a: float
    b: float
    seeds: int  # seeds averaged (the larger side)
    ratio: float | None  # n_test / n_train
    cells_a: list[Mapping[str, Any]] = field(default_factory=list)
    cells_b: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass
class Row:
    """One comparison: (dataset, configuration or pair of configurations, metric)."""

    dataset: str
    task: str
    model: str  # label (B's when both have one; "X → Y" for two configurations)
    config_id: str
    metric: str
    greater_is_better: bool
    a_label: str = "A"
    b_label: str = "B"
    folds: list[Fold] = field(default_factory=list)
    result: stats.Test | None = None
    p_adjusted: float | None = None
    level: float = 0.05  # the level of the interval (Holm step level, or alpha)
    ci: tuple[float, float] | None = None
    verdict: str = NONE
    reason: str = ""

    @property
    def n(self) -> int:
        return len(self.folds)

    @property
    def mean_a(self) -> float:
        return math.fsum(f.a for f in self.folds) / self.n if self.folds else math.nan

    @property
    def mean_b(self) -> float:
        return math.fsum(f.b for f in self.folds) / self.n if self.folds else math.nan

    @property
    def delta(self) -> float:
        if self.result is not None and self.result.test == "units":
            return self.result.delta
        return math.fsum(f.b - f.a for f in self.folds) / self.n if self.folds else math.nan

    @property
    def relative(self) -> float | None:
        return self.delta / abs(self.mean_a) if self.mean_a and math.isfinite(self.mean_a) else None

    @property
    def p(self) -> float | None:
        return None if self.result is None else self.result.p

    @property
    def test(self) -> str:
        return "" if self.result is None else self.result.test

    @property
    def seeds(self) -> tuple[int, int]:
        counts = [f.seeds for f in self.folds] or [0]
        return min(counts), max(counts)

    def _seed_label(self) -> str:
        """``3 seeds averaged``, ``3 vs 2 seeds averaged`` (A vs B), ``1–3 …`` over folds; "" for 1."""
        def span(counts: list[int]) -> str:
            return f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}–{max(counts)}"

        a, b = [len(f.cells_a) or f.seeds for f in self.folds], [len(f.cells_b) or f.seeds for f in self.folds]
        if not self.folds or max(a + b) <= 1:
            return ""
        return f"{span(a) if span(a) == span(b) else f'{span(a)} vs {span(b)}'} seeds averaged"

    def size(self) -> str:
        """``5 folds (10 seeds averaged)``, ``1 fold, 943 users``, ``5 folds, 610 users (3,050
        user–fold pairs)``."""
        folds = f"{self.n} fold{'s' if self.n != 1 else ''}"
        if seeds := self._seed_label():
            folds += f" ({seeds})"
        result = self.result
        if self.test == "units" and result is not None and result.n > 0:
            pairs = f"{result.n:,} {self.unit}–fold pairs"
            if self.n == 1:
                folds += f", {result.n:,} {self.unit}s"
            elif result.distinct is not None:
                folds += f", {result.distinct:,} {self.unit}s ({pairs})"
            else:
                folds += f", {pairs}"
        return folds

    @property
    def unit(self) -> str:
        for fold in self.folds:
            for cell in fold.cells_a:
                unit = (cell.get("units") or {}).get("unit")
                if unit:
                    return str(unit)
        return "unit"

    def worse_by(self) -> float:
        """How much worse B is than A, in the metric's units (negative when B is better)."""
        return -self.delta if self.greater_is_better else self.delta

    def worsening_bound(self) -> float | None:
        """The CI's bound of the worsening nearest to no change: B is worse than A by at least
        this much at the row's confidence level (``None`` without an interval)."""
        if self.ci is None:
            return None
        low, high = self.ci
        return -high if self.greater_is_better else low


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
    by: str  # config, label, rows, all, baseline
    holm: bool
    ignore_seed: bool = False
    test: str = "auto"
    ranking: dict[tuple[str, str], stats.CriticalDifference] = field(default_factory=dict)

    def regressions(self, threshold: float | None = None) -> list[Row]:
        """Rows significantly worse; with ``threshold``: rows whose CI says B is worse by more
        than ``threshold`` (the bound of the worsening nearest to no change passes it)."""
        if threshold is None:
            return [row for row in self.rows if row.verdict == WORSE]
        return [row for row in self.rows
                if (bound := row.worsening_bound()) is not None and bound > threshold]

    def tested(self) -> list[Row]:
        return [row for row in self.rows if row.p is not None]


# --- Pairing -----------------------------------------------------------------------------------


def _value(row: Mapping[str, Any], metric: str | None) -> float | None:
    if row.get("status") != "ok" or metric is None:
        return None
    value = (row.get("metrics") or {}).get(metric)
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ident(row: Mapping[str, Any], by: str | None) -> str:
    return str(row.get("model")) if by == "label" else str(row["config_id"])  # normalised: seed left out


def _options(row: Mapping[str, Any]) -> str:
    return json.dumps(row.get("task_options") or {}, sort_keys=True, default=str)


def _key(row: Mapping[str, Any], by: str | None, ignore_seed: bool = False) -> tuple:
    """What two paired cells share: data, fold, seed, task and its options (and the configuration
    or label, ``by``). A rating and a ranking cell of one label are never paired."""
    where = (row.get("dataset_checksum"), row.get("split_fingerprint"), row.get("fold"),
             None if ignore_seed else row.get("seed"), str(row.get("task", "")), _options(row))
    return where if by is None else where + (_ident(row, by),)


def _reason(row: Mapping[str, Any], others: Mapping[str | None, list[Mapping[str, Any]]], other: str,
            by: str | None, metric: str | None, ignore_seed: bool = False) -> str:
    """Why ``row`` found no partner among ``others`` (the other side's rows by configuration,
    see :func:`_by_ident`: looking only at the same configuration keeps this linear)."""
    mine = "B" if other == "A" else "A"
    if row.get("status") != "ok":
        return f"{row.get('status')} in {mine}"
    if _value(row, metric) is None:
        why = (row.get("metric_errors") or {}).get(metric or "")
        return f"no {metric} value in {mine}" + (f" ({why})" if why else "")
    same_config = others.get(None if by is None else _ident(row, by), [])
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
    same_task = [o for o in same_data if o.get("task") == row.get("task")]
    if not same_task:
        tasks = ", ".join(sorted({str(o.get("task")) for o in same_data}))
        return f"different task ({row.get('task')} in {mine}, {tasks} in {other})"
    same_data = same_task
    exact = [o for o in same_data if _key(o, by, ignore_seed) == _key(row, by, ignore_seed)]
    if exact:
        status = exact[0].get("status")
        if status != "ok":
            return f"{status} in {other}"
        why = (exact[0].get("metric_errors") or {}).get(metric or "")
        return f"no {metric} value in {other}" + (f" ({why})" if why else "")
    if not ignore_seed and not any(o.get("seed") == row.get("seed") for o in same_data):
        return f"seed {row.get('seed')} missing in {other}"
    at_fold = [o for o in same_data if o.get("fold") == row.get("fold")
               and (ignore_seed or o.get("seed") == row.get("seed"))]
    if at_fold:
        return (f"different split (fold {row.get('fold_name') or row.get('fold')} fingerprint "
                f"{str(row.get('split_fingerprint'))[:8]} vs {str(at_fold[0].get('split_fingerprint'))[:8]})")
    return f"fold {row.get('fold_name') or row.get('fold')} seed {row.get('seed')} missing in {other}"


def _ratio(cells: Iterable[Mapping[str, Any]]) -> float | None:
    ratios = [c["n_test"] / c["n_train"] for c in cells
              if isinstance(c.get("n_test"), int) and isinstance(c.get("n_train"), int) and c["n_train"] > 0]
    return math.fsum(ratios) / len(ratios) if ratios else None


def pair(a_rows: Iterable[Mapping[str, Any]], b_rows: Iterable[Mapping[str, Any]], metric: str | None,
         primary: Mapping[str, str], gib: Mapping[str, bool], by: str | None,
         label_a: str = "", label_b: str = "", ignore_seed: bool = False) -> tuple[list[Row], list[Unpaired]]:
    """Pair A's cells with B's fold by fold (seeds averaged within a fold); ``by=None`` pairs any
    configuration (two configurations of one run)."""
    a_rows, b_rows = list(a_rows), list(b_rows)

    def metric_of(row: Mapping[str, Any]) -> str | None:
        return metric or primary.get(str(row.get("task", "")))

    b_groups: dict[tuple, list[Mapping[str, Any]]] = defaultdict(list)
    for b in b_rows:
        if _value(b, metric_of(b)) is not None:
            b_groups[_key(b, by, ignore_seed)].append(b)
    a_groups: dict[tuple, list[Mapping[str, Any]]] = defaultdict(list)
    for a in a_rows:
        if _value(a, metric_of(a)) is not None:
            a_groups[_key(a, by, ignore_seed)].append(a)
    # (row key, fold) -> [(A cells, B cells) per seed key]
    folds: dict[tuple, dict[tuple, list[tuple[list, list]]]] = defaultdict(lambda: defaultdict(list))
    rows: dict[tuple, Row] = {}
    paired: set[int] = set()
    for key, a_cells in a_groups.items():
        b_cells = b_groups.get(key)
        if not b_cells:
            continue
        first_a, first_b = a_cells[0], b_cells[0]
        name = metric_of(first_a)
        assert name is not None
        if by is None:
            ident, model = "", f"{label_a} → {label_b}"
        else:
            ident, model = str(first_b["config_id"]), str(first_b.get("model"))
        row_key = (str(first_a.get("dataset")), str(first_a.get("task")), ident if by != "label" else model, name,
                   _options(first_a))
        if row_key not in rows:
            rows[row_key] = Row(str(first_b.get("dataset")), str(first_a.get("task")), model, ident, name,
                                gib.get(name, False), label_a or "A", label_b or "B")
        where = (first_a.get("dataset_checksum"), first_a.get("split_fingerprint"), first_a.get("fold"))
        folds[row_key][where].append((a_cells, b_cells))
        paired.update(id(c) for c in a_cells + b_cells)
    for row_key, places in folds.items():
        row = rows[row_key]
        for where, groups in places.items():
            cells_a = [c for a_cells, _ in groups for c in a_cells]
            cells_b = [c for _, b_cells in groups for c in b_cells]
            # mean of each seed's value (with --ignore-seed one group holds every seed of a side)
            a_value = math.fsum(_mean(a, row.metric) for a, _ in groups) / len(groups)
            b_value = math.fsum(_mean(b, row.metric) for _, b in groups) / len(groups)
            partition = json.dumps([cells_a[0].get("split"), cells_a[0].get("split_params")], sort_keys=True,
                                   default=str)
            row.folds.append(Fold(where, partition, a_value, b_value, max(len(cells_a), len(cells_b)),
                                  _ratio(cells_a + cells_b), cells_a, cells_b))
    unpaired: list[Unpaired] = []
    for side, own, other_rows, other in (("A", a_rows, b_rows, "B"), ("B", b_rows, a_rows, "A")):
        others = _by_ident(other_rows, by)
        for cell in own:
            if id(cell) not in paired:
                unpaired.append(Unpaired(side, str(cell.get("dataset", "")), str(cell.get("model")),
                                         cell.get("fold_name") or cell.get("fold"), cell.get("seed"),
                                         _reason(cell, others, other, by, metric_of(cell), ignore_seed)))
    return list(rows.values()), unpaired


def _by_ident(rows: Iterable[Mapping[str, Any]], by: str | None) -> dict[str | None, list[Mapping[str, Any]]]:
    out: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        out[None if by is None else _ident(row, by)].append(row)
    return out


def _mean(cells: list[Mapping[str, Any]], metric: str) -> float:
    return math.fsum(float(c["metrics"][metric]) for c in cells) / len(cells)


# --- Per-unit parts (contract 2) ---------------------------------------------------------------


def read_units(cell: Mapping[str, Any], metric: str) -> tuple[Any, Any, Any, str] | str:
    """``(ids, num, den, transform)`` of ``metric`` from the cell's ``units/<cell_id>.npz``,
    or why not (a string). The file must be a regular file inside the cell's run directory."""
    import numpy as np

    units = cell.get("units")
    if not isinstance(units, Mapping) or not isinstance(units.get("file"), str):
        return "no per-unit values stored"
    transform = str((units.get("transforms") or {}).get(metric, "identity"))
    if transform not in ("identity", "sqrt"):
        return f"unknown transform {transform!r}"
    base = Path(str(cell.get("run_dir") or ".")).resolve()
    path = (base / units["file"]).resolve()
    if base not in path.parents or path.is_symlink() or not path.is_file():
        return f"per-unit file {units['file']} missing or outside the run"
    try:
        with np.load(path, allow_pickle=False) as data:
            ids, num, den = data["ids"], data[f"{metric}.num"], data[f"{metric}.den"]
            ids, num, den = ids.astype(str), num.astype(float), den.astype(float)
    except KeyError:
        return f"no per-unit values of {metric} in {units['file']}"
    except Exception as exc:  # noqa: BLE001 -- a damaged file is a reason, not a traceback
        return f"per-unit file {units['file']} unreadable ({type(exc).__name__})"
    if not len(ids) == len(num) == len(den):
        return f"per-unit arrays of {metric} differ in length in {units['file']}"
    return ids, num, den, transform


def _unit_folds(row: Row) -> list[stats.UnitFold] | str:
    """Each fold's per-unit parts, seeds averaged per side, aligned on the units both sides have."""
    import numpy as np

    out = []
    for fold in row.folds:
        sides = []
        for cells in (fold.cells_a, fold.cells_b):
            parts = []
            for cell in cells:
                part = read_units(cell, row.metric)
                if isinstance(part, str):
                    return part
                parts.append(part)
            table: dict[str, list[float]] = {}
            den: dict[str, float] = {}
            transform = "identity"
            for ids, num, dens, transform in parts:
                for unit, n, d in zip(ids, num, dens):
                    if d > 0:
                        table.setdefault(unit, []).append(n)
                        den[unit] = d
            sides.append(({u: sum(v) / len(v) for u, v in table.items() if len(v) == len(parts)}, den, transform))
        (num_a, den_a, transform), (num_b, _, _) = sides
        common = sorted(set(num_a) & set(num_b))
        if not common:
            return "no unit in common between A and B"
        out.append(stats.UnitFold(np.array([num_a[u] for u in common]), np.array([num_b[u] for u in common]),
                                  np.array([den_a[u] for u in common]), transform, np.array(common)))
    return out


# --- Testing ------------------------------------------------------------------------------------


def choose(row: Row, test: str) -> str:
    """The test ``auto`` picks for ``row`` (see the module docstring): ``units`` for one fold
    only when this metric's per-unit values can be read for both sides."""
    if test != "auto":
        return test
    if row.n == 1 and not isinstance(_unit_folds(row), str):
        return "units"
    if len({fold.partition for fold in row.folds}) > 1:
        return "nb"
    return "t"


def _diffs(row: Row) -> list[float]:
    """Each fold's ``B − A``; a difference below the values' floating-point resolution is 0 (two
    implementations equal "to rounding" must not come out as significantly different)."""
    scale = max((max(abs(f.a), abs(f.b)) for f in row.folds if math.isfinite(f.a) and math.isfinite(f.b)),
                default=0.0)
    return [0.0 if abs(fold.b - fold.a) <= 1e-12 * scale else fold.b - fold.a for fold in row.folds]


def _one_fold(row: Row) -> stats.Test:
    """``--test auto`` on a single fold without this metric's per-unit values: no test applies."""
    parts = _unit_folds(row)
    why = parts if isinstance(parts, str) else "per-unit values unusable"
    return stats.Test("", row.n, row.delta, reason=f"one fold and {why} for {row.metric}: no test applies "
                      "(the tests over folds need 2 or more, the per-unit bootstrap needs per-unit values)")


def run_test(row: Row, test: str = "auto", family: int = 1, alpha: float = 0.05) -> stats.Test:
    """Run the test ``choose`` picks; ``family`` (rows tested together) sizes the bootstrap."""
    name = choose(row, test)
    diffs = _diffs(row)
    if name == "units":
        parts = _unit_folds(row)
        if isinstance(parts, str):
            return stats.Test("units", 0, row.delta, reason=parts)
        return stats.unit_bootstrap(parts, family=family, alpha=alpha)
    if row.n == 1 and test == "auto":
        return _one_fold(row)
    if name == "nb":
        result = stats.nadeau_bengio(diffs, _ratio(c for f in row.folds for c in f.cells_a + f.cells_b))
    elif name == "permutation":
        result = stats.sign_flip(diffs)
    else:
        result = stats.paired_t(diffs)
    if result.reason.startswith("zero variance") and not any(diffs) and any(f.b != f.a for f in row.folds):
        result.reason = "zero variance of Δ (A and B differ only by float rounding on every fold)"
    return result


def _floor_note(row: Row, family: int, alpha: float) -> str:
    """Why a resampling test could not reject here: its floor times the Holm factor."""
    result = row.result
    if result is None or result.p is None or result.floor * family < alpha or result.floor > alpha:
        return ""
    what = "resamples" if result.test == "units" else "sign vectors"
    return (f"the smallest possible p is {result.floor:.2g} ({round(1 / result.floor):,} {what}), "
            f"{result.floor * family:.2g} after Holm over {family} rows")


def decide(rows: Sequence[Row], alpha: float, test: str = "auto") -> bool:
    """Test every row, Holm-adjust over them, set each row's interval and verdict; whether the
    family had more than one p-value (and so was adjusted)."""
    for row in rows:
        row.result = run_test(row, test, len(rows), alpha)
    adjusted = stats.holm([row.p for row in rows], alpha)
    tested = sum(1 for row in rows if row.p is not None)
    family = tested > 1
    for row, (p_adjusted, level) in zip(rows, adjusted):
        assert row.result is not None
        row.p_adjusted, row.level = p_adjusted, level
        row.ci = row.result.ci(level)
        row.reason = "; ".join(filter(None, [row.result.reason, _floor_note(row, tested, alpha)]))
        if row.p is None:
            row.verdict = NONE
        elif row.p < level and row.delta != 0 and math.isfinite(row.delta):
            row.verdict = WORSE if row.worse_by() > 0 else BETTER
        else:
            row.verdict = SAME
    return family


# --- Entry points -------------------------------------------------------------------------------


def version_changes(a: Run, b: Run) -> list[str]:
    """Plugin and library versions that differ between the two runs (from the cells and
    environment.json). A plugin or library only one run used is not a difference: none of
    its rows has a partner to be compared with."""
    def versions(run: Run) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        plugins: dict[str, set[str]] = defaultdict(set)
        libraries: dict[str, set[str]] = defaultdict(set)
        for row in run.rows:
            plugin = row.get("plugin") or {}
            if plugin.get("name"):
                plugins[str(plugin["name"])].add(f"{plugin.get('distribution', '?')} {plugin.get('version', '?')}")
            for name, version in (row.get("libraries") or {}).items():
                libraries[str(name)].add(str(version))
        packages = run.environment.get("packages")
        for name, version in (packages.items() if isinstance(packages, Mapping) else ()):
            libraries[str(name)].add(str(version))
        return plugins, libraries

    (pa, la), (pb, lb) = versions(a), versions(b)
    out = []
    for kind, x, y in (("plugin", pa, pb), ("library", la, lb)):
        for name in sorted(set(x) & set(y)):
            if x[name] != y[name]:
                out.append(f"{kind} {name}: {', '.join(sorted(x[name]))} (A) vs {', '.join(sorted(y[name]))} (B)")
    return out


def _close(word: str, choices: Sequence[str]) -> str:
    hint = did_you_mean(word, choices)
    return f"; {hint}" if hint else ""


def compare(a: Run, b: Run | None = None, *, rows: tuple[str, str] | None = None, metric: str | None = None,
            alpha: float = 0.05, by: str = "config", ignore_seed: bool = False, test: str = "auto",
            all_pairs: bool = False, baseline: str | None = None) -> Comparison:
    """Compare run ``a`` with run ``b``; or inside ``a``: two configurations (``rows``), every
    pair (``all_pairs``) or each configuration against ``baseline``."""
    if not 0 < alpha < 1:
        raise BenchError(f"expected a level between 0 and 1, got {alpha}", "--alpha")
    if test not in TESTS:
        raise BenchError(f"expected one of {', '.join(TESTS)}, got {test!r}", "--test")
    runs = [a] if b is None else [a, b]
    primary = primary_metrics(runs)
    if metric is not None:
        present = sorted({m for run in runs for r in run.rows for m in (r.get("metrics") or {})})
        if metric not in present:
            raise BenchError(f"no cell has the metric {metric!r} (metrics: {', '.join(present)})"
                             + _close(metric, present), "--metric")
    names = [metric] if metric else list(primary.values())
    gib = directions(names, [r for run in runs for r in run.rows])
    if b is not None:
        lines, unpaired = pair(a.rows, b.rows, metric, primary, gib, by, ignore_seed=ignore_seed)
        result = Comparison(str(a.directory), str(b.directory), lines, unpaired, version_changes(a, b), alpha, by,
                            False, ignore_seed, test)
    else:
        labels = list(dict.fromkeys(str(r.get("model")) for r in a.rows))
        from benchmark.leaderboard import resolve_label

        rows = (resolve_label(rows[0], labels), resolve_label(rows[1], labels)) if rows else rows
        baseline = resolve_label(baseline, labels, "--baseline") if baseline else baseline
        if rows is not None:
            pairs = [rows]
        elif baseline is not None:
            pairs = [(baseline, other) for other in labels if other != baseline]
        elif all_pairs:
            pairs = [(x, y) for i, x in enumerate(labels) for y in labels[i + 1:]]
        else:
            raise BenchError("expected two runs A B, or one with --rows, --all or --baseline", "bench compare")
        lines, unpaired = [], []
        for label_a, label_b in pairs:
            a_rows = [r for r in a.rows if r.get("model") == label_a]
            b_rows = [r for r in a.rows if r.get("model") == label_b]
            got, missing = pair(a_rows, b_rows, metric, primary, gib, None, label_a, label_b, ignore_seed)
            lines += got
            unpaired += missing if rows is not None else []
        mode = "rows" if rows is not None else "baseline" if baseline else "all"
        name_a, name_b = (rows if rows is not None else (baseline or "each", "the others" if baseline else "each"))
        result = Comparison(name_a, name_b, lines, unpaired, [], alpha, mode, False, ignore_seed, test)
        if all_pairs:
            result.ranking = rank_datasets(a.rows, primary, gib, metric, alpha)
    result.holm = decide(result.rows, alpha, test)
    result.rows.sort(key=lambda l: (l.dataset, l.metric, l.model))
    return result


def rank_datasets(rows: Iterable[Mapping[str, Any]], primary: Mapping[str, str], gib: Mapping[str, bool],
                  metric: str | None = None, alpha: float = 0.05) -> dict[tuple[str, str], stats.CriticalDifference]:
    """Per (task, metric) with several datasets: Friedman + Nemenyi and Wilcoxon–Holm over the
    configurations' means (each fold's seeds averaged first) — the data of a critical-difference
    diagram, for ``bench report``."""
    cells: dict[tuple[str, str], dict[str, dict[str, dict[Any, list[float]]]]] = {}
    for row in rows:
        name = metric or primary.get(str(row.get("task", "")))
        value = _value(row, name)
        if value is None or name is None:
            continue
        by_fold = cells.setdefault((str(row.get("task")), name), {}).setdefault(str(row.get("dataset")), {}) \
            .setdefault(str(row.get("model")), {})
        by_fold.setdefault((row.get("split_fingerprint"), row.get("fold")), []).append(value)
    out = {}
    for (task, name), datasets in cells.items():
        if len(datasets) < 2:
            continue
        scores = {d: {m: math.fsum(math.fsum(v) / len(v) for v in folds.values()) / len(folds)
                      for m, folds in models.items()} for d, models in datasets.items()}
        out[(task, name)] = stats.critical_difference(scores, gib.get(name, False), alpha)
    return out


# --- Output ---------------------------------------------------------------------------------

COLUMNS = ["dataset", "metric", "a", "b", "n", "delta", "ci_low", "ci_high", "p", "test", "verdict",
           "model", "config_id", "task", "greater_is_better", "a_mean", "b_mean", "relative_delta",
           "p_unadjusted", "ci_level", "folds", "seeds_averaged", "units", "reason"]
"""``--format csv|json``: one record per comparison; ``p`` is Holm-adjusted when the family has
several rows (``p_unadjusted`` is the test's own), ``ci_low``/``ci_high`` the interval at
``ci_level`` (the Holm step level or ``1 − alpha``), ``n`` the folds (or, for ``units``, the
unit–fold pairs: 943 users on 5 folds are 4,715)."""


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
                    "units": units, "reason": r.reason})
    return out


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
        out.append([row.dataset, row.model, f"{row.metric} {arrow}", row.size(), _g(row.mean_a), _g(row.mean_b),
                    "" if not math.isfinite(row.delta) else f"{row.delta:+.4g}",
                    "" if rel is None else f"{rel:+.2%}", _ci(row), _p(row.p_adjusted), row.test, verdict])
    return out


def _notes(comparison: Comparison) -> list[str]:
    c = comparison
    if c.by in ("all", "baseline"):
        notes = [f"configurations compared: {'every pair' if c.by == 'all' else 'each against ' + c.a_name}"]
    else:
        notes = [f"A: {c.a_name}", f"B: {c.b_name}"]
    notes.append("Δ = B − A over folds paired by (dataset checksum, split fingerprint, fold"
                 + ("" if c.ignore_seed else ", seed")
                 + (")" if c.by in ("rows", "all", "baseline")
                    else f", {'label' if c.by == 'label' else 'configuration'})")
                 + "; each fold's seeds averaged before the test"
                 + (" (each side's own seeds: --ignore-seed)" if c.ignore_seed else ""))
    used = sorted({row.test for row in c.rows if row.test})
    notes.append("verdict from the " + "; ".join(f"{TEST_NAMES[t]} ({t})" for t in used) + f" at alpha {c.alpha:g}"
                 + ("" if c.test != "auto" else " (chosen per row: --test auto)")
                 + "; ↓ lower is better, ↑ greater is better" if used else "no row could be tested")
    if c.holm:
        notes.append(f"p-values Holm-corrected across the {len(c.tested())} tested rows; each CI is the test's own "
                     "interval at the row's Holm step level, so it excludes 0 exactly when the verdict is "
                     f"significant; it covers its Δ at least {1 - c.alpha:.0%} of the time (never narrower than "
                     "the per-pair interval) but is not a simultaneous band over the rows")
    elif c.tested():
        notes.append(f"one tested row: p and the {1 - c.alpha:.0%} CI are unadjusted")
    return notes


def _unpaired_lines(comparison: Comparison) -> list[str]:
    counts = Counter((u.side, u.dataset, u.model, u.reason) for u in comparison.unpaired)
    return [f"{n} cell{'s' if n > 1 else ''} of {model} on {dataset} only in {side}: {reason}"
            for (side, dataset, model, reason), n in sorted(counts.items())]


SUPERSCRIPT = dict(zip("abcdefghijklmnoprstuvwxyz", "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"))


def letters_table(comparison: Comparison, fmt: str = "simple") -> str:
    """``--all``: per (dataset, metric) each configuration with a letter, its mean and the
    letters of the configurations it is significantly better than (Holm over the family)."""
    from tabulate import tabulate

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
        letter = {m: list(SUPERSCRIPT)[i] if i < len(SUPERSCRIPT) else str(i) for i, m in enumerate(order)}
        beats: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            if row.verdict == BETTER:
                beats[row.b_label].append(letter[row.a_label])
            elif row.verdict == WORSE:
                beats[row.a_label].append(letter[row.b_label])
        body = []
        for model in order:
            wins = sorted(beats[model])
            marks = "".join(SUPERSCRIPT.get(w, w) for w in wins) if fmt != "github" else \
                (f"<sup>{''.join(wins)}</sup>" if wins else "")
            body.append([letter[model], model, f"{sum(means[model]) / len(means[model]):#.4g}{marks}"])
        arrow = "↑" if greater else "↓"
        blocks.append(f"{dataset}: {metric} {arrow} (superscripts: significantly better than those letters)\n"
                      + tabulate(body, headers=["", "model", metric], tablefmt=fmt, disable_numparse=True))
    for (task, metric), cd in comparison.ranking.items():
        ranks = ", ".join(f"{m} {cd.average_ranks[m]:.2f}" for m in sorted(cd.models, key=lambda m: cd.average_ranks[m]))
        line = f"{task} {metric} over {len(cd.datasets)} datasets: average ranks {ranks}"
        if cd.cd is not None:
            friedman = _p(cd.friedman_p) + (f" ({cd.friedman_reason})" if cd.friedman_p is None else "")
            line += (f"; Friedman p = {friedman}; Nemenyi CD = {cd.cd:.2f} at alpha {cd.alpha:g}; "
                     "not significantly different: " + ("; ".join(", ".join(g) for g in cd.cliques()) or "none"))
        else:
            line += f" ({cd.reason})"
        blocks.append(line)
    return "\n\n".join(blocks)


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
        if comparison.rows else NOTHING if is_empty(comparison) else "no paired cells"
    if comparison.by == "all" and comparison.rows:
        body = letters_table(comparison, fmt) + "\n\n" + body
    unpaired = _unpaired_lines(comparison)
    if fmt == "github":
        parts = ["\n".join(f"- {n}" for n in _notes(comparison)), body]
        if not is_empty(comparison):
            parts.append("### Not paired\n\n" + "\n".join(f"- {u}" for u in unpaired) if unpaired
                         else "every cell was paired")
        if comparison.version_changes:
            parts.append("### Versions that differ\n\n" + "\n".join(f"- {v}" for v in comparison.version_changes))
        return "\n\n".join(parts) + "\n"
    parts = ["\n".join(_notes(comparison)), body]
    if not is_empty(comparison):
        parts.append("not paired:\n" + "\n".join(f"  {u}" for u in unpaired) if unpaired else "every cell was paired")
    if comparison.version_changes:
        parts.append("versions that differ:\n" + "\n".join(f"  {v}" for v in comparison.version_changes))
    elif comparison.by in ("config", "label"):
        parts.append("plugin and library versions: the same in A and B")
    return "\n\n".join(parts) + "\n"


def is_empty(comparison: Comparison) -> bool:
    """No row and no unpaired cell: neither side had a result to pair (:data:`NOTHING`)."""
    return not comparison.rows and not comparison.unpaired


def stderr_notes(comparison: Comparison) -> str:
    """What CSV/JSON output cannot carry: the unpaired cells and the version changes."""
    lines = [f"not paired: {u}" for u in _unpaired_lines(comparison)]
    lines += [f"versions differ: {v}" for v in comparison.version_changes]
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
