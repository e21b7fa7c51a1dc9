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
:func:`benchmark.leaderboard.scope`); ``all_stored=True`` (``--all-stored``) shows every stored
one. The page says how many were left out.

**Every point is identifiable.** Each dataset's charts share one numbering, given in a key
table under them (point, label, alias, rank, mean ± s.d.): the metric chart writes the number
before each label; the time chart and the loss curves write it beside each point or curve end,
placed by :func:`layout_labels` so that no two numbers overlap, none covers a marker and none
leaves the frame (a leader line joins a number pushed away from its point). A chart draws at
most :data:`CHART_LIMIT` configurations — the best ones and the Pareto front — and says so; the
table above it has every line. (Issue 19: drawing 5,000 configurations took most of the
report's 112 s; ``benchmarks/readers_scale.md`` has the figures now.)

Sections: the leaderboard (:mod:`benchmark.leaderboard`: ranks on shared folds, ties with #1, ±
over folds), one table per dataset and task (:func:`benchmark.leaderboard.by_table`); per table
the primary metric with error bars, time vs error with the Pareto front, autoencoder loss curves
(``model_info.history.loss``); with several datasets a critical-difference diagram (Friedman
test, Nemenyi post-hoc: Demšar 2006; the numbers from
:func:`benchmark.stats.critical_difference`, the same as ``bench compare --all``); for each
tuned configuration (a ``tune:`` block) its searches, the inner objective of every trial per
outer fold with the chosen point ringed, and a key of the parameters each outer fold chose
(:func:`search_chart`, from :func:`benchmark.tuning.search_history`); the pictures plugins
stored — read by :func:`benchmark.store.read_artifact`: only files inside their run directory
and not through a link, the rest listed as skipped; a comparison when exactly two runs are given
(:mod:`benchmark.compare`); provenance (runs and the git revision of each, versions, machine,
dataset checksums, split fingerprints).
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from benchmark.errors import BenchError
from benchmark.resultset import is_refit
from benchmark.store import artifact_path, read_artifact
from benchmark.yamlsafe import read_stored_json

CHART_LIMIT = 30  # configurations drawn per chart (the table lists every one)
CD_LIMIT = 20  # configurations drawn in a critical-difference diagram
PAIRWISE_LIMIT = 40  # configurations up to which the Wilcoxon-Holm pairs are computed too
PICTURE_LIMIT = 48  # pictures embedded per report
MAX_PICTURE_BYTES = 5_000_000
PROVENANCE_RUNS = 50  # run ids whose stored environment is shown, per run directory

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;
color:#1b1b1b;background:#fff;padding:0 1rem}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}
figure{display:inline-block;margin:.5rem 1rem .5rem 0;vertical-align:top}
figcaption{font-size:.8rem;color:#444;max-width:640px}
img{max-width:100%;height:auto}.note{color:#555;font-size:.85rem}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:.8rem}
.better{color:#08660b;font-weight:600}.worse{color:#a40000;font-weight:600}
"""


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _svg(figure: Any) -> str:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return _data_uri(buffer.getvalue(), "image/svg+xml")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "path"  # text as paths: no font needed
    matplotlib.rcParams["svg.hashsalt"] = "bench"  # the same report for the same runs
    return Figure(figsize=(width, height), dpi=100)


def _img(uri: str, alt: str, caption: str = "") -> str:
    figure = f'<img src="{uri}" alt="{html.escape(alt)}">'
    return f"<figure>{figure}<figcaption>{html.escape(caption)}</figcaption></figure>" if caption else figure


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _short(label: str, limit: int = 38) -> str:
    """``label``, or when longer than ``limit`` its start, ``…`` and its alias (the hash of the
    whole label): two long labels with one prefix stay apart."""
    if len(label) <= limit:
        return label
    from benchmark.leaderboard import alias

    tag = alias(label)
    return label[: max(8, limit - len(tag) - 2)] + "… " + tag


# --- Numbers that never overlap ------------------------------------------------------------------

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in points


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def layout_labels(anchors: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]],
                  frame: Box, marker: float = 4.0, step: float = 2.0) -> list[tuple[float, float]]:
    """Offsets ``(dx, dy)`` (points) that put each label near its anchor with no two labels
    overlapping, no label over a marker (a square of half-side ``marker`` around every anchor)
    and every label inside ``frame``. Greedy, nearest position first: rings of 8 directions at
    growing distances, then a scan of the whole frame. Raises ``ValueError`` when a label
    cannot be placed at all (more labels than the frame holds).
    """
    x0, y0, x1, y1 = frame
    markers = [(x - marker, y - marker, x + marker, y + marker) for x, y in anchors]
    placed: list[Box] = []
    offsets: list[tuple[float, float]] = []
    directions = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]

    def free(box: Box) -> bool:
        return (box[0] >= x0 and box[1] >= y0 and box[2] <= x1 and box[3] <= y1
                and not any(_overlap(box, other) for other in placed)
                and not any(_overlap(box, other) for other in markers))

    for (ax, ay), (w, h) in zip(anchors, sizes):
        chosen = None
        near = marker + 1.0
        for ring in range(12):
            distance = near + ring * max(w, h) * 0.6
            for sx, sy in directions:
                dx = sx * (distance + w / 2) if sx else 0.0
                dy = sy * (distance + h / 2) if sy else 0.0
                box = (ax + dx - w / 2, ay + dy - h / 2, ax + dx + w / 2, ay + dy + h / 2)
                if free(box):
                    chosen = (dx, dy)
                    break
            if chosen:
                break
        if chosen is None:  # the whole frame, nearest first
            candidates = [(cx, cy) for cx in _steps(x0 + w / 2, x1 - w / 2, step)
                          for cy in _steps(y0 + h / 2, y1 - h / 2, step)]
            candidates.sort(key=lambda c: (c[0] - ax) ** 2 + (c[1] - ay) ** 2)
            for cx, cy in candidates:
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                if free(box):
                    chosen = (cx - ax, cy - ay)
                    break
        if chosen is None:
            raise ValueError(f"no room for label {len(offsets) + 1} of {len(anchors)}")
        placed.append((ax + chosen[0] - w / 2, ay + chosen[1] - h / 2, ax + chosen[0] + w / 2,
                       ay + chosen[1] + h / 2))
        offsets.append(chosen)
    return offsets


def _steps(start: float, stop: float, step: float) -> list[float]:
    if stop < start:
        return []
    count = int((stop - start) / step)
    return [start + i * step for i in range(count + 1)]


def _label_size(text: str, fontsize: float) -> tuple[float, float]:
    """A generous box (points) for a short label of digits: matplotlib's DejaVu Sans digits are
    0.64 em wide."""
    return (0.64 * fontsize * len(text) + 2.0, fontsize * 1.05 + 2.0)


def _number_points(figure: Any, ax: Any, xy: Sequence[tuple[float, float]], numbers: Sequence[int],
                   fontsize: float = 7.0, colour: str = "#111") -> list[tuple[float, float]]:
    """Write ``numbers`` beside the data points ``xy`` without overlaps (see
    :func:`layout_labels`); the axis limits must be final. Returns the offsets used (points)."""
    scale = 72.0 / figure.dpi  # display pixels -> points
    anchors = [(x * scale, y * scale) for x, y in ax.transData.transform(list(xy))] if xy else []
    bbox = ax.bbox
    frame = (bbox.x0 * scale + 1, bbox.y0 * scale + 1, bbox.x1 * scale - 1, bbox.y1 * scale - 1)
    try:
        offsets = layout_labels(anchors, [_label_size(str(n), fontsize) for n in numbers], frame)
    except ValueError:  # more numbers than the frame holds at this size: smaller, then side by side
        fontsize = 5.0
        try:
            offsets = layout_labels(anchors, [_label_size(str(n), fontsize) for n in numbers], frame)
        except ValueError:
            offsets = [(6.0, 6.0)] * len(anchors)
    for (x, y), (dx, dy), number in zip(xy, offsets, numbers):
        far = math.hypot(dx, dy) > 14
        ax.annotate(str(number), (x, y), xytext=(dx, dy), textcoords="offset points", ha="center",
                    va="center", fontsize=fontsize, color=colour, zorder=5,
                    arrowprops={"arrowstyle": "-", "color": "#888", "lw": 0.5, "shrinkA": 0, "shrinkB": 3}
                    if far else None)
    return offsets


def _limits(values: Sequence[float], log: bool = False) -> tuple[float, float]:
    low, high = min(values), max(values)
    if log:
        low, high = math.log10(low), math.log10(high)
    pad = (high - low) * 0.12 or (abs(high) * 0.05 or 0.5)
    low, high = low - pad, high + pad
    return (10 ** low, 10 ** high) if log else (low, high)


# --- Charts --------------------------------------------------------------------------------------


def metric_chart(lines: Sequence[Any], numbers: Sequence[int], metric: str, greater: bool) -> str:
    """Mean ± s.d. over folds of ``metric`` per configuration, in table order (best at the top);
    each label starts with its point number."""
    points = [(n, line) for n, line in zip(numbers, lines) if line.mean(metric) is not None]
    figure = _figure(7.5, 0.32 * len(points) + 1.2)
    ax = figure.subplots()
    ys = list(range(len(points)))[::-1]
    ax.errorbar([line.mean(metric) for _, line in points], ys,
                xerr=[line.std(metric) or 0.0 for _, line in points], fmt="o", capsize=3, color="#1f5fa8")
    ax.set_yticks(ys, [f"{n}  {_short(line.model)}" for n, line in points], fontsize=8)
    ax.set_ylim(-0.7, len(points) - 0.3)
    ax.set_xlabel(f"{metric} ({'greater' if greater else 'lower'} is better; bars: ±1 s.d. over folds)")
    ax.grid(axis="x", alpha=0.3)
    return _svg(figure)


def pareto(points: Sequence[tuple[float, float]], greater: bool) -> list[int]:
    """Indices of the points no other point beats on both time (lower) and value, fastest first.

    One sort and one sweep (O(n log n)): a point is on the front when it is the best of its time
    and strictly better than everything faster.
    """
    def better(a: float, b: float) -> bool:
        return a > b if greater else a < b

    order = sorted(range(len(points)), key=lambda i: points[i][0])
    front: list[int] = []
    best_before: float | None = None
    position = 0
    while position < len(order):
        end = position
        while end < len(order) and points[order[end]][0] == points[order[position]][0]:
            end += 1
        same_time = order[position:end]
        group_best = points[same_time[0]][1]
        for i in same_time:
            if better(points[i][1], group_best):
                group_best = points[i][1]
        if best_before is None or better(group_best, best_before):
            front.extend(i for i in same_time if points[i][1] == group_best)
            best_before = group_best
        position = end
    return front


def _seconds(line: Any) -> float | None:
    if not line.fit_seconds:
        return None
    fit = math.fsum(line.fit_seconds) / len(line.fit_seconds)
    predict = math.fsum(line.predict_seconds) / len(line.predict_seconds) if line.predict_seconds else 0.0
    return fit + predict


def time_chart(lines: Sequence[Any], numbers: Sequence[int], metric: str, greater: bool,
               front: set[int]) -> str:
    """Mean fit + predict seconds against the metric; the Pareto front (``front``: positions in
    ``lines``) joined in red; every point numbered."""
    usable = [(i, n, line) for i, (n, line) in enumerate(zip(numbers, lines))
              if line.mean(metric) is not None and _seconds(line) is not None]
    xy = [(_seconds(line) or 0.0, line.mean(metric)) for _, _, line in usable]
    figure = _figure(7.5, 4.6)
    ax = figure.subplots()
    if xy:
        xs, ys = [p[0] for p in xy], [p[1] for p in xy]
        log = min(xs) > 0 and max(xs) / min(xs) > 50
        if log:
            ax.set_xscale("log")
        ax.set_xlim(*_limits(xs, log))
        ax.set_ylim(*_limits(ys))
        on_front = [k for k, (i, _, _) in enumerate(usable) if i in front]
        rest = [k for k in range(len(usable)) if k not in set(on_front)]
        ax.scatter([xy[k][0] for k in rest], [xy[k][1] for k in rest], s=18, color="#888", zorder=3,
                   label="configuration")
        on_front.sort(key=lambda k: xy[k][0])
        ax.plot([xy[k][0] for k in on_front], [xy[k][1] for k in on_front], "-o", markersize=4.5,
                color="#c0392b", zorder=4, label="Pareto front")
        _number_points(figure, ax, xy, [n for _, n, _ in usable])
    ax.set_xlabel("seconds per cell (fit + predict, mean)")
    ax.set_ylabel(f"{metric} ({'greater' if greater else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return _svg(figure)


def loss_chart(curves: Sequence[tuple[int, str, list[list[float]]]]) -> str:
    """Training loss per epoch: ``(number, label, runs)`` per configuration, one line per fold ×
    seed, the number written at the end of its first curve."""
    figure = _figure(7.5, 4.2)
    ax = figure.subplots()
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    ends, numbers = [], []
    values = [v for _, _, runs in curves for loss in runs for v in loss if v > 0 and math.isfinite(v)]
    epochs = max((len(loss) for _, _, runs in curves for loss in runs), default=1)
    for k, (number, label, runs) in enumerate(curves):
        for j, loss in enumerate(runs):
            ax.plot(range(1, len(loss) + 1), loss, color=colours[k % len(colours)], alpha=0.8,
                    label=f"{number}  {_short(label)}" if j == 0 else None)
        first = runs[0]
        if first and first[-1] > 0 and math.isfinite(first[-1]):
            ends.append((float(len(first)), float(first[-1])))
            numbers.append(number)
    ax.set_yscale("log")
    if values:
        ax.set_ylim(*_limits(values, log=True))
    ax.set_xlim(0.5, epochs + max(1.0, epochs * 0.15))
    _number_points(figure, ax, ends, numbers)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(figure)


# --- Tuning: each search drawn ------------------------------------------------------------------

SEARCH_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def search_chart(searches: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], objective: str,
                 greater: bool) -> str:
    """One tuned configuration's searches: per outer fold (``(name, history)``, a history as
    :func:`benchmark.tuning.search_history` gives it) the inner objective of each trial against
    its number, the chosen trial ringed; failed trials are left out (the key counts them)."""
    figure = _figure(7.5, 4.2)
    ax = figure.subplots()
    values: list[float] = []
    for k, (name, history) in enumerate(searches):
        colour = SEARCH_COLOURS[k % len(SEARCH_COLOURS)]
        done = [(h["trial"], float(h["objective"])) for h in history if h["objective"] is not None]
        values += [v for _, v in done]
        ax.plot([t for t, _ in done], [v for _, v in done], "-o", color=colour, markersize=3.5, lw=0.8,
                alpha=0.85, label=name)
        chosen = [(h["trial"], float(h["objective"])) for h in history if h["chosen"] and h["objective"] is not None]
        if chosen:
            ax.scatter([t for t, _ in chosen], [v for _, v in chosen], s=140, facecolors="none",
                       edgecolors=colour, linewidths=1.8, zorder=4)
    if values:
        ax.set_ylim(*_limits(values))
    trials = max((len(history) for _, history in searches), default=1)
    ax.set_xlim(0.5, trials + 0.5)
    points = _shared_points(searches)
    if points is not None and trials <= 12:  # a grid: every fold tried the same point at each number
        ax.set_xticks(range(1, trials + 1), [f"{n}\n{_short(p, 24)}" for n, p in enumerate(points, 1)], fontsize=7)
    elif trials <= 25:
        ax.set_xticks(range(1, trials + 1))
    ax.scatter([], [], s=140, facecolors="none", edgecolors="#444", linewidths=1.8, label="chosen")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{objective} on the inner split ({'greater' if greater else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(figure)


def _shared_points(searches: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> list[str] | None:
    """The point of each trial number as ``k=v, ...`` when every search tried the same points in
    the same order (a grid search), else ``None`` (a random search draws per fold)."""
    shown = [[", ".join(f"{k}={v}" for k, v in sorted(h["params"].items())) for h in history]
             for _, history in searches]
    return shown[0] if shown and all(points == shown[0] for points in shown) else None


def _searches(group: Sequence[Any], rows: Sequence[Mapping[str, Any]], trials: Sequence[Mapping[str, Any]],
              greater_is_better: Mapping[str, bool]) -> list[str]:
    """The HTML of each tuned line's searches on one dataset (empty when none is tuned): the
    chart and the key of what every outer fold chose."""
    from benchmark.tuning import search_history

    parts: list[str] = []
    if not any(line.tuned for line in group):
        return parts
    by_line: dict[tuple[Any, Any], list[Mapping[str, Any]]] = {}
    for r in rows:
        if is_refit(r):
            by_line.setdefault((r.get("dataset"), r.get("config_id")), []).append(r)
    trials_by_id = {str(r.get("cell_id")): r for r in trials}
    for line in group:
        if not line.tuned:
            continue
        refits = sorted(by_line.get((line.dataset, line.config_id), []),
                        key=lambda r: (r.get("seed", 0), r.get("fold", 0)))
        if not refits:
            continue
        seeds = len({r.get("seed", 0) for r in refits}) > 1
        objective = str(refits[0]["tuning"].get("objective"))
        greater = bool(refits[0]["tuning"].get("greater_is_better", greater_is_better.get(objective, False)))
        drawn, key = [], []
        for refit in refits:
            tuning = refit["tuning"]
            name = f"fold {refit.get('fold_name') or refit.get('fold')}" + (f", seed {refit.get('seed')}" if seeds else "")
            history = search_history(refit, trials_by_id)
            drawn.append((name, history))
            chosen = tuning.get("chosen")
            inner = tuning.get("objective_value")
            outer = (refit.get("metrics") or {}).get(objective)
            key.append([name, "" if chosen is None else json.dumps(chosen, sort_keys=True, default=str),
                        tuning.get("trial") or "", "" if inner is None else f"{inner:.4g}",
                        "" if outer is None else f"{outer:.4g}",
                        f"{sum(h['objective'] is not None for h in history)} of {len(history)}",
                        refit.get("error") or ""])
        how = line.tuned.removeprefix("tuned: ")
        parts.append(f"<h4>{html.escape(line.model)} ({html.escape(how)})</h4>")
        if any(h["objective"] is not None for _, history in drawn for h in history):
            parts.append(_img(search_chart(drawn, objective, greater), f"search of {line.model} on {line.dataset}",
                              f"{objective} of each trial of {line.model} on the inner split of each outer "
                              "training fold; ringed: the trial chosen and refit on the whole training fold"))
        else:
            parts.append('<p class="note">No trial of this search has a stored result to draw.</p>')
        parts.append(_table(["outer fold", "chosen", "trial", f"inner {objective}", f"{objective} on the test fold",
                             "trials with a result", "error"], key))
    return parts


# --- Several datasets: Friedman + Nemenyi (Demšar 2006) ------------------------------------------


@dataclass
class Friedman:
    """One task's configurations ranked over datasets (from :func:`benchmark.stats.critical_difference`:
    Friedman's test, Nemenyi's critical difference, Demšar 2006), as the diagram draws it: two
    configurations whose average ranks differ by less than ``cd`` are not significantly
    different at ``alpha``."""

    task: str
    metric: str
    datasets: list[str]
    labels: list[str]  # configurations, best average rank first
    ranks: list[float]
    p: float | None  # Friedman's
    cd: float
    alpha: float
    groups: list[list[int]]  # Nemenyi cliques, as positions in ``labels``

    def cliques(self, limit: int | None = None) -> list[tuple[int, int]]:
        """The bars of the diagram: ``(first, last)`` positions of each clique within ``limit``."""
        count = len(self.labels) if limit is None else min(limit, len(self.labels))
        out: list[tuple[int, int]] = []
        for group in self.groups:
            inside = [i for i in group if i < count]
            if len(inside) > 1 and not any(a <= inside[0] and inside[-1] <= b for a, b in out):
                out.append((inside[0], inside[-1]))
        return out


def friedman(lines: Sequence[Any], metrics: Mapping[str, list[str]], greater_is_better: Mapping[str, bool],
             alpha: float = 0.05) -> tuple[list[Friedman], list[str]]:
    """Per task, the Friedman/Nemenyi analysis over the datasets where its configurations are
    ranked (complete lines of each dataset's main group), on the configurations ranked on every
    such dataset. Returns the analyses and, for tasks with several datasets where none could be
    made, the reason."""
    from benchmark import stats

    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for line in lines:
        if line.rank is not None and line.group == 0 and line.complete:
            by_task.setdefault(line.task, {}).setdefault(line.dataset, {})[line.config_id] = line
    out, reasons = [], []
    for task, datasets in by_task.items():
        if len(datasets) < 2:
            continue
        metric = next(iter(metrics.get(task) or []), None)
        if metric is None:
            continue
        common = set.intersection(*(set(configs) for configs in datasets.values()))
        if len(common) < 3:
            reasons.append(f"{task}: {len(common)} configuration(s) ranked on all {len(datasets)} datasets; "
                           "a critical-difference diagram needs 3 or more")
            continue
        scores = {dataset: {config: configs[config].mean(metric) for config in common}
                  for dataset, configs in datasets.items()}
        greater = greater_is_better.get(metric, False)
        # the Wilcoxon test of every pair is k² tests (260 configurations: 34,000 tests, 58 s); above
        # PAIRWISE_LIMIT the ranks, Friedman and Nemenyi alone (linear)
        result = stats.critical_difference(scores, greater, alpha, pairwise=len(common) <= PAIRWISE_LIMIT)
        if result.cd is None or result.reason:
            reasons.append(f"{task}: {result.reason or 'no critical difference'}")
            continue
        label_of = {config: line.model for configs in datasets.values() for config, line in configs.items()}
        order = sorted(result.models, key=lambda c: (result.average_ranks[c], label_of[c]))
        ranks = [result.average_ranks[c] for c in order]
        groups = stats.nemenyi_groups(ranks, result.cd)
        out.append(Friedman(task, metric, result.datasets, [label_of[c] for c in order],
                            ranks, result.friedman_p, result.cd, alpha, groups))
    return out, reasons


def cd_chart(result: Friedman, limit: int = CD_LIMIT) -> str:
    """Demšar's critical-difference diagram: the rank axis on top, each configuration joined to
    its average rank and labelled in a column (best half left, the rest right: never
    overlapping), thick bars joining configurations within the critical difference."""
    count = min(limit, len(result.labels))
    k = len(result.labels)
    left = (count + 1) // 2
    rows = max(left, count - left)
    figure = _figure(8.0, 1.3 + 0.24 * rows)
    ax = figure.subplots()
    ax.set_axis_off()
    low, high = 1.0, float(k) if count == k else max(result.ranks[count - 1], result.ranks[0] + result.cd)
    span = high - low or 1.0
    ax.set_xlim(low - 0.45 * span, high + 0.45 * span)
    top = 0.0
    ax.set_ylim(-(rows + 1.2), 1.6)
    ax.plot([low, high], [top, top], color="#222", lw=1)
    for tick in _rank_ticks(low, high):
        ax.plot([tick, tick], [top, top + 0.18], color="#222", lw=1)
        ax.text(tick, top + 0.3, f"{tick:g}", ha="center", va="bottom", fontsize=8)
    ax.plot([low, min(high, low + result.cd)], [top + 1.15, top + 1.15], color="#c0392b", lw=2)
    ax.text(low, top + 1.3, f"CD = {result.cd:.2f}", ha="left", va="bottom", fontsize=8, color="#c0392b")
    for position in range(count):
        rank = result.ranks[position]
        on_left = position < left
        row = position if on_left else count - 1 - position
        y = -(row + 1)
        edge = low - 0.05 * span if on_left else high + 0.05 * span
        ax.plot([rank, rank, edge], [top, y, y], color="#444", lw=0.8)
        ax.text(edge + (-0.02 if on_left else 0.02) * span, y, f"{_short(result.labels[position], 30)} "
                f"({rank:.2f})" if on_left else f"({rank:.2f}) {_short(result.labels[position], 30)}",
                ha="right" if on_left else "left", va="center", fontsize=8)
    for n, (i, j) in enumerate(result.cliques(count)):
        bar = -0.25 - 0.18 * (n % max(1, rows))
        ax.plot([result.ranks[i] - 0.03 * span / k, result.ranks[j] + 0.03 * span / k], [bar, bar], color="#111",
                lw=3)
    return _svg(figure)


def _rank_ticks(low: float, high: float) -> list[float]:
    step = max(1, math.ceil((high - low) / 12))
    out: list[float] = []
    tick = float(math.ceil(low))
    while tick <= high + 1e-9:
        out.append(tick)
        tick += step
    return out


# --- Report --------------------------------------------------------------------------------------


def _chart_lines(group: Sequence[Any], metric: str, greater: bool) -> tuple[list[Any], set[int]]:
    """At most :data:`CHART_LIMIT` lines of a dataset for its charts, in table order: the Pareto
    front (time vs metric, over every line) first, then the best by rank; and the positions of
    the front among them."""
    timed = [line for line in group if line.mean(metric) is not None and _seconds(line) is not None]
    front_idx = pareto([(_seconds(line) or 0.0, line.mean(metric)) for line in timed], greater)
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


def build_html(run_dirs: Sequence[str | Path], warn: Callable[[str], None] | None = None,
               all_stored: bool = False) -> str:
    """The report's HTML; ``warn`` gets each loader warning; ``all_stored`` shows configurations
    no longer in the runs' suites."""
    from benchmark import leaderboard, resultset

    if not run_dirs:
        raise BenchError("no results directory given", "bench report")
    loaded = resultset.load(run_dirs)
    if warn is not None:
        for message in loaded.warnings:
            warn(message)
    runs = loaded.runs
    made = leaderboard.board(loaded, all_stored=all_stored)
    lines, metrics, scope_note, shown_rows = made.lines, made.metrics, made.note, made.rows
    primary = {task: names[0] for task, names in metrics.items() if names}
    gib = loaded.directions([m for names in metrics.values() for m in names])
    tables = leaderboard.by_table(lines)

    title = "bench report: " + ", ".join(run.name for run in runs)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">{len(shown_rows)} cells from {len(runs)} run(s); generated by bench. '
             "Self-contained: every chart and picture is inside this file.</p>"]
    if scope_note:
        parts.append(f'<p class="note">{html.escape(scope_note)}.</p>')
    if loaded.warnings:
        parts.append("<p>Read with warnings:</p>" + _list(loaded.warnings))

    parts.append("<h2>Leaderboard</h2>")
    for (dataset, task), group in tables.items():
        names = [m for m in metrics.get(task, []) if any(line.fold_values.get(m) for line in group)]
        columns = leaderboard.Columns.of(group, names)
        body = [columns.row(line) + [json.dumps(line.params, sort_keys=True, default=str)] for line in group]
        parts.append(f"<h3>{html.escape(dataset)} ({html.escape(task)})</h3>"
                     + _table(columns.headers() + ["params"], body)
                     + "".join(f'<p class="note">{html.escape(n)}</p>' for n in leaderboard.legend(group)))

    parts.append("<h2>Charts</h2>")
    for (dataset, task), group in tables.items():
        metric = primary.get(task)
        if metric is None or not any(line.mean(metric) is not None for line in group):
            continue
        greater = gib.get(metric, False)
        shown, front = _chart_lines(group, metric, greater)
        numbers = list(range(1, len(shown) + 1))
        parts.append(f"<h3>{html.escape(_heading(dataset, task, tables))}</h3>")
        drawn = sum(1 for line in group if line.mean(metric) is not None)
        if len(shown) < drawn:
            parts.append(f'<p class="note">The charts draw {len(shown)} of the {drawn} configurations: the '
                         "Pareto front and the best by rank; the table above lists every one.</p>")
        parts.append(_img(metric_chart(shown, numbers, metric, greater), f"{metric} on {dataset}",
                          f"{metric} per configuration on {dataset}: mean, bars ±1 s.d. over folds; "
                          "numbers as in the key below"))
        if any(_seconds(line) is not None for line in shown):
            parts.append(_img(time_chart(shown, numbers, metric, greater, front), f"time vs {metric} on {dataset}",
                              f"time vs {metric} on {dataset}; red: the Pareto front (nothing is both faster "
                              "and better); each point carries its number from the key below"))
        curves = _curves(shown, numbers, shown_rows, dataset)
        if curves:
            parts.append(_img(loss_chart(curves), f"loss curves on {dataset}",
                              f"training loss per epoch on {dataset}; each curve ends with its number"))
        key = [[n, line.model, line.alias, "" if line.rank is None else line.rank,
                leaderboard.mean_std(line, metric), "" if _seconds(line) is None else f"{_seconds(line):.3g}",
                "yes" if i in front else "", line.note] for i, (n, line) in enumerate(zip(numbers, shown))]
        parts.append("<h4>Key</h4>" + _table(["point", "model", "alias", "rank", f"{metric} (mean ± s.d.)",
                                              "seconds per cell", "Pareto front", "note"], key))

    searches = {key: _searches(group, shown_rows, loaded.trials, gib) for key, group in tables.items()}
    if any(searches.values()):
        parts.append("<h2>Searches</h2>")
        parts.append('<p class="note">Each tuned configuration searched its parameters on every outer fold '
                     "separately, scoring each trial on an inner split carved from that fold's training rows "
                     "only; the chosen trial was refit on the whole training fold and scored once on its test "
                     "fold (the leaderboard's number). The inner objective is not comparable across outer "
                     "folds' test scores.</p>")
        for (dataset, task), found in searches.items():
            if found:
                parts.append(f"<h3>{html.escape(_heading(dataset, task, tables))}</h3>")
                parts.extend(found)

    analyses, reasons = friedman(lines, metrics, gib)
    if analyses or reasons:
        parts.append("<h2>Across datasets</h2>")
        parts.append('<p class="note">Friedman test on the ranks of the configurations within each dataset, '
                     "Nemenyi post-hoc test (Demšar 2006, JMLR 7:1–30): configurations joined by a bar are not "
                     "significantly different; CD is the critical difference of average ranks. Each dataset "
                     "counts once, so few datasets give little power.</p>")
        for result in analyses:
            parts.append(f"<h3>{html.escape(result.task)}: {html.escape(result.metric)} on "
                         f"{len(result.datasets)} datasets</h3>")
            facts: list[list[str]] = [["datasets", ", ".join(result.datasets)],
                                      ["configurations", str(len(result.labels))],
                                      ["Friedman test", "" if result.p is None else f"p = {result.p:.3g}"],
                                      [f"Nemenyi CD (α = {result.alpha:g})", f"{result.cd:.3f}"]]
            parts.append(_table(["", ""], facts))
            if len(result.labels) > CD_LIMIT:
                parts.append(f'<p class="note">The diagram shows the {CD_LIMIT} best of {len(result.labels)} '
                             "configurations (the test covers all of them).</p>")
            parts.append(_img(cd_chart(result), f"critical-difference diagram, {result.task}",
                              f"average rank over {len(result.datasets)} datasets (1 = best); bars join "
                              "configurations within the critical difference"))
            parts.append(_table(["configuration", "average rank"],
                                [[label, f"{rank:.2f}"] for label, rank in zip(result.labels, result.ranks)]))
        if reasons:
            parts.append(_list(reasons))

    pictures, skipped = _pictures(runs, shown_rows)
    if pictures or skipped:
        parts.append("<h2>Pictures</h2>")
        parts.append('<p class="note">Files the plugins stored with the cells (first fold and seed of each '
                     "configuration); only files inside their run directory, not through a link.</p>")
        parts.extend(pictures)
        if skipped:
            parts.append("<h3>Skipped artifacts</h3>" + _list(skipped))

    if len(runs) == 2:
        parts.append(_comparison(runs))

    parts.append("<h2>Provenance</h2>")
    parts.extend(_provenance(run, [r for r in shown_rows if r.get("run_dir") == str(run.directory)])
                 for run in runs)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _curves(shown: Sequence[Any], numbers: Sequence[int], rows: Sequence[Mapping[str, Any]],
            dataset: str) -> list[tuple[int, str, list[list[float]]]]:
    number_of = {line.config_id: (n, line.model) for n, line in zip(numbers, shown)}
    found: dict[str, list[list[float]]] = {}
    for row in rows:
        if row.get("dataset") != dataset or row.get("status") != "ok" or row.get("config_id") not in number_of:
            continue
        loss = ((row.get("model_info") or {}).get("history") or {}).get("loss")
        if isinstance(loss, list) and loss and all(isinstance(v, (int, float)) for v in loss):
            found.setdefault(str(row["config_id"]), []).append([float(v) for v in loss])
    return [(number_of[c][0], number_of[c][1], runs) for c, runs in
            sorted(found.items(), key=lambda item: number_of[item[0]][0])]


def _comparison(runs: Sequence[Any]) -> str:
    from benchmark import compare

    result = compare.compare(runs[0], runs[1])
    parts = ["<h2>Comparison</h2>",
             "".join(f'<p class="note">{html.escape(n)}</p>' for n in compare._notes(result))]
    comparison_rows = compare.table(result)
    parts.append(_table(compare.headers(result), comparison_rows).replace("<td>better</td>", '<td class="better">better</td>')
                 .replace("<td>worse</td>", '<td class="worse">worse</td>') if comparison_rows
                 else f"<p>{html.escape(compare.NOTHING)}</p>" if compare.is_empty(result)
                 else "<p>no paired cells</p>")
    unpaired = compare._unpaired_lines(result)
    if not compare.is_empty(result):
        parts.append("<h3>Not paired</h3>" + (_list(unpaired) if unpaired else "<p>every cell was paired</p>"))
    changes = result.version_changes
    parts.append("<h3>Versions that differ</h3>" + (_list(changes) if changes else "<p>none</p>"))
    return "".join(parts)


def _revision(env: Mapping[str, Any]) -> str:
    for key in ("git_revision", "git", "revision"):
        value = env.get(key)
        if isinstance(value, str) and value:
            return value
    return "(not recorded: not run from a git checkout)"


def _provenance(run: Any, rows: Sequence[Mapping[str, Any]]) -> str:
    from benchmark.cells import shown_params

    env = run.environment
    parts = [f"<h3>{html.escape(run.name)}</h3>"]
    facts = [["directory", str(run.directory)], ["run ids", ", ".join(run.run_ids) or "(not recorded)"],
             ["suites", ", ".join(sorted({str(r.get("suite")) for r in rows}))],
             ["git revision (latest run)", _revision(env)],
             ["recorded at", env.get("recorded_at", "")], ["python", env.get("python", "")],
             ["machine", json.dumps(env.get("machine") or (rows[0].get("machine") if rows else {}),
                                    sort_keys=True)]]
    parts.append(_table(["", ""], facts))
    history = []
    for run_id in sorted({str(r["run_id"]) for r in rows if r.get("run_id")})[-PROVENANCE_RUNS:]:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in run_id).lstrip(".") or "run"
        record, _ = read_stored_json(Path(run.directory) / "environments" / f"{safe}.json")
        if not isinstance(record, dict):
            record = env if env.get("run_id") == run_id else {}
        cells = sum(1 for r in rows if r.get("run_id") == run_id)
        packages = record.get("packages") if isinstance(record.get("packages"), dict) else {}
        history.append([run_id, cells, _revision(record) if record else "(no stored environment)",
                        str(record.get("recorded_at", "")), str(packages.get("bench-harness", ""))])
    if history:
        parts.append("<h4>Runs that computed the cells shown</h4>"
                     + _table(["run id", "cells", "git revision", "recorded at", "bench version"], history))
    if isinstance(env.get("packages"), dict):
        parts.append("<h4>Packages</h4>" + _table(["package", "version"], sorted(env["packages"].items())))
    plugins = sorted({(str((r.get("plugin") or {}).get("name")), str((r.get("plugin") or {}).get("distribution")),
                       str((r.get("plugin") or {}).get("version"))) for r in rows if r.get("plugin")})
    if plugins:
        parts.append("<h4>Plugins used</h4>" + _table(["plugin", "distribution", "version"], plugins))
    data = sorted({(str(r.get("dataset")), str(r.get("dataset_plugin")), str(r.get("dataset_checksum")),
                    str(r.get("split")), json.dumps(r.get("split_params"), sort_keys=True, default=str))
                   for r in rows})
    parts.append("<h4>Data and splits</h4>" + _table(["dataset", "plugin", "checksum", "split", "split params"], data))
    folds = sorted({(str(r.get("dataset")), str(r.get("seed", 0)), str(r.get("fold_name") or r.get("fold")),
                     str(r.get("split_fingerprint"))) for r in rows})
    parts.append("<h4>Fold fingerprints</h4>" + _table(["dataset", "seed", "fold", "fingerprint"], folds))
    configs = {}
    for r in rows:
        configs[str(r.get("config_id"))] = (str(r.get("model")), str(r.get("model_plugin")), str(r.get("config_id")),
                                            json.dumps(shown_params(r), sort_keys=True, default=str))
    parts.append("<h4>Configurations</h4>" + _table(["label", "plugin", "config_id", "params"],
                                                    sorted(configs.values())))
    return "".join(parts)


def _pictures(runs: Sequence[Any], rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The PNG artifacts to embed (one per configuration, dataset and file name) and the
    artifacts skipped, with why."""
    out: list[str] = []
    skipped: list[str] = []
    directories = {str(run.directory): run for run in runs}
    shown: set[tuple[str, str, str]] = set()
    for row in sorted(rows, key=lambda r: (str(r.get("run_dir")), r.get("seed", 0), r.get("fold", 0))):
        run = directories.get(str(row.get("run_dir")))
        artifacts = row.get("artifacts")
        if run is None or not isinstance(artifacts, list):
            continue
        for relative in artifacts:
            name = PurePosixPath(str(relative)).name
            if not name.lower().endswith(".png"):
                continue
            key = (str(row.get("config_id")), str(row.get("dataset")), name)
            if key in shown:
                continue
            where = f"{run.name}: {str(relative)[:200]!r} of {row.get('model')} on {row.get('dataset')}"
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
            caption = (f"{row.get('model')} on {row.get('dataset')}, fold {row.get('fold_name')}, "
                       f"seed {row.get('seed')}: {name} ({run.name})")
            out.append(_img(_data_uri(data, "image/png"), caption, caption))
    return out, skipped


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
