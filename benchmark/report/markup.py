"""The report's HTML and figure primitives: its stylesheet, tables and lists with every text
escaped, images as ``data:`` URIs, matplotlib figures written as SVG with text as paths.

Why matplotlib and inlined SVG, not a JavaScript chart library: see :mod:`benchmark.report`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import Any

from benchmark.leaderboard.labels import alias

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


def data_uri(data: bytes, mime: str) -> str:
    """``data`` inlined as a base64 ``data:`` URI: the page fetches nothing."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def svg_uri(figure: Any) -> str:
    """A matplotlib figure as an SVG ``data:`` URI."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return data_uri(buffer.getvalue(), "image/svg+xml")


def new_figure(width: float, height: float) -> Any:
    """A matplotlib figure (no pyplot state) whose SVG writes text as paths and hashes alike
    each time: the same report for the same runs."""
    from matplotlib.figure import Figure

    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "path"  # text as paths: no font needed
    matplotlib.rcParams["svg.hashsalt"] = "bench"  # the same report for the same runs
    return Figure(figsize=(width, height), dpi=100)


def img(uri: str, alt: str, caption: str = "") -> str:
    """An image, in a captioned figure when ``caption`` is given."""
    figure = f'<img src="{uri}" alt="{html.escape(alt)}">'
    return f"<figure>{figure}<figcaption>{html.escape(caption)}</figcaption></figure>" if caption else figure


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table of ``rows`` under ``headers``, every cell escaped."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_list(items: Sequence[str]) -> str:
    """A bulleted list, every item escaped."""
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def short(label: str, limit: int = 38) -> str:
    """``label``, or when longer than ``limit`` its start, ``…`` and its alias (the hash of the
    whole label): two long labels with one prefix stay apart."""
    if len(label) <= limit:
        return label
    tag = alias(label)
    return label[: max(8, limit - len(tag) - 2)] + "… " + tag

