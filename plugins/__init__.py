"""bench's built-in plugins, imported as ``bench_plugins``.

They register through the ``bench`` entry-point group exactly like third-party plugins and
use only the public API (:mod:`benchmark.api`, :mod:`benchmark.hookspec`).
"""
