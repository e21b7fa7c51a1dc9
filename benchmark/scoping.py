"""Which stored results belong to a run's suite: the decision every reader of a run scopes by.

``bench leaderboard`` shows the configurations of the runs' *current* suites (a configuration
removed from the suite, or whose parameters changed under the same label, stays in
``cells.jsonl`` but is no line; ``--all-stored`` shows it). A run tells which results are its
suite's in one of two ways:

* exactly, by what its runner planned: ``environment.json``'s :data:`PLANNED` record (written by
  :func:`benchmark.leaderboard.planned`), whose experiments are listed as :func:`experiment_key` gives them;
* else by its stored ``suite.yaml``, read by the suite's own parser
  (:func:`benchmark.suite.read_suite`): the result's dataset label, seed and model label are the
  suite's, with every parameter the suite sets equal.

:func:`in_suite` gives a run's judge, :func:`scope` applies the judges of several runs
(:meth:`benchmark.resultset.ResultSet.in_suite`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmark.errors import BenchError
from benchmark.record import SPLIT_SEED, Refit

if TYPE_CHECKING:  # the reader's types; the result set imports this module
    from benchmark.resultset import Run, StoredResult
    from benchmark.suite import ParsedSuite

SUITE = "suite.yaml"
PLANNED = "planned"
"""Key of ``environment.json`` under which the runner records what its suite planned
(:func:`benchmark.leaderboard.planned`): the exact scope of the stored suite (:func:`in_suite`)."""


def experiment_key(checksum: Any, split: Any, split_params: Any, config_id: Any) -> str:
    """What a run's plan record (:data:`PLANNED`) lists per planned experiment: dataset checksum,
    split method and parameters (without the seed) and configuration, as canonical JSON."""
    params = {k: v for k, v in split_params.items() if k != SPLIT_SEED} if isinstance(split_params, Mapping) else {}
    return json.dumps([str(checksum or ""), str(split or ""), params, str(config_id or "")], sort_keys=True,
                      default=str)


def _key_of(row: StoredResult) -> str:
    return experiment_key(row.dataset_checksum, row.split, row.split_params, row.config_id)


def tune_key(block: Any) -> Any:
    """What identifies a ``tune:`` block: its objective and the names of the parameters it
    searches (``None`` for no block)."""
    if not isinstance(block, Mapping):
        return None
    space = block.get("space")
    return (str(block.get("objective")), tuple(sorted(map(str, space))) if isinstance(space, Mapping) else ())


def tuned_as(row: StoredResult) -> Any:
    """:func:`tune_key` of a result: the ``tune`` description in a refit's configuration."""
    return tune_key(row.config.get("tune") if isinstance(row.config, Mapping) else None)


def stored_suite(run: Run) -> ParsedSuite | None:
    """The run's stored ``suite.yaml`` read by the suite's own parser
    (:func:`benchmark.suite.read_suite`); ``None`` when there is none, or when the hardened read
    of the run refused it (a link, too large, not YAML: :attr:`Run.suite_data` is ``None``)."""
    if run.suite_data is None:
        return None
    from benchmark.suite import read_suite  # the parser, with the registry and pandas: only a run without a plan record

    try:
        return read_suite(run.directory / SUITE)
    except BenchError:
        return None


def suite_tunes(data: Any) -> set[Any] | None:
    """The ``tune:`` blocks of a stored suite's data (``Run.suite_data``, read by the hardened
    reader) as :func:`tune_key` gives them; ``None``: no suite. Only the blocks' own mappings are
    compared, so the data read once with the run serves: the suite's parser (which loads the
    registry and pandas) is needed only for a run without a plan record (:func:`in_suite`)."""
    models = data.get("models") if isinstance(data, Mapping) else None
    if not isinstance(models, list):
        return None
    return {tune_key(entry.get("tune")) for entry in models if isinstance(entry, Mapping)} - {None}


Judge = Callable[["StoredResult"], bool]
"""Whether a result belongs to its run's current suite."""


def in_suite(run: Run) -> Judge | None:
    """Whether a result of ``run`` belongs to the run's current suite (``None``: no suite to say).

    Exact when the runner recorded what it planned in ``environment.json``
    (:func:`benchmark.leaderboard.planned`); otherwise from the stored ``suite.yaml``: the
    result's dataset label and seed are the suite's, and its model label is one the suite gives,
    with every parameter the suite sets for it equal (so a removed configuration or one whose
    parameters changed under the same label is out). Labels renamed since a cell was stored hide
    that cell from this fallback; ``--all-stored`` shows it.

    A tuned model's refit is planned only once its trials have chosen (the record holds the
    trials), so with a record a refit belongs when every one of its trials stored in
    ``run.trials`` was planned and the stored suite still tunes with its objective over its
    parameters (:func:`suite_tunes`): a search changed since stays out, as a changed grid does.
    """
    record = run.environment.get(PLANNED)
    if isinstance(record, Mapping) and isinstance(record.get("experiments"), list):
        return _planned(record, run)
    parsed = stored_suite(run)
    if parsed is None:
        return None
    return _by_suite(parsed)


def _planned(record: Mapping[str, Any], run: Run) -> Judge:
    keys = {experiment_key(*entry) for entry in record["experiments"] if isinstance(entry, list) and len(entry) == 4}
    seeds = set(record["seeds"]) if isinstance(record.get("seeds"), list) else None
    trial_keys = {row.cell_id: _key_of(row) for row in run.trials}
    tunes = suite_tunes(run.suite_data)

    def planned(row: StoredResult) -> bool:
        if seeds is not None and row.seed not in seeds:
            return False
        if _key_of(row) in keys:
            return True
        tuning = row.tuning
        if not isinstance(tuning, Refit):
            return False
        trials = [trial_keys[i] for i in tuning.trial_cell_ids or () if i in trial_keys]
        return bool(trials) and all(key in keys for key in trials) and (tunes is None or tuned_as(row) in tunes)

    return planned


@dataclass(frozen=True)
class _Configuration:
    given: dict[str, Any]  # the parameters the suite sets
    datasets: set[str]  # the dataset labels it runs on
    tuned: Any  # its tune_key


_MAX_COMBINATIONS = 100_000


def _configurations(data: Mapping[str, Any]) -> dict[str, _Configuration] | None:
    """The model configurations of a stored suite by label, labelled as the suite labels them
    (``name(k=v, ...)`` for a grid or parameters without a ``label``; `` tuned`` for a tuned
    model); ``None`` for a suite shape this reader does not know (then everything is shown)."""
    datasets = [{"name": d} if isinstance(d, str) else d for d in data["datasets"]]
    dataset_labels = {str(d.get("label", d.get("name"))) for d in datasets if isinstance(d, Mapping)}
    models: dict[str, _Configuration] = {}
    for entry in data["models"]:
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            return None
        params: Mapping[str, Any] = entry["params"] if isinstance(entry.get("params"), Mapping) else {}
        grid: Mapping[str, Any] = entry["grid"] if isinstance(entry.get("grid"), Mapping) else {}
        chosen = set(map(str, entry["datasets"])) if isinstance(entry.get("datasets"), list) else dataset_labels
        combos: list[dict[str, Any]] = [{}]
        for name in grid:
            values = grid[name] if isinstance(grid[name], list) else [grid[name]]
            combos = [{**combo, name: value} for combo in combos for value in values]
            if len(combos) > _MAX_COMBINATIONS:
                return None
        tuned = tune_key(entry.get("tune"))
        for combo in combos:
            given = {**params, **combo}
            label = str(entry.get("label", entry["name"]))
            shown = combo if "label" in entry else given
            if shown:
                label = f"{label}({', '.join(f'{k}={shown[k]}' for k in sorted(shown))})"
            if tuned is not None and "label" not in entry:
                label += " tuned"  # as benchmark.suite labels a tuned model
            models[label] = _Configuration(given, chosen, tuned)
    return models


def _by_suite(parsed: ParsedSuite) -> Judge | None:
    data = parsed.data
    if not isinstance(data.get("models"), list) or not isinstance(data.get("datasets"), list):
        return None
    models = _configurations(data)
    if models is None:
        return None
    given_seeds = data.get("seeds") or [data.get("seed", 0)]
    seeds = set(given_seeds) if isinstance(given_seeds, list) else {given_seeds}

    def belongs(row: StoredResult) -> bool:
        model = models.get(str(row.model))
        if model is None or row.seed not in seeds:
            return False
        if str(row.dataset) not in model.datasets or tuned_as(row) != model.tuned:
            return False
        config = row.config if row.config else row.params
        return all(key in config and _same(config[key], value) for key, value in model.given.items())

    return belongs


def _same(stored: Any, given: Any) -> bool:
    if isinstance(stored, (int, float)) and isinstance(given, (int, float)) \
            and not isinstance(stored, bool) and not isinstance(given, bool):
        return float(stored) == float(given)
    return json.dumps(stored, sort_keys=True, default=str) == json.dumps(given, sort_keys=True, default=str)


@dataclass
class InSuite:
    """Results scoped to their runs' current suites: those that belong (``rows``) and the
    (dataset label, configuration id) of those that do not (``hidden``)."""

    rows: list[StoredResult]
    hidden: set[tuple[str, str]]


def scope(runs: Sequence[Run], rows: Iterable[StoredResult]) -> InSuite:
    """The results of ``rows`` that belong to the current suite of the run each came from
    (its ``run_dir``; :func:`in_suite`), and what was left out. A result of a run with no suite
    to say belongs."""
    judges = {str(run.directory): in_suite(run) for run in runs}
    kept: list[StoredResult] = []
    hidden: set[tuple[str, str]] = set()
    for row in rows:
        judge = judges.get(str(row.run_dir))
        if judge is None or judge(row):
            kept.append(row)
        else:
            hidden.add((str(row.dataset), str(row.config_id)))
    return InSuite(kept, hidden)
