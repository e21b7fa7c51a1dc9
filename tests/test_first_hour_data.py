"""``bench data``: every dataset's files, where they are looked for, present and verified; downloads
that check their checksum, resume, and fail in one line without a network."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from benchmark.api import DataFile, DatasetFiles
from benchmark.cli import main
from benchmark.registry import build_registry
from tests.conftest import run_bench

CONTENT = b"user,item,rating\n" + b"".join(f"{u},{u % 7},{u % 5 + 1}\n".encode() for u in range(4000))
SHA = hashlib.sha256(CONTENT).hexdigest()

PLUGIN = '''
from benchmark.api import RATING, DatasetSpec, RatingData, hookimpl
from benchmark.cli_data import DataFile, DatasetFiles, Source


def load(data_dir: str | None = None) -> RatingData:
    raise NotImplementedError


load.data_files = lambda: DatasetFiles(
    (DataFile("toy/toy.csv", ("{sha}",), cache="toy/toy.csv"),),
    Source("file", "{url}", "sha256:{sha}", "toy/toy.csv"), note="a toy")


@hookimpl
def bench_datasets():
    return [DatasetSpec("toy", load, RATING)]
'''


class RangeServer(http.server.BaseHTTPRequestHandler):
    """Serves CONTENT at any path, honouring ``Range: bytes=N-``; records the ranges asked."""

    ranges: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        asked = self.headers.get("Range")
        self.ranges.append(asked or "")
        start = int(asked.split("=")[1].rstrip("-")) if asked else 0
        body = CONTENT[start:]
        self.send_response(206 if asked else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), RangeServer)
    RangeServer.ranges = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/toy.csv"
    httpd.shutdown()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    return tmp_path


def plugin(tmp_path: Path, url: str) -> str:
    path = tmp_path / "toy_plugin.py"
    path.write_text(PLUGIN.replace("{sha}", SHA).replace("{url}", url))
    return str(path)


def test_lists_every_dataset_plugin_with_its_state(env, capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert "data_dir: not set" in out and f"cache:    {env / 'cache'}" in out
    for name in ("movielens-100k", "movielens-latest-small", "mnist", "digits", "synthetic-ratings",
                 "ratings-file"):
        assert f"\n{name} " in out
    assert "bench data download movielens-100k" in out
    assert "embedded 1/1" in next(line for line in out.splitlines() if line.startswith("movielens-latest-small"))


def test_a_data_dir_that_is_not_a_directory_is_one_line(env, monkeypatch):
    for argv in (["data", "--data-dir", str(env / "typo")], ["data", "download", "digits", "--data-dir", str(env / "typo")]):
        result = run_bench(*argv)
        assert result.returncode == 2 and result.stderr == f"bench: error: --data-dir: directory '{env / 'typo'}' not found\n"
    monkeypatch.setenv("BENCH_DATA_DIR", str(env / "typo"))
    result = run_bench("data", "digits")
    assert result.returncode == 2 and result.stderr == f"bench: error: $BENCH_DATA_DIR: directory '{env / 'typo'}' not found\n"


def test_one_dataset_lists_its_files_and_where_they_were_looked_for(env, capsys):
    (env / "data").mkdir()
    assert main(["data", "movielens-100k", "--data-dir", str(env / "data")]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("ml-100k/u1.base"))
    assert "missing" in line
    assert f"looked in {env / 'data' / 'ml-100k' / 'u1.base'}, {env / 'cache' / 'movielens' / 'ml-100k' / 'u1.base'}" in line


def test_a_qualified_dataset_name_is_accepted_as_suites_accept_it(env, capsys):
    (env / "data").mkdir()
    assert main(["data", "bench-harness:movielens-100k", "--data-dir", str(env / "data")]) == 0
    out = capsys.readouterr().out
    assert "\nmovielens-100k" in out
    assert "missing" in next(line for line in out.splitlines() if line.startswith("ml-100k/u1.base"))


def test_a_name_two_plugins_share_is_refused_with_the_qualified_names(env, capsys):
    first = plugin(env, "http://127.0.0.1:9/toy.csv")
    second = env / "toy_two.py"
    second.write_text(Path(first).read_text())
    assert main(["data", "toy", "-p", first, "-p", str(second)]) == 2
    assert "dataset 'toy' is provided by several plugins; qualify it as 'toy_plugin:toy' or 'toy_two:toy'" \
        in capsys.readouterr().err
    assert main(["data", "toy_two:toy", "-p", first, "-p", str(second)]) == 0
    assert "\ntoy_two:toy: a toy\n" in capsys.readouterr().out


def test_a_built_in_dataset_shows_the_files_its_loader_declares(env, capsys, monkeypatch):
    """bench data knows no dataset by name: a built-in plugin's files are its loader's
    ``data_files``, declared through the public API as a third-party plugin declares them."""
    from bench_plugins import images

    declared = images.load_mnist.data_files()
    assert main(["data", "mnist"]) == 0
    out = capsys.readouterr().out
    assert f"\nmnist: {declared.note}\n" in out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("mnist/")] == \
        [file.path for file in declared.files] == ["mnist/mnist.npz"]

    monkeypatch.setattr(images.load_mnist, "data_files",
                        lambda: DatasetFiles((DataFile("mnist/other.npz"),), note="as declared"))
    assert main(["data", "mnist"]) == 0
    out = capsys.readouterr().out
    assert "\nmnist: as declared\n" in out
    assert "mnist/other.npz  missing" in out and "mnist/mnist.npz" not in out


def test_every_built_in_dataset_declares_its_files():
    registry = build_registry([])
    datasets = [entry for entry in registry.all() if entry.kind == "dataset" and entry.provider.builtin]
    assert {"movielens-100k", "movielens-latest-small", "mnist", "digits"} <= {e.name for e in datasets}
    for entry in datasets:
        assert isinstance(entry.spec.loader.data_files(), DatasetFiles), entry.name


def test_embedded_copy_written_out_as_a_data_dir_then_verified_and_damage_found(env, capsys):
    data = env / "data"
    assert main(["data", "download", "movielens-latest-small", "--to", str(data)]) == 0
    assert "verified 1/1" in capsys.readouterr().out
    assert main(["data", "movielens-latest-small", "--data-dir", str(data)]) == 0
    assert "verified (sha256)" in capsys.readouterr().out
    with (data / "ml-latest-small" / "ratings.csv").open("a") as handle:
        handle.write("1,1,5.0,0\n")
    assert main(["data", "movielens-latest-small", "--data-dir", str(data)]) == 1
    assert "damaged (sha256 " in capsys.readouterr().out


def test_download_checks_the_checksum_and_lands_where_the_loader_looks(env, server, capsys):
    pytest.importorskip("pooch")
    toy = plugin(env, server)
    assert main(["data", "download", "toy", "-p", toy]) == 0
    assert capsys.readouterr().out == f"toy: verified 1/1 in {env / 'cache' / 'toy'}\n"
    assert (env / "cache" / "toy" / "toy.csv").read_bytes() == CONTENT
    assert main(["data", "download", "toy", "-p", toy]) == 0  # already there: no second request
    assert RangeServer.ranges == [""]


def test_an_interrupted_download_resumes_from_its_part_file(env, server, capsys):
    pytest.importorskip("pooch")
    toy = plugin(env, server)
    part = env / "cache" / "toy" / ".toy.csv.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(CONTENT[:1000])
    assert main(["data", "download", "toy", "-p", toy]) == 0
    assert RangeServer.ranges == ["bytes=1000-"]
    assert (env / "cache" / "toy" / "toy.csv").read_bytes() == CONTENT and not part.exists()


def test_without_a_network_one_line_and_exit_1(env, tmp_path):
    pytest.importorskip("pooch")
    toy = plugin(tmp_path, "http://127.0.0.1:9/toy.csv")  # the discard port: nothing listens
    result = run_bench("data", "download", "toy", "-p", toy, env={"BENCH_CACHE_DIR": str(env / "cache")})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("bench: error: toy: download of http://127.0.0.1:9/toy.csv failed (")
    assert "copy the files into a data_dir (see docs/test-data.md)" in result.stderr


def test_unknown_dataset_and_nothing_to_download(env, capsys):
    assert main(["data", "movielens-100"]) == 2
    assert "no dataset plugin named 'movielens-100'; did you mean 'movielens-100k'" in capsys.readouterr().err
    assert main(["data", "download", "digits"]) == 2
    assert "nothing to download: embedded in scikit-learn" in capsys.readouterr().err
