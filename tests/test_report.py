"""``bench report``: one self-contained HTML file, checked in a real (headless) Chromium.

The browser is driven with the Chrome DevTools protocol over ``--remote-debugging-pipe`` (file
descriptors 3 and 4, NUL-separated JSON): no Python dependency beyond the standard library.
Checks: no console errors or uncaught exceptions, no network request other than the file
itself and ``data:`` URIs, every image decodes (``naturalWidth > 0``), and a screenshot that
is not blank (more than one colour).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="bench report draws with matplotlib (extra: plots)")

from benchmark.cli_results import register  # noqa: E402
from tests.test_compare import bench_cli, two_runs  # noqa: E402, F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "results" / "reference"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class DevTools:
    """A headless Chromium spoken to over the DevTools pipe."""

    def __init__(self, binary: str, profile: str):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child's ends above fd 9, so that moving them to 3 and 4 cannot clobber one another
        to_chrome_r, from_chrome_w = (self._high(to_chrome_r), self._high(from_chrome_w))

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", f"--user-data-dir={profile}",
                 "--remote-debugging-pipe", "--window-size=1280,1600", "about:blank"]

        def fds() -> None:  # in the child: the browser reads commands on fd 3, replies on fd 4
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        # close_fds=False: closing would happen after preexec_fn and take 3 and 4 with it; the
        # parent's descriptors are not inheritable, so nothing else leaks
        self.process = subprocess.Popen([binary, *flags], preexec_fn=fds, close_fds=False,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict] = []

    @staticmethod
    def _high(fd: int) -> int:
        import fcntl

        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return high

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def load_in_browser(path: Path, full_page: bool = False) -> dict:
    """Open ``path`` in headless Chromium; what a test needs to know about the page (with
    ``full_page``, the screenshot covers the whole page, not only the 1280×1600 window)."""
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    browser = DevTools(CHROMIUM, profile)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        url = path.resolve().as_uri()
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait_for("Page.loadEventFired", timeout=60)
        images = browser.send("Runtime.evaluate", {
            "expression": "JSON.stringify(Array.from(document.images).map(i => "
                          "({w: i.naturalWidth, h: i.naturalHeight, complete: i.complete, "
                          "src: i.src.slice(0, 30)})))",
            "returnByValue": True}, session=session)["result"]["value"]
        text = browser.send("Runtime.evaluate", {"expression": "document.body.innerText",
                                                 "returnByValue": True}, session=session)["result"]["value"]
        options: dict = {"format": "png"}
        if full_page:
            size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            options.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": size["width"],
                                                             "height": min(size["height"], 16000), "scale": 1})
        shot = browser.send("Page.captureScreenshot", options, session=session, timeout=120)["data"]
        time.sleep(0.2)
        browser.send("Runtime.evaluate", {"expression": "1"}, session=session)  # flush pending events
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    errors = []
    requests = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(str(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            errors.append(str(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            requests.append(params["request"]["url"])
    return {"url": url, "images": json.loads(images), "text": text, "screenshot": base64.b64decode(shot),
            "errors": errors, "requests": requests}


def colours(png: bytes) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(found) if found is not None else 1 << 20


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, two_runs):  # noqa: F811
    a, b = two_runs
    out = tmp_path_factory.mktemp("report")
    # a reconstruction run with pictures and loss curves beside the two rating runs
    mnist = out / "mnist-autoencoder"
    shutil.copytree(REFERENCE / "mnist-autoencoder", mnist)
    path = out / "report.html"
    code, stdout, _ = bench_cli("report", str(a), str(b), "-o", str(path))
    assert code == 0 and path.exists(), stdout
    with_pictures = out / "pictures.html"
    code, _, _ = bench_cli("report", str(mnist), str(a), str(b), "-o", str(with_pictures))
    assert code == 0
    return path, with_pictures


def test_the_report_is_one_file_with_every_section(report_file):
    two, three = report_file
    text = two.read_text()
    for heading in ("Leaderboard", "Charts", "Comparison", "Not paired", "Provenance", "Fold fingerprints"):
        assert f">{heading}<" in text, heading
    assert ("Holm-corrected" in text or "Holm-adjusted" in text) and 'class="worse">worse<' in text and 'class="better">better<' in text
    # the comparison's columns say what its numbers are, as bench compare's table does
    assert "<th>p (Holm)</th>" in text and "<th>CI of Δ (Holm step level)</th>" in text and "<th>p</th>" not in text
    pictures = three.read_text()
    assert ">Pictures<" in pictures and "Comparison" not in pictures, "a comparison only for two runs"
    assert pictures.count('src="data:image/png;base64,') == 8, "6 reconstruction grids and 2 loss.png"
    assert "training loss per epoch on mnist" in pictures
    for page in (text, pictures):
        assert "<script" not in page and "<link" not in page and "@import" not in page
        sources = [part.split('"', 1)[0] for part in page.split(' src="')[1:]]
        assert sources and all(s.startswith("data:") for s in sources)


def test_pareto_front():
    from benchmark.report import pareto

    # (seconds, error): the fastest, the best, and one between them are on the front
    points = [(1.0, 0.95), (10.0, 0.90), (5.0, 0.92), (6.0, 0.93), (20.0, 0.91)]
    assert pareto(points, greater=False) == [0, 2, 1]
    assert pareto([(1.0, 0.5), (2.0, 0.9)], greater=True) == [0, 1]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); "
                                             ".ci/run installs it")
@pytest.mark.parametrize("which", [0, 1], ids=["two-runs", "with-pictures"])
def test_the_report_in_a_real_browser(report_file, which):
    path = report_file[which]
    page = load_in_browser(path)
    assert page["errors"] == []
    assert [u for u in page["requests"] if u != page["url"] and not u.startswith("data:")] == []
    assert page["images"], "the report has charts"
    assert all(image["complete"] and image["w"] > 0 and image["h"] > 0 for image in page["images"]), page["images"]
    assert "Leaderboard" in page["text"] and "Provenance" in page["text"]
    assert page["screenshot"][:8] == b"\x89PNG\r\n\x1a\n"
    assert colours(page["screenshot"]) > 1, "the screenshot is blank"


def test_report_refuses_a_directory_as_output(tmp_path, two_runs):  # noqa: F811
    a, _ = two_runs
    code, _, err = bench_cli("report", str(a), "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err
    code, _, err = bench_cli("report", str(a), "-o", str(tmp_path / "typo" / "r.html"))
    assert code == 2 and f"no directory '{tmp_path / 'typo'}' to write it in" in err
    assert not (tmp_path / "typo").exists()


def test_register_gives_the_four_commands():
    import argparse

    parser = argparse.ArgumentParser(prog="bench")
    handlers = register(parser.add_subparsers(dest="command"))
    assert sorted(handlers) == ["compare", "leaderboard", "report", "results"]
