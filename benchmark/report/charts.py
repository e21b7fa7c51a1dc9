"""The report's charts, each returned as an SVG ``data:`` URI: the metric per configuration,
time against the metric with the Pareto front, training loss curves, a tuned configuration's
searches and Demšar's critical-difference diagram.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from benchmark.leaderboard.lines import Line
from benchmark.report.across_datasets import Friedman
from benchmark.report.markup import new_figure, short, svg_uri
from benchmark.report.layout import axis_limits, number_points

CD_LIMIT = 20  # configurations drawn in a critical-difference diagram
WITHOUT_MATPLOTLIB = ("matplotlib is not installed: the report has no charts "
                      "(pip install 'bench-harness[plots]' draws them)")


def available() -> bool:
    """Whether matplotlib can be imported: the core install has no plotting library, and its
    report is made without charts (tables, pictures stored as files and provenance stay)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def metric_chart(lines: Sequence[Line], numbers: Sequence[int], metric: str, greater: bool) -> str:
    """Mean ± s.d. over folds of ``metric`` per configuration, in table order (best at the top);
    each label starts with its point number."""
    points = [(n, line) for n, line in zip(numbers, lines) if line.mean(metric) is not None]
    figure = new_figure(7.5, 0.32 * len(points) + 1.2)
    ax = figure.subplots()
    ys = list(range(len(points)))[::-1]
    ax.errorbar([line.mean(metric) for _, line in points], ys,
                xerr=[line.std(metric) or 0.0 for _, line in points], fmt="o", capsize=3, color="#1f5fa8")
    ax.set_yticks(ys, [f"{n}  {short(line.model)}" for n, line in points], fontsize=8)
    ax.set_ylim(-0.7, len(points) - 0.3)
    ax.set_xlabel(f"{metric} ({'greater' if greater else 'lower'} is better; bars: ±1 s.d. over folds)")
    ax.grid(axis="x", alpha=0.3)
    return svg_uri(figure)


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


def seconds(line: Line) -> float | None:
    """Mean fit + predict seconds of a line's cells (``None`` when no fit time was stored)."""
    if not line.fit_seconds:
        return None
    fit = math.fsum(line.fit_seconds) / len(line.fit_seconds)
    predict = math.fsum(line.predict_seconds) / len(line.predict_seconds) if line.predict_seconds else 0.0
    return fit + predict


def time_chart(lines: Sequence[Line], numbers: Sequence[int], metric: str, greater: bool,
               front: set[int]) -> str:
    """Mean fit + predict seconds against the metric; the Pareto front (``front``: positions in
    ``lines``) joined in red; every point numbered."""
    usable: list[tuple[int, int, Line]] = []
    xy: list[tuple[float, float]] = []
    for i, (n, line) in enumerate(zip(numbers, lines)):
        mean, spent = line.mean(metric), seconds(line)
        if mean is not None and spent is not None:
            usable.append((i, n, line))
            xy.append((spent, mean))
    figure = new_figure(7.5, 4.6)
    ax = figure.subplots()
    if xy:
        xs, ys = [p[0] for p in xy], [p[1] for p in xy]
        log = min(xs) > 0 and max(xs) / min(xs) > 50
        if log:
            ax.set_xscale("log")
        ax.set_xlim(*axis_limits(xs, log))
        ax.set_ylim(*axis_limits(ys))
        on_front = [k for k, (i, _, _) in enumerate(usable) if i in front]
        rest = [k for k in range(len(usable)) if k not in set(on_front)]
        ax.scatter([xy[k][0] for k in rest], [xy[k][1] for k in rest], s=18, color="#888", zorder=3,
                   label="configuration")
        on_front.sort(key=lambda k: xy[k][0])
        ax.plot([xy[k][0] for k in on_front], [xy[k][1] for k in on_front], "-o", markersize=4.5,
                color="#c0392b", zorder=4, label="Pareto front")
        number_points(figure, ax, xy, [n for _, n, _ in usable])
    ax.set_xlabel("seconds per cell (fit + predict, mean)")
    ax.set_ylabel(f"{metric} ({'greater' if greater else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return svg_uri(figure)


def loss_chart(curves: Sequence[tuple[int, str, list[list[float]]]]) -> str:
    """Training loss per epoch: ``(number, label, runs)`` per configuration, one line per fold ×
    seed, the number written at the end of its first curve."""
    figure = new_figure(7.5, 4.2)
    ax = figure.subplots()
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    ends, numbers = [], []
    values = [v for _, _, runs in curves for loss in runs for v in loss if v > 0 and math.isfinite(v)]
    epochs = max((len(loss) for _, _, runs in curves for loss in runs), default=1)
    for k, (number, label, runs) in enumerate(curves):
        for j, loss in enumerate(runs):
            ax.plot(range(1, len(loss) + 1), loss, color=colours[k % len(colours)], alpha=0.8,
                    label=f"{number}  {short(label)}" if j == 0 else None)
        first = runs[0]
        if first and first[-1] > 0 and math.isfinite(first[-1]):
            ends.append((float(len(first)), float(first[-1])))
            numbers.append(number)
    ax.set_yscale("log")
    if values:
        ax.set_ylim(*axis_limits(values, log=True))
    ax.set_xlim(0.5, epochs + max(1.0, epochs * 0.15))
    number_points(figure, ax, ends, numbers)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return svg_uri(figure)


SEARCH_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def search_chart(searches: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], objective: str,
                 greater: bool) -> str:
    """One tuned configuration's searches: per outer fold (``(name, history)``, a history as
    :func:`benchmark.tuning.search_history` gives it) the inner objective of each trial against
    its number, the chosen trial ringed; failed trials are left out (the key counts them)."""
    figure = new_figure(7.5, 4.2)
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
        ax.set_ylim(*axis_limits(values))
    trials = max((len(history) for _, history in searches), default=1)
    ax.set_xlim(0.5, trials + 0.5)
    points = _shared_points(searches)
    if points is not None and trials <= 12:  # a grid: every fold tried the same point at each number
        ax.set_xticks(range(1, trials + 1), [f"{n}\n{short(p, 24)}" for n, p in enumerate(points, 1)], fontsize=7)
    elif trials <= 25:
        ax.set_xticks(range(1, trials + 1))
    ax.scatter([], [], s=140, facecolors="none", edgecolors="#444", linewidths=1.8, label="chosen")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{objective} on the inner split ({'greater' if greater else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return svg_uri(figure)


def _shared_points(searches: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> list[str] | None:
    """The point of each trial number as ``k=v, ...`` when every search tried the same points in
    the same order (a grid search), else ``None`` (a random search draws per fold)."""
    shown = [[", ".join(f"{k}={v}" for k, v in sorted(h["params"].items())) for h in history]
             for _, history in searches]
    return shown[0] if shown and all(points == shown[0] for points in shown) else None


def cd_chart(result: Friedman, limit: int = CD_LIMIT) -> str:
    """Demšar's critical-difference diagram: the rank axis on top, each configuration joined to
    its average rank and labelled in a column (best half left, the rest right: never
    overlapping), thick bars joining configurations within the critical difference, Friedman's p
    with how it was computed. Drawn only where some pair could differ
    (:func:`benchmark.report.across_datasets.friedman` leaves the others out, with the reason)."""
    count = min(limit, len(result.labels))
    k = len(result.labels)
    left = (count + 1) // 2
    rows = max(left, count - left)
    figure = new_figure(8.0, 1.3 + 0.24 * rows)
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
    if result.p is not None:  # the method beside the p: exact, permutation or Iman–Davenport (issue 26)
        ax.text(high, top + 1.3, f"Friedman p = {result.p:.3g}" + (f" ({result.method})" if result.method else ""),
                ha="right", va="bottom", fontsize=8, color="#222")
    for position in range(count):
        rank = result.ranks[position]
        on_left = position < left
        row = position if on_left else count - 1 - position
        y = -(row + 1)
        edge = low - 0.05 * span if on_left else high + 0.05 * span
        ax.plot([rank, rank, edge], [top, y, y], color="#444", lw=0.8)
        ax.text(edge + (-0.02 if on_left else 0.02) * span, y, f"{short(result.labels[position], 30)} "
                f"({rank:.2f})" if on_left else f"({rank:.2f}) {short(result.labels[position], 30)}",
                ha="right" if on_left else "left", va="center", fontsize=8)
    for n, (i, j) in enumerate(result.cliques(count)):
        bar = -0.25 - 0.18 * (n % max(1, rows))
        ax.plot([result.ranks[i] - 0.03 * span / k, result.ranks[j] + 0.03 * span / k], [bar, bar], color="#111",
                lw=3)
    return svg_uri(figure)


def _rank_ticks(low: float, high: float) -> list[float]:
    step = max(1, math.ceil((high - low) / 12))
    out: list[float] = []
    tick = float(math.ceil(low))
    while tick <= high + 1e-9:
        out.append(tick)
        tick += step
    return out
