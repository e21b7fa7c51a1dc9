"""The committed reference runs (``results/reference/*``) show what today's readers print: each
``leaderboard.csv`` and ``leaderboard.md`` is ``bench leaderboard`` of that run directory, so a
reader change that alters them is seen here and the files are rewritten with it (the cells are
never touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_bench

REFERENCE = Path(__file__).resolve().parent.parent / "results" / "reference"
RUNS = sorted(p for p in REFERENCE.iterdir() if (p / "cells.jsonl").is_file())


def test_there_are_reference_runs():
    assert len(RUNS) >= 4


@pytest.mark.parametrize("run", RUNS, ids=[p.name for p in RUNS])
def test_a_reference_leaderboard_is_what_bench_leaderboard_prints(run):
    csv = run_bench("leaderboard", str(run), "--format", "csv")
    markdown = run_bench("leaderboard", str(run), "--format", "md")
    assert csv.returncode == 0 and markdown.returncode == 0, csv.stderr + markdown.stderr
    rewrite = (f"rewrite with: bench leaderboard {run.relative_to(REFERENCE.parent.parent)} --format csv "
               f"> leaderboard.csv (and --format md, under the '# {run.name}' title)")
    assert (run / "leaderboard.csv").read_text() == csv.stdout, rewrite
    assert (run / "leaderboard.md").read_text() == f"# {run.name}\n\n{markdown.stdout}", rewrite
