"""Which of a suite's datasets are not on this machine: what ``bench check`` says before a run.

A newcomer's first ``bench run`` on MovieLens 1M spent its first minute downloading, with
nothing said at check time. :func:`absent_datasets` looks each dataset's declared files up
exactly as ``bench data`` does (:func:`benchmark.cli_data.locate`: the data directory, then the
download cache, then an embedded copy) and returns one sentence per dataset that would be
downloaded, or that cannot be found at all. Nothing is read but file names and sizes: a present
file's checksum is checked when it is loaded, not here.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.api import cache_dir
from benchmark.cli_data import files_of, locate
from benchmark.errors import BenchError
from benchmark.limits import choose_data_dir
from benchmark.registry import Registry
from benchmark.suite import Suite


def _environment_data_dir() -> Path | None:
    """``$BENCH_DATA_DIR`` when the suite and the command line name no data directory (the
    precedence of :func:`benchmark.limits.choose_data_dir`, which the loaders follow too)."""
    try:
        return choose_data_dir(None).path
    except BenchError:  # not a directory: bench run says so in its own words
        return None


def absent_datasets(suite: Suite, registry: Registry) -> list[str]:
    """One line per dataset of ``suite`` with a declared file not present locally."""
    data_dir = Path(suite.data_dir) if suite.data_dir else _environment_data_dir()
    cache = cache_dir()
    notes: list[str] = []
    seen: set[str] = set()
    for dataset in suite.datasets:
        if dataset.name in seen:
            continue
        seen.add(dataset.name)
        entry = registry.find("dataset", dataset.name)
        if entry is None:
            continue
        try:
            files = files_of(dataset.name, entry.function)
        except Exception:  # a plugin whose file list cannot be read: its loader will say
            continue
        missing = [state.file.path for state in (locate(f, data_dir, cache) for f in files.files)
                   if state.state == "missing"]
        if not missing:
            continue
        where = f"{data_dir} or {cache}" if data_dir else str(cache)
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        if files.source is not None and files.source.url:
            notes.append(f"dataset {dataset.name!r} is not present locally ({shown} not in {where}): "
                         f"bench run will download it from {files.source.url} "
                         f"(bench data download {dataset.name} fetches it now)")
        else:
            notes.append(f"dataset {dataset.name!r} is not present locally ({shown} not in {where}) and "
                         f"bench cannot download it: bench data {dataset.name} says where it is looked for")
    return notes
