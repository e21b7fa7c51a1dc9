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

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar


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


class DownloadError(Exception):
    """A download that produced no file: ``reason`` is the error's class name (``ConnectionError``);
    ``kept`` the bytes kept in ``part`` for the next try to resume from (0: none)."""

    def __init__(self, url: str, reason: str, part: Path | None = None, kept: int = 0):
        self.url, self.reason, self.part, self.kept = url, reason, part, kept
        super().__init__(f"download of {url} failed ({reason})")


class ChecksumMismatch(DownloadError):
    """The downloaded file's hash is not the pinned one (pooch deleted it). ``detail``: pooch's
    message (one line); ``actual``: the hash the file had, when pooch says it."""

    def __init__(self, url: str, detail: str):
        found = re.search(r"but got (\w+)", detail)
        self.detail, self.actual = detail, found.group(1) if found else None
        super().__init__(url, "checksum mismatch")


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
    from benchmark.api import MissingDependency, require

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
