"""The mnist dataset: the real files, its official fold set, seeded subsampling, content checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from bench_plugins import images
from bench_plugins.images import load_mnist
from bench_plugins.splits import predefined

from benchmark.api import MatrixData, PluginInputError


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Checksum stamps go to a private cache, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def mnist(shared_data: Path) -> MatrixData:
    return load_mnist(data_dir=str(shared_data))


def test_full_mnist_is_the_official_60k_plus_10k(mnist: MatrixData):
    assert mnist.X.shape == (70_000, 784) and mnist.X.dtype == np.float32
    assert mnist.X.min() == 0.0 and mnist.X.max() == 1.0
    assert mnist.info["image_shape"] == [28, 28] and mnist.info["scale"] == 255.0
    # the widely used normalisation constant: mean train pixel 0.1307
    assert mnist.X[:60_000].mean() == pytest.approx(0.130660, abs=1e-5)
    (fold,) = predefined(mnist, name="official")
    assert fold.name == "official"
    np.testing.assert_array_equal(fold.train, np.arange(60_000))
    np.testing.assert_array_equal(fold.test, 60_000 + np.arange(10_000))
    # the first test image is a 7: its rows hold the known raw pixels of the Keras file
    with np.load(Path(mnist.info["source"])) as archive:
        np.testing.assert_array_equal(mnist.X[60_000], archive["x_test"][0].reshape(784) / np.float32(255))


def test_scale_is_an_option_and_recorded(shared_data: Path):
    data = load_mnist(data_dir=str(shared_data), scale=256, limit=50, test_limit=10)
    assert data.X.max() == pytest.approx(255 / 256)
    assert data.info["scale"] == 256.0 and data.info["transform"] == "pixels / 256"
    with pytest.raises(PluginInputError, match="scale"):
        load_mnist(data_dir=str(shared_data), scale=100)


def test_limits_take_a_seeded_subset_in_original_order(shared_data: Path, mnist: MatrixData):
    small = load_mnist(data_dir=str(shared_data), limit=300, test_limit=40, seed=3)
    again = load_mnist(data_dir=str(shared_data), limit=300, test_limit=40, seed=3)
    other = load_mnist(data_dir=str(shared_data), limit=300, test_limit=40, seed=4)
    assert small.X.shape == (340, 784) and small.info["subsampled"]
    np.testing.assert_array_equal(small.X, again.X)
    assert small.checksum() == again.checksum() != other.checksum()
    (fold,) = small.folds["official"]
    np.testing.assert_array_equal(fold.train, np.arange(300))
    np.testing.assert_array_equal(fold.test, 300 + np.arange(40))
    # every kept train row is a train image, every kept test row a test image, in file order
    train_rows = {hash(row.tobytes()): n for n, row in enumerate(mnist.X[:60_000])}
    test_rows = {hash(row.tobytes()): n for n, row in enumerate(mnist.X[60_000:])}
    train_positions = [train_rows[hash(row.tobytes())] for row in small.X[:300]]
    test_positions = [test_rows[hash(row.tobytes())] for row in small.X[300:]]
    assert train_positions == sorted(train_positions) and test_positions == sorted(test_positions)


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True)
    np.savez(path, **arrays)


def test_a_local_copy_is_checked_by_content(shared_data: Path, tmp_path: Path):
    with np.load(shared_data / "mnist" / "mnist.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["x_test"] = arrays["x_test"].copy()
    arrays["x_test"][0, 14, 14] ^= 1  # one pixel off
    _write_npz(tmp_path / "tampered" / "mnist" / "mnist.npz", **arrays)
    with pytest.raises(PluginInputError, match=r"^mnist/mnist.npz at \S+/tampered/mnist: sha256 [0-9a-f]{64} "
                                                r"is no known MNIST file .* its x_test array has sha256 "
                                                r"[0-9a-f]{64}, expected 6d87418d"):
        load_mnist(data_dir=str(tmp_path / "tampered"))
    _write_npz(tmp_path / "small" / "mnist" / "mnist.npz", x_train=arrays["x_train"][:10],
               x_test=arrays["x_test"])
    with pytest.raises(PluginInputError, match="x_train is uint8"):
        load_mnist(data_dir=str(tmp_path / "small"))


def test_without_a_local_copy_it_downloads_the_published_file(shared_data: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    pooch = pytest.importorskip("pooch")
    calls = []

    def retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash, fname, Path(path)))
        return str(shared_data / "mnist" / "mnist.npz")  # stands in for the verified download

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    data = load_mnist(data_dir=str(tmp_path / "empty"), limit=20, test_limit=5)
    assert data.X.shape == (25, 784)
    assert calls == [(images.MNIST_URL, f"sha256:{images.MNIST_FILE_SHA256}", "mnist.npz",
                      tmp_path / "cache" / "mnist")]


@pytest.mark.parametrize("error, message", [
    (OSError("Name or service not known"), "download .* failed .*BENCH_DATA_DIR"),
    (ValueError("SHA256 hash of downloaded file does not match"), "checksum mismatch"),
])
def test_a_failed_download_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               error, message):
    pooch = pytest.importorskip("pooch")

    def retrieve(*args, **kwargs):
        raise error

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(PluginInputError, match=message):
        load_mnist(data_dir=str(tmp_path / "empty"))


def test_known_array_checksums_match_sources_md(shared_data: Path):
    text = (shared_data / "SOURCES.md").read_text()
    for key, digest in images.MNIST_ARRAY_SHA256.items():
        assert f"`{key}.tobytes()` | {digest}" in text
    with np.load(shared_data / "mnist" / "mnist.npz") as archive:
        assert hashlib.sha256(archive["x_test"].tobytes()).hexdigest() == images.MNIST_ARRAY_SHA256["x_test"]


def test_digits_are_scikit_learns_without_importing_it():
    """``digits`` reads the file scikit-learn ships: the same pixels as ``load_digits()``, and
    loading it leaves scikit-learn unimported (its import was most of a finished suite's rerun)."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    data = images.load_digits()
    np.testing.assert_array_equal(data.X, (load_digits().data / 16.0).astype(np.float32))
    code = ("import sys; from bench_plugins.images import load_digits; load_digits(); "
            "print('sklearn' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
