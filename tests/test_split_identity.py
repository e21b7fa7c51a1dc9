"""Issue 28, item 7: one split, one identity. Two suites that spell the same split differently
(MovieLens' u1–u5 folds listed, or the default; kfold's k spelled or left to its default)
measured the same folds: fingerprints decide, and ``bench leaderboard`` and ``bench report``
show one line per configuration, never two. Cell ids of stored runs are unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from benchmark.leaderboard.lines import protocol
from benchmark.store import read_rows
from tests.conftest import run_bench

MOVIELENS = """\
name: NAME
data_dir: DATA
datasets:
  - name: movielens-100k
    SPLIT
models: [global-mean, bias-baseline]
metrics: [rmse]
"""


def _run(tmp_path: Path, out: Path, name: str, split: str, data: Path) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(MOVIELENS.replace("NAME", name).replace("DATA", str(data)).replace("SPLIT", split))
    ran = run_bench("run", str(path), "--out", str(out), "--executor", "inline", "-q")
    assert ran.returncode == 0, ran.stderr


def _lines(*args: str) -> list[dict[str, str]]:
    shown = run_bench("leaderboard", *args, "--format", "csv")
    assert shown.returncode == 0, shown.stderr
    return list(csv.DictReader(io.StringIO(shown.stdout)))


def test_the_u_folds_listed_or_by_default_are_one_line_per_model(tmp_path, shared_data):
    listed, default = tmp_path / "listed", tmp_path / "default"
    _run(tmp_path, listed, "listed", "split: {method: predefined, name: u, folds: [u1, u2, u3, u4, u5]}",
         shared_data)
    _run(tmp_path, default, "default", "label: movielens-100k", shared_data)
    rows = read_rows(listed / "cells.jsonl") + read_rows(default / "cells.jsonl")
    assert len({protocol(r["split"], r["split_params"]) for r in rows}) == 2  # spelled two ways...
    assert len({r["split_fingerprint"] for r in rows}) == 5                   # ...the same 5 folds

    lines = _lines(str(listed), str(default))
    assert sorted(line["model"] for line in lines) == ["bias-baseline", "global-mean"]
    assert all(line["folds"] == "5" and line["cells"] == "5" for line in lines)  # no fold counted twice
    assert all(line["rmse_seed_std"] == "" for line in lines)  # one seed: no seed spread from duplicates
    report = run_bench("report", str(listed), str(default), "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "r.html").read_text()
    assert html.count(">global-mean<") == html.count(">bias-baseline<")


SYNTHETIC = """\
name: NAME
datasets: [{name: synthetic-ratings, options: {n_users: 40, n_items: 30, density: 0.3}}]
split: SPLIT
models: [global-mean]
metrics: [rmse]
"""


def test_kfold_with_k_spelled_or_defaulted_is_one_line_and_keeps_its_cell_ids(tmp_path):
    outs = []
    for name, split in (("spelled", "{method: kfold, k: 5}"), ("defaulted", "{method: kfold}")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(SYNTHETIC.replace("NAME", name).replace("SPLIT", split))
        out = tmp_path / name
        assert run_bench("run", str(path), "--out", str(out), "--executor", "inline", "-q").returncode == 0
        outs.append(out)
    ids = [{r["cell_id"] for r in read_rows(out / "cells.jsonl")} for out in outs]
    assert not ids[0] & ids[1]  # cell ids keep the split as spelled: stored runs are unchanged
    [line] = _lines(*map(str, outs))
    assert line["model"] == "global-mean" and line["folds"] == "5"
