"""What the library adapters (``arena_cornac``, ``arena_lenskit``, ``arena_recbole``) share.

An adapter's model lists its parameters in ``__init__`` with the library's names and defaults,
and documents each in a ``:param name:`` line of its class docstring, which ``bench plugins NAME``
reads. Many parameters recur across a library's models (``seed``, ``binary``, RecBole's
training ones), and Python does not compose a docstring from its base's: :class:`ArenaModel`
writes each such doc once, in a base class's ``param_docs``, and adds it to the docstring of
every model that takes the parameter when the class is created. A model documents in its own
docstring what is its own, or what means something else for it than for its library.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from benchmark.api import ModelSpec, require
from benchmark.ranking import RankingModel

PARAM_LINE = re.compile(r"^:param\s+(\w+):", re.MULTILINE)


class ArenaModel(RankingModel):
    """Base of the library adapters' models: shared parameter docs, ``__init__`` that only stores
    its arguments (:meth:`_keep`), the library's parameters (:meth:`own_params`) and its imports
    (:meth:`require_all`).

    ``param_docs`` maps a parameter name to its doc (what a ``:param`` line says after the name).
    A subclass gives a parameter of its ``__init__`` that its docstring does not document the doc
    its ``param_docs`` holds (a base that adds docs merges its base's: ``{**Base.param_docs, ...}``).
    ``bench_only`` names the parameters that are bench's, not the library's."""

    param_docs: ClassVar[Mapping[str, str]] = {
        "use_gpu": "train on the GPU bench gives the cell (``uses_gpu``; none: the CPU).",
    }
    bench_only: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__doc__ = with_param_docs(cls)

    def _keep(self, arguments: Mapping[str, Any]) -> None:
        """Store the ``__init__`` arguments unchanged (called with ``locals()``)."""
        for name in self.param_defaults():
            setattr(self, name, arguments[name])

    def own_params(self) -> dict[str, Any]:
        """This model's parameters less bench's own (``bench_only``): what the library is given."""
        return {name: value for name, value in self.get_params().items() if name not in self.bench_only}

    def require_all(self) -> None:
        """Import each library the model ``requires``; :class:`~benchmark.api.MissingDependency`
        (with the pip hint) for the first one missing."""
        for module, distribution in self.requires.items():
            require(module, distribution)


def with_param_docs(cls: type[ArenaModel]) -> str:
    """The docstring of ``cls`` with a ``:param name: doc`` line added, from ``cls.param_docs``,
    for each ``__init__`` parameter the docstring does not document (in the signature's order)."""
    text = inspect.cleandoc(cls.__doc__ or "")
    documented = set(PARAM_LINE.findall(text))
    added = [f":param {name}: {cls.param_docs[name]}" for name in cls.param_defaults()
             if name not in documented and name in cls.param_docs]
    if not added:
        return text
    return text + ("\n" if documented else "\n\n") + "\n".join(added)


def model_specs(models: Mapping[str, tuple[type[ArenaModel], str]], task: str) -> list[ModelSpec]:
    """The models of an adapter's table (name -> (class, summary)) as models of ``task``, each
    requiring what its class ``requires``."""
    return [ModelSpec(name, {task: model}, dict(model.requires), summary=summary)
            for name, (model, summary) in models.items()]
