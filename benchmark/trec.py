"""Ranked lists for other tools: a run's stored rankings as TREC run and qrels files.

``bench results RUN --rankings DIR`` writes, for each ranking or next-item cell (any cell whose
row lists a ``rankings.npz`` artifact, see ``bench_plugins.ranking_task``):

* ``DIR/<cell id>.run`` — ``user Q0 item rank score tag``, one line per listed item, each user's
  list to the largest cut-off of the cell's metrics. ``score`` is ``k + 1 - rank``: bench's own
  order (ties between equal model scores broken by item id) is the order, and a tool that sorts
  by score (ranx, trec_eval) reads exactly that order back. ``tag`` is the model's label;
* ``DIR/<cell id>.qrels`` — ``user 0 item 1`` for every relevant item of every evaluated user
  (the judgements the cell was scored against; users left out of scoring are left out of both
  files);
* ``DIR/cells.csv`` — which cell each pair of files is: run, task, dataset, fold, seed, model,
  config id, the depth ``k``.

Nothing is refit: the lists are the ones the cell's metrics read. ranx and trec_eval reproduce
the stored ``ndcg@k``, ``recall@k``... on them (``tests/test_rankings_export.py``; bench's
``map@k`` divides by ``min(|R|, k)`` where trec_eval divides by ``|R|``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.csvsafe import csv_safe_row
from benchmark.errors import BenchError
from benchmark.files import read_artifact, write_atomic
from benchmark.resultset import StoredResult

RANKINGS_FILE = "rankings.npz"
FORMAT = "bench-rankings-1"
MAX_RANKINGS_BYTES = 1 << 32
"""Largest stored rankings file read (4 GiB; ml-25m's 162k users at k = 100 take ~60 MB)."""
_NO_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Rankings:
    """One cell's stored lists: ``top`` (users x k) item positions, ``-1`` past the candidates;
    user ``u``'s relevant items are ``relevant_items[relevant_indptr[u]:relevant_indptr[u + 1]]``."""

    users: np.ndarray
    items: np.ndarray
    top: np.ndarray
    relevant_indptr: np.ndarray
    relevant_items: np.ndarray
    k: int

    def relevant(self, user: int) -> np.ndarray:
        return self.relevant_items[self.relevant_indptr[user]:self.relevant_indptr[user + 1]]


def read_rankings(data: bytes, where: str) -> Rankings:
    """Parse a ``rankings.npz`` (no pickles); a damaged or foreign file is one line naming ``where``."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            if str(arrays["format"]) != FORMAT:
                raise BenchError(f"format {str(arrays['format'])!r}, expected {FORMAT!r}", where)
            found = Rankings(arrays["users"].astype(str), arrays["items"].astype(str),
                             arrays["top"].astype(np.int64), arrays["relevant_indptr"].astype(np.int64),
                             arrays["relevant_items"].astype(np.int64), int(arrays["k"]))
    except BenchError:
        raise
    except Exception as exc:
        raise BenchError(f"not a readable rankings file ({type(exc).__name__}: {exc})", where) from None
    n_users, n_items = len(found.users), len(found.items)
    if (found.top.ndim != 2 or len(found.top) != n_users or len(found.relevant_indptr) != n_users + 1
            or found.top.size and (found.top.min() < -1 or found.top.max() >= n_items)
            or found.relevant_items.size and (found.relevant_items.min() < 0 or found.relevant_items.max() >= n_items)
            or found.relevant_indptr[-1] != len(found.relevant_items)):
        raise BenchError("rankings file's arrays do not fit together (damaged?)", where)
    return found


def _checked_id(value: str, what: str, where: str) -> str:
    if not value or _NO_SPACE.search(value):
        raise BenchError(f"{what} id {value!r} is empty or has white space, which the TREC format cannot hold",
                         where)
    return value


def run_text(rankings: Rankings, tag: str, where: str = "") -> str:
    """The TREC run lines: ``user Q0 item rank score tag`` (score = k + 1 - rank)."""
    tag = _NO_SPACE.sub("_", tag) or "bench"
    lines = []
    for position, user in enumerate(rankings.users):
        user = _checked_id(user, "user", where)
        for rank, item in enumerate(rankings.top[position], start=1):
            if item < 0:
                break
            lines.append(f"{user} Q0 {_checked_id(rankings.items[item], 'item', where)} {rank} "
                         f"{rankings.k + 1 - rank} {tag}\n")
    return "".join(lines)


def qrels_text(rankings: Rankings, where: str = "") -> str:
    """The TREC qrels lines: ``user 0 item 1`` per relevant item of each evaluated user."""
    lines = []
    for position, user in enumerate(rankings.users):
        user = _checked_id(user, "user", where)
        for item in rankings.relevant(position):
            lines.append(f"{user} 0 {_checked_id(rankings.items[item], 'item', where)} 1\n")
    return "".join(lines)


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote, and the ranking cells it could not (no stored lists)."""

    cells: list[str]
    missing: list[str]


def _stored_lists(row: StoredResult) -> str | None:
    return next((a for a in row.artifacts if isinstance(a, str) and a.endswith("/" + RANKINGS_FILE)), None)


def export(rows: Iterable[StoredResult], directory: str | Path, ranking_tasks: Sequence[str] = ("ranking", "next-item")
           ) -> Exported:
    """Write ``<cell id>.run``, ``<cell id>.qrels`` and ``cells.csv`` into ``directory`` for every
    row (a :class:`~benchmark.resultset.StoredResult`) whose ranked lists are stored. A row of
    ``ranking_tasks`` with status ``ok`` but no stored lists (a run made before bench stored
    them) is listed in ``missing``."""
    import csv

    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise BenchError("is a file, expected a directory for the rankings", f"--rankings {target}")
    written, missing = [], []
    index = io.StringIO()
    table = csv.writer(index, lineterminator="\n")
    table.writerow(["cell_id", "run", "task", "dataset", "fold", "fold_name", "seed", "model", "config_id", "k"])
    for row in rows:
        relative = _stored_lists(row)
        cell_id = str(row.cell_id)
        if relative is None:
            if row.task in ranking_tasks and row.status == "ok":
                missing.append(cell_id)
            continue
        run_dir = str(row.run_dir)
        where = f"{run_dir}/{relative}"
        data = read_artifact(run_dir, relative, MAX_RANKINGS_BYTES)
        if data is None:
            raise BenchError("missing, a link, or not a regular file", where)
        rankings = read_rankings(data, where)
        label = str(row.model or "")
        write_atomic(target / f"{cell_id}.run", run_text(rankings, label, where), where="--rankings")
        write_atomic(target / f"{cell_id}.qrels", qrels_text(rankings, where), where="--rankings")
        table.writerow(csv_safe_row([cell_id, row.run, row.task, row.dataset, row.fold, row.fold_name, row.seed,
                                     label, row.config_id, rankings.k]))
        written.append(cell_id)
    if written:
        write_atomic(target / "cells.csv", index.getvalue(), where="--rankings")
    return Exported(written, missing)
