"""What a dataset plugin declares about its files, and the one download helper for them.

A dataset plugin describes the files its loader reads by giving the loader a ``data_files``
attribute (:func:`declare_files`): a callable returning :class:`DatasetFiles`. ``bench data``
reads only that — the built-in MovieLens and MNIST plugins declare theirs the same way — to say
before any run which files a dataset wants, where they are looked for and whether they are
intact, and ``bench data download`` follows its :class:`Source`.

:func:`download_file` is the one pooch call of bench and its plugins (the loaders' downloads and
``bench data download``): pooch checks the pinned hash and deletes a file that does not match;
the failures come back as :class:`MissingDependency` (pooch is an optional dependency: reported,
not fatal), :class:`ChecksumMismatch` or :class:`DownloadError`, which each caller words for its
reader. Nothing here imports pooch or requests until a download starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchmark.errors import ChecksumMismatch as ChecksumMismatch  # cli_data imports them from here
from benchmark.errors import DownloadError as DownloadError
from benchmark.errors import MissingDependency, PluginInputError
from benchmark.locations import cache_dir
from benchmark.requirements import require


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


Loader = TypeVar("Loader", bound=Callable[..., Any])


def declare_files(loader: Loader, data_files: Callable[[], DatasetFiles]) -> Loader:
    """Give ``loader`` its ``data_files`` attribute (what ``bench data`` reads) and return it.

    ``data_files`` is called each time ``bench data`` asks, so it may read the plugin's tables
    then. Setting ``loader.data_files = ...`` directly is the same; this says it with types.
    """
    setattr(loader, "data_files", data_files)  # setattr: a function type declares no such attribute
    return loader


# --- downloading ----------------------------------------------------------------------------


def download_file(url: str, known_hash: str | None, target: Path, *, resume: bool = False,
             quiet: bool = False) -> Path:
    """Fetch ``url`` into ``target`` with pooch, unless a copy with ``known_hash`` is there.

    ``known_hash`` is pooch's ``"md5:..."``/``"sha256:..."`` (``None``: not checked). With
    ``resume``, what was received is kept in ``.<name>.part`` beside ``target`` and a later call
    asks only for the rest (an HTTP range request). ``quiet`` silences pooch's "Downloading
    data from ..." line, for a caller that says its own.

    :raises MissingDependency: pooch is not installed ("downloading <name> needs 'pooch'").
    :raises ChecksumMismatch: the file's hash differs (pooch deleted it).
    :raises DownloadError: the network (or the disk) failed.
    """
    try:
        pooch = require("pooch", "pooch")
    except MissingDependency:
        raise MissingDependency("pooch", "pooch", f"downloading {target.name}") from None
    if quiet:
        pooch.get_logger().setLevel("WARNING")
    part = target.with_name(f".{target.name}.part") if resume else None
    options: dict[str, Any] = {"downloader": _resumable(part)} if part is not None else {}
    try:
        if part is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
        path = pooch.retrieve(url, known_hash=known_hash, fname=target.name, path=target.parent,
                              progressbar=False, **options)
    except ValueError as exc:  # pooch's hash check (it deletes the file)
        raise ChecksumMismatch(url, (str(exc).splitlines() or [""])[0]) from None
    except OSError as exc:  # requests' network errors are OSErrors
        kept = part.stat().st_size if part is not None and part.is_file() else 0
        raise DownloadError(url, type(exc).__name__, part, kept) from None
    return Path(path)


def _resumable(part: Path, timeout: float = 30.0) -> Callable[[str, str, Any], None]:
    """A pooch downloader that keeps what it received in ``part`` and asks only for the rest
    (an HTTP range request) on the next attempt; pooch checks the finished file's hash."""

    def fetch(url: str, output_file: str, pooch: Any) -> None:
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

    return fetch


# --- verifying and unpacking ----------------------------------------------------------------


def _safe_members(archive: zipfile.ZipFile, destination: Path) -> list[zipfile.ZipInfo]:
    """The archive's members, refusing any whose path would land outside ``destination``."""
    root = destination.resolve()
    for member in archive.infolist():
        target = (root / member.filename).resolve()
        if member.filename.startswith(("/", "\\")) or not target.is_relative_to(root):
            raise PluginInputError(f"refusing to extract {archive.filename}: member "
                                   f"{member.filename!r} would be written outside {root}")
    return archive.infolist()


def file_sha256(path: Path) -> str:
    """The sha256 of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _identity(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "ctime_ns": stat.st_ctime_ns, "inode": stat.st_ino}


def cached_sha256(path: Path) -> str:
    """:func:`file_sha256`, remembered in a stamp under ``cache_dir()/verified``.

    The stamp holds the file's resolved path, size, mtime, ctime and inode with its sha256 and
    is used only while all five are unchanged, so large files are hashed once, not on every
    load. A stamp that cannot be written (read-only cache) only costs a rehash next time.
    """
    identity = _identity(path)
    key = hashlib.sha256(str(identity["path"]).encode()).hexdigest()[:32]
    stamp = cache_dir() / "verified" / f"{key}.json"
    try:
        recorded = json.loads(stamp.read_text())
        if (isinstance(recorded, dict) and isinstance(recorded.get("sha256"), str)
                and all(recorded.get(name) == value for name, value in identity.items())):
            return str(recorded["sha256"])
    except (OSError, ValueError):
        pass
    digest = file_sha256(path)
    if _identity(path) == identity:  # not changed while it was read
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            scratch = stamp.with_name(f".{stamp.name}.{os.getpid()}")
            scratch.write_text(json.dumps({**identity, "sha256": digest}))
            os.replace(scratch, stamp)
        except OSError:
            pass
    return digest


def damaged(label: str, where: Path | str, actual: str, expected: str, hint: str) -> PluginInputError:
    """The one-line error for a file whose sha256 is not the pinned one."""
    return PluginInputError(f"{label} at {where}: sha256 {actual} expected {expected}; {hint}")


def _check_members(archive_path: Path, root: Path, required: str,
                   pinned: Mapping[str, str]) -> None:
    """``required`` (a path under ``root``) is there, and every pinned member present matches."""
    if not (root / required).is_file():
        raise PluginInputError(f"{archive_path.name} has no member {required}")
    for name, sha256 in pinned.items():
        path = root / name
        if path.is_file() and (actual := file_sha256(path)) != sha256:
            raise damaged(name, f"{archive_path} (downloaded)", actual, sha256,
                          "the download is not the official release; it was deleted")


def extract_archive(archive_path: Path, destination: Path, required: str | None = None,
                    pinned: Mapping[str, str] | None = None) -> None:
    """Unzip into ``destination`` safely.

    Every member's path is checked before anything is written; the archive is extracted into
    a temporary directory, the ``required`` member must be there and every ``pinned`` member
    (path -> sha256) present must match, and only then do the top-level entries move into
    ``destination``.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile as exc:
        raise PluginInputError(f"{archive_path} is not a zip archive: {exc}") from None
    with archive, tempfile.TemporaryDirectory(dir=destination, prefix=".extract-") as scratch:
        archive.extractall(scratch, _safe_members(archive, Path(scratch)))
        if required is not None:
            _check_members(archive_path, Path(scratch), required, pinned or {})
        for entry in Path(scratch).iterdir():
            target = destination / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            entry.rename(target)
