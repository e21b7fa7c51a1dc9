"""Helpers the core shares and plugins do not need: lazy references, requirements, hashing."""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd


HASH_CHUNK = 1 << 20
"""Values hashed at once: a checksum streams its data, it never copies it whole."""


def sha256_hex(*chunks: Any) -> str:
    """SHA-256 of the concatenated ``chunks`` (bytes or contiguous arrays), in hex."""
    return sha256_stream(chunks)


def sha256_stream(chunks: Iterable[Any]) -> str:
    """:func:`sha256_hex` of chunks produced one at a time (a generator: none held beyond its turn)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(np.ascontiguousarray(chunk).data if isinstance(chunk, np.ndarray) else chunk)
    return digest.hexdigest()


def column_chunks(column: pd.Series) -> Iterator[Any]:
    """A column's values to hash, a chunk at a time, so that 4.0 and 4 (or the same ids from CSV
    or Parquet) hash alike: integers and booleans as int64, floats that are all whole numbers as
    int64, other floats as float64, anything else as text joined by NUL."""
    starts = range(0, len(column), HASH_CHUNK)
    if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):
        for start in starts:
            yield column.iloc[start:start + HASH_CHUNK].to_numpy(np.int64)
    elif pd.api.types.is_float_dtype(column):
        parts = (column.iloc[start:start + HASH_CHUNK].to_numpy(np.float64) for start in starts)
        whole = all(np.all(np.isfinite(part)) and np.array_equal(part, np.round(part)) for part in parts)
        for start in starts:
            values = column.iloc[start:start + HASH_CHUNK].to_numpy(np.float64)
            yield values.astype(np.int64) if whole else values
    else:
        yield "\0".join(column.astype(str).tolist()).encode()


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: mappings with string keys, lists, numbers, strings; a numpy
    scalar as its Python value, anything else as its ``repr``."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def resolve(factory: str | Callable[..., Any]) -> Callable[..., Any]:
    """Import a lazy ``"module:attr"`` reference (or return a callable unchanged)."""
    if not isinstance(factory, str):
        return factory
    module, _, attribute = factory.partition(":")
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    found: Callable[..., Any] = target
    return found


def missing_requirements(requires: Mapping[str, str]) -> list[str]:
    """Pip distributions of ``requires`` that are not installed (checked without importing)."""
    missing = []
    for module, distribution in requires.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(distribution)
    return missing


@functools.cache
def _providers() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def versions(requires: Mapping[str, str]) -> dict[str, str]:
    """Installed versions of the libraries in ``requires`` (read from metadata, no import).

    The distribution that really provides each module is recorded (``tensorflow`` may come
    from ``tensorflow-cpu`` or ``tensorflow``); the declared one when none is installed.
    """
    found = {}
    for module, declared in requires.items():
        try:  # the declared distribution first: scanning every installed one costs ~0.25 s
            metadata = importlib.metadata.distribution(declared).metadata
            found[metadata["Name"]] = metadata["Version"]
            continue
        except importlib.metadata.PackageNotFoundError:
            pass
        for distribution in _providers().get(module.split(".")[0]) or [declared]:
            try:
                metadata = importlib.metadata.distribution(distribution).metadata
                found[metadata["Name"]] = metadata["Version"]
            except importlib.metadata.PackageNotFoundError:
                found[distribution] = "missing"
    return found
