"""The library adapters (plugins/arena_*.py): lazy, their parameters discoverable, bench's
protocol around the library's model, and agreement with bench's built-ins on ml-100k u1."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from benchmark.api import MissingDependency
from benchmark.params import model_params
from bench_plugins import arena_cornac, arena_lenskit, arena_recbole, ranking_models
from bench_plugins.ranking_core import Interactions, evaluate
from tests.conftest import ROOT

ADAPTERS = {**{name: cls for name, (cls, _) in arena_cornac.MODELS.items()},
            **{name: cls for name, (cls, _) in arena_lenskit.MODELS.items()},
            **{name: cls for name, (cls, _) in arena_recbole.MODELS.items()}}
LIBRARIES = ["cornac", "lenskit", "recbole", "torch", "sklearn"]
AGREEMENT = 1e-4


# --- Lazy, and discoverable ------------------------------------------------------------------------

PROBE = """
import contextlib, io, sys
from benchmark.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    for argv in {commands!r}:
        main(argv)
print(",".join(sorted(m for m in {libraries!r} if m in sys.modules)))
print(out.getvalue())
"""


def test_listing_and_describing_the_adapters_imports_no_library():
    """One fresh interpreter runs ``bench plugins`` and describes one model of each library."""
    commands = [["plugins"], ["plugins", "cornac-ease"], ["plugins", "lenskit-item-knn"],
                ["plugins", "recbole-lightgcn"]]
    result = subprocess.run([sys.executable, "-c", PROBE.format(commands=commands, libraries=LIBRARIES)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    imported, shown = result.stdout.split("\n", 1)
    assert imported == "", f"bench plugins imported {imported}"
    assert all(name in shown for name in ("cornac-ease", "lenskit-ease", "recbole-bpr"))
    assert "lamb" in shown and "max_nbrs" in shown and "n_layers" in shown  # each library's own parameters


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_parameter_of_every_adapter_is_documented(name):
    params = model_params(ADAPTERS[name])
    undocumented = [p for p in params.values() if not p.doc]
    assert not undocumented, f"{name}: no :param: line for {[p.name for p in undocumented]}"
    assert name.split("-")[0] in {"cornac", "lenskit", "recbole"}  # the library in every leaderboard line


def test_the_library_is_in_every_model_name_and_each_model_has_its_requirement():
    from benchmark.registry import build_registry

    registry = build_registry()
    for name, cls in ADAPTERS.items():
        entry = registry.get("model", name)
        library = name.split("-")[0]
        assert library in entry.requires, (name, entry.requires)


# --- Cornac: bench's protocol around Cornac's model ---------------------------------------------------


def tiny() -> Interactions:
    """4 users x 5 items; item 4 has no training interaction, user 3 none either."""
    matrix = np.array([[5, 3, 0, 1, 0], [4, 0, 0, 1, 0], [1, 1, 0, 5, 0], [0, 0, 0, 0, 0]], dtype=np.float32)
    return Interactions.from_matrix(matrix)


@pytest.mark.slow  # importing Cornac takes seconds
def test_a_cornac_model_scores_every_item_for_every_user_in_bench_s_positions():
    pytest.importorskip("cornac", reason="cornac is not installed (pip install bench-harness[cornac])")
    train = tiny()
    model = arena_cornac.CornacMostPop().fit(train)
    scores = model.score(np.arange(4))
    # counts by bench's item position (Cornac numbers items in order of appearance: not the same)
    np.testing.assert_array_equal(scores, np.tile([3, 2, 0, 3, 0], (4, 1)))
    ease = arena_cornac.CornacEASE(lamb=1.0, posB=False).fit(train)
    assert ease.score(np.array([3]))[0].tolist() == [0.0] * 5  # a user Cornac does not know: 0 everywhere
    assert ease.info() == {"library": "cornac", "cornac_class": "EASE", "users_known": 3, "items_known": 3}


@pytest.mark.slow  # importing Cornac takes seconds
def test_binary_decides_what_cornac_is_given():
    pytest.importorskip("cornac", reason="cornac is not installed (pip install bench-harness[cornac])")
    train = tiny()
    binary = arena_cornac.CornacEASE(lamb=1.0, posB=False).fit(train).model_.U
    ratings = arena_cornac.CornacEASE(lamb=1.0, posB=False, binary=False).fit(train).model_.U
    assert set(binary.data) == {1.0} and set(ratings.data) == {1.0, 3.0, 4.0, 5.0}


@pytest.mark.slow  # importing Cornac takes seconds
def test_cornac_gets_its_own_parameters_with_verbose_off_and_bench_s_left_out():
    pytest.importorskip("cornac", reason="cornac is not installed (pip install bench-harness[cornac])")
    params = arena_cornac.CornacBPR(k=8, seed=3).library_params()
    assert params == {"k": 8, "max_iter": 100, "learning_rate": 0.001, "lambda_reg": 0.01, "use_bias": True,
                      "num_threads": 1, "seed": 3, "verbose": False}
    assert arena_cornac.CornacMostPop().library_params() == {}  # MostPop has no verbose


def test_a_missing_library_is_a_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "cornac", None)
    with pytest.raises(MissingDependency, match="pip install cornac"):
        arena_cornac.CornacEASE().fit(tiny())


# --- Agreement with bench's built-ins on ml-100k u1 ----------------------------------------------------


@pytest.fixture(scope="module")
def u1(request):
    from tests.conftest import SHARED_DATA, SHARED_DATA_MISSING, SHARED_LAYOUT

    if any(not (SHARED_DATA / name).is_file() for name in SHARED_LAYOUT):
        pytest.skip(SHARED_DATA_MISSING)
    from bench_plugins.movielens import load_100k
    from bench_plugins.splits import predefined

    data = load_100k(data_dir=str(SHARED_DATA), download=False)
    fold = predefined(data, name="u", folds=["u1"])[0]
    return data, fold, Interactions.from_rows(data, fold.train, 4.0)


def ndcg_at_10(model, u1) -> float:
    from bench_plugins.ranking_metrics import AtK

    data, fold, train = u1
    lists = evaluate(model.fit(train), train, data, fold.test).lists
    return float(AtK("ndcg", 10)(type("P", (), {"extra": {"ranking": lists}})()))


@pytest.mark.slow  # importing Cornac and fitting EASE take seconds
@pytest.mark.parametrize("builtin, adapter", [
    ("most-popular", "cornac-most-pop"),
    ("ease", "cornac-ease"),
])
def test_cornac_configured_alike_reproduces_bench_s_figures_on_u1(u1, builtin, adapter):
    pytest.importorskip("cornac", reason="cornac is not installed (pip install bench-harness[cornac])")
    from bench_plugins.ranking_models import EASE, MostPopular

    ours = {"most-popular": MostPopular(), "ease": EASE(l2=500.0)}[builtin]
    theirs = {"cornac-most-pop": arena_cornac.CornacMostPop(),
              "cornac-ease": arena_cornac.CornacEASE(lamb=500.0, posB=False)}[adapter]  # binary input: the default
    expected = {"most-popular": 0.2451, "ease": 0.4476}[builtin]  # the committed reference (test_ranking_suite)
    assert ndcg_at_10(ours, u1) == pytest.approx(expected, abs=5e-5)
    assert ndcg_at_10(theirs, u1) == pytest.approx(ndcg_at_10(ours, u1), abs=AGREEMENT)


# --- Agreement of the libraries that need an environment (LensKit, RecBole), run inside one -----------

IN_ENVIRONMENT = """
import json, sys
from bench_plugins.arena_lenskit import *
from bench_plugins.arena_recbole import *
from bench_plugins.movielens import load_100k
from bench_plugins.ranking_core import Interactions, evaluate
from bench_plugins.ranking_metrics import AtK
from bench_plugins.ranking_models import EASE, MostPopular
from bench_plugins.splits import predefined

data = load_100k(data_dir=sys.argv[1], download=False)
fold = predefined(data, name="u", folds=["u1"])[0]
train = Interactions.from_rows(data, fold.train, 4.0)
found = {}
for label, expression in json.loads(sys.argv[2]).items():
    lists = evaluate(eval(expression).fit(train), train, data, fold.test).lists
    found[label] = float(AtK("ndcg", 10)(type("P", (), {"extra": {"ranking": lists}})()))
print(json.dumps(found))
"""


def built_environment(library: str):
    """A built environment (``bench env build``, in ``$BENCH_CACHE_DIR``) holding ``library`` and
    made for this checkout of bench (its hash is the one bench computes now), else ``None``."""
    from benchmark.environments import list_environments

    for env in list_environments():
        if library in env.versions() and env.hash == env.spec.hash:
            return env
    return None


@pytest.mark.slow  # a fit in another interpreter
@pytest.mark.parametrize("library, builtin, adapter", [
    ("lenskit", "MostPopular()", "LensKitPop(score_method='count')"),
    ("lenskit", "EASE(l2=500.0)", "LensKitEASE(regularization=500.0)"),
    ("recbole", "EASE(l2=500.0)", "RecBoleEASE(reg_weight=500.0)"),
])
def test_lenskit_and_recbole_configured_alike_reproduce_bench_s_figures_on_u1(u1, library, builtin, adapter):
    import json
    import os

    env = built_environment(library)
    if env is None:
        pytest.skip(f"no environment with {library} built for this checkout (docs/arena.md: bench env build)")
    from tests.conftest import SHARED_DATA

    result = subprocess.run([str(env.python), "-c", IN_ENVIRONMENT, str(SHARED_DATA),
                             json.dumps({"bench": builtin, library: adapter})],
                            capture_output=True, text=True, timeout=600, env=env.worker_variables(os.environ),
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["bench"] == pytest.approx(ndcg_at_10(eval(builtin, {**vars(ranking_models)}), u1), abs=1e-9)
    assert found[library] == pytest.approx(found["bench"], abs=AGREEMENT)
