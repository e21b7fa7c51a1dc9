"""The base the library adapters share (plugins/arena_base.py): a parameter's doc written once in
``param_docs`` reaches every model that takes it, as ``bench plugins NAME`` reads it, and a
model's own ``:param`` line wins."""

from __future__ import annotations

import inspect

from benchmark.params import model_params
from bench_plugins import arena_cornac, arena_lenskit, arena_recbole
from bench_plugins.arena_base import ArenaModel


class Toy(ArenaModel):
    """A model of a made-up library.

    :param seed: the toy's own seed.
    """

    bench_only = ("use_gpu",)
    param_docs = {**ArenaModel.param_docs, "seed": "the library's seed.", "alpha": "the library's alpha. More."}

    def __init__(self, alpha: float = 1.0, beta: int = 2, use_gpu: bool = True, seed: int | None = None):
        self._keep(locals())


def test_a_shared_doc_is_added_and_a_model_s_own_line_wins():
    docs = {name: param.doc for name, param in model_params(Toy).items()}
    assert docs == {"alpha": "the library's alpha", "beta": "", "seed": "the toy's own seed",
                    "use_gpu": "train on the GPU bench gives the cell (``uses_gpu``; none: the CPU)"}
    text = inspect.getdoc(Toy)
    assert text.startswith("A model of a made-up library.\n\n:param seed: the toy's own seed.\n")
    assert [text.count(f":param {name}:") for name in ("alpha", "beta", "use_gpu", "seed")] == [1, 0, 1, 1]


def test_a_subclass_of_a_composed_model_adds_nothing_twice():
    """The next-item adapter builds a subclass of each ranking model with its docstring."""
    again = type("Again", (Toy,), {"__doc__": Toy.__doc__})
    assert inspect.getdoc(again) == inspect.getdoc(Toy)


def test_init_stores_its_arguments_and_the_library_gets_them_less_bench_s_own():
    toy = Toy(alpha=0.5, seed=3)
    assert toy.get_params() == {"alpha": 0.5, "beta": 2, "use_gpu": True, "seed": 3}
    assert toy.own_params() == {"alpha": 0.5, "beta": 2, "seed": 3}


def test_the_adapters_shared_docs_and_their_exceptions():
    def doc(cls: type, name: str) -> str:
        return model_params(cls)[name].doc

    assert doc(arena_cornac.CornacEASE, "seed") == "Cornac's seed (the suite seed unless set)"
    assert doc(arena_cornac.CornacBPR, "seed").startswith("seed of the initial factors and of the sampling")
    assert doc(arena_cornac.CornacVAECF, "seed") == doc(arena_cornac.CornacRecVAE, "seed") == \
        "PyTorch's seed (the suite seed unless set)"
    assert doc(arena_cornac.CornacMF, "binary").endswith("(false, the default)")
    assert doc(arena_cornac.CornacItemKNN, "k") == doc(arena_cornac.CornacUserKNN, "k") == "neighbours"
    assert doc(arena_lenskit.LensKitEASE, "binary") != doc(arena_lenskit.LensKitPop, "binary")
    assert doc(arena_recbole.RecBoleBPR, "train_batch_size") == "interactions per training batch"
    assert doc(arena_recbole.RecBoleSASRec, "train_batch_size") == "training sequences per batch"
    assert doc(arena_recbole.RecBolePop, "train_batch_size").startswith("interactions per training batch (")
    assert doc(arena_recbole.RecBoleGRU4Rec, "use_gpu") == doc(arena_cornac.CornacVAECF, "use_gpu")
