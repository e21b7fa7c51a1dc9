"""Issue 26 item 6 in the report and in ``bench compare --all``: below the datasets at which any
two configurations could differ, no critical-difference diagram and no post-hoc groups, and the
page says why; Friedman's p says how it was computed."""

from __future__ import annotations

from benchmark import leaderboard, report
from tests.test_presentation_report import several_datasets, three


def test_two_datasets_draw_no_diagram_and_say_why(tmp_path):
    page = report.build_html([several_datasets(tmp_path, datasets=2, models=4)])
    assert ">Across datasets<" in page and "critical-difference diagram" in page
    assert "no two of 4 configurations can differ" in page and "needs 3 datasets" in page
    assert "so no critical-difference diagram" in page and "(exact)" in page
    assert "critical-difference diagram, rating" not in page, "the diagram's image is not drawn"
    more = report.build_html([several_datasets(tmp_path / "four", datasets=4, models=4)])
    assert "critical-difference diagram, rating" in more


def test_enough_datasets_still_draw_it(tmp_path):
    rows = [r for d in range(4) for m, level in (("a", 0.8), ("b", 0.9), ("c", 1.0))
            for r in three(m, level, dataset=f"d{d}")]
    lines = leaderboard.build(rows, {"rating": ["rmse"]}, {"rmse": False})
    [result], reasons = report.friedman(lines, {"rating": ["rmse"]}, {"rmse": False})
    assert reasons == [] and result.method == "exact" and result.cliques() == [(0, 1), (1, 2)]
