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
returning :class:`DatasetFiles`. The built-in MovieLens and MNIST plugins do not (yet) carry it;
:func:`builtin_files` derives theirs from their public tables (releases, pinned hashes, URLs),
which is also the reference for a plugin author.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import BenchError, did_you_mean

DOCS = "docs/test-data.md"


@dataclass(frozen=True)
class DataFile:
    """One file a loader reads, named as it lies in a ``data_dir`` (``ml-100k/u.data``).

    ``sha256``: the accepted hashes (pinned by the plugin; empty when not pinned). ``cache``:
    where a download puts it, relative to the cache directory. ``embedded``: a copy shipped with
    the code (gzipped when its name ends in ``.gz``).
    """

    path: str
    sha256: tuple[str, ...] = ()
    cache: str | None = None
    embedded: Path | None = None


@dataclass(frozen=True)
class Source:
    """Where a download comes from: ``kind`` is ``zip`` (extracted, laid out as it unpacks),
    ``file`` (one file, stored at ``files[0]``) or ``embedded`` (the shipped copies, written out).

    ``archive``: where the downloaded file is kept, relative to the cache directory; ``root``:
    the cache folder a zip is extracted into (the loaders look there).
    """

    kind: str
    url: str = ""
    known_hash: str | None = None
    archive: str = ""
    root: str = ""
    required: str | None = None
    """For a zip: the member that must be there (the ratings file)."""


@dataclass(frozen=True)
class DatasetFiles:
    """What ``bench data`` knows of one dataset: its files, how to download them, a note."""

    files: tuple[DataFile, ...] = ()
    source: Source | None = None
    note: str = ""


@dataclass
class FileState:
    file: DataFile
    state: str  # verified, present, damaged, embedded, missing
    found: Path | None = None
    looked: list[Path] = field(default_factory=list)
    detail: str = ""


# --- what the built-in plugins read -----------------------------------------------------------


def _movielens(name: str) -> DatasetFiles | None:
    from bench_plugins import movielens

    release = movielens.RELEASES.get(name)
    if release is None:
        return None
    names = list(release.sha256) or [release.ratings_file]
    if release.ratings_file not in names:
        names.insert(0, release.ratings_file)
    embedded = movielens.EMBEDDED / release.folder / f"{release.ratings_file}.gz"
    files = tuple(DataFile(f"{release.folder}/{n}", tuple(filter(None, [release.sha256.get(n)])),
                           cache=f"movielens/{release.folder}/{n}",
                           embedded=embedded if n == release.ratings_file and embedded.is_file() else None)
                  for n in names)
    if any(f.embedded for f in files):
        return DatasetFiles(files, Source("embedded", root="movielens"),
                            note="ships with bench (the Sept 2018 release, sha256 pinned)")
    pinned = "files sha256-pinned" if release.sha256 else "zip md5 checked at download; files not pinned"
    return DatasetFiles(files, Source("zip", release.url, release.known_hash, f"movielens/{release.archive}.zip",
                                      "movielens", f"{release.folder}/{release.ratings_file}"),
                        note=f"{release.url} ({pinned})")


def _mnist() -> DatasetFiles:
    from bench_plugins import images

    return DatasetFiles((DataFile("mnist/mnist.npz", tuple(images.MNIST_KNOWN_FILES), cache="mnist/mnist.npz"),),
                        Source("file", images.MNIST_URL, f"sha256:{images.MNIST_FILE_SHA256}",
                               "mnist/mnist.npz"),
                        note=f"{images.MNIST_URL} (sha256 checked)")


NOTES = {"digits": "embedded in scikit-learn: nothing to get",
         "synthetic-ratings": "generated from its options: nothing to get",
         "ratings-file": "your own files (its path / train / test options)"}


def builtin_files(name: str) -> DatasetFiles | None:
    """The file list of a built-in dataset plugin, from its public tables."""
    if name == "mnist":
        return _mnist()
    if name in NOTES:
        return DatasetFiles(note=NOTES[name])
    return _movielens(name)


def files_of(name: str, loader: Any) -> DatasetFiles:
    """The plugin's own ``loader.data_files()``, else the built-in table, else nothing known."""
    declared = getattr(loader, "data_files", None)
    if callable(declared):
        found = declared()
        if not isinstance(found, DatasetFiles):
            raise BenchError(f"dataset {name!r}: data_files() returned {type(found).__name__}, "
                             f"expected DatasetFiles")
        return found
    target = loader.func if isinstance(loader, functools.partial) else loader
    module = getattr(target, "__module__", "")
    if str(module).startswith("bench_plugins."):
        return builtin_files(name) or DatasetFiles(note="the plugin declares no files")
    return DatasetFiles(note="the plugin declares no files (see data_files in benchmark/cli_data.py)")


# --- where they are and whether they are intact -----------------------------------------------


def _sha256(path: Path) -> str:
    from bench_plugins.movielens import cached_sha256

    return cached_sha256(path)


def locate(file: DataFile, data_dir: Path | None, cache: Path) -> FileState:
    """The file as a loader would find it: ``data_dir``, then the cache, then an embedded copy."""
    candidates = ([data_dir / file.path] if data_dir is not None else []) + \
                 ([cache / file.cache] if file.cache else [])
    for path in candidates:
        if path.is_file():
            if not file.sha256:
                return FileState(file, "present", path, candidates, "no pinned checksum")
            actual = _sha256(path)
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
    from benchmark.api import cache_dir, data_dir

    chosen = data_dir(data_dir_option)
    why = "--data-dir" if data_dir_option else ("$BENCH_DATA_DIR" if chosen else "")
    return chosen, why, cache_dir()


def _datasets(names: Iterable[str], plugins: list[str]) -> list[tuple[str, DatasetFiles]]:
    from benchmark._internal import resolve
    from benchmark.registry import build_registry

    registry = build_registry([(p, f"-p {p}") for p in plugins])
    known = sorted(e.name for e in registry.all() if e.kind == "dataset")
    found = []
    for name in list(names) or known:
        entry = registry.find("dataset", name)  # a plain name, a qualified one (dist:name) or an alias
        if entry is None:
            if name in registry.ambiguous.get("dataset", {}):
                registry.get("dataset", name)  # raises: several plugins provide it; qualify it
            hint = did_you_mean(name, known, n=3, cutoff=0.5) or "see bench data"
            raise BenchError(f"no dataset plugin named {name!r}; {hint}")
        loader = entry.spec.loader
        found.append((entry.name, files_of(entry.name, resolve(loader) if isinstance(loader, str) else loader)))
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


def resumable_downloader(part: Path, timeout: float = 30.0) -> Callable[[str, str, Any], None]:
    """A pooch downloader that keeps what it received in ``part`` and asks only for the rest
    (an HTTP range request) on the next attempt; pooch checks the finished file's hash."""

    def download(url: str, output_file: str, pooch: Any) -> None:
        import requests

        have = part.stat().st_size if part.is_file() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code == 416:  # nothing left to send: the part is complete
                pass
            else:
                response.raise_for_status()
                mode = "ab" if have and response.status_code == 206 else "wb"
                with part.open(mode) as handle:
                    for block in response.iter_content(1 << 16):
                        handle.write(block)
        shutil.copyfile(part, output_file)
        part.unlink()

    return download


def _fetch(url: str, known_hash: str | None, target: Path) -> Path:
    """Download ``url`` to ``target`` with pooch (checksum, resumable); one-line errors."""
    from benchmark.api import MissingDependency, require

    try:
        pooch = require("pooch", "pooch")
    except MissingDependency:
        raise BenchError("downloads need pooch: pip install 'bench-harness[download]'") from None
    import requests

    pooch.get_logger().setLevel("WARNING")  # its "Downloading data from..." line; we print our own
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    try:
        path = pooch.retrieve(url, known_hash=known_hash, fname=target.name, path=target.parent,
                              downloader=resumable_downloader(part), progressbar=False)
    except ValueError as exc:  # pooch deletes a file whose hash differs
        raise DownloadFailed(f"checksum mismatch for {url}: {exc}".splitlines()[0]) from None
    except (OSError, requests.RequestException) as exc:
        kept = part.stat().st_size if part.is_file() else 0
        resume = f"; {kept:,} bytes kept in {part}, rerun to resume" if kept else ""
        raise DownloadFailed(f"download of {url} failed ({type(exc).__name__}){resume}; without a "
                             f"network, copy the files into a data_dir (see {DOCS})") from None
    return Path(path)


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
        from bench_plugins.movielens import extract_archive

        archive = _fetch(source.url, source.known_hash, cache / source.archive)
        pinned = {f.path: f.sha256[0] for f in files.files if f.sha256}
        extract_archive(archive, to if to is not None else cache / source.root, source.required, pinned)
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
