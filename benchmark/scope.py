"""Which stored rows belong to a run's current suite (``bench leaderboard`` and ``bench report``
show only those unless ``--all-stored``).

Exact when the runner recorded what it planned (:mod:`benchmark.plan`); otherwise judged from
the stored ``suite.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from benchmark.plan import PLANNED, experiment_key
from benchmark.resultset import is_refit


def in_suite(run: Any) -> Callable[[Mapping[str, Any]], bool] | None:
    """Whether a row of ``run`` belongs to the run's current suite (``None``: no suite to say).

    Exact when the runner recorded what it planned in ``environment.json`` (:func:`planned`);
    otherwise from the stored ``suite.yaml``: the row's dataset label and seed are the suite's,
    and its model label is one the suite gives, with every parameter the suite sets for it equal
    (so a removed configuration or one whose parameters changed under the same label is out).
    Labels renamed since a cell was stored hide that cell from this fallback; ``--all-stored``
    shows it.

    A tuned model's refit is planned only once its trials have chosen (the record holds the
    trials), so with a record a refit row belongs when every one of its trials stored in
    ``run.trials`` was planned and the stored suite still tunes with its objective over its
    parameters (:func:`_tunes`): a search changed since stays out, as a changed grid does.
    """
    record = (getattr(run, "environment", None) or {}).get(PLANNED)
    if isinstance(record, Mapping) and isinstance(record.get("experiments"), list):
        keys = {experiment_key(*entry) for entry in record["experiments"]
                if isinstance(entry, list) and len(entry) == 4}
        planned_seeds = set(record["seeds"]) if isinstance(record.get("seeds"), list) else None
        trial_keys = {row.get("cell_id"): experiment_key(row.get("dataset_checksum"), row.get("split"),
                                                          row.get("split_params"), row.get("config_id"))
                      for row in getattr(run, "trials", None) or ()}
        tunes = _tunes(getattr(run, "suite_data", None))

        def planned_row(row: Mapping[str, Any]) -> bool:
            if planned_seeds is not None and row.get("seed", 0) not in planned_seeds:
                return False
            if experiment_key(row.get("dataset_checksum"), row.get("split"), row.get("split_params"),
                               row.get("config_id")) in keys:
                return True
            if not is_refit(row):
                return False
            trials = [trial_keys[i] for i in row["tuning"].get("trial_cell_ids") or () if i in trial_keys]
            return bool(trials) and all(key in keys for key in trials) and (tunes is None or _tuned_as(row) in tunes)

        return planned_row
    data = getattr(run, "suite_data", None)
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), list) \
            or not isinstance(data.get("datasets"), list):
        return None
    given_seeds = data.get("seeds") or [data.get("seed", 0)]
    seeds = set(given_seeds) if isinstance(given_seeds, list) else {given_seeds}
    datasets = [{"name": d} if isinstance(d, str) else d for d in data["datasets"]]
    dataset_labels = {str(d.get("label", d.get("name"))) for d in datasets if isinstance(d, Mapping)}
    models: dict[str, tuple[dict[str, Any], set[str], Any]] = {}  # label -> (given params, datasets, tuned as)
    for entry in data["models"]:
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            return None  # a suite shape this reader does not know: show everything
        params: Mapping[str, Any] = entry["params"] if isinstance(entry.get("params"), Mapping) else {}
        grid: Mapping[str, Any] = entry["grid"] if isinstance(entry.get("grid"), Mapping) else {}
        chosen = set(map(str, entry["datasets"])) if isinstance(entry.get("datasets"), list) else dataset_labels
        names = list(grid)
        combos: list[dict[str, Any]] = [{}]
        for name in names:
            values = grid[name] if isinstance(grid[name], list) else [grid[name]]
            combos = [{**combo, name: value} for combo in combos for value in values]
            if len(combos) > 100_000:
                return None
        tuned = _tune_entry(entry)
        for combo in combos:
            given = {**params, **combo}
            label = str(entry.get("label", entry["name"]))
            shown = combo if "label" in entry else given
            if shown:
                label = f"{label}({', '.join(f'{k}={shown[k]}' for k in sorted(shown))})"
            if tuned is not None and "label" not in entry:
                label += " tuned"  # as benchmark.suite labels a tuned model
            models[label] = (given, chosen, tuned)

    def belongs(row: Mapping[str, Any]) -> bool:
        model = models.get(str(row.get("model")))
        if model is None or row.get("seed", 0) not in seeds:
            return False
        given, chosen, tuned = model
        if str(row.get("dataset")) not in chosen or _tuned_as(row) != tuned:
            return False
        config = row.get("config") if isinstance(row.get("config"), Mapping) else row.get("params")
        config = config if isinstance(config, Mapping) else {}
        return all(key in config and _same(config[key], value) for key, value in given.items())

    return belongs


def _tune_key(block: Any) -> Any:
    """What identifies a ``tune:`` block to :func:`in_suite`: its objective and the names of the
    parameters it searches (``None`` for no block)."""
    if not isinstance(block, Mapping):
        return None
    space = block.get("space")
    return (str(block.get("objective")), tuple(sorted(map(str, space))) if isinstance(space, Mapping) else ())


def _tune_entry(entry: Mapping[str, Any]) -> Any:
    """:func:`_tune_key` of a suite entry."""
    return _tune_key(entry.get("tune"))


def _tuned_as(row: Mapping[str, Any]) -> Any:
    """:func:`_tune_key` of a stored row: the ``tune`` description in a refit's configuration."""
    config = row.get("config")
    return _tune_key(config.get("tune") if isinstance(config, Mapping) else None)


def _tunes(data: Any) -> set[Any] | None:
    """The tune blocks of a stored suite as :func:`_tune_entry` gives them (``None``: no suite)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), list):
        return None
    return {_tune_entry(entry) for entry in data["models"] if isinstance(entry, Mapping)} - {None}


def still_tuned(record: Any, run: Any) -> Any:
    """``record`` less the tuned configurations that ``run``'s stored suite no longer tunes alike
    (:func:`_tunes`): :func:`in_suite` leaves out their refits, so they are not planned lines either."""
    tunes = _tunes(getattr(run, "suite_data", None))
    if tunes is None or not isinstance(record, Mapping) or not isinstance(record.get("tables"), list) \
            or not isinstance(record.get("configurations"), Mapping):
        return record
    labels = record["configurations"]

    def gone(config_id: Any) -> bool:
        entry = labels.get(config_id)
        config = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
        return isinstance(config, Mapping) and "tune" in config and _tune_key(config["tune"]) not in tunes

    return {**record, "tables": [{**t, "configurations": [i for i in t["configurations"] if not gone(i)]}
                                 if isinstance(t, Mapping) and isinstance(t.get("configurations"), list) else t
                                 for t in record["tables"]]}


def _same(stored: Any, given: Any) -> bool:
    if isinstance(stored, (int, float)) and isinstance(given, (int, float)) \
            and not isinstance(stored, bool) and not isinstance(given, bool):
        return float(stored) == float(given)
    return json.dumps(stored, sort_keys=True, default=str) == json.dumps(given, sort_keys=True, default=str)


def scope(runs: Sequence[Any], rows: Iterable[Mapping[str, Any]],
          all_stored: bool = False) -> tuple[list[Mapping[str, Any]], str]:
    """The rows of the runs' current suites (all of them with ``all_stored``) and a one-line
    note saying what was left out (empty when nothing was).

    Each row is judged by the suite of the run it came from (``row["run_dir"]``).
    """
    rows = list(rows)
    if all_stored:
        return rows, ""
    judges = {str(getattr(run, "directory", "")): in_suite(run) for run in runs}
    kept, hidden = [], set()
    for row in rows:
        judge = judges.get(str(row.get("run_dir", "")))
        if judge is None or judge(row):
            kept.append(row)
        else:
            hidden.add((str(row.get("dataset")), str(row.get("config_id"))))
    if not hidden:
        return kept, ""
    return kept, (f"{len(hidden)} stored configuration(s) not in the current suite are not shown "
                  "(--all-stored shows every stored configuration)")
