"""``bench data``: which files each dataset reads, where they are looked for, are they there and
intact, and ``bench data download NAME`` to fetch them.

A newcomer's first real-data run used to fail inside a cell with "not found in ... and the
download failed"; the only way to learn which files a dataset wanted was its source. This
command answers before any run:

* ``bench data`` — one line per dataset plugin: present and verified, missing, embedded;
* ``bench data NAME`` — that dataset's files, each with its state and the paths looked at;
* ``bench data download NAME... [--to DIR]`` — download (pooch: the published checksum is
  checked, the file is kept only if it matches) into the cache where the loaders look, or laid
  out as a ``data_dir`` under ``DIR`` (how the test data of docs/test-data.md is made). An
  interrupted download resumes from its ``.part`` file (HTTP range request) on the next try;
  without a network it is one line and exit 1.

A dataset plugin describes its files by giving its loader a ``data_files`` attribute: a callable
returning :class:`DatasetFiles` (:mod:`benchmark.datafiles`, in the public API). The built-in
plugins declare theirs the same way; this module knows no dataset by name.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.api import MissingDependency, cache_dir, download_file
from benchmark.datafiles import ChecksumMismatch, DataFile, DatasetFiles, DownloadError, cached_sha256, extract_archive
from benchmark.datafiles import Source as Source  # a plugin written for contract 1.2 imports it from here
from benchmark.declared_files import candidate_paths
from benchmark.errors import BenchError, PluginInputError
from benchmark.limits import choose_data_dir
from benchmark.registry import build_registry

DOCS = "docs/test-data.md"


@dataclass
class FileState:
    file: DataFile
    state: str  # verified, present, damaged, embedded, missing
    found: Path | None = None
    looked: list[Path] = field(default_factory=list)
    detail: str = ""


def files_of(name: str, loader: Any) -> DatasetFiles:
    """The plugin's own ``loader.data_files()``, else nothing known."""
    declared = getattr(loader, "data_files", None)
    if callable(declared):
        found = declared()
        if not isinstance(found, DatasetFiles):
            raise BenchError(f"dataset {name!r}: data_files() returned {type(found).__name__}, "
                             f"expected DatasetFiles")
        return found
    return DatasetFiles(note="the plugin declares no files (see data_files in benchmark/cli_data.py)")


# --- where they are and whether they are intact -----------------------------------------------


def locate(file: DataFile, data_dir: Path | None, cache: Path) -> FileState:
    """The file as a loader would find it: where :func:`benchmark.declared_files.candidate_paths`
    looks (``data_dir``, then the cache), then an embedded copy."""
    candidates = candidate_paths(file, data_dir, cache)
    for path in candidates:
        if path.is_file():
            if not file.sha256:
                return FileState(file, "present", path, candidates, "no pinned checksum")
            actual = cached_sha256(path)
            if actual in file.sha256:
                return FileState(file, "verified", path, candidates, "sha256")
            return FileState(file, "damaged", path, candidates,
                             f"sha256 {actual}, expected {' or '.join(file.sha256)}")
    if file.embedded is not None and file.embedded.is_file():
        return FileState(file, "embedded", file.embedded, candidates)
    return FileState(file, "missing", None, candidates)


def _summary(states: list[FileState]) -> str:
    if not states:
        return "-"
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    order = ["damaged", "missing", "present", "verified", "embedded"]
    parts = [f"{state} {counts[state]}/{len(states)}" for state in order if state in counts]
    return parts[0] if len(parts) == 1 and len(states) == 1 else ", ".join(parts)


def _folders(states: list[FileState]) -> str:
    found = sorted({str(s.found.parent) for s in states if s.found is not None})
    return ", ".join(found) if found else "-"


def _roots(data_dir_option: str | None) -> tuple[Path | None, str, Path]:
    """(the data directory, what chose it, the download cache): the data directory as ``bench
    run`` chooses it (:func:`benchmark.limits.choose_data_dir`, a typo one line, not every file
    "missing")."""
    chosen = choose_data_dir(data_dir_option)
    return chosen.path, chosen.source, cache_dir()


def _datasets(names: Iterable[str], plugins: list[str]) -> list[tuple[str, DatasetFiles]]:
    registry = build_registry([(p, f"-p {p}") for p in plugins])
    found = []
    for name in list(names) or [e.name for e in registry.all() if e.kind == "dataset"]:
        entry = registry.find("dataset", name)  # a plain name, a qualified one (dist:name) or an alias
        if entry is None:
            if name in registry.ambiguous.get("dataset", {}):
                registry.get("dataset", name)  # raises: several plugins provide it; qualify it
            raise BenchError(f"no dataset plugin named {name!r}; {registry.suggest('dataset', name)}")
        found.append((entry.name, files_of(entry.name, entry.function)))
    return found


def list_data(names: list[str], data_dir_option: str | None, plugins: list[str]) -> tuple[str, bool]:
    """The text ``bench data [NAME...]`` prints, and whether a file is damaged."""
    from tabulate import tabulate

    data_dir, why, cache = _roots(data_dir_option)
    lines = [f"data_dir: {data_dir} ({why})" if data_dir else
             "data_dir: not set (--data-dir, a suite's data_dir: or $BENCH_DATA_DIR)",
             f"cache:    {cache} ($BENCH_CACHE_DIR or ~/.cache/bench)", ""]
    damaged = False
    datasets = _datasets(names, plugins)
    if names:
        for name, files in datasets:
            states = [locate(f, data_dir, cache) for f in files.files]
            damaged |= any(s.state == "damaged" for s in states)
            lines.append(f"{name}: {files.note}" if files.note else name)
            if states:
                rows = [[s.file.path, s.state + (f" ({s.detail})" if s.detail and s.state != "present" else ""),
                         str(s.found) if s.found else "looked in " + (", ".join(map(str, s.looked)) or "-")]
                        for s in states]
                lines.append(tabulate(rows, headers=["file", "state", "where"], disable_numparse=True))
            lines.append("")
    else:
        rows = []
        for name, files in datasets:
            states = [locate(f, data_dir, cache) for f in files.files]
            damaged |= any(s.state == "damaged" for s in states)
            get = ""
            if files.source is not None and any(s.state in ("missing", "damaged") for s in states):
                get = f"bench data download {name}"
            rows.append([name, _summary(states), _folders(states), get or files.note])
        lines.append(tabulate(rows, headers=["dataset", "files", "found in", "to get it / note"],
                              disable_numparse=True))
        lines.append("")
        lines.append("bench data NAME lists one dataset's files and where each was looked for; "
                     f"{DOCS} says how to get the test data.")
    return "\n".join(lines).rstrip() + "\n", damaged


# --- downloading ----------------------------------------------------------------------------


def _fetch(url: str, known_hash: str | None, target: Path) -> Path:
    """Download ``url`` to ``target`` (checksum checked, resumable); one-line errors."""
    try:
        return download_file(url, known_hash, target, resume=True, quiet=True)
    except MissingDependency:
        raise BenchError("downloads need pooch: pip install 'bench-harness[download]'") from None
    except ChecksumMismatch as exc:  # pooch deletes a file whose hash differs
        raise DownloadFailed(f"checksum mismatch for {url}: {exc.detail}") from None
    except DownloadError as exc:
        resume = f"; {exc.kept:,} bytes kept in {exc.part}, rerun to resume" if exc.kept else ""
        raise DownloadFailed(f"download of {url} failed ({exc.reason}){resume}; without a "
                             f"network, copy the files into a data_dir (see {DOCS})") from None


class DownloadFailed(Exception):
    """A network or checksum failure: one line, exit 1 (the input was fine)."""


def _write_embedded(files: DatasetFiles, root: Path) -> None:
    for file in files.files:
        if file.embedded is None:
            continue
        target = root / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(f".{target.name}.tmp")
        opener = gzip.open if file.embedded.suffix == ".gz" else open
        with opener(file.embedded, "rb") as source, scratch.open("wb") as out:
            shutil.copyfileobj(source, out)
        scratch.replace(target)


def download(name: str, files: DatasetFiles, to: Path | None, cache: Path) -> str:
    """Fetch one dataset into the cache (or laid out under ``to``); what was done, one line."""
    source = files.source
    if source is None:
        raise BenchError(f"dataset {name!r} has nothing to download: {files.note or 'no file list'}")
    if source.kind == "embedded":
        root = to if to is not None else cache / source.root
        _write_embedded(files, root)
    elif source.kind == "file":
        path = _fetch(source.url, source.known_hash, cache / source.archive)
        if to is not None:
            target = to / files.files[0].path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    elif source.kind == "zip":
        archive = _fetch(source.url, source.known_hash, cache / source.archive)
        pinned = {f.path: f.sha256[0] for f in files.files if f.sha256}
        try:
            extract_archive(archive, to if to is not None else cache / source.root, source.required, pinned)
        except PluginInputError as exc:  # a member outside the folder, or not the release's: refused
            raise DownloadFailed(f"{exc}") from None
    else:
        raise BenchError(f"dataset {name!r}: unknown download kind {source.kind!r}")
    states = [locate(f, to, cache) for f in files.files]
    return f"{name}: {_summary(states)} in {_folders(states)}"


# --- the command -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """``bench data`` (its parser is in :func:`benchmark.cli._parser`, so that ``bench --help``
    does not import this module)."""
    words = list(args.words)
    if words[:1] != ["download"]:
        if args.to:
            raise BenchError("--to goes with download: bench data download NAME --to DIR")
        text, damaged = list_data(words, args.data_dir, args.plugin)
        print(text, end="")
        return 1 if damaged else 0
    names = words[1:]
    if not names:
        raise BenchError("bench data download: name the datasets, e.g. bench data download movielens-100k")
    _, _, cache = _roots(args.data_dir)
    to = Path(args.to).expanduser() if args.to else None
    if to is not None and to.exists() and not to.is_dir():
        raise BenchError(f"--to {to}: not a directory")
    for name, files in _datasets(names, args.plugin):
        try:
            print(download(name, files, to, cache), flush=True)
        except DownloadFailed as exc:
            print(f"bench: error: {name}: {exc}", file=sys.stderr)
            return 1
    return 0
