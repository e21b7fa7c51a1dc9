"""``bench compare A B`` answers the everyday question (issue 26): run A, change one parameter, run
B. The configuration ids differ, so exact pairing finds nothing; a model with exactly one
configuration in each run is paired by model, and the parameters that changed are named.

Runs are crafted from the stored reference run of Surprise models on ml-100k's five folds.
"""

from __future__ import annotations

import json
from pathlib import Path

from scipy import stats as scipy_stats

from tests.test_compare import REFERENCE, bench_cli, read, write


def _run(path: Path, rows: list[dict]) -> Path:
    path.mkdir(parents=True)
    write(path / "cells.jsonl", rows)
    return path


def _changed(row: dict, model: str, params: dict, shift: float) -> dict:
    """``row`` as the same model run with other parameters: another label, configuration and id."""
    row = json.loads(json.dumps(row))
    row["config"] = {**row["config"], **params}
    row["params"] = {**row["params"], **params}
    row["config_id"] = f"{row['config_id'][:8]}changed0"
    row["cell_id"] = f"{row['cell_id']}-changed"
    row["model"] = model
    row["metrics"] = {k: v + shift * (1 + 0.1 * row["fold"]) for k, v in row["metrics"].items()}
    return row


def _reference(models: tuple[str, ...]) -> list[dict]:
    return [row for row in read(REFERENCE / "cells.jsonl") if row["model"] in models]


def test_one_changed_parameter_is_paired_by_model_and_named(tmp_path):
    a_rows = _reference(("svd", "baseline-only"))
    b_rows = [(_changed(row, "svd(n_factors=50)", {"n_factors": 50}, -0.004) if row["model"] == "svd" else row)
              for row in a_rows]
    a, b = _run(tmp_path / "A", a_rows), _run(tmp_path / "B", b_rows)
    code, out, err = bench_cli("compare", str(a), str(b), "--format", "json")
    assert code == 0, err
    rows = {row["model"]: row for row in json.loads(out)}
    changed = rows["svd → svd(n_factors=50)"]
    assert changed["changed"] == "n_factors: 100 → 50" and changed["n"] == 5 and changed["test"] == "t"
    diffs = [fb["metrics"]["rmse"] - fa["metrics"]["rmse"]
             for fa, fb in zip(*(sorted((r for r in rows_ if r["model_plugin"] == "svd"), key=lambda r: r["fold"])
                                 for rows_ in (a_rows, b_rows)))]
    assert changed["p"] == scipy_stats.ttest_1samp(diffs, 0).pvalue  # Holm over 2 rows: one untested
    assert changed["verdict"] == "better"
    assert rows["baseline-only"]["changed"] is None
    code, table, _ = bench_cli("compare", str(a), str(b))
    assert "paired by model: svd → svd(n_factors=50); changed: n_factors: 100 → 50" in table
    assert "every cell was paired" in table
    # --by label: the labels differ too ("the label includes the parameters"); still paired by model
    code, out, err = bench_cli("compare", str(a), str(b), "--by", "label", "--format", "json")
    assert code == 0 and {r["model"] for r in json.loads(out)} == {"svd → svd(n_factors=50)", "baseline-only"}


def test_two_configurations_of_a_model_are_never_guessed_and_the_output_says_how_to_pair(tmp_path):
    a_rows = _reference(("svd",))
    b_rows = [_changed(row, "svd(n_factors=50)", {"n_factors": 50}, -0.004) for row in a_rows]
    b_rows += [_changed({**row, "config_id": "other000" + row["config_id"][8:]}, "svd(n_factors=20)",
                        {"n_factors": 20}, 0.001) for row in a_rows]
    for row in b_rows[5:]:
        row["config_id"], row["cell_id"] = "twenty00changed0", row["cell_id"] + "20"
    a, b = _run(tmp_path / "A", a_rows), _run(tmp_path / "B", b_rows)
    code, out, err = bench_cli("compare", str(a), str(b))
    assert code == 3 and "bench: error: bench compare: nothing could be paired" in err
    assert "svd has 2 configurations in B (svd(n_factors=20), svd(n_factors=50)): not paired by model" in out
    assert "configurations of A: svd; of B: svd(n_factors=50), svd(n_factors=20)" in out
    # what the hint says works: --rows across the two runs
    code, out, err = bench_cli("compare", str(a), str(b), "--rows", "svd", "svd(n_factors=20)", "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert (row["a"], row["b"], row["n"]) == ("svd", "svd(n_factors=20)", 5)
    assert row["changed"] == "n_factors: 100 → 20" and row["verdict"] == "worse"
    code, _, err = bench_cli("compare", str(a), str(b), "--rows", "svd", "svd(n_factors=21)")
    assert code == 2 and "svd(n_factors=20)" in err


def test_rows_across_two_runs_need_labels_of_each(tmp_path):
    a = _run(tmp_path / "A", _reference(("svd", "nmf")))
    b = _run(tmp_path / "B", _reference(("svdpp", "nmf")))
    code, out, err = bench_cli("compare", str(a), str(b), "--rows", "svd", "svdpp", "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["changed"].startswith("model: svd → svdpp") and row["n"] == 5
    code, _, err = bench_cli("compare", str(a), str(b), str(a), "--rows", "svd", "svdpp")
    assert code == 2 and "expected one run with --rows (or two with --rows), got 3" in err


def test_the_gate_fails_when_b_lost_values_a_has(tmp_path):
    """A failed cell and a missing fold in B: what is not measured is not shown safe. A seed B
    never ran or another dataset is a different design, not a lost value."""
    a_rows = _reference(("svd", "nmf"))
    b_rows = []
    for row in json.loads(json.dumps(a_rows)):
        if row["model"] == "svd" and row["fold"] == 4:
            continue  # missing in B
        if row["model"] == "svd" and row["fold"] == 2:
            row.update(status="error", error="MemoryError", metrics={})
        b_rows.append(row)
    a, b = _run(tmp_path / "A", a_rows), _run(tmp_path / "B", b_rows)
    code, _, err = bench_cli("compare", str(a), str(b), "--fail-on-regression", "0.05")
    assert code == 1
    assert "B lacks 2 finite value(s) A has: 1 × svd on movielens-100k: error in B; " \
           "1 × svd on movielens-100k: fold 5/5 seed 0 missing in B" in err
    assert bench_cli("compare", str(a), str(b), "--fail-on-proven-regression")[0] == 0
    # B stored only nmf: svd's configuration is missing, not a value lost at a measured place
    only_nmf = _run(tmp_path / "C", [r for r in a_rows if r["model"] == "nmf"])
    code, _, err = bench_cli("compare", str(a), str(only_nmf), "--fail-on-regression", "0.05")
    assert "lacks" not in err


def test_help_says_which_question_each_gate_answers():
    code, out, _ = bench_cli("compare", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "--fail-on-regression [T]" in text and "a gate that proves safety" in text and "non-inferiority" in text
    assert "--fail-on-proven-regression [T]" in text and "a gate that proves harm" in text
    assert "a green exit does not mean 'no regression > T'" in text
