"""Numbers beside chart points that never overlap: each other, a marker, or the frame's edge.

Each chart of a report numbers its points (the key table under it says which configuration is
which); :func:`layout_labels` places the numbers greedily, nearest position first, and
:func:`number_points` writes them on a matplotlib axis, with a leader line for a number pushed
away from its point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in points


def overlap(a: Box, b: Box) -> bool:
    """Whether two boxes share any area (touching edges do not)."""
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
                and not any(overlap(box, other) for other in placed)
                and not any(overlap(box, other) for other in markers))

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


def number_points(figure: Any, ax: Any, xy: Sequence[tuple[float, float]], numbers: Sequence[int],
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


def axis_limits(values: Sequence[float], log: bool = False) -> tuple[float, float]:
    """Axis limits around ``values`` with 12 % of their span on each side (on a log scale: of
    the logarithms), room for the numbers written beside the points."""
    low, high = min(values), max(values)
    if log:
        low, high = math.log10(low), math.log10(high)
    pad = (high - low) * 0.12 or (abs(high) * 0.05 or 0.5)
    low, high = low - pad, high + pad
    return (10 ** low, 10 ** high) if log else (low, high)

