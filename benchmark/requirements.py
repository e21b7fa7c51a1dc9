"""Optional libraries: import one, or say which pip distribution would provide it.

A plugin's heavy library (TensorFlow, Surprise, pooch) is optional: :func:`require` turns its
absence into a :class:`~benchmark.errors.MissingDependency` with the pip hint, which bench reports
as ``missing-dependency`` instead of a traceback. Exported by :mod:`benchmark.api`.
"""

from __future__ import annotations

import importlib
from typing import Any

from benchmark.errors import MissingDependency


def require(module: str, distribution: str | None = None) -> Any:
    """Import ``module`` or raise :class:`MissingDependency` with the pip hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] != module.split(".")[0]:
            raise
        raise MissingDependency(module, distribution or module) from None
