"""What a run shows while it goes, built from the engine's events (:mod:`benchmark.events`).

* On a terminal, :class:`LiveDisplay`: one line per finished cell scrolling above a live panel
  with cells done / total, failures, elapsed time, ETA, and a table of the cells running now —
  worker, elapsed time, and the progress the model reports (``epoch 40/200``).
* Elsewhere (a pipe, a CI log), :class:`LineDisplay`: one line per finished cell
  (``[3/34] movielens-100k u1 svd: rmse=0.9359 mae=0.7378 (1.32s fit)``) and, for a cell running
  long, a heartbeat line every ``heartbeat`` seconds (``... still running after 2m00s:
  movielens-100k u1 autorec (epoch 40/200)``).
* :class:`QuietDisplay`: nothing.

rich rather than tqdm: tqdm draws one bar per loop, and several concurrent bars (one per worker)
fight over the cursor as soon as anything else prints; what a run needs is a small live table
(several cells at once, each with its own elapsed time and epochs, rows coming and going) with
log lines scrolling above it, which is exactly ``rich.live.Live`` plus ``console.print``. rich is
already a dependency, and its ``Console`` degrades cleanly when the stream is not a terminal.

Each display is a context manager with ``handle(event)``; the engine calls ``handle`` in the
run's thread, a display's own thread only redraws (live) or writes heartbeats (lines).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from benchmark.events import Display as Display  # the protocol every display here follows
from benchmark.events import Event, Finished, Flush, Log, Progress, Started, Stopped
from benchmark.record import CellResult

Clock = Callable[[], float]  # seconds, monotonic (a test's fake clock)


def format_duration(seconds: float) -> str:
    """``42s``, ``2m05s``, ``1h02m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_row(number: int, total: int, result: CellResult) -> str:
    """``[3/34] dataset fold model: rmse=0.9359 (0.42s fit)``, or the failure and its reason."""
    if result.status == "ok":
        metrics = " ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
        status = f"{metrics} ({result.fit_seconds or 0:.2f}s fit)"
        if result.metric_errors:
            status += " metric errors: " + "; ".join(f"{k}: {v}" for k, v in result.metric_errors.items())
        status += sampled_negatives_warning(result.counts)
    else:
        status = f"{str(result.status).upper()}: {result.error}"
    return f"[{number}/{total}] {result.dataset} fold {result.fold_name} {result.model}: {status}"


def sampled_negatives_warning(counts: Mapping[str, Any]) -> str:
    """`` warning: 3 user(s) had fewer than 50 sampled negatives (fewest 41)`` for a ranking cell
    whose users could not all get the negatives asked (the task's counts), else empty."""
    short = counts.get("n_users_short_of_negatives")
    if not isinstance(short, int) or short <= 0:
        return ""
    return (f" warning: {short} user(s) had fewer than {counts.get('n_sampled_negatives', '?')} sampled "
            f"negatives (fewest {counts.get('n_negatives_drawn_min', '?')})")


def format_progress(done: int | None, total: int | None, unit: str) -> str:
    if done is None:
        return ""
    return f"{unit} {done}/{total}" if total else f"{unit} {done}"


@dataclass
class Running:
    label: str
    worker: str
    since: float
    done: int | None = None
    total: int | None = None
    unit: str = ""
    beat: float = 0.0  # when its last heartbeat line was written
    stopped: bool = False  # its worker was stopped (SIGSTOP): it is not making progress

    def describe(self) -> str:
        progress = format_progress(self.done, self.total, self.unit)
        if self.stopped:
            return "STOPPED (SIGSTOP?)" + (f", {progress}" if progress else "")
        return progress


class _Tally:
    """Counts and the cells running now; shared by the displays."""

    def __init__(self, total: int, done: int = 0, clock: Clock = time.monotonic):
        self.total, self.done, self.failed, self.finished_here = total, done, 0, 0
        self.clock = clock
        self.start = clock()
        self.running: dict[str, Running] = {}
        self.lock = threading.Lock()

    def update(self, event: Event) -> CellResult | None:
        """Apply ``event``; the result of a finished cell, else None."""
        with self.lock:
            if isinstance(event, Started):
                now = self.clock()
                self.running[event.cell_id] = Running(event.label, event.worker, now, beat=now)
            elif isinstance(event, Progress) and event.cell_id in self.running:
                cell = self.running[event.cell_id]
                cell.done, cell.total, cell.unit = event.done, event.total, event.unit
            elif isinstance(event, Stopped) and event.cell_id in self.running:
                self.running[event.cell_id].stopped = event.stopped
            elif isinstance(event, Finished):
                self.running.pop(event.cell_id, None)
                self.done += 1
                self.finished_here += 1
                if event.result.status != "ok":
                    self.failed += 1
                return event.result
        return None

    def eta(self) -> float | None:
        """Seconds left at this run's pace so far; None before the first cell finishes."""
        if not self.finished_here:
            return None
        elapsed = self.clock() - self.start
        return elapsed / self.finished_here * max(0, self.total - self.done)


class QuietDisplay:
    def __enter__(self) -> QuietDisplay:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def handle(self, event: Event) -> None:
        pass


class LineDisplay:
    """One line per finished cell; a heartbeat line every ``heartbeat`` s for a long cell.

    ``lines=False`` writes only the heartbeats (for a caller that prints finished cells itself);
    ``announce=True`` (a run's display) first writes ``bench: 12 stored, 8 to run`` when the first
    cell starts.
    Lines of finished cells are written together at each :class:`~benchmark.events.Flush` (the
    end of an engine loop pass), before any other line, or when the display closes: one write
    per pass, not per cell.
    """

    def __init__(self, stream: TextIO, total: int, done: int = 0, heartbeat: float = 60.0,
                 clock: Clock = time.monotonic, lines: bool = True, announce: bool = False):
        self.stream, self.heartbeat, self.lines = stream, heartbeat, lines
        self.announce = announce  # say "N stored, M to run" when the first cell starts
        self.tally = _Tally(total, done, clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._lines: list[str] = []

    def __enter__(self) -> LineDisplay:
        if self.heartbeat and self.heartbeat > 0:
            self._thread = threading.Thread(target=self._beat_loop, name="bench-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def _write(self, line: str) -> None:
        with self._write_lock:
            self._lines.append(line)
        self.flush()

    def flush(self) -> None:
        with self._write_lock:
            lines, self._lines = self._lines, []
            if not lines:
                return
            try:
                self.stream.write("".join(line + "\n" for line in lines))
                self.stream.flush()
            except (OSError, ValueError):  # a closed pipe must not stop the run
                pass

    def handle(self, event: Event) -> None:
        if self.announce and isinstance(event, Started):  # once the cells really start (a scheduler was reached)
            self.announce = False
            said = start_line(self.stream, self.tally.done, self.tally.total - self.tally.done)
            if said:
                self._write(said.rstrip("\n"))
        result = self.tally.update(event)
        if result is not None:
            if self.lines:
                with self._write_lock:
                    self._lines.append(format_row(self.tally.done, self.tally.total, result))
        elif isinstance(event, Log) and not event.cell_id:
            self._write(f"bench: {event.text}")
        elif isinstance(event, Flush):
            self.flush()

    def beat(self) -> None:
        """Write a heartbeat line for each cell whose last one is ``heartbeat`` seconds old."""
        now = self.tally.clock()
        lines = []
        with self.tally.lock:
            for cell in self.tally.running.values():
                if now - cell.beat >= self.heartbeat:
                    cell.beat = now
                    progress = cell.describe()
                    state = "stopped" if cell.stopped else "still running"
                    lines.append(f"... {state} after {format_duration(now - cell.since)}: {cell.label}"
                                 + (f" ({progress})" if progress else ""))
        for line in lines:
            self._write(line)

    def _beat_loop(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat)):
            self.beat()


class LiveDisplay:
    """rich: finished cells scroll above a live panel of counts, ETA and the running cells.

    Lines of finished cells are printed together at each :class:`~benchmark.events.Flush`,
    before a :class:`~benchmark.events.Log`, or when the display closes."""

    def __init__(self, stream: TextIO, total: int, done: int = 0, console: Any = None,
                 clock: Clock = time.monotonic):
        from rich.console import Console

        self.console = console or Console(file=stream, highlight=False)
        self.tally = _Tally(total, done, clock)
        self._live: Any = None
        self._rows: list[tuple[str, str]] = []  # finished cells' lines, printed at each Flush

    def __enter__(self) -> LiveDisplay:
        from rich.live import Live

        self._live = Live(console=self.console, get_renderable=self.render, refresh_per_second=4,
                          transient=True, redirect_stdout=False, redirect_stderr=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.flush()
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def flush(self) -> None:
        """Print the finished cells' lines held since the last pass, as one block."""
        if not self._rows:
            return
        from rich.text import Text

        text = Text()
        for n, (line, style) in enumerate(self._rows):
            text.append(line + ("\n" if n < len(self._rows) - 1 else ""), style=style)
        self._rows = []
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def handle(self, event: Event) -> None:
        result = self.tally.update(event)
        if result is not None:
            style = "" if result.status == "ok" else "red"
            self._rows.append((format_row(self.tally.done, self.tally.total, result), style))
        elif isinstance(event, Flush):
            self.flush()
        elif isinstance(event, Log):
            self.flush()
            self.console.print(event.text, style="dim", markup=False, highlight=False, soft_wrap=True)

    def render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        tally = self.tally
        with tally.lock:
            now = tally.clock()
            eta = tally.eta()
            head = Text()
            head.append(f"{tally.done}/{tally.total} cells", style="bold")
            if tally.failed:
                head.append(f" · {tally.failed} failed", style="red")
            head.append(f" · {format_duration(now - tally.start)} elapsed")
            head.append(f" · ETA {format_duration(eta)}" if eta is not None else " · ETA —")
            table = Table(box=None, show_header=bool(tally.running), padding=(0, 1), pad_edge=False)
            table.add_column("worker", style="dim", no_wrap=True)
            table.add_column("running", overflow="ellipsis", no_wrap=True)
            table.add_column("elapsed", justify="right", no_wrap=True)
            table.add_column("progress", no_wrap=True)
            for cell in sorted(tally.running.values(), key=lambda c: c.since):
                table.add_row(cell.worker, cell.label, format_duration(now - cell.since), cell.describe())
            top = Table.grid(padding=(0, 2))
            top.add_row(ProgressBar(total=max(1, tally.total), completed=tally.done, width=30), head)
        return Group(top, table) if tally.running else top


def start_line(stream: TextIO, stored: int, to_run: int) -> str:
    """``bench: 12 stored, 8 to run`` for a run whose output is not a terminal (a log, a pipe, CI),
    where no live panel counts the cells; empty on a terminal."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return ""
    return f"bench: {stored} stored, {to_run} to run\n"


def open_display(stream: TextIO, total: int, done: int = 0, mode: str = "auto",
                 heartbeat: float = 60.0, announce: bool = False) -> LiveDisplay | LineDisplay | QuietDisplay:
    """``mode``: ``auto`` (live on a terminal, else lines), ``live``, ``lines`` or ``quiet``;
    ``announce``: lines start with ``N stored, M to run`` (:func:`start_line`; the live panel
    shows the counts itself)."""
    if mode == "auto":
        isatty = getattr(stream, "isatty", None)
        mode = "live" if isatty is not None and isatty() else "lines"
    if mode == "quiet":
        return QuietDisplay()
    if mode == "live":
        return LiveDisplay(stream, total, done)
    return LineDisplay(stream, total, done, heartbeat, announce=announce)
