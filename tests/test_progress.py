"""The progress displays, driven by engine events and a fake clock."""

from __future__ import annotations

import io

from rich.console import Console

from benchmark.events import Finished, Flush, Log, Progress, Started
from benchmark.progress import LineDisplay, LiveDisplay, QuietDisplay, format_duration, open_display
from benchmark.record import CellResult

OK = CellResult.from_stored({"status": "ok", "dataset": "movielens-100k", "fold_name": "u1", "model": "svd",
                             "metrics": {"rmse": 0.93591, "mae": 0.73781}, "fit_seconds": 1.318})
TIMEOUT = CellResult.from_stored({"status": "timeout", "error": "timeout after 600 s", "dataset": "movielens-100k",
                                  "fold_name": "u2", "model": "autorec"})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_per_finished_cell_and_a_heartbeat_for_a_long_one():
    clock, stream = Clock(), io.StringIO()
    display = LineDisplay(stream, total=34, done=2, heartbeat=60, clock=clock)
    display.handle(Started("a", "w1", "movielens-100k u1 svd"))
    display.handle(Started("b", "w2", "movielens-100k u2 autorec"))
    display.handle(Progress("b", 40, 200, "epoch"))
    clock.now += 1.3
    display.handle(Finished("a", OK))
    display.handle(Log("w2: restarted", cell_id="b"))  # about a cell: its row will say it
    display.handle(Flush())  # the engine's pass ends: its lines are written
    clock.now += 58
    display.beat()
    assert stream.getvalue().splitlines()[-1] == "[3/34] movielens-100k fold u1 svd: rmse=0.9359 mae=0.7378 (1.32s fit)"
    clock.now += 1
    display.beat()
    display.beat()  # once per interval
    clock.now += 60
    display.beat()
    clock.now += 5
    display.handle(Finished("b", TIMEOUT))
    display.handle(Flush())
    assert stream.getvalue().splitlines()[1:] == [
        "... still running after 1m00s: movielens-100k u2 autorec (epoch 40/200)",
        "... still running after 2m00s: movielens-100k u2 autorec (epoch 40/200)",
        "[4/34] movielens-100k fold u2 autorec: TIMEOUT: timeout after 600 s",
    ]


def test_the_live_panel_shows_counts_eta_and_the_running_cells():
    clock, stream = Clock(), io.StringIO()
    console = Console(file=stream, width=100, force_terminal=False, color_system=None)
    display = LiveDisplay(stream, total=10, console=console, clock=clock)
    display.handle(Started("a", "w1", "movielens-100k u1 svd"))
    display.handle(Started("b", "w2", "movielens-100k u2 autorec"))
    display.handle(Progress("b", 40, 200, "epoch"))
    clock.now += 10
    display.handle(Finished("a", OK))
    display.handle(Flush())
    display.handle(Started("c", "w1", "movielens-100k u3 svd"))
    clock.now += 20
    console.print(display.render())
    text = stream.getvalue()
    assert "[1/10] movielens-100k fold u1 svd: rmse=0.9359" in text
    assert "1/10 cells · 30s elapsed · ETA 4m30s" in text  # 30 s per cell so far, 9 left
    lines = text.splitlines()
    assert any(line.split() == ["w2", "movielens-100k", "u2", "autorec", "30s", "epoch", "40/200"] for line in lines)
    assert any(line.split() == ["w1", "movielens-100k", "u3", "svd", "20s"] for line in lines)
    display.handle(Finished("b", TIMEOUT))
    console.print(display.render())
    assert "2/10 cells · 1 failed" in stream.getvalue()


def test_modes():
    assert isinstance(open_display(io.StringIO(), 3), LineDisplay)  # not a terminal
    quiet = open_display(io.StringIO(), 3, mode="quiet")
    assert isinstance(quiet, QuietDisplay)
    with quiet:
        quiet.handle(Finished("a", OK))
    assert [format_duration(s) for s in (0, 42, 125, 3725)] == ["0s", "42s", "2m05s", "1h02m"]
