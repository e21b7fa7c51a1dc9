"""Issue 26 item 7 and the leaderboard side of item 4, as specifications: an unranked line's mean
is put on #1's folds (marked †, its own-fold mean beside it); "n.s." (not significantly different
from #1) instead of "tied"; a p past the test's floor is printed "≤"; "vs #1" comes from one test
of every ranked line against #1 together."""

from __future__ import annotations

import csv
import io

import pytest

from benchmark import leaderboard
from tests.test_presentation_leaderboard import LOWER, METRICS, by_model, model_rows, row


def test_an_incomplete_line_that_skipped_its_hardest_fold_is_shown_on_first_s_folds():
    """The issue's crafted line: without its hardest fold it looked as good as #1."""
    difficulty = [0.930, 0.935, 0.940, 0.945, 0.960]  # the last fold is the hardest
    first = [row("first", f, difficulty[f]) for f in range(5)]
    other = [row("other", f, difficulty[f] + 0.002 + 0.0005 * (f % 2)) for f in range(5)]
    hider = [row("hider", f, difficulty[f] + 0.004) for f in range(4)]  # never ran the hardest fold
    lines = leaderboard.build(first + other + hider, METRICS, LOWER)
    got = by_model(lines)
    assert got["hider"].rank is None and got["hider"].mean("rmse") < got["first"].mean("rmse")
    on_first = got["first"].mean("rmse") + 0.004
    assert got["hider"].on_first_folds["rmse"] == pytest.approx(on_first) and got["hider"].shared_folds == 4
    assert leaderboard.mean_std(got["hider"], "rmse").startswith(f"{on_first:#.4g}† (own 0.9415")
    assert leaderboard.mean_std(got["first"], "rmse") == "0.9420 ± 0.012"  # ranked lines unchanged
    text = " ".join(leaderboard.render(lines, METRICS).split())  # the legend wraps at 100 columns
    assert "† an unranked line's mean put on #1's folds" in text and "on the 4 fold(s) they share" in text
    assert got["other"].on_first_folds == {} and got["first"].on_first_folds == {}


def test_a_line_with_no_fold_of_first_keeps_its_own_mean():
    rows = model_rows("a", 1.0) + [row("c", f, 0.5, fingerprint=f"other{f}") for f in range(3)]
    got = by_model(leaderboard.build(rows, METRICS, LOWER))
    assert got["c"].on_first_folds == {} and "†" not in leaderboard.mean_std(got["c"], "rmse")


def test_not_significantly_different_and_worse_in_the_table_and_the_csv():
    wobble = [0.004, -0.003, 0.002, -0.004, 0.001]
    rows = (model_rows("a", 1.000) + model_rows("close", 1.0005, noise=lambda f, s: wobble[f])
            + model_rows("far", 1.100, noise=lambda f, s: wobble[f] / 10))
    lines = leaderboard.build(rows, METRICS, LOWER)
    got = by_model(lines)
    assert leaderboard.vs_first(got["close"]).startswith("n.s. (p ")
    assert leaderboard.vs_first(got["far"]) == "worse (p ≤ 0.0001)", "past the quadrature floor: ≤"
    table = {r["model"]: r for r in csv.DictReader(io.StringIO(leaderboard.to_csv(lines, METRICS)))}
    assert table["close"]["vs_first"] == "not significantly different" and table["far"]["vs_first"] == "worse"
    assert float(table["far"]["p_vs_first"]) == pytest.approx(1e-4)


def test_vs_first_tests_every_ranked_line_together_on_first_s_folds():
    """Three lines, one noisy: the pooled residual is the noise of the whole table, and each
    line's p is the studentized range of 3 means (larger than its own paired t's p)."""
    from benchmark import best_line, stats

    noise = [[0.002, -0.001, 0.003, -0.002, -0.002], [-0.003, 0.002, 0.001, 0.0, 0.0]]
    rows = (model_rows("a", 1.000) + model_rows("b", 1.003, noise=lambda f, s: noise[0][f])
            + model_rows("c", 1.004, noise=lambda f, s: noise[1][f]))
    got = by_model(leaderboard.build(rows, METRICS, LOWER))
    layout = [[got[m].fold_means("rmse")[f"fold{f}"] for f in range(5)] for m in ("a", "b", "c")]
    expected = best_line.compare_with_best(layout, greater_is_better=False, best=0)
    assert [got["b"].p_vs_first, got["c"].p_vs_first] == expected.p[1:]
    paired = stats.paired_t([x - y for x, y in zip(layout[1], layout[0])]).p
    assert got["b"].p_vs_first > paired


def test_a_ranked_line_lacking_some_of_first_s_folds_is_untested_when_forced():
    rows = model_rows("a", 1.0) + model_rows("b", 1.01, noise=lambda f, s: 0.001 * (f % 2)) \
        + [row("c", f, 1.02, fingerprint=f"other{f}") for f in range(5)]
    got = by_model(leaderboard.build(rows, METRICS, LOWER, force=True))
    assert got["c"].tie == "untested: shares 0 of the 5 folds of #1"
    assert got["b"].tie in ("worse", "not significantly different")
