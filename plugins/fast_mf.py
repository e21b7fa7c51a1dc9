"""Fast SVD and SVD++ (numba). Placeholder until the models land."""

from __future__ import annotations

from benchmark.api import ModelSpec, hookimpl


@hookimpl
def bench_models() -> list[ModelSpec]:
    return []
