"""Models of one task run as another through the second task's adapter (``TaskSpec.adapters``).

Example: the ranking task declares ``adapters={"rating": RatingAsRanking}``, a plain mixin
whose ``score``/``recommend`` call the rating model's ``predict``. Every model with a ``rating``
class then also runs on ranking datasets, as the class
``type("svd@ranking", (RatingAsRanking, SVD, RankingModel), {})``: the mixin's methods first
(``super()`` in them reaches the rating model), then the rating model's (its ``__init__``, so
its parameters, defaults and docs are unchanged, and its ``fit``), then the task's base (so the
class is a model of the task, and the base's unimplemented stubs never shadow the model's
methods). That is why the mixin must not derive from the task's base or from ``Model``.

The registry names each adapted class with a lazy reference ``"benchmark.adapters:<model>@<task>"``,
so nothing is imported until a cell (or ``bench plugins NAME``) needs it, and the class pickles
by reference (this module's ``__getattr__`` rebuilds it in a process whose registry declared it,
e.g. a worker).
"""

from __future__ import annotations

from typing import Any, cast

from benchmark._internal import resolve
from benchmark.api import Model

_DECLARED: dict[str, tuple[Any, Any, Any]] = {}  # token -> (model class, mixin, task base), each maybe lazy
_BUILT: dict[str, type] = {}


def declare(model: str, task: str, inner: Any, mixin: Any, base: Any) -> str:
    """Declare the adapted class of ``model`` for ``task``; return its lazy reference."""
    token = f"{model}@{task}"
    if _DECLARED.get(token) != (inner, mixin, base):
        _DECLARED[token] = (inner, mixin, base)
        _BUILT.pop(token, None)
    return f"{__name__}:{token}"


def __getattr__(token: str) -> type:
    if token in _BUILT:
        return _BUILT[token]
    if token not in _DECLARED:
        raise AttributeError(f"no adapted model {token!r} is declared in this process")
    inner, mixin, base = (cast(type, resolve(part)) for part in _DECLARED[token])
    if not all(isinstance(part, type) for part in (inner, mixin, base)):
        raise TypeError(f"adapting {token!r} needs classes, got {inner!r}, {mixin!r}, {base!r}")
    if issubclass(mixin, Model):
        raise TypeError(f"the adapter {mixin.__name__} of {token!r} derives from Model; an adapter is "
                        f"a plain mixin (the adapted class derives from the model and the task's base)")
    bases = (mixin, inner) if issubclass(inner, base) else (mixin, inner, base)
    adapted = type(token, bases, {"__module__": __name__, "__qualname__": token, "__doc__": inner.__doc__})
    _BUILT[token] = adapted
    return adapted
