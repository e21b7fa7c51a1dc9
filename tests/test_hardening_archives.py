"""Issue 29, item 7: an archive member that is refused (a path out of its folder, a member that
is not the release's) is one line and exit 1, never a traceback, and nothing is left behind."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_bench

RATINGS = b"user,item,rating\n1,1,5\n2,1,3\n"

PLUGIN = '''
from benchmark.api import RATING, DatasetSpec, RatingData, hookimpl
from benchmark.cli_data import DataFile, DatasetFiles, Source


def load(data_dir: str | None = None) -> RatingData:
    raise NotImplementedError


load.data_files = lambda: DatasetFiles(
    (DataFile("toy/ratings.csv", ("{pinned}",), cache="toy/ratings.csv"),),
    Source("zip", "{url}", "sha256:{sha}", "toy.zip", "", "toy/ratings.csv"), note="a toy")


@hookimpl
def bench_datasets():
    return [DatasetSpec("toy", load, RATING)]
'''


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def serve():
    """Serve the given bytes at any path; yield a function that starts serving and gives the URL."""
    servers = []

    def start(body: bytes) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_port}/toy.zip"

    yield start
    for httpd in servers:
        httpd.shutdown()


@pytest.mark.parametrize("case", ["zip-slip", "absolute", "wrong member hash"])
def test_a_refused_archive_member_is_one_line_and_exit_1(tmp_path, serve, case):
    pytest.importorskip("pooch")
    members = {"toy/ratings.csv": RATINGS}
    if case == "zip-slip":
        members["../../escaped.txt"] = b"outside"
    elif case == "absolute":
        members["/tmp/escaped-absolute.txt"] = b"outside"
    body = zipped(members)
    pinned = hashlib.sha256(RATINGS if case != "wrong member hash" else b"another release").hexdigest()
    plugin = tmp_path / "toy_plugin.py"
    plugin.write_text(PLUGIN.replace("{url}", serve(body)).replace("{sha}", hashlib.sha256(body).hexdigest())
                      .replace("{pinned}", pinned))
    cache = tmp_path / "cache"
    result = run_bench("data", "download", "toy", "-p", str(plugin), env={"BENCH_CACHE_DIR": str(cache)})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("bench: error: toy: "), result.stderr
    if case == "wrong member hash":
        assert f"toy/ratings.csv at {cache / 'toy.zip'} (downloaded): sha256 " in result.stderr
        assert "the download is not the official release" in result.stderr
    else:
        assert "refusing to extract" in result.stderr and "would be written outside" in result.stderr
    assert not (cache / "toy").exists() or not any((cache / "toy").iterdir())
    assert not list(tmp_path.rglob("escaped*.txt")) and not Path("/tmp/escaped-absolute.txt").exists()
