"""Scale: 1,000 concurrent runs of the 8-node graph on the durable JSONL store.

Run: `.venv/bin/python benchmarks/scale_bench.py [--quick] [--json] [--runs N] [--dir DIR]`

Every agent is a coroutine that awaits `asyncio.sleep(0.01)`. Reported: the wall time,
the peak number of OS threads (sampled every 10 ms by a task on the same loop, from
`threading.active_count()` and /proc/self/status `Threads`) and the peak RSS (VmHWM).
Targets: threads under 100, RSS under 500 MB. Also a single run's orchestration overhead
per node with no-op agents: the median of 50 single runs, in memory and on durable JSONL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _agentos_side as aos
from _table import describe, machine, markdown

from agentos.actors import Supervisor
from agentos.eventstore import InMemoryEventStore, JsonlEventStore

NODES = 8
MAX_THREADS = 100
MAX_RSS_MB = 500.0


def proc_status(key: str) -> int | None:
    """An integer field of /proc/self/status (kB for memory fields), None if absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """The process's peak resident set size in MB."""
    hwm = proc_status("VmHWM")
    if hwm is not None:
        return hwm / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ThreadSampler:
    """Samples the thread count every 10 ms from a task on the running loop."""

    def __init__(self) -> None:
        self.peak_python = threading.active_count()
        self.peak_os = proc_status("Threads") or 0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling."""
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop sampling (after one last sample)."""
        self._sample()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _sample(self) -> None:
        self.samples += 1
        self.peak_python = max(self.peak_python, threading.active_count())
        self.peak_os = max(self.peak_os, proc_status("Threads") or 0)

    async def _loop(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(0.01)


async def concurrent_runs(base: Path, runs: int) -> dict[str, Any]:
    """`runs` runs of sleeping agents started together on a fresh durable JSONL store."""
    store = JsonlEventStore(base / "scale", durable=True)
    sampler = ThreadSampler()
    sampler.start()
    sup = Supervisor.start(aos.graph("sleepy"), store, agents=aos.registry())
    try:

        async def one(i: int) -> str:
            run_id = await sup.start_run({"task": i})
            state = await sup.wait(run_id)
            assert state.status == "succeeded", state.status
            return state.status

        t0 = time.perf_counter()
        statuses = await asyncio.gather(*(one(i) for i in range(runs)))
        wall = time.perf_counter() - t0
    finally:
        await sup.stop()
        await store.close()
        await sampler.stop()
    rss = peak_rss_mb()
    return {
        "runs": runs,
        "succeeded": statuses.count("succeeded"),
        "wall_s": wall,
        "runs_per_s": runs / wall,
        "peak_threads_os": sampler.peak_os,
        "peak_threads_python": sampler.peak_python,
        "thread_samples": sampler.samples,
        "peak_rss_mb": rss,
        "threads_ok": sampler.peak_os < MAX_THREADS,
        "rss_ok": rss < MAX_RSS_MB,
    }


async def single_runs(base: Path, durable: bool, n: int) -> dict[str, Any]:
    """The median wall time of `n` single runs of no-op agents, and per node."""
    store = JsonlEventStore(base / "single", durable=True) if durable else InMemoryEventStore()
    sup = Supervisor.start(aos.graph("step"), store, agents=aos.registry())
    walls = []
    try:
        for i in range(n + 3):  # the first three warm up
            t0 = time.perf_counter()
            state = await sup.run({"task": i})
            if i >= 3:
                walls.append(time.perf_counter() - t0)
            assert state.status == "succeeded", state.status
    finally:
        await sup.stop()
        await store.close()
    median = statistics.median(walls)
    return {
        "store": "JSONL durable (fsync)" if durable else "in memory",
        "runs": n,
        "median_run_ms": median * 1e3,
        "us_per_node": median / NODES * 1e6,
    }


async def bench(base: Path, runs: int, singles: int) -> dict[str, Any]:
    """Every measurement, as a JSON-able dict."""
    single = [await single_runs(base, False, singles), await single_runs(base, True, singles)]
    scale = await concurrent_runs(base, runs)
    return {"concurrent": scale, "single": single}


def report(results: dict[str, Any]) -> str:
    """The results as markdown."""
    c = results["concurrent"]
    out = [f"Machine: {describe(results['machine'])}. Command: `{results['command']}`.", ""]
    rows: list[list[object]] = [
        ["runs (8 nodes, 10 ms sleep each)", c["runs"], f"{c['succeeded']} succeeded"],
        ["wall time (s)", c["wall_s"], f"{c['runs_per_s']:.0f} runs/s"],
        [
            "peak OS threads",
            c["peak_threads_os"],
            f"< {MAX_THREADS}: {'PASS' if c['threads_ok'] else 'FAIL'}",
        ],
        ["peak Python threads", c["peak_threads_python"], ""],
        [
            "peak RSS (MB)",
            c["peak_rss_mb"],
            f"< {MAX_RSS_MB:.0f}: {'PASS' if c['rss_ok'] else 'FAIL'}",
        ],
    ]
    out += [markdown(["1,000 concurrent runs, durable JSONL", "value", "target"], rows), ""]
    rows = [
        [s["store"], s["runs"], s["median_run_ms"], s["us_per_node"]] for s in results["single"]
    ]
    out.append(
        markdown(["single run, no-op agents", "runs", "median ms per run", "µs per node"], rows)
    )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 single runs instead of 50")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--runs", type=int, default=1000, help="concurrent runs (1000)")
    parser.add_argument("--dir", help="where to put the data dir (default: a temp dir)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="agentos-scale-", dir=args.dir))
    try:
        results = asyncio.run(bench(base, args.runs, 20 if args.quick else 50))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    results["machine"] = machine()
    results["command"] = "python benchmarks/scale_bench.py" + (" --quick" if args.quick else "")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(report(results))
    c = results["concurrent"]
    return 0 if c["threads_ok"] and c["rss_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
