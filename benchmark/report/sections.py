"""The report's sections read from the stored rows: each tuned configuration's searches, loss
curves, the comparison of two runs, provenance and the pictures plugins stored.

Pictures are read by :func:`benchmark.store.read_artifact`: only files inside their run
directory and not through a link; the rest are listed as skipped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from benchmark.compare import compare
from benchmark.compare.output import headers, notes, table, unpaired_lines
from benchmark.compare.rows import NOTHING, is_empty
from benchmark.report.charts import CD_LIMIT, available, cd_chart, search_chart
from benchmark.report.across_datasets import friedman
from benchmark.report.markup import data_uri, html_list, html_table, img
from benchmark.leaderboard.lines import Line
from benchmark.record import Refit
from benchmark.resultset import Run, StoredResult
from benchmark.store import artifact_path, read_artifact
from benchmark.yamlsafe import read_stored_json

PICTURE_LIMIT = 48  # pictures embedded per report
MAX_PICTURE_BYTES = 5_000_000
PROVENANCE_RUNS = 50  # run ids whose stored environment is shown, per run directory


def search_sections(group: Sequence[Line], rows: Sequence[StoredResult], trials: Sequence[StoredResult],
                    greater_is_better: Mapping[str, bool]) -> list[str]:
    """The HTML of each tuned line's searches on one dataset (empty when none is tuned): the
    chart and the key of what every outer fold chose."""
    from benchmark.tuning import search_history

    parts: list[str] = []
    if not any(line.tuned for line in group):
        return parts
    by_line: dict[tuple[str, str], list[tuple[StoredResult, Refit]]] = {}
    for r in rows:
        if isinstance(r.tuning, Refit):
            by_line.setdefault((r.dataset, r.config_id), []).append((r, r.tuning))
    trials_by_id = {str(r.cell_id): r for r in trials}
    for line in group:
        refits = sorted(by_line.get((line.dataset, line.config_id), []), key=lambda pair: (pair[0].seed, pair[0].fold))
        if not line.tuned or not refits:
            continue
        seeds = len({r.seed for r, _ in refits}) > 1
        first = refits[0][1]
        objective = str(first.objective)
        greater = bool(first.greater_is_better if first.greater_is_better is not None
                       else greater_is_better.get(objective, False))
        drawn, key = [], []
        for refit, tuning in refits:
            name = f"fold {refit.fold_name or refit.fold}" + (f", seed {refit.seed}" if seeds else "")
            history = search_history(refit, trials_by_id)
            drawn.append((name, history))
            outer = refit.metrics.get(objective)
            key.append([name, "" if tuning.chosen is None else json.dumps(tuning.chosen, sort_keys=True, default=str),
                        tuning.trial or "", "" if tuning.objective_value is None else f"{tuning.objective_value:.4g}",
                        "" if outer is None else f"{outer:.4g}",
                        f"{sum(h['objective'] is not None for h in history)} of {len(history)}",
                        refit.error or ""])
        how = line.tuned.removeprefix("tuned: ")
        parts.append(f"<h4>{html.escape(line.model)} ({html.escape(how)})</h4>")
        if not available():
            pass  # the page says once that it has no charts
        elif any(h["objective"] is not None for _, history in drawn for h in history):
            parts.append(img(search_chart(drawn, objective, greater), f"search of {line.model} on {line.dataset}",
                             f"{objective} of each trial of {line.model} on the inner split of each outer "
                             "training fold; ringed: the trial chosen and refit on the whole training fold"))
        else:
            parts.append('<p class="note">No trial of this search has a stored result to draw.</p>')
        parts.append(html_table(["outer fold", "chosen", "trial", f"inner {objective}",
                                 f"{objective} on the test fold", "trials with a result", "error"], key))
    return parts


def model_defaults(rows: Sequence[StoredResult]) -> dict[str, dict[str, Any]]:
    """Each configuration's model defaults by ``config_id``, from the installed model plugins
    (a reader asks the registry only this, which no row stores): nothing for a model that is not
    installed here or whose class cannot say (its parameters are then all shown)."""
    from benchmark.registry import build_registry

    pairs: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        pairs.setdefault((str(r.model_plugin), str(r.task)), []).append(str(r.config_id))
    if not pairs:
        return {}
    registry = build_registry()
    found: dict[str, dict[str, Any]] = {}
    for (plugin, task), config_ids in pairs.items():
        entry = registry.find("model", plugin)
        try:
            defaults = dict(entry.model_class(task).param_defaults()) if entry is not None else None
        except Exception:  # a plugin that cannot be imported here: its parameters are shown whole
            defaults = None
        if defaults is not None:
            found.update({config_id: defaults for config_id in config_ids})
    return found


def params_text(params: Mapping[str, Any], defaults: Mapping[str, Any] | None) -> str:
    """``n_components=16, lr_all=0.01``: the parameters that differ from ``defaults`` (all of them
    when the defaults are unknown), ``defaults`` when none does."""
    changed = {name: value for name, value in sorted(params.items())
               if defaults is None or name not in defaults or not _same(defaults[name], value)}
    if not changed:
        return "defaults"
    return ", ".join(f"{name}={json.dumps(value, sort_keys=True, default=str)}" for name, value in changed.items())


def _same(default: Any, value: Any) -> bool:
    """A default and a stored value compared as stored (a tuple default is a list in JSON)."""
    return json.dumps(default, sort_keys=True, default=str) == json.dumps(value, sort_keys=True, default=str)


def loss_curves(shown: Sequence[Line], numbers: Sequence[int], rows: Sequence[StoredResult],
                dataset: str) -> list[tuple[int, str, list[list[float]]]]:
    """``(number, label, curves)`` per configuration shown whose results on ``dataset`` stored a
    training history (``model_info.history.loss``: one curve per fold and seed)."""
    number_of = {line.config_id: (n, line.model) for n, line in zip(numbers, shown)}
    found: dict[str, list[list[float]]] = {}
    for row in rows:
        if row.dataset != dataset or row.status != "ok" or row.config_id not in number_of:
            continue
        loss = ((row.model_info or {}).get("history") or {}).get("loss")
        if isinstance(loss, list) and loss and all(isinstance(v, (int, float)) for v in loss):
            found.setdefault(str(row.config_id), []).append([float(v) for v in loss])
    return [(number_of[c][0], number_of[c][1], runs) for c, runs in
            sorted(found.items(), key=lambda item: number_of[item[0]][0])]


def comparison_section(runs: Sequence[Run]) -> str:
    """Two runs compared (:func:`benchmark.compare.compare`), as ``bench compare A B`` shows it."""
    result = compare(runs[0], runs[1])
    parts = ["<h2>Comparison</h2>",
             "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes(result))]
    comparison_rows = table(result)
    parts.append(html_table(headers(result), comparison_rows).replace("<td>better</td>", '<td class="better">better</td>')
                 .replace("<td>worse</td>", '<td class="worse">worse</td>') if comparison_rows
                 else f"<p>{html.escape(NOTHING)}</p>" if is_empty(result)
                 else "<p>no paired cells</p>")
    unpaired = unpaired_lines(result)
    if not is_empty(result):
        parts.append("<h3>Not paired</h3>" + (html_list(unpaired) if unpaired else "<p>every cell was paired</p>"))
    changes = result.version_changes
    parts.append("<h3>Versions that differ</h3>" + (html_list(changes) if changes else "<p>none</p>"))
    return "".join(parts)


def _revision(env: Mapping[str, Any]) -> str:
    """The git revision an environment record names, or why there is none."""
    for key in ("git_revision", "git", "revision"):
        value = env.get(key)
        if isinstance(value, str) and value:
            return value
    return "(not recorded: not run from a git checkout)"


def provenance_section(run: Run, rows: Sequence[StoredResult]) -> str:
    """Where ``run``'s results shown (``rows``) came from: its runs and their environments,
    packages, plugins, data and splits, fold fingerprints and configurations."""
    env = run.environment
    parts = [f"<h3>{html.escape(run.name)}</h3>"]
    facts = [["directory", str(run.directory)], ["run ids", ", ".join(run.run_ids) or "(not recorded)"],
             ["suites", ", ".join(sorted({str(r.suite) for r in rows}))],
             ["git revision (latest run)", _revision(env)],
             ["recorded at", env.get("recorded_at", "")], ["python", env.get("python", "")],
             ["machine", json.dumps(env.get("machine") or (rows[0].machine if rows else {}),
                                    sort_keys=True)]]
    parts.append(html_table(["", ""], facts))
    history = []
    for run_id in sorted({str(r.run_id) for r in rows if r.run_id})[-PROVENANCE_RUNS:]:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in run_id).lstrip(".") or "run"
        record, _ = read_stored_json(Path(run.directory) / "environments" / f"{safe}.json")
        if not isinstance(record, dict):
            record = env if env.get("run_id") == run_id else {}
        cells = sum(1 for r in rows if r.run_id == run_id)
        packages = record.get("packages") if isinstance(record.get("packages"), dict) else {}
        history.append([run_id, cells, _revision(record) if record else "(no stored environment)",
                        str(record.get("recorded_at", "")), str(packages.get("bench-harness", ""))])
    if history:
        parts.append("<h4>Runs that computed the cells shown</h4>"
                     + html_table(["run id", "cells", "git revision", "recorded at", "bench version"], history))
    if isinstance(env.get("packages"), dict):
        parts.append("<h4>Packages</h4>" + html_table(["package", "version"], sorted(env["packages"].items())))
    plugins = sorted({(str((r.plugin or {}).get("name")), str((r.plugin or {}).get("distribution")),
                       str((r.plugin or {}).get("version"))) for r in rows if r.plugin})
    if plugins:
        parts.append("<h4>Plugins used</h4>" + html_table(["plugin", "distribution", "version"], plugins))
    data = sorted({(str(r.dataset), str(r.dataset_plugin), str(r.dataset_checksum),
                    str(r.split), json.dumps(r.split_params, sort_keys=True, default=str))
                   for r in rows})
    parts.append("<h4>Data and splits</h4>" + html_table(["dataset", "plugin", "checksum", "split", "split params"], data))
    folds = sorted({(str(r.dataset), str(r.seed), str(r.fold_name or r.fold),
                     str(r.split_fingerprint)) for r in rows})
    parts.append("<h4>Fold fingerprints</h4>" + html_table(["dataset", "seed", "fold", "fingerprint"], folds))
    configs = {}
    for r in rows:
        configs[str(r.config_id)] = (str(r.model), str(r.model_plugin), str(r.config_id),
                                            json.dumps(dict(r.config), sort_keys=True, default=str))
    parts.append("<h4>Configurations</h4>" + html_table(["label", "plugin", "config_id", "params"],
                                                    sorted(configs.values())))
    return "".join(parts)


def picture_figures(runs: Sequence[Run], rows: Sequence[StoredResult]) -> tuple[list[str], list[str]]:
    """The PNG artifacts to embed (one per configuration, dataset and file name) and the
    artifacts skipped, with why."""
    out: list[str] = []
    skipped: list[str] = []
    directories = {str(run.directory): run for run in runs}
    shown: set[tuple[str, str, str]] = set()
    for row in sorted(rows, key=lambda r: (str(r.run_dir), r.seed, r.fold)):
        run = directories.get(str(row.run_dir))
        artifacts = row.artifacts
        if run is None or not isinstance(artifacts, list):
            continue
        for relative in artifacts:
            name = PurePosixPath(str(relative)).name
            if not name.lower().endswith(".png"):
                continue
            key = (str(row.config_id), str(row.dataset), name)
            if key in shown:
                continue
            where = f"{run.name}: {str(relative)[:200]!r} of {row.model} on {row.dataset}"
            if artifact_path(run.directory, relative) is None:
                skipped.append(f"{where}: not a file inside the run directory (outside it, through a link, "
                               "or missing)")
                continue
            if len(out) >= PICTURE_LIMIT:
                skipped.append(f"{where}: over the limit of {PICTURE_LIMIT} pictures per report")
                continue
            data = read_artifact(run.directory, relative, MAX_PICTURE_BYTES)
            if data is None or not data.startswith(b"\x89PNG\r\n\x1a\n"):
                skipped.append(f"{where}: not a PNG file of at most {MAX_PICTURE_BYTES:,} bytes")
                continue
            shown.add(key)
            caption = (f"{row.model} on {row.dataset}, fold {row.fold_name}, "
                       f"seed {row.seed}: {name} ({run.name})")
            out.append(img(data_uri(data, "image/png"), caption, caption))
    return out, skipped


def across_datasets_section(lines: Sequence[Line], metrics: Mapping[str, list[str]],
                            greater_is_better: Mapping[str, bool]) -> list[str]:
    """Per task with several datasets: the Friedman/Nemenyi analysis, its critical-difference
    diagram and the average ranks (or why none could be made); nothing with one dataset."""
    analyses, reasons = friedman(lines, metrics, greater_is_better)
    if not analyses and not reasons:
        return []
    parts = ["<h2>Across datasets</h2>",
             '<p class="note">Friedman test on the ranks of the configurations within each dataset, '
             "Nemenyi post-hoc test (Demšar 2006, JMLR 7:1–30): configurations joined by a bar are not "
             "significantly different; CD is the critical difference of average ranks. Each dataset "
             "counts once, so few datasets give little power.</p>"]
    for result in analyses:
        parts.append(f"<h3>{html.escape(result.task)}: {html.escape(result.metric)} on "
                     f"{len(result.datasets)} datasets</h3>")
        facts: list[list[str]] = [["datasets", ", ".join(result.datasets)],
                                  ["configurations", str(len(result.labels))],
                                  ["Friedman test", "" if result.p is None else f"p = {result.p:.3g}"],
                                  [f"Nemenyi CD (α = {result.alpha:g})", f"{result.cd:.3f}"]]
        parts.append(html_table(["", ""], facts))
        if len(result.labels) > CD_LIMIT and available():
            parts.append(f'<p class="note">The diagram shows the {CD_LIMIT} best of {len(result.labels)} '
                         "configurations (the test covers all of them).</p>")
        if available():
            parts.append(img(cd_chart(result), f"critical-difference diagram, {result.task}",
                             f"average rank over {len(result.datasets)} datasets (1 = best); bars join "
                             "configurations within the critical difference"))
        parts.append(html_table(["configuration", "average rank"],
                                [[label, f"{rank:.2f}"] for label, rank in zip(result.labels, result.ranks)]))
    if reasons:
        parts.append(html_list(reasons))
    return parts
