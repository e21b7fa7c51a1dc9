"""Leaderboard honesty (issues 14 item 9, 17 items 6-7, 19 items 3 and 5), as specifications.

* the fold is the unit: seeds are averaged within a fold, ± is the s.d. over folds, the seed
  s.d. is shown apart;
* lines are ranked only on the folds they share: a failed or missing fold (Ctrl-C) marks a line
  "incomplete (k/n folds)" and leaves it unranked, in the same group as the complete ones;
* "vs #1" comes from one test of every ranked line against #1 over #1's folds, adjusted for
  #1 being chosen as the best (issue 26: the studentized range); "n.s." (not significantly
  different) instead of "tied"; no verdict without variance or with one fold;
* a non-finite value is never averaged; text cells of leaderboard.csv cannot run in a
  spreadsheet; labels a shell would need quoted get an alias that resolve_label accepts.
"""

from __future__ import annotations

import csv
import io
import math
import zlib

import pytest

from benchmark import leaderboard
from benchmark.errors import BenchError

METRICS = {"rating": ["rmse", "mae"]}
LOWER = {"rmse": False, "mae": False}
FOLDS = 5


def row(model: str = "m", fold: int = 0, rmse: float | None = 1.0, seed: int = 0, status: str = "ok",
        k: int | None = None, fingerprint: str | None = None, **extra) -> dict:
    """One stored cell: fixed folds (the fingerprint does not depend on the seed) unless given."""
    k = zlib.crc32(model.encode()) if k is None else k  # one configuration per label
    metrics = {} if status != "ok" else {"rmse": rmse, "mae": (rmse or 0) / 2}
    return {"cell_id": f"{model}-{seed}-{fold}", "dataset": "d", "task": "rating", "model": model,
            "model_plugin": "p", "params": {"k": k}, "seed": seed, "fold": fold, "split": "kfold",
            "split_params": {"k": FOLDS, "seed": 0}, "split_fingerprint": fingerprint or f"fold{fold}",
            "dataset_checksum": "c", "status": status, "metrics": metrics, "fit_seconds": 0.1,
            "predict_seconds": 0.01, **({"error": "boom"} if status != "ok" else {}), **extra}


def model_rows(model: str, base: float, folds=range(FOLDS), seeds=(0,), step: float = 0.01,
               noise=lambda fold, seed: 0.0) -> list[dict]:
    """Fold difficulty shared by every model (``step`` per fold) plus the model's own level."""
    return [row(model, f, base + step * f + noise(f, s), seed=s) for f in folds for s in seeds]


def by_model(lines):
    return {line.model: line for line in lines}


# --- The fold is the unit ----------------------------------------------------------------------


def test_seeds_on_fixed_folds_are_averaged_within_each_fold_before_the_spread():
    rows = model_rows("a", 1.0, seeds=(0, 1, 2), noise=lambda f, s: 0.003 * (s - 1))
    [line] = leaderboard.build(rows, METRICS, LOWER)
    assert (line.folds, line.units, line.seeds, line.cells) == (5, 5, 3, 15)
    fold_means = [1.0 + 0.01 * f for f in range(FOLDS)]
    assert line.mean("rmse") == pytest.approx(sum(fold_means) / FOLDS)
    sd_over_folds = math.sqrt(sum((m - 1.02) ** 2 for m in fold_means) / (FOLDS - 1))
    assert line.std("rmse") == pytest.approx(sd_over_folds), "± over the 5 fold means, not the 15 cells"
    assert line.seed_std("rmse") == pytest.approx(0.003), "seed spread within a fold, shown apart"
    text = leaderboard.render([line], METRICS)
    assert "rmse (mean ± s.d. over folds)" in leaderboard.render([line], METRICS, wide=True)
    assert "rmse seed s.d." in text
    assert "± is the s.d. over folds" in text
    [out] = csv.DictReader(io.StringIO(leaderboard.to_csv([line], METRICS)))
    assert float(out["rmse_std"]) == pytest.approx(sd_over_folds, abs=1e-6)
    assert float(out["rmse_seed_std"]) == pytest.approx(0.003, abs=1e-6)


def test_a_single_seed_has_no_seed_column():
    [line] = leaderboard.build(model_rows("a", 1.0), METRICS, LOWER)
    assert line.seed_std("rmse") is None
    assert "seed s.d." not in leaderboard.render([line], METRICS)


# --- Ranked only on the folds they share ---------------------------------------------------------


def test_a_line_with_a_failed_fold_is_marked_and_not_ranked_on_fewer_folds():
    # "best" is best on its 4 folds only because the hard fold 4 failed: it must not be #1
    best = model_rows("best", 0.99, folds=range(4)) + [row("best", 4, status="error")]
    rows = model_rows("good", 1.00) + model_rows("fair", 1.02) + best
    lines = leaderboard.build(rows, METRICS, LOWER)
    got = by_model(lines)
    assert (got["good"].rank, got["fair"].rank, got["best"].rank) == (1, 2, None)
    assert got["best"].note == "incomplete (4/5 folds)" and not got["best"].complete
    assert got["best"].group == got["good"].group == 0, "same folds planned: one comparison group"
    assert [line.model for line in lines] == ["good", "fair", "best"], "unranked lines after the ranked"
    text = " ".join(leaderboard.render(lines, METRICS).split())  # the legend is wrapped to 100 columns
    assert "incomplete (4/5 folds)" in text and "not ranked against lines with every fold" in text
    [*_, out] = csv.DictReader(io.StringIO(leaderboard.to_csv(lines, METRICS)))
    assert (out["model"], out["rank"], out["complete"], out["folds"], out["expected_folds"]) == (
        "best", "", "false", "4", "5")


def test_an_interrupted_configuration_is_incomplete_not_different_splits():
    # Ctrl-C after two folds of the last configuration: its other folds were never stored
    rows = model_rows("a", 1.00) + model_rows("b", 1.01) + model_rows("late", 0.90, folds=range(2))
    got = by_model(leaderboard.build(rows, METRICS, LOWER))
    assert got["late"].note == "incomplete (2/5 folds)" and got["late"].rank is None
    assert "different splits" not in got["late"].note
    assert (got["a"].rank, got["b"].rank) == (1, 2)


def test_a_fold_that_failed_for_every_line_ranks_the_lines_on_the_others():
    rows = [r for m, base in (("a", 1.0), ("b", 1.1))
            for r in model_rows(m, base, folds=range(4)) + [row(m, 4, status="error")]]
    got = by_model(leaderboard.build(rows, METRICS, LOWER))
    assert (got["a"].rank, got["b"].rank) == (1, 2)
    assert got["a"].note == "ranked on the 4 of 5 folds any line finished"


def test_another_split_is_still_its_own_group():
    rows = model_rows("a", 1.0) + [row("c", f, 0.5, fingerprint=f"other{f}") for f in range(FOLDS)]
    got = by_model(leaderboard.build(rows, METRICS, LOWER))
    assert got["c"].group == 1 and got["c"].rank == 1 and "different splits" in got["c"].note
    assert got["a"].complete and got["c"].complete


# --- Tied with #1 ----------------------------------------------------------------------------------


def test_vs_first_comes_from_a_test_over_the_shared_folds_that_knows_first_was_chosen():
    wobble = [0.004, -0.003, 0.002, -0.004, 0.001]
    rows = (model_rows("a", 1.000)
            + model_rows("close", 1.0005, noise=lambda f, s: wobble[f])  # within the noise of #1
            + model_rows("worse", 1.030, noise=lambda f, s: wobble[f] / 10))  # consistently worse
    lines = leaderboard.build(rows, METRICS, LOWER)
    got = by_model(lines)
    assert got["a"].rank == 1 and leaderboard.vs_first(got["a"]) == "#1"
    assert got["close"].tie == "not significantly different" and got["close"].p_vs_first > 0.05
    assert got["worse"].tie == "worse" and got["worse"].p_vs_first < 0.05
    text = leaderboard.render(lines, METRICS)
    assert "vs #1" in text and "n.s. (p " in text and "chosen as the best" in text and "tied" not in text
    assert "n.s. = not significantly different from #1" in text
    table = {r["model"]: r for r in csv.DictReader(io.StringIO(leaderboard.to_csv(lines, METRICS)))}
    assert table["close"]["vs_first"] == "not significantly different" and table["a"]["vs_first"] == "#1"


def test_no_verdict_without_variance_or_with_one_fold():
    constant = model_rows("a", 1.0) + model_rows("b", 1.1)  # b - a is exactly 0.1 on every fold
    got = by_model(leaderboard.build(constant, METRICS, LOWER))
    assert got["b"].tie.startswith("untested: zero variance") and got["b"].p_vs_first is None
    one = [row("a", 0, 1.0), row("b", 0, 1.1)]
    got = by_model(leaderboard.build(one, METRICS, LOWER))
    assert got["b"].tie.startswith("untested: n = 1")
    same = model_rows("a", 1.0) + model_rows("twin", 1.0)
    got = by_model(leaderboard.build(same, METRICS, LOWER))
    assert leaderboard.vs_first(got["twin"]) == "identical"


def test_repeated_cv_uses_the_corrected_test():
    # three split seeds × 3 folds: nine folds from three partitions
    rows = [row(m, f, base + 0.01 * f + 0.002 * s + (0.0015 if (f + s) % 2 else -0.001) * (m == "b"), seed=s,
                fingerprint=f"s{s}f{f}", n_test=200, n_train=800)
            for m, base in (("a", 1.0), ("b", 1.001)) for s in range(3) for f in range(3)]
    got = by_model(leaderboard.build(rows, METRICS, LOWER))
    assert got["b"].units == 9 and got["b"].folds == 3
    assert got["b"].tie_test == "nb" and "p NB" in leaderboard.vs_first(got["b"])
    assert "Nadeau–Bengio" in leaderboard.render(list(got.values()), METRICS)


# --- Values that must not be averaged -------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_value_is_never_averaged(bad):
    rows = model_rows("a", 1.0) + model_rows("b", 1.1, folds=range(4)) + [row("b", 4, bad)]
    got = by_model(leaderboard.build(rows, METRICS, LOWER))
    assert math.isfinite(got["b"].mean("rmse")) and got["b"].mean("rmse") == pytest.approx(1.115)
    assert got["b"].refused >= 1 and "non-finite" in got["b"].refused_reason
    assert got["b"].note == "incomplete (4/5 folds)" and got["b"].rank is None
    assert "refused" in leaderboard.render(list(got.values()), METRICS)


# --- CSV safety -------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_text_cells_cannot_run_in_a_spreadsheet(label):
    lines = leaderboard.build(model_rows(label, 1.0), METRICS, LOWER)
    [out] = csv.DictReader(io.StringIO(leaderboard.to_csv(lines, METRICS), newline=""))
    assert out["model"] == "'" + label.replace("\r", "\\r")
    assert out["rmse_mean"] == "1.020000", "numbers are left as numbers"


def test_csv_safe():
    assert leaderboard.csv_safe("svd") == "svd" and leaderboard.csv_safe("") == ""
    assert leaderboard.csv_safe("=1") == "'=1" and leaderboard.csv_safe(None) is None and leaderboard.csv_safe(2) == 2


# --- Aliases and resolve_label ---------------------------------------------------------------------


def test_labels_that_need_quoting_get_an_alias_shown_in_the_table():
    rows = model_rows("svd(k=4)", 1.0) + model_rows("fast svd", 1.1) + model_rows("plain", 1.2)
    lines = leaderboard.build(rows, METRICS, LOWER)
    got = by_model(lines)
    svd = leaderboard.alias("svd(k=4)")
    assert (got["svd(k=4)"].alias, got["plain"].alias) == (svd, "")
    assert leaderboard.shell_friendly(svd) and len(svd) == 7 and got["fast svd"].alias not in ("", svd)
    text = leaderboard.render(lines, METRICS)
    assert "alias" in text and "bench compare --rows" in text and svd in text
    table = {r["model"]: r for r in csv.DictReader(io.StringIO(leaderboard.to_csv(lines, METRICS)))}
    assert table["svd(k=4)"]["alias"] == svd


def test_an_alias_is_the_same_in_every_view():
    one = leaderboard.aliases(["a b"])
    many = leaderboard.aliases(["a b", "c d", "e(f=1)", *[f"x{i}" for i in range(100)]])
    assert one["a b"] == many["a b"]


def test_an_alias_never_shadows_a_real_label_and_collisions_get_longer_ones():
    name = leaderboard.alias("a b")
    assert leaderboard.aliases([name, "a b"]) == {"a b": leaderboard.alias("a b", 12)}


def test_resolve_label_accepts_label_alias_and_config_prefix():
    lines = leaderboard.build(model_rows("svd(k=4)", 1.0) + model_rows("knn", 1.1), METRICS, LOWER)
    got = by_model(lines)
    assert leaderboard.resolve_label("svd(k=4)", lines) is got["svd(k=4)"]
    assert leaderboard.resolve_label(leaderboard.alias("svd(k=4)"), lines) is got["svd(k=4)"]
    assert leaderboard.resolve_label(got["knn"].config_id[:6], lines) is got["knn"]
    assert leaderboard.resolve_label("knn", ["svd(k=4)", "knn"]) == "knn"


def test_a_wrong_label_lists_the_valid_ones_closest_first():
    lines = leaderboard.build(model_rows("svd(k=4)", 1.0) + model_rows("knn-basic", 1.1)
                              + model_rows("svdpp", 1.2), METRICS, LOWER)
    with pytest.raises(BenchError) as info:
        leaderboard.resolve_label("svdp", lines)
    message = str(info.value)
    assert "no configuration labelled 'svdp'" in message
    listed = message.split("valid (closest first): ")[1]
    assert listed.index("svdpp") < listed.index(f"svd(k=4) ({leaderboard.alias('svd(k=4)')})") \
        < listed.index("knn-basic")
