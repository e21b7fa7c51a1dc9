"""A run started with SIGINT ignored (``bench run ... &`` in a script) still stops on Ctrl-C, and a
run whose output is not a terminal says at its start how many cells are stored and how many run."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

from benchmark.progress import start_line

SLOW_PLUGIN = '''
import time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl


class Slow(RatingModel):
    """Takes a second per fit, so that a signal arrives while cells are left."""

    def fit(self, train):
        time.sleep(1.0)
        return self

    def predict(self, users, items):
        return np.full(len(users), 3.0)


@hookimpl
def bench_models():
    return [ModelSpec("slow", {RATING: Slow})]
'''

SUITE = """
name: signals
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.3}
    split: {method: kfold, k: 10}
models: [slow]
metrics: [rmse]
plugins: [slow.py]
"""


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a non-interactive shell starts a background job


def test_ctrl_c_stops_a_run_started_with_sigint_ignored(tmp_path):
    (tmp_path / "slow.py").write_text(SLOW_PLUGIN)
    (tmp_path / "suite.yaml").write_text(SUITE)
    process = subprocess.Popen([sys.executable, "-m", "benchmark", "run", str(tmp_path / "suite.yaml"),
                                "--out", str(tmp_path / "out"), "--executor", "inline"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ignore_sigint)
    try:
        cells = tmp_path / "out" / "cells.jsonl"
        while not (cells.exists() and cells.read_text().count("\n") >= 1):  # a cell finished: the run is going
            assert process.poll() is None, process.communicate()  # (a hang is pytest-timeout's to stop)
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert 1 <= cells.read_text().count("\n") < 10  # stopped before the tenth fold


def test_the_start_line_on_a_log_and_not_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert start_line(io.StringIO(), 12, 8) == "bench: 12 stored, 8 to run\n"
    assert start_line(Terminal(), 12, 8) == ""


def test_a_piped_run_says_what_is_stored_and_what_runs(tmp_path):
    (tmp_path / "suite.yaml").write_text(SUITE.replace("k: 10", "k: 2").replace("slow", "global-mean")
                                         .replace("plugins: [global-mean.py]\n", ""))
    command = [sys.executable, "-m", "benchmark", "run", str(tmp_path / "suite.yaml"), "--out", str(tmp_path / "out")]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[0] == "bench: 0 stored, 2 to run"
    (tmp_path / "suite.yaml").write_text((tmp_path / "suite.yaml").read_text().replace(
        "models: [global-mean]", "models: [global-mean, bias-baseline]"))
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.stderr.splitlines()[0] == "bench: 2 stored, 2 to run"
    quiet = subprocess.run(command + ["-q"], capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert "stored" not in quiet.stderr


def test_the_start_line_waits_for_the_first_cell():
    from benchmark.events import Started
    from benchmark.progress import LineDisplay

    stream = io.StringIO()
    display = LineDisplay(stream, total=5, done=3, heartbeat=0, announce=True)
    assert stream.getvalue() == ""  # an executor that cannot start (a scheduler out of reach) says only its error
    display.handle(Started("a", "w1", "d fold 1 m"))
    display.handle(Started("b", "w2", "d fold 2 m"))
    assert stream.getvalue() == "bench: 3 stored, 2 to run\n"
