"""Issue 29, item 6: a suite's plugins are code, loaded only from where the user put them --
under the suite's folder or the current directory, or named with ``-p`` -- and never by readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_bench

MARKING = '''
from pathlib import Path
Path({marker!r}).write_text("imported")
from benchmark.api import RATING, ModelSpec, hookimpl
from bench_plugins.baselines import GlobalMean

@hookimpl
def bench_models():
    return [ModelSpec("marked-mean", {{RATING: GlobalMean}})]
'''


def layout(tmp_path: Path, listed: str) -> tuple[Path, Path, Path]:
    """``suite/s.yaml`` naming ``listed`` as its plugin, ``other/plugin.py`` beside it (outside
    the suite's folder) and the marker the plugin writes when it is imported."""
    (tmp_path / "suite").mkdir()
    (tmp_path / "other").mkdir()
    marker = tmp_path / "IMPORTED"
    plugin = tmp_path / "other" / "plugin.py"
    plugin.write_text(MARKING.format(marker=str(marker)))
    suite = tmp_path / "suite" / "s.yaml"
    suite.write_text(f"name: s\nplugins: [{listed}]\ndatasets: [{{name: synthetic-ratings, options: "
                     "{n_users: 20, n_items: 15}}]\nsplit: {method: holdout}\nmodels: [marked-mean]\nmetrics: [rmse]\n")
    return suite, plugin, marker


@pytest.mark.parametrize("how", ["absolute", "relative", "link"])
@pytest.mark.parametrize("command", ["check", "run"])
def test_a_plugin_outside_the_suites_folder_and_the_current_directory_is_refused_unimported(tmp_path, how, command):
    listed = {"absolute": str(tmp_path / "other" / "plugin.py"), "relative": "../other/plugin.py",
              "link": "inside.py"}[how]
    suite, plugin, marker = layout(tmp_path, listed)
    if how == "link":
        (tmp_path / "suite" / "inside.py").symlink_to(plugin)
    out = ["--out", str(tmp_path / "out")] if command == "run" else []
    result = run_bench(command, str(suite), *out, cwd=tmp_path / "suite")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not marker.exists(), "the plugin was imported"
    first = result.stderr.splitlines()[0]
    assert first == (f"bench: error: {suite}:2: plugins[0]: plugin file {listed!r} is outside the suite's folder "
                     f"and the current directory ({plugin}); refused: a plugin is code that bench would run. "
                     f"To allow it, pass it on the command line: -p {plugin}")
    assert not (tmp_path / "out" / "cells.jsonl").exists()


def test_the_same_plugin_named_with_p_is_loaded(tmp_path):
    suite, plugin, marker = layout(tmp_path, str(tmp_path / "other" / "plugin.py"))
    result = run_bench("check", str(suite), "-p", str(plugin), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert marker.exists()


def test_a_plugin_under_the_current_directory_is_loaded(tmp_path):
    suite, plugin, marker = layout(tmp_path, "../other/plugin.py")
    result = run_bench("check", str(suite), cwd=tmp_path / "other")
    assert result.returncode == 0, result.stderr
    assert marker.exists()


@pytest.mark.slow  # a whole `bench run` or several (>= 3 s on the loaded 2-core VM)
def test_readers_never_load_a_suites_plugins(tmp_path):
    suite, plugin, marker = layout(tmp_path, "plugin.py")
    (tmp_path / "suite" / "plugin.py").write_text(plugin.read_text())
    out = tmp_path / "out"
    assert run_bench("run", str(suite), "--out", str(out), "-q", cwd=tmp_path).returncode == 0
    marker.unlink()
    for command in (["leaderboard", str(out)], ["results", str(out)], ["report", str(out), "--out",
                                                                       str(tmp_path / "r.html")]):
        result = run_bench(*command, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert not marker.exists(), command
