"""Image datasets for reconstruction: scikit-learn's embedded 8×8 digits and MNIST.

MNIST is read from ``<data_dir>/mnist/mnist.npz`` (the Keras layout) when a local copy is
given, else downloaded once with pooch from the Keras mirror into ``cache_dir()/mnist`` and
checked by pooch against the mirror's pinned file sha256. Its default split (when a suite names
none) is the fold set ``official``: the 60,000 training images, then the 10,000 test images.
Both loaders declare their files for ``bench data`` (:func:`mnist_files`).

A local copy is verified before use: its file sha256 (cached in a stamp keyed on path, size,
mtime, ctime and inode — see :func:`benchmark.api.cached_sha256`) must be one of the
known MNIST files (:data:`MNIST_KNOWN_FILES`); an npz with another file hash — a faithful
rebuild differs byte-wise, as zip members carry timestamps — is accepted only if its image
arrays have the pinned content checksums (:data:`MNIST_ARRAY_SHA256`). Anything else, including
a truncated file, is one :class:`PluginInputError` naming the file, the hashes and the folder.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from pathlib import Path

import numpy as np

from benchmark.api import (
    RECONSTRUCTION,
    ChecksumMismatch,
    DataFile,
    DatasetFiles,
    DatasetSpec,
    DownloadError,
    Fold,
    MatrixData,
    MissingDependency,
    PluginInputError,
    Source,
    cache_dir,
    cached_sha256,
    damaged,
    declare_files,
    download_file,
    hookimpl,
    require,
)
from benchmark.api import (
    data_dir as local_data_dir,
)

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_FILE_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
# sha256 of whole mnist.npz files known to hold the official arrays: a local copy with one of
# these hashes is accepted without decompressing and hashing its arrays.
MNIST_KNOWN_FILES = {
    MNIST_FILE_SHA256: "the Keras mirror's mnist.npz",
    "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64":
        "a Keras-layout rebuild from LeCun's IDX files (bench's test data, see docs/test-data.md)",
}
# sha256 of x_train.tobytes() / x_test.tobytes(): the same for every faithful copy of MNIST
MNIST_ARRAY_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
}
MNIST_HINT = "the local copy is damaged or not the official MNIST — re-download it or fix data_dir"
MNIST_SHAPES = {"x_train": (60_000, 28, 28), "x_test": (10_000, 28, 28)}
MNIST_CITATION = ("Y. LeCun, C. Cortes and C. J. C. Burges, The MNIST database of handwritten "
                  "digits, http://yann.lecun.com/exdb/mnist/ (CC BY-SA 3.0)")


def _digits_pixels() -> np.ndarray:
    """The 1,797 × 64 pixel values of scikit-learn's digits, read from the file scikit-learn ships
    (``sklearn/datasets/data/digits.csv.gz``, last column the label) without importing
    scikit-learn: its import costs ~0.6 s, most of a finished suite's rerun. Falls back to
    ``sklearn.datasets.load_digits`` where the file is not found."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise MissingDependency("sklearn", "scikit-learn", "digits")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        return require("sklearn.datasets", "scikit-learn").load_digits().data
    with gzip.open(path) as stream:
        return np.loadtxt(stream, delimiter=",")[:, :-1]


def load_digits() -> MatrixData:
    """scikit-learn's 1,797 handwritten 8×8 digits, pixels scaled from 0..16 to [0, 1]."""
    X = (_digits_pixels() / 16.0).astype(np.float32)
    return MatrixData(X, info={"image_shape": [8, 8], "scale": "pixels / 16",
                               "source": "sklearn.datasets.load_digits"})


def _mnist_path(data_dir: str | None) -> tuple[Path, bool]:
    """The npz to read, and whether it is a local copy (checked by content, not file hash)."""
    local = local_data_dir(data_dir)
    if local is not None and (local / "mnist" / "mnist.npz").is_file():
        return local / "mnist" / "mnist.npz", True
    try:
        path = download_file(MNIST_URL, f"sha256:{MNIST_FILE_SHA256}", cache_dir() / "mnist" / "mnist.npz")
    except ChecksumMismatch as exc:  # pooch deletes a download whose hash differs
        raise PluginInputError(f"checksum mismatch for {MNIST_URL}: {exc.detail}") from None
    except DownloadError as exc:
        where = f"{local}/mnist/mnist.npz" if local is not None else "<data_dir>/mnist/mnist.npz"
        raise PluginInputError(f"no local MNIST at {where} and the download from {MNIST_URL} "
                               f"failed ({exc.reason}); give data_dir or BENCH_DATA_DIR") from None
    return path, False


def _read_mnist(path: Path, verify: bool) -> dict[str, np.ndarray]:
    """The image arrays; with ``verify`` (a local copy), checked as the module docstring says."""
    label, where = "mnist/mnist.npz", path.parent
    file_sha256 = cached_sha256(path) if verify else None
    known = file_sha256 in MNIST_KNOWN_FILES
    expected = " or ".join(MNIST_KNOWN_FILES)
    try:
        with np.load(path) as archive:
            names = set(archive.files)
            arrays = {key: archive[key] for key in MNIST_SHAPES if key in names}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        if file_sha256 is not None:
            raise damaged(label, where, file_sha256, expected,
                          f"it cannot be read ({type(exc).__name__}); {MNIST_HINT}") from None
        raise PluginInputError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    missing = set(MNIST_SHAPES) - set(arrays)
    if missing:
        raise PluginInputError(f"{path} lacks {sorted(missing)}: not a Keras-layout mnist.npz")
    for key, array in arrays.items():
        if array.shape != MNIST_SHAPES[key] or array.dtype != np.uint8:
            raise PluginInputError(f"{path}: {key} is {array.dtype}{array.shape}, expected "
                                   f"uint8{MNIST_SHAPES[key]}")
        if verify and not known:
            actual = hashlib.sha256(array.tobytes()).hexdigest()
            if actual != MNIST_ARRAY_SHA256[key]:
                raise PluginInputError(
                    f"{label} at {where}: sha256 {file_sha256} is no known MNIST file "
                    f"(expected {expected}) and its {key} array has sha256 {actual}, expected "
                    f"{MNIST_ARRAY_SHA256[key]}; {MNIST_HINT}")
    return arrays


def _subsample(n: int, limit: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 1:
        raise PluginInputError(f"{what} must be at least 1, got {limit}")
    return np.sort(rng.choice(n, limit, replace=False))


def load_mnist(data_dir: str | None = None, scale: float = 255.0, limit: int | None = None,
               test_limit: int | None = None, seed: int = 0) -> MatrixData:
    """MNIST's 60,000 train + 10,000 test images as rows of 784 pixels / ``scale``.

    Train rows come first, then test rows; the fold set ``"official"`` is that split.
    ``limit``/``test_limit`` keep a seeded random subset of the train/test images (in their
    original order), so small runs stay fast.

    :param data_dir: folder holding ``mnist/mnist.npz`` (else the download cache).
    :param scale: pixels are divided by it (at least 255, so they stay in [0, 1]).
    :param limit: keep this many training images, a seeded random subset (None: all 60,000).
    :param test_limit: keep this many test images, a seeded random subset (None: all 10,000).
    :param seed: seed of the subsets.
    """
    if scale < 255:
        raise PluginInputError(f"scale must be at least 255 so that pixels stay in [0, 1], got {scale}")
    path, local = _mnist_path(data_dir)
    arrays = _read_mnist(path, verify=local)
    rng = np.random.default_rng(seed)
    train_rows = _subsample(60_000, limit, rng, "limit")
    test_rows = _subsample(10_000, test_limit, rng, "test_limit")
    n_train, n_test = len(train_rows), len(test_rows)
    X = np.empty((n_train + n_test, 784), dtype=np.float32)
    np.divide(arrays["x_train"][train_rows].reshape(n_train, 784), np.float32(scale), out=X[:n_train])
    np.divide(arrays["x_test"][test_rows].reshape(n_test, 784), np.float32(scale), out=X[n_train:])
    fold = Fold("official", np.arange(n_train), n_train + np.arange(n_test))
    info = {"image_shape": [28, 28], "scale": float(scale), "transform": f"pixels / {scale:g}",
            "source": str(path), "n_train": n_train, "n_test": n_test,
            "subsampled": n_train < 60_000 or n_test < 10_000, "citation": MNIST_CITATION}
    return MatrixData(X, folds={"official": [fold]}, info=info)


def mnist_files() -> DatasetFiles:
    """What ``bench data`` shows of MNIST: the Keras mirror's ``mnist.npz``, its pinned sha256."""
    return DatasetFiles((DataFile("mnist/mnist.npz", tuple(MNIST_KNOWN_FILES), cache="mnist/mnist.npz"),),
                        Source("file", MNIST_URL, f"sha256:{MNIST_FILE_SHA256}", "mnist/mnist.npz"),
                        note=f"{MNIST_URL} (sha256 checked)")


declare_files(load_digits, lambda: DatasetFiles(note="embedded in scikit-learn: nothing to get"))
declare_files(load_mnist, mnist_files)


@hookimpl
def bench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec("digits", load_digits, RECONSTRUCTION, {"sklearn": "scikit-learn"},
                    summary="scikit-learn 8x8 digits (1,797 rows, embedded)"),
        DatasetSpec("mnist", load_mnist, RECONSTRUCTION,
                    summary="MNIST 28x28 digits (60,000 train + 10,000 test; fold set 'official', "
                            "the default; local copies checked by sha256)",
                    default_split={"method": "predefined", "name": "official"},
                    constraints={"scale": {"minimum": 255}, "limit": {"minimum": 1},
                                 "test_limit": {"minimum": 1}}),
    ]
