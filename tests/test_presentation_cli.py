"""The presentation items through the ``bench`` commands themselves.

Scoping (``--all-stored``), aliases in ``bench compare --rows`` and spreadsheet-safe CSV, as a
user meets them on the command line.
"""

from __future__ import annotations

import csv
import io


from benchmark import leaderboard
from tests.test_compare import bench_cli
from tests.test_presentation_report import scoped_run, three, write_run

def test_bench_leaderboard_is_scoped_and_all_stored_shows_everything(tmp_path):
    run = scoped_run(tmp_path)
    code, out, _ = bench_cli("leaderboard", str(run))
    assert code == 0 and "removed" not in out and "--all-stored" in out
    code, out, _ = bench_cli("leaderboard", str(run), "--all-stored", "--format", "csv")
    assert code == 0 and "removed" in {r["model"] for r in csv.DictReader(io.StringIO(out))}


def test_bench_report_all_stored(tmp_path):
    run = scoped_run(tmp_path)
    assert bench_cli("report", str(run), "-o", str(tmp_path / "r.html"), "--all-stored")[0] == 0
    assert ">removed<" in (tmp_path / "r.html").read_text()


def test_bench_compare_rows_accepts_an_alias_and_lists_valid_labels(tmp_path):
    rows = three("svd(k=4)", 0.9) + three("knn", 0.95)
    run = write_run(tmp_path / "run", rows)
    code, out, err = bench_cli("compare", str(run), "--rows", leaderboard.alias("svd(k=4)"), "knn")
    assert code == 0, err
    code, _, err = bench_cli("compare", str(run), "--rows", "svd", "knn")
    assert code == 2 and "valid (closest first): svd(k=4)" in err


def test_the_csv_of_bench_leaderboard_is_spreadsheet_safe(tmp_path):
    run = write_run(tmp_path / "run", three("=1+1", 0.9) + three("@SUM(A1)", 0.95))
    code, out, _ = bench_cli("leaderboard", str(run), "--format", "csv")
    assert code == 0
    assert {r["model"] for r in csv.DictReader(io.StringIO(out))} == {"'=1+1", "'@SUM(A1)"}
