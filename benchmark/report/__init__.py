"""``bench report RUN [RUN...] -o report.html``: one self-contained HTML file.

The file needs nothing but itself: no script, no stylesheet or font from a network, no CDN.
Charts are drawn with **matplotlib** (Agg backend, object-oriented API, imported only when a
report is written) and inlined as SVG ``data:`` URIs; the pictures plugins stored (e.g.
``reconstructions.png``) are inlined as base64 PNG ``data:`` URIs. Why matplotlib rather than a
JavaScript chart library bundled into the page: it is already bench's plotting library (the
``plots``/``keras`` extras draw the artifacts with it), it is well kept, the charts are static
(no scripts to run, so no console errors to have and nothing for a browser to fetch), and an
SVG of a few points weighs far less than any bundled JS library; matplotlib's SVG writes text as
paths, so it needs no font either.

**Scope.** By default only the configurations of each run's current suite are shown (see
:meth:`benchmark.resultset.ResultSet.in_suite`); ``all_stored=True`` (``--all-stored``) shows every stored
one. The page says how many were left out.

**Every point is identifiable.** Each dataset's charts share one numbering, given in a key
table under them (point, label, alias, rank, mean ± s.d.): the metric chart writes the number
before each label; the time chart and the loss curves write it beside each point or curve end,
placed by :func:`benchmark.report.layout.layout_labels` so that no two numbers overlap, none covers a marker and none
leaves the frame (a leader line joins a number pushed away from its point). A chart draws at
most :data:`CHART_LIMIT` configurations — the best ones and the Pareto front — and says so; the
table above it has every line. (Issue 19: drawing 5,000 configurations took most of the
report's 112 s; ``benchmarks/readers_scale.md`` has the figures now.)

Sections: the leaderboard (:mod:`benchmark.leaderboard`: ranks on shared folds, ties with #1, ±
over folds), one table per dataset and task (:func:`benchmark.leaderboard.lines.by_table`); per table
the primary metric with error bars, time vs error with the Pareto front, autoencoder loss curves
(``model_info.history.loss``); with several datasets a critical-difference diagram (Friedman
test, Nemenyi post-hoc: Demšar 2006; the numbers from
:func:`benchmark.stats.critical_difference`, the same as ``bench compare --all``); for each
tuned configuration (a ``tune:`` block) its searches, the inner objective of every trial per
outer fold with the chosen point ringed, and a key of the parameters each outer fold chose
(:func:`benchmark.report.charts.search_chart`, from :func:`benchmark.tuning.search_history`); the pictures plugins
stored — read by :func:`benchmark.store.read_artifact`: only files inside their run directory
and not through a link, the rest listed as skipped; a comparison when exactly two runs are given
(:mod:`benchmark.compare`); provenance (runs and the git revision of each, versions, machine,
dataset checksums, split fingerprints).

This module assembles the page; :mod:`benchmark.report.markup` holds its HTML and figure
primitives, :mod:`benchmark.report.layout` the placing of point numbers,
:mod:`benchmark.report.charts` the charts, :mod:`benchmark.report.across_datasets` the analysis over
datasets and :mod:`benchmark.report.sections` the sections read from the stored rows.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark import resultset
from benchmark.errors import BenchError
from benchmark.leaderboard import Board, board
from benchmark.leaderboard.lines import Line, by_table
from benchmark.report.charts import WITHOUT_MATPLOTLIB, available, loss_chart, metric_chart, seconds, time_chart
from benchmark.report.charts import pareto as pareto
from benchmark.report.across_datasets import friedman as friedman
from benchmark.report.markup import STYLE, html_list, html_table, img
from benchmark.report.layout import layout_labels as layout_labels
from benchmark.report.sections import (across_datasets_section, comparison_section, loss_curves, model_defaults,
                                       params_text, picture_figures, provenance_section, search_sections)
from benchmark.resultset import ResultSet
from benchmark.store import artifact_path as artifact_path
from benchmark.leaderboard.tables import Columns, legend, mean_std

CHART_LIMIT = 30  # configurations drawn per chart (the table lists every one)


def _chart_lines(group: Sequence[Any], metric: str, greater: bool) -> tuple[list[Any], set[int]]:
    """At most :data:`CHART_LIMIT` lines of a dataset for its charts, in table order: the Pareto
    front (time vs metric, over every line) first, then the best by rank; and the positions of
    the front among them."""
    timed = [line for line in group if line.mean(metric) is not None and seconds(line) is not None]
    front_idx = pareto([(seconds(line) or 0.0, line.mean(metric)) for line in timed], greater)
    front = [timed[i] for i in front_idx]
    if len(front) > CHART_LIMIT // 2:  # an even sample of a long front, its two ends kept
        step = (len(front) - 1) / (CHART_LIMIT // 2 - 1)
        front = [front[round(i * step)] for i in range(CHART_LIMIT // 2)]
    chosen = {id(line) for line in front}
    for line in group:
        if len(chosen) >= CHART_LIMIT:
            break
        if line.mean(metric) is not None:
            chosen.add(id(line))
    shown = [line for line in group if id(line) in chosen]
    front_ids = {id(line) for line in front}
    return shown, {i for i, line in enumerate(shown) if id(line) in front_ids}


def _heading(dataset: str, task: str, tables: Mapping[tuple[str, str], Any]) -> str:
    """A section's heading: the dataset label, with the task when the label has several."""
    return f"{dataset} ({task})" if sum(label == dataset for label, _ in tables) > 1 else dataset


@dataclass
class _Page:
    """What every section of one report reads: the loaded runs, their leaderboard (scoped), each
    task's primary metric, the metrics' directions and the leaderboard's tables."""

    loaded: ResultSet
    board: Board
    primary: dict[str, str]
    greater_is_better: dict[str, bool]
    tables: dict[tuple[str, str], list[Line]]


def build_html(run_dirs: Sequence[str | Path], warn: Callable[[str], None] | None = None,
               all_stored: bool = False) -> str:
    """The report's HTML; ``warn`` gets each loader warning; ``all_stored`` shows configurations
    no longer in the runs' suites."""
    if not run_dirs:
        raise BenchError("no results directory given", "bench report")
    loaded = resultset.load(run_dirs)
    if warn is not None:
        for message in loaded.warnings:
            warn(message)
    runs = loaded.runs
    made = board(loaded, all_stored=all_stored)
    metrics = made.metrics
    page = _Page(loaded, made, {task: names[0] for task, names in metrics.items() if names},
                 loaded.directions([m for names in metrics.values() for m in names]), by_table(made.lines))

    title = "bench report: " + ", ".join(run.name for run in runs)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">{len(made.rows)} cells from {len(runs)} run(s); generated by bench. '
             "Self-contained: every chart and picture is inside this file.</p>"]
    if made.note:
        parts.append(f'<p class="note">{html.escape(made.note)}.</p>')
    if loaded.warnings:
        parts.append("<p>Read with warnings:</p>" + html_list(loaded.warnings))
    if not available():
        parts.append(f'<p class="note">{html.escape(WITHOUT_MATPLOTLIB)}.</p>')
        if warn is not None:
            warn(WITHOUT_MATPLOTLIB)
    parts += _leaderboard(page) + _charts(page) + _searches(page) \
        + across_datasets_section(made.lines, metrics, page.greater_is_better) + _pictures(page)
    if len(runs) == 2:
        parts.append(comparison_section(runs))
    parts.append("<h2>Provenance</h2>")
    parts.extend(provenance_section(run, [r for r in made.rows if r.run_dir == str(run.directory)])
                 for run in runs)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _leaderboard(page: _Page) -> list[str]:
    """The leaderboard's tables as the terminal shows them (every column), with each line's
    parameters that differ from its model's defaults (:func:`~benchmark.report.sections.params_text`)."""
    parts = ["<h2>Leaderboard</h2>"]
    defaults = model_defaults(page.board.rows)
    for (dataset, task), group in page.tables.items():
        names = [m for m in page.board.metrics.get(task, []) if any(line.fold_values.get(m) for line in group)]
        columns = Columns.of(group, names)
        body = [columns.row(line) + [params_text(line.params, defaults.get(line.config_id))] for line in group]
        parts.append(f"<h3>{html.escape(dataset)} ({html.escape(task)})</h3>"
                     + html_table(columns.headers() + ["parameters (not the defaults)"], body)
                     + "".join(f'<p class="note">{html.escape(n)}</p>' for n in legend(group)))
    return parts


def _charts(page: _Page) -> list[str]:
    """Per table: the primary metric per configuration, time against it, loss curves and the key."""
    if not available():
        return []
    parts = ["<h2>Charts</h2>"]
    for (dataset, task), group in page.tables.items():
        metric = page.primary.get(task)
        if metric is None or not any(line.mean(metric) is not None for line in group):
            continue
        parts.append(f"<h3>{html.escape(_heading(dataset, task, page.tables))}</h3>")
        parts += _table_charts(page, dataset, group, metric)
    return parts


def _table_charts(page: _Page, dataset: str, group: list[Line], metric: str) -> list[str]:
    """One table's charts (at most :data:`CHART_LIMIT` configurations, :func:`_chart_lines`) and
    the key that numbers their points."""
    parts = []
    greater = page.greater_is_better.get(metric, False)
    shown, front = _chart_lines(group, metric, greater)
    numbers = list(range(1, len(shown) + 1))
    drawn = sum(1 for line in group if line.mean(metric) is not None)
    if len(shown) < drawn:
        parts.append(f'<p class="note">The charts draw {len(shown)} of the {drawn} configurations: the '
                     "Pareto front and the best by rank; the table above lists every one.</p>")
    parts.append(img(metric_chart(shown, numbers, metric, greater), f"{metric} on {dataset}",
                     f"{metric} per configuration on {dataset}: mean, bars ±1 s.d. over folds; "
                     "numbers as in the key below"))
    if any(seconds(line) is not None for line in shown):
        parts.append(img(time_chart(shown, numbers, metric, greater, front), f"time vs {metric} on {dataset}",
                         f"time vs {metric} on {dataset}; red: the Pareto front (nothing is both faster "
                         "and better); each point carries its number from the key below"))
    curves = loss_curves(shown, numbers, page.board.rows, dataset)
    if curves:
        parts.append(img(loss_chart(curves), f"loss curves on {dataset}",
                         f"training loss per epoch on {dataset}; each curve ends with its number"))
    key = [[n, line.model, line.alias, "" if line.rank is None else line.rank,
            mean_std(line, metric), "" if seconds(line) is None else f"{seconds(line):.3g}",
            "yes" if i in front else "", line.note] for i, (n, line) in enumerate(zip(numbers, shown))]
    parts.append("<h4>Key</h4>" + html_table(["point", "model", "alias", "rank", f"{metric} (mean ± s.d.)",
                                              "seconds per cell", "Pareto front", "note"], key))
    return parts


def _searches(page: _Page) -> list[str]:
    """Each tuned configuration's searches, per table (nothing when no line is tuned)."""
    found = {key: search_sections(group, page.board.rows, page.loaded.trials, page.greater_is_better)
             for key, group in page.tables.items()}
    if not any(found.values()):
        return []
    parts = ["<h2>Searches</h2>",
             '<p class="note">Each tuned configuration searched its parameters on every outer fold '
             "separately, scoring each trial on an inner split carved from that fold's training rows "
             "only; the chosen trial was refit on the whole training fold and scored once on its test "
             "fold (the leaderboard's number). The inner objective is not comparable across outer "
             "folds' test scores.</p>"]
    for (dataset, task), sections in found.items():
        if sections:
            parts.append(f"<h3>{html.escape(_heading(dataset, task, page.tables))}</h3>")
            parts.extend(sections)
    return parts


def _pictures(page: _Page) -> list[str]:
    """The pictures plugins stored, and the artifacts skipped with why (nothing when neither)."""
    figures, skipped = picture_figures(page.loaded.runs, page.board.rows)
    if not figures and not skipped:
        return []
    parts = ["<h2>Pictures</h2>",
             '<p class="note">Files the plugins stored with the cells (first fold and seed of each '
             "configuration); only files inside their run directory, not through a link.</p>"]
    parts.extend(figures)
    if skipped:
        parts.append("<h3>Skipped artifacts</h3>" + html_list(skipped))
    return parts


def write(run_dirs: Sequence[str | Path], output: str | Path, warn: Callable[[str], None] | None = None,
          all_stored: bool = False) -> Path:
    """Write the report of ``run_dirs`` to ``output`` (atomically, never through a link: the
    store's ``write_atomic``); the path written. ``warn`` is called with each warning of the
    loader (rows set aside, stored files ignored); ``all_stored`` as in :func:`build_html`."""
    from benchmark.store import write_atomic

    path = Path(output)
    if path.is_dir():
        raise BenchError("is a directory; give a file name such as report.html", f"-o {output}")
    if not path.parent.is_dir():  # a typo'd folder is not made (nor, as root, /nonexistent)
        raise BenchError(f"no directory {str(path.parent)!r} to write it in; create it first", f"-o {output}")
    text = build_html(run_dirs, warn, all_stored)
    write_atomic(path, text, where=f"-o {output}")
    return path
