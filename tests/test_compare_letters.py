"""``bench compare --all`` over datasets (issue 26 items 6 and 8): compact letters instead of
"better than" superscripts, Friedman's p with its method, and no post-hoc groups with too few
datasets for any pair to differ."""

from __future__ import annotations

from pathlib import Path

from tests.test_compare import REFERENCE, bench_cli, read, write


def several(tmp_path: Path, datasets: int) -> Path:
    rows = []
    for number in range(datasets):
        checksum = f"d{number}"
        for row in read(REFERENCE / "cells.jsonl"):
            if row["model"] in ("svd", "svdpp", "baseline-only", "nmf"):
                rows.append({**row, "dataset": f"set{number}", "dataset_checksum": checksum * 8,
                             "cell_id": row["cell_id"] + checksum})
    (tmp_path / "A").mkdir()
    write(tmp_path / "A" / "cells.jsonl", rows)
    return tmp_path / "A"


def test_two_datasets_give_the_exact_friedman_p_and_no_post_hoc_claim(tmp_path):
    code, out, err = bench_cli("compare", str(several(tmp_path, 2)), "--all")
    assert code == 0, err
    # the same ranking on both datasets: 4! of the 24² arrangements are as extreme, p = 1/24
    assert "Friedman p = 0.042 (exact)" in out
    assert "no post-hoc claim: with 2 datasets no two of 4 configurations can differ" in out
    assert "not significantly different:" not in out


def test_four_datasets_keep_the_nemenyi_groups_and_letters(tmp_path):
    code, out, err = bench_cli("compare", str(several(tmp_path, 4)), "--all")
    assert code == 0, err
    assert "(exact)" in out and "not significantly different: svdpp, svd, baseline-only" in out
    table = out.split("set0: rmse")[1].split("\n\n")[0]
    letters = {line.split()[0]: line.split()[-1] for line in table.splitlines()[3:]}
    assert letters == {"svdpp": "a", "svd": "b", "baseline-only": "c", "nmf": "d"}, table
