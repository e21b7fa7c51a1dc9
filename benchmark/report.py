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

Sections: the leaderboard (merged runs, see :mod:`benchmark.leaderboard`); per dataset the
primary metric with error bars (std over folds × seeds), time vs error with the Pareto front,
autoencoder loss curves (``model_info.history.loss``), the reconstruction pictures; a
comparison when exactly two runs are given (:mod:`benchmark.compare`); provenance (runs,
versions, machine, dataset checksums, split fingerprints).
"""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.errors import BenchError

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


def _short(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


# --- Charts -----------------------------------------------------------------------------------


def metric_chart(lines: Sequence[Any], metric: str, greater: bool) -> str:
    """Mean ± std of ``metric`` per configuration (horizontal error bars, best at the top)."""
    points = [(line.model, line.mean(metric), line.std(metric) or 0.0, line.cells) for line in lines
              if line.mean(metric) is not None]
    points.sort(key=lambda p: -p[1] if greater else p[1])
    figure = _figure(7.5, 0.45 * len(points) + 1.2)
    ax = figure.subplots()
    ys = list(range(len(points)))[::-1]
    ax.errorbar([p[1] for p in points], ys, xerr=[p[2] for p in points], fmt="o", capsize=4, color="#1f5fa8")
    ax.set_yticks(ys, [f"{_short(p[0])} (n={p[3]})" for p in points])
    ax.set_xlabel(f"{metric} ({'greater' if greater else 'lower'} is better; bars: ±1 std over folds × seeds)")
    ax.grid(axis="x", alpha=0.3)
    return _svg(figure)


def pareto(points: Sequence[tuple[float, float]], greater: bool) -> list[int]:
    """Indices of the points no other point beats on both time (lower) and error."""
    front = []
    for i, (t, v) in enumerate(points):
        dominated = False
        for j, (t2, v2) in enumerate(points):
            if j == i:
                continue
            better_value = v2 > v if greater else v2 < v
            same_value = v2 == v
            if (t2 <= t and (better_value or same_value)) and (t2 < t or better_value):
                dominated = True
                break
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def time_chart(lines: Sequence[Any], metric: str, greater: bool) -> str:
    """Mean fit + predict seconds against the metric; the Pareto front joined and labelled."""
    usable = [line for line in lines if line.mean(metric) is not None and line.fit_seconds]
    points = [(statistics.fmean(line.fit_seconds) + (statistics.fmean(line.predict_seconds)
                                                      if line.predict_seconds else 0.0),
               line.mean(metric)) for line in usable]
    front = pareto(points, greater)
    figure = _figure(7.5, 4.2)
    ax = figure.subplots()
    ax.scatter([p[0] for p in points], [p[1] for p in points], color="#999", zorder=2, label="configuration")
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "-o", color="#c0392b", zorder=3,
            label="Pareto front")
    for i in front:
        ax.annotate(_short(usable[i].model, 30), points[i], textcoords="offset points", xytext=(5, 4), fontsize=7)
    if points and min(p[0] for p in points) > 0 and max(p[0] for p in points) / min(p[0] for p in points) > 50:
        ax.set_xscale("log")
    ax.set_xlabel("seconds per cell (fit + predict, mean)")
    ax.set_ylabel(f"{metric} ({'greater' if greater else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _svg(figure)


def loss_chart(curves: Mapping[str, list[list[float]]]) -> str:
    """Training loss per epoch, one colour per configuration (one line per fold × seed)."""
    figure = _figure(7.5, 4.0)
    ax = figure.subplots()
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    for n, (label, runs) in enumerate(curves.items()):
        for k, loss in enumerate(runs):
            ax.plot(range(1, len(loss) + 1), loss, color=colours[n % len(colours)], alpha=0.8,
                    label=_short(label) if k == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _svg(figure)


# --- Report -----------------------------------------------------------------------------------


def build_html(run_dirs: Sequence[str | Path], warn: Any = None) -> str:
    from benchmark import compare, leaderboard, resultset
    from benchmark.cells import shown_params

    if not run_dirs:
        raise BenchError("no results directory given", "bench report")
    loaded = resultset.load(run_dirs)
    for message in loaded.warnings if warn is not None else ():
        warn(message)
    runs, rows = loaded.runs, loaded.rows
    metrics = loaded.metrics_by_task()
    primary = loaded.primary_metrics()
    gib = loaded.directions([m for names in metrics.values() for m in names])
    lines = leaderboard.build(rows, metrics, gib)
    title = "bench report: " + ", ".join(run.name for run in runs)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">{len(rows)} cells from {len(runs)} run(s); generated by bench. '
             "Self-contained: every chart and picture is inside this file.</p>"]

    parts.append("<h2>Leaderboard</h2>")
    parts.append('<p class="note"># ranks within lines that used the same data and splits; * marks lines '
                 "that used other splits or data (not ranked against the others). std over folds × seeds, "
                 "— for a single value.</p>")
    for dataset in dict.fromkeys(line.dataset for line in lines):
        group = [line for line in lines if line.dataset == dataset]
        task = group[0].task
        names = [m for m in metrics.get(task, []) if any(line.fold_values.get(m) for line in group)]
        headers = ["#", "model", *[f"{m} (mean ± std)" for m in names], "folds", "seeds", "fit s", "predict s",
                   "config", "split", "params"]
        body = []
        for line in group:
            body.append([("" if line.rank is None else str(line.rank)) + ("*" if line.note else ""), line.model,
                         *[leaderboard.mean_std(line, m) for m in names], line.folds, line.seeds,
                         f"{statistics.fmean(line.fit_seconds):.2f}" if line.fit_seconds else "",
                         f"{statistics.fmean(line.predict_seconds):.2f}" if line.predict_seconds else "",
                         line.config_id[:8], f"{line.split} {line.split_fingerprint}",
                         json.dumps(line.params, sort_keys=True, default=str)
                         + (f" — {line.note}" if line.note else "")
                         + (f" — {line.failed} failed: {line.error[:80]}" if line.failed else "")])
        parts.append(f"<h3>{html.escape(dataset)} ({html.escape(task)})</h3>" + _table(headers, body))

    parts.append("<h2>Charts</h2>")
    for dataset in dict.fromkeys(line.dataset for line in lines):
        group = [line for line in lines if line.dataset == dataset]
        metric = primary.get(group[0].task)
        if metric is None or not any(line.mean(metric) is not None for line in group):
            continue
        greater = gib.get(metric, False)
        parts.append(f"<h3>{html.escape(dataset)}</h3>")
        parts.append(_img(metric_chart(group, metric, greater), f"{metric} on {dataset}",
                          f"{metric} per configuration on {dataset}: mean, bars ±1 std over folds × seeds"))
        if any(line.fit_seconds for line in group):
            parts.append(_img(time_chart(group, metric, greater), f"time vs {metric} on {dataset}",
                              f"time vs {metric} on {dataset}; red: the Pareto front (nothing is both faster "
                              "and better)"))
        curves: dict[str, list[list[float]]] = {}
        for row in rows:
            loss = ((row.get("model_info") or {}).get("history") or {}).get("loss")
            if row.get("dataset") == dataset and row.get("status") == "ok" and isinstance(loss, list) and loss:
                curves.setdefault(str(row.get("model")), []).append([float(v) for v in loss])
        if curves:
            parts.append(_img(loss_chart(curves), f"loss curves on {dataset}",
                              f"training loss per epoch on {dataset}"))

    pictures = _pictures(runs)
    if pictures:
        parts.append("<h2>Pictures</h2>")
        parts.append('<p class="note">Files the plugins stored with the cells (first fold and seed of each '
                     "configuration).</p>")
        parts.extend(pictures)

    if len(runs) == 2:
        result = compare.compare(runs[0], runs[1])
        parts.append("<h2>Comparison</h2>")
        parts.append("".join(f'<p class="note">{html.escape(n)}</p>' for n in compare._notes(result)))
        comparison_rows = compare.table(result)
        parts.append(_table(compare.HEADERS, comparison_rows).replace("<td>better</td>", '<td class="better">better</td>')
                     .replace("<td>worse</td>", '<td class="worse">worse</td>') if comparison_rows
                     else "<p>no paired cells</p>")
        unpaired = compare._unpaired_lines(result)
        parts.append("<h3>Not paired</h3>" + ("<ul>" + "".join(f"<li>{html.escape(u)}</li>" for u in unpaired)
                                               + "</ul>" if unpaired else "<p>every cell was paired</p>"))
        changes = result.version_changes
        parts.append("<h3>Versions that differ</h3>" + ("<ul>" + "".join(f"<li>{html.escape(v)}</li>" for v in changes)
                                                         + "</ul>" if changes else "<p>none</p>"))

    parts.append("<h2>Provenance</h2>")
    for run in runs:
        env = run.environment
        parts.append(f"<h3>{html.escape(run.name)}</h3>")
        facts = [["directory", str(run.directory)], ["run ids", ", ".join(run.run_ids) or "(not recorded)"],
                 ["suites", ", ".join(sorted({str(r.get("suite")) for r in run.rows}))],
                 ["recorded at", env.get("recorded_at", "")], ["python", env.get("python", "")],
                 ["machine", json.dumps(env.get("machine") or (run.rows[0].get("machine") if run.rows else {}),
                                        sort_keys=True)],
                 ["git", json.dumps(env.get("git", env.get("revision", "")))]]
        parts.append(_table(["", ""], facts))
        if env.get("packages"):
            parts.append("<h4>Packages</h4>" + _table(["package", "version"], sorted(env["packages"].items())))
        plugins = sorted({(str((r.get("plugin") or {}).get("name")), str((r.get("plugin") or {}).get("distribution")),
                           str((r.get("plugin") or {}).get("version"))) for r in run.rows if r.get("plugin")})
        if plugins:
            parts.append("<h4>Plugins used</h4>" + _table(["plugin", "distribution", "version"], plugins))
        data = sorted({(str(r.get("dataset")), str(r.get("dataset_plugin")), str(r.get("dataset_checksum")),
                        str(r.get("split")), json.dumps(r.get("split_params"), sort_keys=True))
                       for r in run.rows})
        parts.append("<h4>Data and splits</h4>" + _table(["dataset", "plugin", "checksum", "split", "split params"], data))
        folds = sorted({(str(r.get("dataset")), int(r.get("seed", 0)), str(r.get("fold_name") or r.get("fold")),
                         str(r.get("split_fingerprint"))) for r in run.rows})
        parts.append("<h4>Fold fingerprints</h4>" + _table(["dataset", "seed", "fold", "fingerprint"], folds))
        configs = {}
        for r in run.rows:
            configs[r["config_id"]] = (str(r.get("model")), str(r.get("model_plugin")), r["config_id"],
                                       json.dumps(shown_params(r), sort_keys=True, default=str))
        parts.append("<h4>Configurations</h4>" + _table(["label", "plugin", "config_id", "params"],
                                                        sorted(configs.values())))

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _pictures(runs: Sequence[Any]) -> list[str]:
    out = []
    for run in runs:
        shown: set[tuple[str, str]] = set()
        for row in sorted(run.rows, key=lambda r: (r.get("seed", 0), r.get("fold", 0))):
            for relative in row.get("artifacts") or []:
                path = run.directory / relative
                if path.suffix.lower() != ".png" or not path.is_file():
                    continue
                key = (row["config_id"] + str(row.get("dataset")), path.name)
                if key in shown:
                    continue
                shown.add(key)
                caption = (f"{row.get('model')} on {row.get('dataset')}, fold {row.get('fold_name')}, "
                           f"seed {row.get('seed')}: {path.name} ({run.name})")
                out.append(_img(_data_uri(path.read_bytes(), "image/png"), caption, caption))
    return out


def write(run_dirs: Sequence[str | Path], output: str | Path, warn: Any = None) -> Path:
    """Write the report of ``run_dirs`` to ``output`` (atomically); the path written. ``warn`` is
    called with each warning of the loader (rows set aside, stored files ignored)."""
    from benchmark.store import write_atomic

    text = build_html(run_dirs, warn)
    path = Path(output)
    if path.is_dir():
        raise BenchError("is a directory; give a file name such as report.html", f"-o {output}")
    write_atomic(path, text)
    return path
