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

``t``, ``nb``, ``permutation`` (exact sign-flip) and ``units`` (the bootstrap over users, drawn
jointly across folds) force one; ``t`` or ``permutation`` forced on repeated CV warn why
Nadeau–Bengio is the valid test there. ``bayes`` (with a ROPE) gives posterior probabilities
instead of p-values (:mod:`benchmark.bayes`): the correlated t-test per row, the signed-rank test
over datasets in an added row per configuration pair.

**Pairing runs.** Beside exact pairing, a model with exactly one configuration in A and one
other in B is paired by model and the changed parameters are named (the everyday "change one
parameter and rerun"); ``rows`` pairs a label of A with a label of B. When nothing pairs the
comparison carries ``hints`` on how to pair, and ``bench compare`` exits 3. With several rows the
p-values are Holm-adjusted over the family and each row's interval is drawn at its Holm step
level (:func:`benchmark.stats.holm`), so the printed CI always agrees with the verdict (an
adjusted per-row interval, covering its Δ at ≥ 1 − alpha; not a simultaneous band). n < 2, a
zero variance or a non-finite Δ give no p and no verdict, with the reason.

This module tests and decides (:func:`compare`, :func:`compare_inside`, :func:`decide`); the
comparison's records are :mod:`benchmark.compare.rows`, the pairing
:mod:`benchmark.compare.pairing` and the output :mod:`benchmark.compare.output`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark import bayes, stats
from benchmark.compare.output import render as render
from benchmark.compare.output import stderr_notes as stderr_notes
from benchmark.compare.pairing import (Measure, counterparts, crowded, metric_value, pair, parameter_changes,
                                       ratio_test_train)
from benchmark.compare.rows import BETTER as BETTER
from benchmark.compare.rows import EQUIVALENT as EQUIVALENT
from benchmark.compare.rows import UNDECIDED as UNDECIDED
from benchmark.compare.rows import NONE as NONE
from benchmark.compare.rows import NOTHING as NOTHING
from benchmark.compare.rows import SAME as SAME
from benchmark.compare.rows import WORSE as WORSE
from benchmark.compare.rows import Comparison as Comparison
from benchmark.compare.rows import Fold as Fold
from benchmark.compare.rows import Row as Row
from benchmark.compare.rows import is_empty as is_empty
from benchmark.errors import BenchError, did_you_mean
from benchmark.leaderboard.labels import resolve_label
from benchmark.resultset import Run, StoredResult, directions, primary_metrics

TESTS = ("auto",) + stats.TESTS + ("bayes",)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (``None`` stays ``None``); see :func:`benchmark.stats.holm`."""
    return [p for p, _ in stats.holm(pvalues)]


# --- Per-unit parts (contract 2) ---------------------------------------------------------------


def read_units(cell: StoredResult, metric: str) -> tuple[Any, Any, Any, str] | str:
    """``(ids, num, den, transform)`` of ``metric`` from the cell's ``units/<cell_id>.npz``,
    or why not (a string). The file must be a regular file inside the cell's run directory,
    with the SHA-256 its row records (rows since issue 29: a file swapped with another cell's
    is refused), and its parts must give back the row's value of ``metric``
    (``transform(sum(num) / sum(den))``, to 1e-6): per-unit values that do not reproduce the
    mean printed beside the difference are never tested."""
    import hashlib
    import io
    import math

    import numpy as np

    units = cell.units
    if not isinstance(units, Mapping) or not isinstance(units.get("file"), str):
        return "no per-unit values stored"
    transform = str((units.get("transforms") or {}).get(metric, "identity"))
    if transform not in ("identity", "sqrt"):
        return f"unknown transform {transform!r}"
    base = Path(str(cell.run_dir or ".")).resolve()
    path = (base / units["file"]).resolve()
    if base not in path.parents or path.is_symlink() or not path.is_file():
        return f"per-unit file {units['file']} missing or outside the run"
    try:
        with open(path, "rb") as handle:
            content = handle.read()
        recorded = units.get("sha256")
        if recorded is not None and hashlib.sha256(content).hexdigest() != recorded:
            return f"per-unit file {units['file']} is not the one its row records (SHA-256 differs)"
        with np.load(io.BytesIO(content), allow_pickle=False) as data:
            ids, num, den = data["ids"], data[f"{metric}.num"], data[f"{metric}.den"]
            ids, num, den = ids.astype(str), num.astype(float), den.astype(float)
    except KeyError:
        return f"no per-unit values of {metric} in {units['file']}"
    except Exception as exc:  # noqa: BLE001 -- a damaged file is a reason, not a traceback
        return f"per-unit file {units['file']} unreadable ({type(exc).__name__})"
    if not len(ids) == len(num) == len(den):
        return f"per-unit arrays of {metric} differ in length in {units['file']}"
    stored = cell.metrics.get(metric)
    total = float(np.sum(den))
    mean = float(np.sum(num)) / total if total else math.nan
    value = math.sqrt(mean) if transform == "sqrt" and mean >= 0 else mean
    if not isinstance(stored, (int, float)) or not math.isclose(value, stored, rel_tol=1e-6, abs_tol=1e-9):
        return (f"per-unit values of {metric} in {units['file']} give {value:.6g}, not the stored "
                f"{stored if not isinstance(stored, float) else format(stored, '.6g')}")
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
    if name == "bayes":
        rope = row.rope if row.rope is not None else 0.0
        if row.over == "dataset":
            return bayes.signed_rank(diffs, rope, row.greater_is_better)
        return bayes.correlated_t(diffs, ratio_test_train(c for f in row.folds for c in f.cells_a + f.cells_b),
                                  rope, row.greater_is_better)
    if name == "units":
        parts = _unit_folds(row)
        if isinstance(parts, str):
            return stats.Test("units", 0, row.delta, reason=parts)
        return stats.unit_bootstrap(parts, family=family, alpha=alpha)
    if row.n == 1 and test == "auto":
        return _one_fold(row)
    if name == "nb":
        result = stats.nadeau_bengio(diffs, ratio_test_train(c for f in row.folds for c in f.cells_a + f.cells_b))
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


def _bayes_verdict(row: Row, alpha: float) -> None:
    """A Bayesian row's interval (the central ``1 − alpha`` credible interval, over folds) and
    verdict: the region holding at least ``1 − alpha`` of the posterior, else undecided."""
    assert row.result is not None
    row.level = alpha
    row.ci = row.result.ci(alpha)
    row.reason = row.result.reason
    probs = row.result.probabilities
    if probs is None:
        row.verdict = NONE
        return
    better, equivalent, worse = probs
    row.verdict = (BETTER if better >= 1 - alpha else WORSE if worse >= 1 - alpha
                   else EQUIVALENT if equivalent >= 1 - alpha else UNDECIDED)


def over_datasets(rows: Sequence[Row]) -> list[Row]:
    """One row per (configuration pair, metric) found on two or more datasets, whose "folds" are
    the datasets' mean values: what the Bayesian signed-rank test compares across datasets."""
    groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        if row.over == "fold" and row.folds:
            groups[(row.task, row.model, row.config_id, row.metric, row.a_label, row.b_label)].append(row)
    out = []
    for (task, model, config_id, metric, a_label, b_label), group in groups.items():
        if len({row.dataset for row in group}) < 2:
            continue
        first = group[0]
        line = Row(f"({len(group)} datasets)", task, model, config_id, metric, first.greater_is_better,
                   a_label, b_label, changed=first.changed, over="dataset", rope=first.rope)
        line.folds = [Fold((row.dataset,), "", row.mean_a, row.mean_b, row.seeds[1], None) for row in group]
        out.append(line)
    return out


def decide(rows: Sequence[Row], alpha: float, test: str = "auto") -> bool:
    """Test every row, Holm-adjust over them, set each row's interval and verdict; whether the
    family had more than one p-value (and so was adjusted). ``bayes`` rows get posterior
    probabilities and no p (nothing to adjust)."""
    if test == "bayes":
        for row in rows:
            row.result = run_test(row, test, len(rows), alpha)
            _bayes_verdict(row, alpha)
        return False
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
            plugin = row.plugin or {}
            if plugin.get("name"):
                plugins[str(plugin["name"])].add(f"{plugin.get('distribution', '?')} {plugin.get('version', '?')}")
            for name, version in (row.libraries or {}).items():
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


@dataclass(frozen=True)
class Inside:
    """Which configurations of one run to compare: two labels (``rows``), each against a
    ``baseline``, or every pair (``all_pairs``); labels as :func:`benchmark.leaderboard.labels.resolve_label`
    accepts them (a label, its alias, a configuration-id prefix)."""

    rows: tuple[str, str] | None = None
    baseline: str | None = None
    all_pairs: bool = False


def _measure(runs: Sequence[Run], metric: str | None, alpha: float, test: str) -> Measure:
    """The checked options' metric choice: ``metric`` for every row or each task's primary one,
    with the directions the rows carry."""
    if not 0 < alpha < 1:
        raise BenchError(f"expected a level between 0 and 1, got {alpha}", "--alpha")
    if test not in TESTS:
        raise BenchError(f"expected one of {', '.join(TESTS)}, got {test!r}", "--test")
    primary = primary_metrics(runs)
    family = tuple(dict.fromkeys(name.strip() for name in metric.split(","))) if metric is not None else ()
    if metric is not None:
        present = sorted({m for run in runs for r in run.rows for m in r.metrics})
        for name in family:
            if name not in present:
                raise BenchError(f"no cell has the metric {name!r} (metrics: {', '.join(present)})"
                                 + _close(name, present), "--metric")
    names = list(family) or list(primary.values())
    return Measure(family[0] if family else None, primary, directions(names, [r for run in runs for r in run.rows]),
                   family)


@dataclass(frozen=True)
class Options:
    """How to compare, beside what: the metric (``None``: each task's primary one; ``"rmse,mae"``:
    several, their rows one Holm family), alpha, the test (``--test``), seeds paired or not
    (``--ignore-seed``) and the ROPE of ``--test bayes``."""

    metric: str | None = None
    alpha: float = 0.05
    test: str = "auto"
    ignore_seed: bool = False
    rope: float | None = None

    def checked(self, runs: Sequence[Run]) -> Measure:
        if self.rope is not None and not (math.isfinite(self.rope) and self.rope >= 0):
            raise BenchError(f"expected a ROPE ≥ 0 in the metric's units, got {self.rope}", "--rope")
        if self.rope is not None and self.test != "bayes":
            raise BenchError(f"expected --test bayes with --rope (the ROPE is the Bayesian test's), got --test "
                             f"{self.test}", "--rope")
        if self.test == "bayes" and self.rope is None:
            raise BenchError("expected --rope R with --test bayes (the largest difference that does not matter, "
                             "in the metric's units, e.g. --rope 0.002)", "--test bayes")
        return _measure(runs, self.metric, self.alpha, self.test)


def compare(a: Run, b: Run | None = None, *, by: str = "config", rows: tuple[str, str] | None = None,
            options: Options | None = None, **settings: Any) -> Comparison:
    """Compare run ``a`` with run ``b``, pairing configurations ``by`` config id or label, and a
    model's one configuration in A with its one other configuration in B
    (:func:`~benchmark.compare.pairing.counterparts`: the parameters that changed are named);
    ``rows``: label ``rows[0]`` of A against label ``rows[1]`` of B. ``options`` (or its fields
    as keywords: ``metric``, ``alpha``, ``test``, ``ignore_seed``, ``rope``) say how. For
    configurations inside one run: :func:`compare_inside`."""
    options = options or Options(**settings)
    if b is None:
        return compare_inside(a, Inside(rows), options=options)
    measure = options.checked([a, b])
    alpha, ignore_seed, test, rope = options.alpha, options.ignore_seed, options.test, options.rope
    if rows is not None:
        return _across(a, b, rows, measure, options)
    parts = counterparts(a.rows, b.rows, by)
    exact_a = [r for r in a.rows if not any(p.owns(r, "A", by) for p in parts)]
    exact_b = [r for r in b.rows if not any(p.owns(r, "B", by) for p in parts)]
    lines, unpaired = pair(exact_a, exact_b, measure, by, ignore_seed=ignore_seed)
    for part in parts:
        got, missing = pair([r for r in a.rows if part.owns(r, "A", by)], [r for r in b.rows if part.owns(r, "B", by)],
                            measure, None, (part.label_a, part.label_b), ignore_seed)
        for line in got:
            line.changed, line.config_id = part.changed, part.ident_b if by == "config" else ""
        lines += got
        unpaired += missing
    result = Comparison(str(a.directory), str(b.directory), lines, unpaired, version_changes(a, b), alpha, by,
                        False, ignore_seed, test, rope=rope)
    if not lines:
        result.hints = _pairing_hints(a, b, by)
    return _decided(result)


def _across(a: Run, b: Run, rows: tuple[str, str], measure: Measure, options: Options) -> Comparison:
    """``bench compare A B --rows X Y``: configuration X of run A against Y of run B."""
    label_a = resolve_label(rows[0], list(dict.fromkeys(str(r.model) for r in a.rows)))
    label_b = resolve_label(rows[1], list(dict.fromkeys(str(r.model) for r in b.rows)))
    lines, unpaired = pair([r for r in a.rows if r.model == label_a], [r for r in b.rows if r.model == label_b],
                           measure, None, (label_a, label_b), options.ignore_seed)
    changed = _changed(a, label_a, b, label_b)
    for line in lines:
        line.changed = changed
    result = Comparison(f"{label_a} in {a.directory}", f"{label_b} in {b.directory}", lines, unpaired,
                        version_changes(a, b), options.alpha, "rows", False, options.ignore_seed, options.test,
                        rope=options.rope)
    return _decided(result)


def _changed(a: Run, label_a: str, b: Run, label_b: str) -> tuple[str, ...]:
    first_a = next((r for r in a.rows if r.model == label_a), None)
    first_b = next((r for r in b.rows if r.model == label_b), None)
    if first_a is None or first_b is None:
        return ()
    plugins = () if first_a.model_plugin == first_b.model_plugin else \
        (f"model: {first_a.model_plugin} → {first_b.model_plugin}",)
    return plugins + parameter_changes(first_a.config or {}, first_b.config or {})


def _pairing_hints(a: Run, b: Run, by: str) -> list[str]:
    """How to pair runs whose configurations did not pair: the labels on each side, the models
    with several configurations (never guessed at), and the options that pair them."""
    def labels(run: Run) -> str:
        names = list(dict.fromkeys(str(r.model) for r in run.rows))
        return ", ".join(names[:8]) + (f" … ({len(names)} in all)" if len(names) > 8 else "") or "none"

    out = [f"configurations of A: {labels(a)}; of B: {labels(b)}"]
    for side, run in (("A", a), ("B", b)):
        for plugin, names in sorted(crowded(run.rows, by).items()):
            out.append(f"{plugin} has {len(names)} configurations in {side} ({', '.join(names[:4])}): "
                       "not paired by model")
    out.append("to pair two configurations: bench compare A B --rows LABEL_A LABEL_B; by model label: --by label; "
               "seed-0 against seed-1 runs: --ignore-seed")
    return out


def compare_inside(a: Run, inside: Inside, *, options: Options | None = None, **settings: Any) -> Comparison:
    """Compare configurations inside run ``a``: two of them, each against a baseline or every
    pair (:class:`Inside`); every pair adds the ranking over datasets (:func:`rank_datasets`).
    ``options`` or its fields as keywords, as for :func:`compare`."""
    options = options or Options(**settings)
    measure = options.checked([a])
    alpha, ignore_seed, test, rope = options.alpha, options.ignore_seed, options.test, options.rope
    labels = list(dict.fromkeys(str(r.model) for r in a.rows))
    rows = (resolve_label(inside.rows[0], labels), resolve_label(inside.rows[1], labels)) if inside.rows \
        else inside.rows
    baseline = resolve_label(inside.baseline, labels, "--baseline") if inside.baseline else inside.baseline
    if rows is not None:
        pairs = [rows]
    elif baseline is not None:
        pairs = [(baseline, other) for other in labels if other != baseline]
    elif inside.all_pairs:
        pairs = [(x, y) for i, x in enumerate(labels) for y in labels[i + 1:]]
    else:
        raise BenchError("expected two runs A B, or one with --rows, --all or --baseline", "bench compare")
    lines, unpaired = [], []
    for label_a, label_b in pairs:
        a_rows = [r for r in a.rows if r.model == label_a]
        b_rows = [r for r in a.rows if r.model == label_b]
        got, missing = pair(a_rows, b_rows, measure, None, (label_a, label_b), ignore_seed)
        lines += got
        unpaired += missing if rows is not None else []
    mode = "rows" if rows is not None else "baseline" if baseline else "all"
    name_a, name_b = (rows if rows is not None else (baseline or "each", "the others" if baseline else "each"))
    result = Comparison(name_a, name_b, lines, unpaired, [], alpha, mode, False, ignore_seed, test, rope=rope)
    if inside.all_pairs:
        result.ranking = {key: ranked for one in measure.each() for key, ranked in
                          rank_datasets(a.rows, one.primary, one.greater_is_better, one.metric, alpha).items()}
    return _decided(result)


def _decided(result: Comparison) -> Comparison:
    """``result`` with every row tested (Holm over the family) and the rows in display order;
    with ``--test bayes`` a row per configuration pair over its datasets is added."""
    for row in result.rows:
        row.rope = result.rope
    if result.test == "bayes":
        result.rows += over_datasets(result.rows)
    if result.test in ("t", "permutation") and any(len({f.partition for f in r.folds}) > 1 for r in result.rows):
        result.warnings.append(
            f"--test {result.test} on repeated CV (folds from several partitions): folds that share training data "
            "are correlated (by about n_test/n_train), so a test that treats them as independent gives intervals "
            "2–3× too narrow and too many verdicts; the Nadeau–Bengio test (--test nb, what auto picks here) "
            "widens the variance to s²·(1/J + n_test/n_train) for that correlation")
    result.holm = decide(result.rows, result.alpha, result.test)
    result.rows.sort(key=lambda l: (l.over != "fold", l.dataset, l.metric, l.model))
    return result


def rank_datasets(rows: Iterable[StoredResult], primary: Mapping[str, str], gib: Mapping[str, bool],
                  metric: str | None = None, alpha: float = 0.05) -> dict[tuple[str, str], stats.CriticalDifference]:
    """Per (task, metric) with several datasets: Friedman + Nemenyi and Wilcoxon–Holm over the
    configurations' means (each fold's seeds averaged first) — the data of a critical-difference
    diagram, for ``bench report``."""
    cells: dict[tuple[str, str], dict[str, dict[str, dict[Any, list[float]]]]] = {}
    for row in rows:
        name = metric or primary.get(str(row.task))
        value = metric_value(row, name)
        if value is None or name is None:
            continue
        by_fold = cells.setdefault((str(row.task), name), {}).setdefault(str(row.dataset), {}) \
            .setdefault(str(row.model), {})
        by_fold.setdefault((row.split_fingerprint, row.fold), []).append(value)
    out = {}
    for (task, name), datasets in cells.items():
        if len(datasets) < 2:
            continue
        scores = {d: {m: math.fsum(math.fsum(v) / len(v) for v in folds.values()) / len(folds)
                      for m, folds in models.items()} for d, models in datasets.items()}
        out[(task, name)] = stats.critical_difference(scores, gib.get(name, False), alpha)
    return out


