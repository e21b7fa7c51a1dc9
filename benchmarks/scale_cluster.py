"""A 1,000-cell suite on a Dask LocalCluster whose workers are killed at random: is anything lost?

Cell durations are lognormal around 30 s (sigma 0.6, as a grid of configurations on one dataset
tends to be), scaled down by ``--scale`` (1/1000 by default: about 30 ms) so the run takes
seconds; each cell sleeps its duration inside ``fit``. While the cells run, a thread SIGKILLs a
random Dask worker process every ``--kill-every`` seconds (the nanny restarts it), ``--kills``
times. Every execution of a cell appends ``start``/``done`` lines to a log (one ``write`` each,
``O_APPEND``), so what ran twice is counted from the cells' own side, not the scheduler's.

Printed: cells lost (no row), cells computed twice (two ``done``), cells started twice (a
resubmission of a cell that had begun), rows per status, the scheduler's overhead per cell
(``(wall × workers − Σ durations) / cells``) and the driver's write throughput (rows stored per
second of ``ResultStore.append``, fsync included).

Usage (the ``__main__`` guard matters: Dask's LocalCluster spawns processes that import this
file)::

    python benchmarks/scale_cluster.py [--cells 1000] [--workers 4] [--kills 8] [--scale 0.001]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

PLUGIN = '''
import os, time
import numpy as np
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl

LOG = {log!r}
SCALE = {scale!r}

def duration(i):
    return SCALE * float(np.random.default_rng(i).lognormal(np.log(30.0) - 0.18, 0.6))

class Sleepy(RatingModel):
    def __init__(self, i: int = 0):
        self.i = i
    def fit(self, train):
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"start {{self.i}} {{os.getpid()}}\\n".encode())
        time.sleep(duration(self.i))
        os.write(fd, f"done {{self.i}}\\n".encode())
        os.close(fd)
        self.mean_ = float(train.ratings["rating"].mean())
        return self
    def predict(self, users, items):
        return np.full(len(users), self.mean_)

@hookimpl
def bench_models():
    return [ModelSpec("sleepy", {{RATING: Sleepy}})]
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--kill-every", type=float, default=2.0)
    parser.add_argument("--scale", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np

    from benchmark.engine import DaskExecutor, Finished, Started, Task
    from benchmark.execute import DataCache
    from benchmark.runner import plan
    from benchmark.store import ResultStore
    from benchmark.suite import load_suite

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        log = tmp / "executions.log"
        (tmp / "sleepy.py").write_text(PLUGIN.format(log=str(log), scale=args.scale))
        (tmp / "suite.yaml").write_text(
            "name: cluster\nplugins: [sleepy.py]\nsplit: {method: holdout}\n"
            "datasets: [{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.5}}]\n"
            f"models: [{{name: sleepy, grid: {{i: {list(range(args.cells))}}}}}]\nmetrics: [rmse]\n")
        suite, registry = load_suite(tmp / "suite.yaml", max_configurations=args.cells)
        tasks = [Task.of(cell) for cell in plan(suite, registry, DataCache(registry))]
        durations = {t.id: args.scale * float(np.random.default_rng(t.cell["params"]["i"]).lognormal(
            np.log(30.0) - 0.18, 0.6)) for t in tasks}
        store = ResultStore(tmp / "out")
        rows: dict[str, dict] = {}
        write_seconds = 0.0
        started_cells = set()

        def on_event(event) -> None:
            nonlocal write_seconds
            if isinstance(event, Started):
                started_cells.add(event.cell_id)
            elif isinstance(event, Finished):
                before = time.perf_counter()
                store.append(event.row)
                write_seconds += time.perf_counter() - before
                if event.cell_id in rows:
                    print(f"a second row for {event.cell_id}", file=sys.stderr)
                rows[event.cell_id] = event.row

        kills: list[str] = []
        with DaskExecutor(jobs=args.workers) as executor:
            pids = executor.client.run(os.getpid)
            stop = threading.Event()
            chooser = random.Random(args.seed)

            def killer() -> None:
                while len(kills) < args.kills and not stop.wait(args.kill_every):
                    try:
                        current = executor.client.run(os.getpid)
                    except Exception:
                        continue
                    if not current:
                        continue
                    address, pid = chooser.choice(sorted(current.items()))
                    try:
                        os.kill(pid, signal.SIGKILL)
                        kills.append(address)
                    except ProcessLookupError:
                        pass

            thread = threading.Thread(target=killer, daemon=True)
            began = time.perf_counter()
            thread.start()
            executor.run(tasks, on_event)
            wall = time.perf_counter() - began
            stop.set()
            thread.join()

        lines = log.read_text().splitlines() if log.exists() else []
        starts = collections.Counter(line.split()[1] for line in lines if line.startswith("start"))
        dones = collections.Counter(line.split()[1] for line in lines if line.startswith("done"))
        statuses = collections.Counter(row["status"] for row in rows.values())
        lost = [t.id for t in tasks if t.id not in rows]
        print(f"{len(tasks)} cells, durations lognormal around 30 s x {args.scale:g} "
              f"(mean {np.mean(list(durations.values())) * 1000:.0f} ms, total {sum(durations.values()):.1f} s), "
              f"Dask LocalCluster {args.workers} workers ({len(pids)} at start), {len(kills)} SIGKILLs "
              f"every {args.kill_every:g} s")
        print(f"wall {wall:.1f} s; rows {len(rows)}: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()))
        print(f"cells lost (no row): {len(lost)}")
        print(f"cells computed twice (two 'done'): {sum(1 for n in dones.values() if n > 1)}")
        print(f"cells started twice (resubmitted after their worker died): {sum(1 for n in starts.values() if n > 1)}")
        killed = [r for r in rows.values() if r["status"] != "ok"]
        print(f"cells whose worker was killed under them, recorded as such: {len(killed)}"
              + (f" ({killed[0]['error']})" if killed else ""))
        overhead = (wall * args.workers - sum(durations.values())) / len(tasks)
        print(f"scheduler overhead per cell: {overhead * 1000:.1f} ms (wall x workers - sum of durations, / cells)")
        print(f"driver writes: {len(rows)} rows in {write_seconds:.2f} s of ResultStore.append "
              f"({len(rows) / write_seconds:.0f} rows/s, fsync each)")
        if lost:
            sys.exit(1)


if __name__ == "__main__":
    main()
