"""Issue 29, item 7: a ``cells.jsonl`` removed, replaced or cut while a run goes on (a plugin, a
cleanup script) is detected and said, and the rows the run had stored are written again."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benchmark.runner import RunOptions, run_suite
from benchmark.store import ResultStore

SABOTEUR = '''
import os
from pathlib import Path
from benchmark.api import hookimpl

SEEN = []

@hookimpl
def bench_cell_finished(result):
    SEEN.append(result.cell_id)
    if len(SEEN) == {after}:
        path = Path({out!r}) / "cells.jsonl"
        if {how!r} == "remove":
            path.unlink()
        else:
            with open(path, "r+b") as handle:
                handle.truncate(10)
'''


def suite(tmp_path: Path, after: int, how: str) -> Path:
    (tmp_path / "saboteur.py").write_text(SABOTEUR.format(after=after, out=str(tmp_path / "out"), how=how))
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nplugins: [saboteur.py]\ndatasets: [{name: synthetic-ratings, options: "
                    "{n_users: 30, n_items: 20}}]\nsplit: {method: kfold, k: 2}\n"
                    "models: [global-mean, bias-baseline]\nmetrics: [rmse]\n")
    return path


def stored_ids(out: Path) -> set[str]:
    return {json.loads(line)["cell_id"] for line in (out / "cells.jsonl").read_text().splitlines()
            if line.startswith("{") and line.endswith("}")}


@pytest.mark.parametrize("after, how", [(1, "remove"), (4, "remove"), (2, "cut")])
def test_a_cells_file_removed_or_cut_mid_run_is_said_and_its_rows_written_again(tmp_path, after, how):
    stream = io.StringIO()
    result = run_suite(suite(tmp_path, after, how), RunOptions(out=tmp_path / "out", executor="inline"),
                       stream=stream)
    warnings = [line for line in stream.getvalue().splitlines() if "while the run went on" in line]
    word = "removed or replaced" if how == "remove" else "cut short"
    assert warnings == [f"bench: warning: {tmp_path / 'out' / 'cells.jsonl'} was {word} while the run went on "
                        f"(a plugin or another program); the {after} rows this run had stored are written again, "
                        "rows stored before this run in it are lost unless a copy exists"]
    assert stored_ids(tmp_path / "out") == {row["cell_id"] for row in result.rows} and len(result.rows) == 4


def test_an_intact_store_says_nothing(tmp_path):
    store = ResultStore(tmp_path)
    store.append_rows([{"cell_id": "a", "status": "ok", "metrics": {}}])
    store.append_rows([{"cell_id": "b", "status": "ok", "metrics": {}}])
    store.check_intact()
    assert store.losses == [] and stored_ids(tmp_path) == {"a", "b"}
    (tmp_path / "cells.jsonl").unlink()
    store.check_intact()
    assert len(store.losses) == 1 and stored_ids(tmp_path) == {"a", "b"}
