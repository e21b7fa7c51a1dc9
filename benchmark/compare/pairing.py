"""Pairing the cells of A with those of B fold by fold (``bench compare``'s first step).

Cells are paired by what makes two measurements comparable — the same data (dataset checksum),
the same rows (the fold's split fingerprint), the same fold and seed, the same task and its
options — and the same configuration (``config_id``, seed excluded; ``by="label"`` pairs by
model label; ``by=None`` any configuration: two of one run). The seeds of one (dataset, fold,
configuration) are averaged into one :class:`~benchmark.compare.rows.Fold` before any test.
Nothing is dropped silently: a cell that found no partner is an
:class:`~benchmark.compare.rows.Unpaired` with the reason (different data, different split,
missing, failed, no finite value).

**The everyday question** — run A, change one parameter, run B — gives two configurations with
different ids. :func:`counterparts` finds them: a model (a task's ``model_plugin``) with exactly
one configuration in A and exactly one other in B is paired as a
:class:`Counterpart`, with the parameters that changed, so ``bench compare A B`` answers it
without ``--rows``. Two or more configurations of one model on a side are never guessed at: the
output names them and how to pair them (``--rows``).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from benchmark.compare.rows import Fold, Row, Unpaired
from benchmark.resultset import StoredResult


def metric_value(row: StoredResult, metric: str | None) -> float | None:
    """``metric``'s finite value in an ``ok`` row, else ``None`` (nothing to pair or rank)."""
    if row.status != "ok" or metric is None:
        return None
    value = row.metrics.get(metric)
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ident(row: StoredResult, by: str | None) -> str:
    return str(row.model) if by == "label" else str(row.config_id)  # normalised: seed left out


def _options(row: StoredResult) -> str:
    return json.dumps(row.task_options or {}, sort_keys=True, default=str)


def _key(row: StoredResult, by: str | None, ignore_seed: bool = False) -> tuple[Any, ...]:
    """What two paired cells share: data, fold, seed, task and its options (and the configuration
    or label, ``by``). A rating and a ranking cell of one label are never paired."""
    where = (row.dataset_checksum, row.split_fingerprint, row.fold,
             None if ignore_seed else row.seed, str(row.task), _options(row))
    return where if by is None else where + (_ident(row, by),)


def _reason(row: StoredResult, others: Mapping[str | None, list[StoredResult]], other: str,
            by: str | None, metric: str | None, ignore_seed: bool = False) -> tuple[str, bool]:
    """Why ``row`` found no partner among ``others`` (the other side's rows by configuration,
    see :func:`_by_ident`: looking only at the same configuration keeps this linear), and whether
    the other side *lacks a value* ``row`` has: the same configuration, data, task and fold are
    there (or only this fold or seed is not) but failed, non-finite or absent — what
    ``--fail-on-regression`` must not pass."""
    mine = "B" if other == "A" else "A"
    if row.status != "ok":
        return f"{row.status} in {mine}", False
    if metric_value(row, metric) is None:
        why = row.metric_errors.get(metric or "")
        return f"no {metric} value in {mine}" + (f" ({why})" if why else ""), False
    same_config = others.get(None if by is None else _ident(row, by), [])
    if not same_config:
        return f"configuration missing in {other}", False
    reason = _placed(row, same_config, other, by, metric, ignore_seed)
    return reason, not reason.startswith(("different ", "dataset missing", "seed "))


def _placed(row: StoredResult, same_config: list[StoredResult], other: str, by: str | None, metric: str | None,
            ignore_seed: bool) -> str:
    """:func:`_reason` for a row whose configuration the other side has: where they part."""
    mine = "B" if other == "A" else "A"
    same_place = [o for o in same_config if o.dataset == row.dataset
                  or o.dataset_checksum == row.dataset_checksum]
    if same_place and not any(o.dataset_checksum == row.dataset_checksum for o in same_place):
        theirs = sorted({str(o.dataset_checksum)[:8] for o in same_place})
        return f"different data (checksum {str(row.dataset_checksum)[:8]} vs {', '.join(theirs)})"
    same_data = [o for o in same_config if o.dataset_checksum == row.dataset_checksum]
    if not same_data:
        return f"dataset missing in {other}"
    same_task = [o for o in same_data if o.task == row.task]
    if not same_task:
        tasks = ", ".join(sorted({str(o.task) for o in same_data}))
        return f"different task ({row.task} in {mine}, {tasks} in {other})"
    same_data = same_task
    exact = [o for o in same_data if _key(o, by, ignore_seed) == _key(row, by, ignore_seed)]
    if exact:
        status = exact[0].status
        if status != "ok":
            return f"{status} in {other}"
        why = exact[0].metric_errors.get(metric or "")
        return f"no {metric} value in {other}" + (f" ({why})" if why else "")
    if not ignore_seed and not any(o.seed == row.seed for o in same_data):
        return f"seed {row.seed} missing in {other}"
    at_fold = [o for o in same_data if o.fold == row.fold
               and (ignore_seed or o.seed == row.seed)]
    if at_fold:
        return (f"different split (fold {row.fold_name or row.fold} fingerprint "
                f"{str(row.split_fingerprint)[:8]} vs {str(at_fold[0].split_fingerprint)[:8]})")
    return f"fold {row.fold_name or row.fold} seed {row.seed} missing in {other}"


def ratio_test_train(cells: Iterable[StoredResult]) -> float | None:
    """The mean ``n_test / n_train`` of the cells that stored both (the Nadeau–Bengio correction's
    input); ``None`` when none did."""
    ratios = [c.n_test / c.n_train for c in cells
              if isinstance(c.n_test, int) and isinstance(c.n_train, int) and c.n_train > 0]
    return math.fsum(ratios) / len(ratios) if ratios else None


@dataclass(frozen=True)
class Measure:
    """What a comparison reads of each cell: ``metric`` for every row, or (``None``) its task's
    primary metric; and each metric's direction (as the rows carry it). ``family``: several
    metrics compared at once (``--metric rmse,mae``), one row per metric, all in one Holm family;
    ``metric`` is then the first of them."""

    metric: str | None
    primary: Mapping[str, str]
    greater_is_better: Mapping[str, bool]
    family: tuple[str, ...] = ()

    def of(self, row: StoredResult) -> str | None:
        """The metric compared for ``row``."""
        return self.metric or self.primary.get(str(row.task))

    def each(self) -> list[Measure]:
        """One measure per metric of the family (this one when it names one metric or none)."""
        if len(self.family) < 2:
            return [self]
        return [Measure(name, self.primary, self.greater_is_better) for name in self.family]


def pair(a_rows: Iterable[StoredResult], b_rows: Iterable[StoredResult], measure: Measure,
         by: str | None, labels: tuple[str, str] = ("", ""),
         ignore_seed: bool = False) -> tuple[list[Row], list[Unpaired]]:
    """Pair A's cells with B's fold by fold (seeds averaged within a fold); ``by=None`` pairs any
    configuration (two configurations of one run, whose ``labels`` name the rows). A family of
    metrics gives each metric's rows, and a cell that pairs for none of them is listed once."""
    a_rows, b_rows = list(a_rows), list(b_rows)
    if len(measure.family) > 1:
        lines: list[Row] = []
        unpaired: list[Unpaired] = []
        for one in measure.each():
            got, missing = pair(a_rows, b_rows, one, by, labels, ignore_seed)
            lines += got
            unpaired += [u for u in missing if u not in unpaired]
        return lines, unpaired
    label_a, label_b = labels
    metric_of = measure.of

    b_groups: dict[tuple[Any, ...], list[StoredResult]] = defaultdict(list)
    for b in b_rows:
        if metric_value(b, metric_of(b)) is not None:
            b_groups[_key(b, by, ignore_seed)].append(b)
    a_groups: dict[tuple[Any, ...], list[StoredResult]] = defaultdict(list)
    for a in a_rows:
        if metric_value(a, metric_of(a)) is not None:
            a_groups[_key(a, by, ignore_seed)].append(a)
    # (row key, fold) -> [(A cells, B cells) per seed key]
    folds: dict[tuple[Any, ...], dict[tuple[Any, ...], list[tuple[list[StoredResult], list[StoredResult]]]]] = defaultdict(lambda: defaultdict(list))
    rows: dict[tuple[Any, ...], Row] = {}
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
            ident, model = str(first_b.config_id), str(first_b.model)
        row_key = (str(first_a.dataset), str(first_a.task), ident if by != "label" else model, name,
                   _options(first_a))
        if row_key not in rows:
            rows[row_key] = Row(str(first_b.dataset), str(first_a.task), model, ident, name,
                                measure.greater_is_better.get(name, False), label_a or "A", label_b or "B")
        where = (first_a.dataset_checksum, first_a.split_fingerprint, first_a.fold)
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
            partition = json.dumps([cells_a[0].split, cells_a[0].split_params], sort_keys=True,
                                   default=str)
            row.folds.append(Fold(where, partition, a_value, b_value, max(len(cells_a), len(cells_b)),
                                  ratio_test_train(cells_a + cells_b), cells_a, cells_b))
    return list(rows.values()), _unpaired((a_rows, b_rows), paired, measure, by, ignore_seed)


def _unpaired(sides: tuple[list[StoredResult], list[StoredResult]], paired: set[int], measure: Measure,
              by: str | None, ignore_seed: bool) -> list[Unpaired]:
    """Every cell of A and of B that is not in ``paired`` (ids), with why it found no partner."""
    a_rows, b_rows = sides
    unpaired: list[Unpaired] = []
    for side, own, other_rows, other in (("A", a_rows, b_rows, "B"), ("B", b_rows, a_rows, "A")):
        others = _by_ident(other_rows, by)
        for cell in own:
            if id(cell) not in paired:
                reason, lacks = _reason(cell, others, other, by, measure.of(cell), ignore_seed)
                unpaired.append(Unpaired(side, str(cell.dataset), str(cell.model), cell.fold_name or cell.fold,
                                         cell.seed, reason, lacks and side == "A"))
    return unpaired


def _by_ident(rows: Iterable[StoredResult], by: str | None) -> dict[str | None, list[StoredResult]]:
    out: dict[str | None, list[StoredResult]] = defaultdict(list)
    for row in rows:
        out[None if by is None else _ident(row, by)].append(row)
    return out


def _mean(cells: list[StoredResult], metric: str) -> float:
    return math.fsum(float(c.metrics[metric]) for c in cells) / len(cells)


# --- The everyday question: one configuration of a model in each run -------------------------


@dataclass(frozen=True)
class Counterpart:
    """The one configuration of a model in A and the one (another) in B, paired: ``ident_a``/
    ``ident_b`` are configuration ids (or labels, ``by="label"``), ``changed`` the parameters
    that differ (``name: before → after``)."""

    task: str
    model_plugin: str
    ident_a: str
    ident_b: str
    label_a: str
    label_b: str
    changed: tuple[str, ...]

    def owns(self, row: StoredResult, side: str, by: str) -> bool:
        """Whether ``row`` (of side ``"A"`` or ``"B"``) is this counterpart's configuration."""
        ident = self.ident_a if side == "A" else self.ident_b
        return str(row.task) == self.task and _ident(row, by) == ident


def parameter_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """``name: before → after`` for each parameter that differs (``absent`` where one side has
    none), in name order."""
    def shown(mapping: Mapping[str, Any], name: str) -> str:
        return json.dumps(mapping[name], sort_keys=True, default=str) if name in mapping else "absent"

    return tuple(f"{name}: {shown(before, name)} → {shown(after, name)}"
                 for name in sorted(set(before) | set(after))
                 if shown(before, name) != shown(after, name))


def _configurations(rows: Iterable[StoredResult], by: str) -> dict[tuple[str, str], dict[str, StoredResult]]:
    """``(task, model plugin) -> {configuration (or label): one of its rows}``."""
    out: dict[tuple[str, str], dict[str, StoredResult]] = defaultdict(dict)
    for row in rows:
        out[(str(row.task), str(row.model_plugin))].setdefault(_ident(row, by), row)
    return out


def counterparts(a_rows: Iterable[StoredResult], b_rows: Iterable[StoredResult], by: str) -> list[Counterpart]:
    """Models with exactly one configuration in A and exactly one in B, and these differ: the
    everyday "run A, change a parameter, run B". A model with several configurations on either
    side is left to exact pairing (and ``--rows``)."""
    in_a, in_b = _configurations(a_rows, by), _configurations(b_rows, by)
    out = []
    for key in sorted(set(in_a) & set(in_b)):
        if len(in_a[key]) != 1 or len(in_b[key]) != 1:
            continue
        (ident_a, row_a), = in_a[key].items()
        (ident_b, row_b), = in_b[key].items()
        if ident_a != ident_b:
            out.append(Counterpart(key[0], key[1], ident_a, ident_b, str(row_a.model), str(row_b.model),
                                   parameter_changes(row_a.config or {}, row_b.config or {})))
    return out


def crowded(rows: Iterable[StoredResult], by: str) -> dict[str, list[str]]:
    """``model plugin -> labels`` of the models with several configurations in ``rows`` (why a
    missing configuration could not be paired by model)."""
    return {plugin: sorted({str(r.model) for r in configs.values()})
            for (_, plugin), configs in _configurations(rows, by).items() if len(configs) > 1}
