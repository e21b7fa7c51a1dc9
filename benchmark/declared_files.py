"""A dataset's declared file hashes, verified by bench whenever the data is loaded.

A dataset plugin pins the sha256 of the files its loader reads (``loader.data_files()``,
:mod:`benchmark.datafiles`); ``bench data`` shows them. Checking them was left to each loader,
and a third party's loader that does not check let a damaged or replaced copy run every cell.
:func:`verify_declared_files` is called by the core after every load
(:meth:`benchmark.execute.DataCache._load`, the one place data is loaded for a run, its plan
and its workers): each declared file with a pinned hash, found where a loader looks for it (the
data directory, then the download cache), must have one of the pinned hashes. The hash is
:func:`~benchmark.datafiles.cached_sha256`'s, remembered while the file is unchanged, so a
loader that checks too does not pay twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.datafiles import DataFile, DatasetFiles, cached_sha256
from benchmark.errors import BenchError
from benchmark.locations import cache_dir, data_dir


def _declared(loader: Callable[..., Any]) -> tuple[DataFile, ...]:
    """The files ``loader`` declares (none when it declares none, or not as DatasetFiles:
    ``bench data`` reports that)."""
    declared = getattr(loader, "data_files", None)
    if not callable(declared):
        return ()
    try:
        found = declared()
    except Exception:
        return ()
    return found.files if isinstance(found, DatasetFiles) else ()


def candidate_paths(file: DataFile, data_dir: Path | None, cache: Path | None = None) -> list[Path]:
    """Where a loader looks for ``file``, in order: the data directory (when there is one), then
    the download cache (``cache``, else :func:`~benchmark.locations.cache_dir`) when the file
    names its cached copy. The one place of that decision: ``bench data``
    (:func:`benchmark.cli_data.locate`) and the check of every load (:func:`verify_declared_files`)
    both ask it, so what one calls missing or damaged is what the other looked at."""
    return ([data_dir / file.path] if data_dir is not None else []) + \
        ([(cache if cache is not None else cache_dir()) / file.cache] if file.cache else [])


def verify_declared_files(name: str, loader: Callable[..., Any], options_data_dir: Any = None) -> None:
    """Refuse (one line: the file, both hashes) a declared file whose content is not pinned.

    ``options_data_dir`` is the ``data_dir`` the loader was given (else ``$BENCH_DATA_DIR``)."""
    files = _declared(loader)
    if not files:
        return
    given = options_data_dir if options_data_dir else data_dir()
    folder = Path(given).expanduser() if given else None
    for file in files:
        if not file.sha256:
            continue
        found = next((path for path in candidate_paths(file, folder) if path.is_file()), None)
        if found is None:  # embedded, or read from elsewhere: the loader's own business
            continue
        actual = cached_sha256(found)
        if actual not in file.sha256:
            raise BenchError(f"dataset {name!r}: {found} has sha256 {actual}, expected "
                             f"{' or '.join(file.sha256)} (a damaged or replaced copy: "
                             f"delete it, or see bench data {name})")
