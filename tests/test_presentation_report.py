"""``bench report`` and ``bench leaderboard`` as a reader of crafted run directories (issues 14
item 7, 17 item 6, 19 items 2 and 15):

* scoped to the current suite by default (the runner's planned cells, else the stored
  suite.yaml), everything with ``all_stored``;
* provenance shows the git revision stored in environment.json (and per run id);
* only artifacts inside the run directory, not through a link, are embedded; the rest listed;
* every chart point is numbered, numbers never overlap, cover a marker or leave the frame;
* a critical-difference diagram (Friedman + Nemenyi) with several datasets;
* charts draw a bounded number of configurations, whatever the run holds.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="bench report draws with matplotlib (extra: plots)")

from benchmark import leaderboard, report, resultset, stats  # noqa: E402
from benchmark.report import across_datasets as report_friedman, layout as report_layout, markup as report_html  # noqa: E402
from benchmark.cells import configuration_id  # noqa: E402

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def cell(model: str, fold: int, rmse: float, dataset: str = "d", seed: int = 0, params: dict | None = None,
         **extra) -> dict:
    params = {"k": model} if params is None else params
    return {"cell_id": f"{dataset}-{model}-{seed}-{fold}", "dataset": dataset, "task": "rating",
            "model": model, "model_plugin": "p", "params": params, "config": params, "seed": seed,
            "fold": fold, "split": "kfold", "split_params": {"k": 3, "seed": 0},
            "split_fingerprint": f"{dataset}{fold}", "dataset_checksum": f"sum-{dataset}", "status": "ok",
            "metrics": {"rmse": rmse}, "fit_seconds": 0.1 + rmse / 10, "predict_seconds": 0.01,
            "run_id": "r1", "suite": "s", "finished_at": "2026-01-01", **extra}


def write_run(directory: Path, rows: list[dict], suite: str | None = None, environment: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cells.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if suite is not None:
        (directory / "suite.yaml").write_text(suite)
    if environment is not None:
        (directory / "environment.json").write_text(json.dumps(environment))
    return directory


def three(model: str, level: float, dataset: str = "d", **extra) -> list[dict]:
    return [cell(model, f, level + 0.01 * f, dataset, **extra) for f in range(3)]


# --- Scope ----------------------------------------------------------------------------------------

SUITE = """\
name: s
seed: 0
split: {method: kfold, k: 3}
datasets:
  - {name: synthetic-ratings, label: d}
models:
  - {name: p, label: a, params: {k: a}}
  - {name: p, label: b, params: {k: b}}
  - {name: p, label: g, grid: {k: [g1, g2]}}
metrics: [rmse]
"""


def scoped_run(tmp_path: Path, environment: dict | None = None) -> Path:
    rows = (three("a", 0.9) + three("b", 0.95) + three("removed", 0.80)
            + three("g", 0.99, params={"k": "g1"})  # the grid's label is g(k=g1): an old label
            + three("g(k=g1)", 0.97, params={"k": "g1"}, cell_id_suffix="x")
            + three("b", 0.85, seed=7))  # a seed the suite no longer runs
    for row in rows:  # distinct cells
        row["cell_id"] += row.pop("cell_id_suffix", "")
    return write_run(tmp_path / "run", rows, SUITE, environment)


def test_the_leaderboard_shows_the_current_suite_by_default(tmp_path):
    run = scoped_run(tmp_path)
    loaded = resultset.load([run])
    lines, _, note = leaderboard.from_results(loaded)
    assert sorted(line.model for line in lines) == ["a", "b", "g(k=g1)"]
    assert note.startswith("2 stored configuration(s) not in the current suite are not shown")
    text = leaderboard.show(loaded)
    assert "removed" not in text and "--all-stored shows every stored configuration" in text
    every, _, none = leaderboard.from_results(loaded, all_stored=True)
    assert {"removed", "a", "b"} <= {line.model for line in every} and none == ""
    assert "removed" not in leaderboard.show(loaded, "csv")


def test_what_the_runner_planned_scopes_exactly(tmp_path):
    class Planned:  # what the runner's cells carry
        def __init__(self, label: str, split_params: dict, fold: int):
            self.dataset_checksum, self.split, self.split_params = "sum-d", "kfold", split_params
            self.config_id = configuration_id({"params": {"k": label}, "model_plugin": "p", "task": "rating"})
            self.dataset, self.task, self.model, self.config = "d", "rating", label, {"k": label}
            self.fingerprint, self.seed, self.tuning = f"d{fold}" if split_params["k"] == 3 else f"ten{fold}", 0, None
    cells = [Planned(label, {"k": k, "seed": 0}, fold) for label, k in (("a", 3), ("removed", 3), ("b", 10))
             for fold in range(3)]  # b now runs on another split: its k=3 cells are out
    run = scoped_run(tmp_path, {"run_id": "r1", **leaderboard.planned(cells, [0])})
    lines, _, note = leaderboard.from_results(resultset.load([run]))
    assert sorted(line.model for line in lines if line.cells) == ["a", "removed"]
    assert all(line.complete for line in lines if line.cells)
    assert [line.note for line in lines if line.model == "b"] == ["no results yet; different splits (kfold)"]
    assert note.startswith("2 stored configuration(s)"), "b on the old split; g1 (stored under two labels)"
    assert len(json.dumps(leaderboard.planned(cells * 10_000, [0]))) < 1000, "one entry per configuration"


def test_no_stored_suite_shows_everything(tmp_path):
    run = write_run(tmp_path / "run", three("a", 0.9) + three("z", 0.8))
    lines, _, note = leaderboard.from_results(resultset.load([run]))
    assert len(lines) == 2 and note == ""


def test_the_report_is_scoped_too(tmp_path):
    run = scoped_run(tmp_path)
    page = report.build_html([run])
    assert ">removed<" not in page and "not in the current suite are not shown" in page
    assert ">removed<" in report.build_html([run], all_stored=True)


def test_an_interrupted_configuration_is_marked_in_the_report(tmp_path):
    run = write_run(tmp_path / "run", three("a", 0.9) + three("b", 0.95) + [cell("late", 0, 0.5)])
    page = report.build_html([run])
    assert "incomplete (1/3 folds)" in page


# --- Provenance --------------------------------------------------------------------------------------


def test_provenance_shows_the_git_revision(tmp_path):
    run = write_run(tmp_path / "run", three("a", 0.9) + three("b", 0.95, run_id="r0"), None,
                    {"run_id": "r1", "git_revision": "0123456789abcdef-dirty", "recorded_at": "t1"})
    (run / "environments").mkdir()
    (run / "environments" / "r0.json").write_text(json.dumps({"run_id": "r0", "git_revision": "fedcba9876"}))
    page = report.build_html([run])
    assert "0123456789abcdef-dirty" in page and "fedcba9876" in page
    assert 'git ""' not in page and "<td>git</td><td>&quot;&quot;</td>" not in page


def test_provenance_says_when_no_revision_was_recorded(tmp_path):
    run = write_run(tmp_path / "run", three("a", 0.9), None, {"run_id": "r1", "git_revision": None})
    assert "not recorded: not run from a git checkout" in report.build_html([run])


# --- Artifacts --------------------------------------------------------------------------------------


def test_only_artifacts_inside_the_run_directory_are_embedded(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    run = tmp_path / "run"
    (run / "artifacts" / "x").mkdir(parents=True)
    (run / "artifacts" / "x" / "good.png").write_bytes(PNG)
    (run / "artifacts" / "x" / "link.png").symlink_to(outside)
    (run / "artifacts" / "linked").symlink_to(tmp_path, target_is_directory=True)
    (run / "artifacts" / "x" / "fake.png").write_text("not a picture")
    artifacts = ["artifacts/x/good.png", "../secret.png", str(outside), "artifacts/x/link.png",
                 "artifacts/linked/secret.png", "artifacts/x/fake.png", "artifacts/x/missing.png"]
    rows = [cell("a", 0, 0.9, artifacts=[name]) | {"cell_id": f"c{i}", "params": {"k": i}, "config": {"k": i}}
            for i, name in enumerate(artifacts)]
    write_run(run, rows)
    page = report.build_html([run])
    assert page.count('src="data:image/png;base64,') == 1
    skipped = page.split("Skipped artifacts", 1)[1]
    for name in artifacts[1:]:
        assert repr(name)[1:-1] in skipped, name
    assert "not a PNG file" in skipped and "outside it, through a link, or missing" in skipped


@pytest.mark.parametrize("relative", ["../x.png", "/etc/passwd", "a/../../x.png", "", "a\0b.png", "C:/x.png"])
def test_artifact_path_refuses(tmp_path, relative):
    assert report.artifact_path(tmp_path, relative) is None


def test_artifact_path_accepts_a_plain_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.png").write_bytes(PNG)
    assert report.artifact_path(tmp_path, "a/b.png") == tmp_path / "a" / "b.png"


def test_the_output_is_never_written_through_a_link(tmp_path):
    run = write_run(tmp_path / "run", three("a", 0.9))
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    try:
        report.write([run], link)
    except Exception as exc:  # the hardened writer refuses a link; the plain one replaces it
        assert "link" in str(exc)
    assert target.read_text() == "keep me"


# --- Numbers that never overlap -------------------------------------------------------------------


def boxes(anchors, sizes, offsets):
    return [(x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
            for (x, y), (w, h), (dx, dy) in zip(anchors, sizes, offsets)]


@pytest.mark.parametrize("seed", range(8))
def test_layout_labels_never_overlap_cover_a_marker_or_leave_the_frame(seed):
    rng = random.Random(seed)
    frame = (0.0, 0.0, 400.0, 250.0)
    centre = (rng.uniform(20, 380), rng.uniform(20, 230))
    anchors = [(min(395, max(5, centre[0] + rng.gauss(0, 15))), min(245, max(5, centre[1] + rng.gauss(0, 10))))
               for _ in range(30)]  # a tight cluster, some at the frame's edge
    sizes = [(0.64 * 7 * len(str(n)) + 2, 9.35) for n in range(1, 31)]
    placed = boxes(anchors, sizes, report.layout_labels(anchors, sizes, frame, marker=4.0))
    for i, a in enumerate(placed):
        assert frame[0] <= a[0] and frame[1] <= a[1] and a[2] <= frame[2] and a[3] <= frame[3]
        for b in placed[i + 1:]:
            assert not report_layout.overlap(a, b)
        for x, y in anchors:
            assert not report_layout.overlap(a, (x - 4, y - 4, x + 4, y + 4))


def test_layout_labels_says_when_there_is_no_room():
    with pytest.raises(ValueError, match="no room"):
        report.layout_labels([(6.0, 6.0)] * 2, [(8.0, 8.0)] * 2, (0.0, 0.0, 12.0, 12.0))


def test_pareto_sweep_matches_the_definition():
    rng = random.Random(3)
    for greater in (False, True):
        for _ in range(50):
            points = [(float(rng.randint(1, 8)), float(rng.randint(1, 8))) for _ in range(rng.randint(1, 12))]

            def beats(a, b):
                better = a[1] > b[1] if greater else a[1] < b[1]
                return a[0] <= b[0] and (better or a[1] == b[1]) and (a[0] < b[0] or better)

            expected = {i for i, p in enumerate(points) if not any(beats(q, p) for q in points)}
            assert set(report.pareto(points, greater)) == expected


# --- Across datasets ---------------------------------------------------------------------------------


def several_datasets(tmp_path: Path, datasets: int = 4, models: int = 5) -> Path:
    rows = []
    for d in range(datasets):
        for m in range(models):
            rows += three(f"model {m}", 0.9 + 0.01 * m + 0.003 * ((m * 7 + d * 3) % 5), dataset=f"data{d}")
    return write_run(tmp_path / "run", rows)


def test_friedman_and_nemenyi_by_hand():
    rows = [r for d in range(4) for m, level in (("a", 0.8), ("b", 0.9), ("c", 1.0))
            for r in three(m, level, dataset=f"d{d}")]
    lines = leaderboard.build(rows, {"rating": ["rmse"]}, {"rmse": False})
    [result], reasons = report.friedman(lines, {"rating": ["rmse"]}, {"rmse": False})
    assert reasons == [] and result.labels == ["a", "b", "c"] and result.ranks == [1.0, 2.0, 3.0]
    # exact (issue 26): the 6 of the 6^4 rank arrangements in which the 4 datasets all agree;
    # χ² = 8 on 2 degrees of freedom would say exp(-4) = 0.018
    assert result.p == pytest.approx(6 / 6 ** 4) and result.method == "exact"
    # Demšar's table: q_0.05 = 2.343 for k = 3 (the studentized range over √2)
    assert result.cd == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 4)), abs=1e-3)
    assert result.cliques() == [(0, 1), (1, 2)], "a~b and b~c within CD 1.66, a and c apart"


def test_the_report_draws_a_critical_difference_diagram_with_several_datasets(tmp_path):
    page = report.build_html([several_datasets(tmp_path)])
    assert ">Across datasets<" in page and "Friedman" in page and "Nemenyi CD" in page
    assert "critical-difference diagram" in page


def test_no_diagram_for_one_dataset_and_a_reason_for_too_few_configurations(tmp_path):
    page = report.build_html([several_datasets(tmp_path / "one", datasets=1)])
    assert "Across datasets" not in page
    page = report.build_html([several_datasets(tmp_path / "two", datasets=2, models=2)])
    assert "a critical-difference diagram needs 3 or more" in page


# --- Scale: bounded charts ----------------------------------------------------------------------------


def test_charts_draw_a_bounded_number_of_configurations(tmp_path):
    rows = [r for m in range(120) for r in three(f"m{m}", 0.9 + 0.001 * m)]
    lines = leaderboard.build(rows, {"rating": ["rmse"]}, {"rmse": False})
    shown, front = report._chart_lines(lines, "rmse", False)
    assert len(shown) == report.CHART_LIMIT and front and shown[0].rank == 1
    page = report.build_html([write_run(tmp_path / "run", rows)])
    assert f"The charts draw {report.CHART_LIMIT} of the 120 configurations" in page
    assert page.count("<h3>d (rating)</h3>") == 1 and page.count(">m119<") == 2  # leaderboard + configurations


def test_long_labels_stay_apart_when_shortened():
    a, b = "svd(n_factors=10, lr_all=0.005, reg_all=0.02)", "svd(n_factors=10, lr_all=0.005, reg_all=0.04)"
    assert report_html.short(a, 30) != report_html.short(b, 30) and len(report_html.short(a, 30)) <= 31


def test_non_finite_values_do_not_reach_a_chart(tmp_path):
    rows = three("a", 0.9) + three("b", 0.95)
    rows[0]["metrics"]["rmse"] = float("nan")
    page = report.build_html([write_run(tmp_path / "run", rows)])
    assert "incomplete (2/3 folds)" in page and "refused: rmse: non-finite value nan" in page
    assert "0.9150 ± 0.0071" in page, "the mean of the two finite folds (0.91, 0.92)"


# --- In a real browser --------------------------------------------------------------------------------


def crowded_run(tmp_path: Path) -> Path:
    """Four datasets; on each, 30 configurations whose times and errors nearly coincide (the
    worst case for labels), long labels sharing a prefix, one interrupted configuration."""
    rng = random.Random(5)
    rows = []
    for d in range(4):
        for m in range(30):
            label = f"svd(n_factors={m}, lr_all=0.005, reg_all=0.02)" if m % 2 else f"model-{m}"
            for f in range(3 if m != 29 else 1):
                row = cell(label, f, 0.9 + 0.0004 * m + 0.01 * f + rng.gauss(0, 0.0002), dataset=f"data{d}",
                           params={"m": m})
                row["fit_seconds"] = 1.0 + 0.002 * m + rng.gauss(0, 0.001)
                rows.append(row)
    return write_run(tmp_path / "crowded", rows, None, {"run_id": "r1", "git_revision": "cafe" * 10})


@pytest.mark.skipif(not __import__("shutil").which("chromium") and not __import__("shutil").which("chromium-browser"),
                    reason="chromium is not installed (apt-get install chromium); .ci/run installs it")
def test_a_crowded_report_in_a_real_browser(tmp_path):
    """Set BENCH_SCREENSHOT_DIR to keep the full-page screenshot (look at it: every point carries a
    readable number, no two numbers touch, none leaves its chart)."""
    from tests.test_report import colours, load_in_browser

    path = report.write([crowded_run(tmp_path)], tmp_path / "crowded.html")
    page = load_in_browser(path, full_page=True)
    assert page["errors"] == []
    assert [u for u in page["requests"] if u != page["url"] and not u.startswith("data:")] == []
    assert len(page["images"]) == 4 * 2 + 1, "per dataset the metric and time charts, one CD diagram"
    assert all(image["complete"] and image["w"] > 0 and image["h"] > 0 for image in page["images"])
    assert "Across datasets" in page["text"] and "incomplete (1/3 folds)" in page["text"]
    assert "git revision" in page["text"] and "cafe" * 10 in page["text"]
    assert colours(page["screenshot"]) > 1
    keep = os.environ.get("BENCH_SCREENSHOT_DIR")
    if keep:
        Path(keep, "crowded-report.png").write_bytes(page["screenshot"])


def test_nemenyi_groups_are_the_stats_cliques_in_linear_time():
    from benchmark.stats import CriticalDifference

    rng = random.Random(1)
    for _ in range(300):
        k = rng.randint(2, 12)
        ranks = sorted(rng.uniform(1, k) for _ in range(k))
        cd = rng.uniform(0.1, 3)
        models = [f"m{i:02d}" for i in range(k)]
        result = CriticalDifference(models, ["a", "b"], dict(zip(models, ranks)), None, cd, 0.05)
        expected = sorted([models.index(m) for m in group] for group in result.cliques("nemenyi"))
        assert sorted(stats.nemenyi_groups(ranks, cd)) == expected


def test_many_configurations_skip_the_pairwise_tests_not_the_diagram(tmp_path, monkeypatch):
    monkeypatch.setattr(report_friedman, "PAIRWISE_LIMIT", 4)
    page = report.build_html([several_datasets(tmp_path, datasets=3, models=6)])
    assert "Nemenyi CD" in page and "critical-difference diagram" in page
