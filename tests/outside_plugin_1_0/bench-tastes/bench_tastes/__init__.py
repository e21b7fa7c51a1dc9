"""bench-tastes: rating models, a dish-tasting dataset, metrics and per-cell reports for bench.

Each module registers its own hooks through its own entry point (see pyproject.toml):
``bench_tastes.models``, ``bench_tastes.data``, ``bench_tastes.metrics``, ``bench_tastes.report``.
"""

__version__ = "1.0.0"
