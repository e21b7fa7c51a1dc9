"""Which methods a model class must write: those its task's base class leaves unimplemented.

A task's model base (``RatingModel``, ``RankingModel``, a third party's) marks the methods a
model writes by a body that only raises ``NotImplementedError``; a template method of the base
may reach one of them (``RatingModel.predict`` calls ``estimate`` through ``_predict_pairs``),
and a model that overrides the template needs no implementation of what it reaches. So a
model of ``rating`` writes ``fit`` and ``estimate`` *or* ``predict``; one of ``ranking`` writes
``fit`` and ``score`` *or* ``recommend``.

Found from the base's own source, once per base, so the rule is the same for bench's bases and
a third party's and no list of method names is kept here. A model class that writes neither is
refused when it is registered or a suite is checked (``bench plugins``, ``bench check``, the
kit), naming the method and the near name it wrote instead (``estimat``), rather than failing
every cell with an empty ``NotImplementedError``. A base whose source cannot be read requires
nothing.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from dataclasses import dataclass

from benchmark.errors import did_you_mean


@dataclass(frozen=True)
class Required:
    """A method a model must write, or else override one of ``templates`` (base methods that
    reach it)."""

    name: str
    templates: tuple[str, ...]

    def choices(self) -> list[str]:
        """The method and its public templates, as a message names them."""
        return [self.name] + [t for t in self.templates if not t.startswith("_")]


def _parsed(function: object) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))  # type: ignore[arg-type]
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _only_raises_not_implemented(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def _self_calls(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names ``X`` of every ``self.X(...)`` in the method."""
    return {call.func.attr for call in ast.walk(node)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"}


@functools.lru_cache(maxsize=64)
def required_methods(base: type) -> tuple[Required, ...]:
    """The methods a subclass of ``base`` must write (its base's unimplemented ones), each with
    the base's template methods that reach it."""
    unimplemented: list[str] = []
    calls: dict[str, set[str]] = {}
    seen: set[str] = set()
    for owner in base.__mro__:
        if owner is object:
            continue
        for name, value in vars(owner).items():
            if name in seen or not inspect.isfunction(value) or name.startswith("__"):
                continue
            seen.add(name)
            node = _parsed(value)
            if node is None:
                continue
            if _only_raises_not_implemented(node):
                unimplemented.append(name)
            else:
                calls[name] = _self_calls(node)
    found = []
    for name in unimplemented:
        reaching: set[str] = set()
        frontier = {name}
        while frontier:  # templates calling it, then templates calling those
            frontier = {t for t, called in calls.items() if called & frontier and t not in reaching}
            reaching |= frontier
        found.append(Required(name, tuple(sorted(reaching))))
    return tuple(found)


def _overrides(model_class: type, base: type, name: str) -> bool:
    return getattr(model_class, name, None) is not getattr(base, name, None)


def missing_methods(model_class: type, base: type) -> list[str]:
    """Why ``model_class`` cannot run as a ``base``: each method it writes neither itself nor
    through a template it overrides, with the near name it wrote instead (one line each)."""
    if not (isinstance(model_class, type) and isinstance(base, type) and issubclass(model_class, base)):
        return []
    own = sorted({name for owner in model_class.__mro__ if owner not in base.__mro__
                  for name, value in vars(owner).items() if callable(value) and not name.startswith("__")})
    problems = []
    for required in required_methods(base):
        if any(_overrides(model_class, base, name) for name in (required.name, *required.templates)):
            continue
        choices = required.choices()
        named = f"does not define {choices[0]!r}" if len(choices) == 1 else \
            "defines neither " + " nor ".join(repr(c) for c in choices)
        near = next(((name, close) for name in own
                     if (close := did_you_mean(name, choices, cutoff=0.7))), None)
        hint = f"; {near[0]!r} is no method bench calls: {near[1]}" if near else \
            f" ({base.__name__} leaves it to the model)"
        problems.append(f"{model_class.__name__} {named}{hint}")
    return problems


def unwritten_method(exc: NotImplementedError, model: object) -> str:
    """The one line for an empty ``NotImplementedError`` a base class raised at run time: which
    method of ``model``'s class is not written (the kit's and ``bench check``'s sentence)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    method = tb.tb_frame.f_code.co_name if tb is not None else "?"
    owner = next((o for o in type(model).__mro__ if method in vars(o)), None)
    if owner is not None:
        said = [p for p in missing_methods(type(model), owner) if repr(method) in p]
        if said:
            return said[0]
    return f"{type(model).__name__} does not define {method!r} (its task's base class leaves it to the model)"
