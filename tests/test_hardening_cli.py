"""Issue 19 end to end, through ``bench`` as a user runs it: the attack's cases as regression tests.

Each case goes through the public command line; the helpers it relies on (store, limits,
csvsafe, yamlsafe) are called by suite.py, cli.py, runner.py, leaderboard.py and report.py.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from benchmark.runner import RunOptions, run_suite
from tests.conftest import run_bench

SUITE = """\
name: NAME
seed: SEED
split: {method: holdout}
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.3}
models:
  - {name: global-mean, label: LABEL}
metrics: [rmse]
"""
SECRET_PNG = b"\x89PNG\r\n\x1a\n the victim's picture"


def suite(tmp_path: Path, name: str = "cli", seed: object = 1, label: str = "gm") -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace("NAME", json.dumps(name, ensure_ascii=False))
                    .replace("SEED", str(seed)).replace("LABEL", json.dumps(label)), encoding="utf-8")
    return path


def one_line_error(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """One small finished run, its label a formula, one row naming an artifact outside it."""
    tmp = tmp_path_factory.mktemp("run")
    out = tmp / "out"
    run_suite(suite(tmp, label="=1+1"), RunOptions(out=out, executor="inline"), stream=io.StringIO())
    (tmp / "secret.png").write_bytes(SECRET_PNG)
    cells = out / "cells.jsonl"
    rows = [json.loads(line) for line in cells.read_text().splitlines()]
    rows[0]["artifacts"] = ["../secret.png", str(tmp / "secret.png")]
    cells.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return out


# --- Item 1: -o onto a symlink -------------------------------------------------------------------


def test_report_onto_a_symlink_keeps_its_target(run_dir, tmp_path):
    victim = tmp_path / "victim.html"
    victim.write_text("keep me")
    (tmp_path / "report.html").symlink_to(victim)
    line = one_line_error(run_bench("report", str(run_dir), "-o", str(tmp_path / "report.html")))
    assert "report.html: is a symbolic link; bench never writes through a link" in line
    assert victim.read_text() == "keep me" and (tmp_path / "report.html").is_symlink()


# --- Item 2: artifacts from outside the run --------------------------------------------------------


def test_report_does_not_embed_an_artifact_from_outside_the_run(run_dir, tmp_path):
    result = run_bench("report", str(run_dir), "-o", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "r.html").read_text()
    assert base64.b64encode(SECRET_PNG).decode() not in html


# --- Item 3: formula injection --------------------------------------------------------------------


def test_a_formula_label_is_neutralised_in_leaderboard_csv(run_dir):
    text = (run_dir / "leaderboard.csv").read_text()
    assert "'=1+1" in text and ",=1+1" not in text


def test_a_formula_label_is_neutralised_in_bench_leaderboard_and_results(run_dir):
    for command in ("leaderboard", "results"):
        result = run_bench(command, str(run_dir), "--format", "csv")
        assert result.returncode == 0, result.stderr
        assert "'=1+1" in result.stdout and ",=1+1" not in result.stdout, command


# --- Item 11: limits, the same for bench check and bench run -------------------------------------


@pytest.mark.parametrize("seed", ["100000000000000000000000", "-1", "[1, 4294967296]"])
def test_bench_check_refuses_a_seed_outside_numpys_range(tmp_path, seed):
    path = suite(tmp_path)
    if seed.startswith("["):
        path.write_text(path.read_text().replace("seed: 1", f"seeds: {seed}"))
    else:
        path.write_text(path.read_text().replace("seed: 1", f"seed: {seed}"))
    line = one_line_error(run_bench("check", str(path)))
    assert "expected a seed from 0 to 4,294,967,295 (2**32 - 1)" in line


def test_bench_check_refuses_a_300_character_suite_name(tmp_path):
    line = one_line_error(run_bench("check", str(suite(tmp_path, name="n" * 300))))
    assert "suite.yaml:1: name: the name 'nnn" in line and "is 300 bytes long" in line


def test_a_korean_suite_name_is_valid(tmp_path):
    result = run_bench("check", str(suite(tmp_path, name="영화-추천")))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["check", "run"])
def test_max_configurations_zero_is_refused(tmp_path, command):
    line = one_line_error(run_bench(command, str(suite(tmp_path)), "--max-configurations", "0",
                                    *(["--out", str(tmp_path / "out")] if command == "run" else [])))
    assert "--max-configurations: expected a number of configurations >= 1, got 0" in line
    assert not (tmp_path / "out").exists()


def test_an_out_component_over_255_bytes_is_one_line(tmp_path):
    line = one_line_error(run_bench("run", str(suite(tmp_path)), "--out", str(tmp_path / ("o" * 300))))
    assert line.startswith("bench: error: --out: the name 'ooo") and "is 300 bytes long" in line
