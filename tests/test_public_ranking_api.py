"""``benchmark.ranking`` is the public ranking API (issue 28): what it promises, that the old
``bench_plugins.ranking_core`` imports still work, that the built-ins use it, and that the
documented example of docs/writing-plugins.md runs and passes the kit."""

from __future__ import annotations

import ast
import importlib
import pickle
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import benchmark.ranking as ranking
from benchmark.testing import assert_conforms
from bench_plugins import ranking_core
from bench_plugins.movielens import load_latest_small
from bench_plugins.next_item import run_next_item
from bench_plugins.ranking_models import MostPopular
from bench_plugins.ranking_task import run_ranking
from bench_plugins.splits import leave_n_out
from bench_plugins.ranking_splits import user_holdout
from tests.conftest import ROOT

DOCS = ROOT / "docs" / "writing-plugins.md"
SECTION = "## Writing a ranking model"


def test_every_public_name_exists_and_is_documented():
    text = DOCS.read_text()
    section = text[text.index(SECTION):]
    for name in ranking.__all__:
        assert hasattr(ranking, name), name
        assert f"`{name}`" in section, f"{name} is public but not in the docs' list"


def test_the_old_module_re_exports_the_same_objects():
    for name in ranking.__all__:
        if hasattr(ranking_core, name):
            assert getattr(ranking_core, name) is getattr(ranking, name), name
    # every name plugins and tests imported from ranking_core before the move
    for name in ("RANKING", "OPTIONS", "Interactions", "RankingModel", "RankedLists", "Evaluation",
                 "SampledMetricsWarning", "check_options", "evaluate", "fold_seed", "top_k",
                 "masked_scores", "rank_users", "batches", "relevance", "universe", "Universe",
                 "BATCH_ELEMENTS", "DEPTH", "DEFAULT_THRESHOLD", "KRICHENE_RENDLE"):
        assert hasattr(ranking_core, name), name


def test_importing_it_imports_no_scipy_and_no_model_library():
    probe = ("import sys, benchmark.ranking; "
             "print(','.join(m for m in ('scipy', 'sklearn', 'bench_plugins', 'matplotlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_built_in_ranking_plugins_import_the_machinery_from_the_public_module():
    from bench_plugins.next_item import task_spec
    from bench_plugins.ranking_task import bench_tasks as ranking_tasks

    for spec in (*ranking_tasks(), task_spec()):
        assert spec.model_base == "benchmark.ranking:RankingModel"
    allowed = {"RANKING", "OPTIONS", "check_options"}  # the ranking task's own names
    for path in (ROOT / "plugins").glob("*.py"):
        if path.name == "ranking_core.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "bench_plugins.ranking_core":
                names = {alias.name for alias in node.names}
                assert names <= allowed, f"{path.name} imports {names - allowed} from ranking_core"


def test_interactions_pickle_without_their_caches_and_rebuild_sequences():
    data = load_latest_small()
    (fold,) = leave_n_out(data, n=1, order="time")
    train = ranking.Interactions.from_rows(data, fold.train, implicit=True)
    before = train.sequences()
    again = pickle.loads(pickle.dumps(train))
    assert again._space is None and again._sequences is None
    after = again.sequences()
    np.testing.assert_array_equal(after.indptr, before.indptr)
    np.testing.assert_array_equal(after.items, before.items)
    assert again.implicit and not ranking.Interactions.from_rows(data, fold.train).implicit


def test_sequences_need_timestamps():
    train = ranking.Interactions.from_matrix(np.eye(3))
    with pytest.raises(ranking_core.PluginInputError, match="no training ratings"):
        train.sequences()


@pytest.fixture
def documented_example(tmp_path, monkeypatch) -> types.ModuleType:
    """The docs section's first Python block saved as ``my_ranker.py`` and imported, as a user would."""
    text = DOCS.read_text()
    section = text[text.index(SECTION):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    (tmp_path / "my_ranker.py").write_text(code.group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_ranker", raising=False)
    return importlib.import_module("my_ranker")


def test_the_documented_ranking_model_passes_the_kit(documented_example):
    assert_conforms(documented_example)


def test_the_documented_ranking_model_runs_on_both_tasks_and_alpha_0_is_popularity(documented_example):
    module = documented_example
    data = load_latest_small()
    (holdout,) = user_holdout(data, seed=0)
    ranked = run_ranking(module.DampedPopularity(alpha=0.0), data, holdout, {"threshold": 4.0})
    popular = run_ranking(MostPopular(), data, holdout, {"threshold": 4.0})
    np.testing.assert_array_equal(ranked.predictions.extra["ranking"].top,
                                  popular.predictions.extra["ranking"].top)
    (last,) = leave_n_out(data, n=1, order="time")
    outcome = run_next_item(module.DampedPopularity(alpha=0.5), data, last, {})
    assert outcome.counts["n_users_evaluated"] == 610
