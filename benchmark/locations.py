"""Where datasets live on this machine: a plugin's local copies (:func:`data_dir`) and bench's
download cache (:func:`cache_dir`), each read from one environment variable.

Exported by :mod:`benchmark.api` (plugins call them there); a module of bench that needs them
imports them here, below the public contract.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir(option: str | os.PathLike[str] | None = None) -> Path | None:
    """Where local copies of datasets live: an explicit option, else ``$BENCH_DATA_DIR``."""
    chosen = option or os.environ.get("BENCH_DATA_DIR")
    return Path(chosen).expanduser() if chosen else None


def cache_dir() -> Path:
    """Where downloads are cached: ``$BENCH_CACHE_DIR`` or ``~/.cache/bench``."""
    return Path(os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "bench")
