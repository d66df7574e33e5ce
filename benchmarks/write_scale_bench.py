"""The durable write path against its own limits, and at fleet scale (issue 20).

Run: `.venv/bin/python benchmarks/write_scale_bench.py [--quick] [--json] [--dir DIR]`

Measured side by side in one run, on the 8-node graph of `compare_langgraph.py`:
- 100 runs in flight on the durable JSONL store against the same graph in memory,
  alternating over rounds (a fresh store and Supervisor each, warmed by one run and
  its spare folders, as a store that has been running): target ≥ 0.6x; the first
  burst on a new store is shown beside it;
- one run at a time, durable, against its fsync floor (disk flushes per run, counted,
  times one append + fdatasync timed on the same disk next to the runs): target ≤ 2x;
- 5,000 runs started together whose nodes each await 20 ms (ideal run: 6 levels, 120
  ms), durable, in a child process: wall ≤ 30x ideal, peak RSS (VmHWM) < 400 MB;
- 10,000 runs of the same graph started together, durable, in a child process whose
  open-file limit is set to 1,024 (soft and hard, the usual default): all succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _agentos_side as aos
from _table import describe, machine, markdown

from agentos.actors import NodeContext, Supervisor
from agentos.eventstore import JsonlEventStore

DURABLE, MEMORY = aos.VARIANTS[0], aos.VARIANTS[2]
LEVELS = 6  # planner, the 3 in parallel, aggregator, tester, security, release
MIN_VS_MEMORY = 0.6
MAX_TIMES_FLOOR = 2.0
MAX_TIMES_IDEAL = 30.0
MAX_RSS_MB = 400.0
NODE_S = 0.02


async def wait20(ctx: NodeContext) -> dict[str, Any]:
    """A latency-bound node: awaits 20 ms, as a model call or an HTTP request would."""
    await asyncio.sleep(NODE_S)
    return {"ok": True}


async def in_flight(base: Path, rounds: int, runs: int) -> dict[str, Any]:
    """`runs` runs at once, durable and in memory alternating; medians of runs/s.

    The target is timed on warm stores (one run first and the spare folders made: a
    store that has been running); the first burst on a new store is reported beside it."""
    walls: dict[tuple[str, bool], list[float]] = {}
    for r in range(rounds):
        for v in (DURABLE, MEMORY) if r % 2 == 0 else (MEMORY, DURABLE):
            for warm in (True, False):
                gc.collect()
                root = Path(tempfile.mkdtemp(prefix="round-", dir=base))
                wall, _ = await aos.run_round(v, root, runs, True, warm=warm)
                shutil.rmtree(root, ignore_errors=True)
                walls.setdefault((v, warm), []).append(wall)
    rate = {key: runs / statistics.median(w) for key, w in walls.items()}
    ratio = rate[DURABLE, True] / rate[MEMORY, True]
    return {
        "runs": runs,
        "rounds": rounds,
        "durable_runs_per_s": rate[DURABLE, True],
        "memory_runs_per_s": rate[MEMORY, True],
        "ratio": ratio,
        "cold_durable_runs_per_s": rate[DURABLE, False],
        "cold_memory_runs_per_s": rate[MEMORY, False],
        "cold_ratio": rate[DURABLE, False] / rate[MEMORY, False],
        "ok": ratio >= MIN_VS_MEMORY,
    }


async def one_at_a_time(base: Path, rounds: int, runs: int) -> dict[str, Any]:
    """Durable runs one after another against flushes per run x one flush's cost."""
    counter = aos.FsyncCounter()
    walls, probes = [], []
    for _ in range(rounds):
        gc.collect()
        root = Path(tempfile.mkdtemp(prefix="round-", dir=base))
        probes.append(aos.fsync_cost(root, 100))
        wall, _ = await aos.run_round(DURABLE, root, runs, False, counter=counter)
        shutil.rmtree(root, ignore_errors=True)
        walls.append(wall)
    flushes = counter.count / (runs * rounds)
    flush_s = statistics.median(probes)
    run_s = statistics.median(walls) / runs
    times = run_s / (flushes * flush_s)
    return {
        "runs": runs,
        "rounds": rounds,
        "flushes_per_run": flushes,
        "flush_us": flush_s * 1e6,
        "floor_ms": flushes * flush_s * 1e3,
        "run_ms": run_s * 1e3,
        "times_floor": times,
        "ok": times <= MAX_TIMES_FLOOR,
    }


async def concurrent(root: Path, runs: int) -> dict[str, Any]:
    """In a child process: `runs` latency-bound runs started together, durable."""
    reg = aos.registry()
    reg.register("wait20", wait20)
    store = JsonlEventStore(root, durable=True)
    sup = Supervisor.start(aos.graph("wait20"), store, agents=reg)
    try:

        async def one(i: int) -> str:
            run_id = await sup.start_run({"task": i})
            return (await sup.wait(run_id)).status

        t0 = time.perf_counter()
        outcomes = await asyncio.gather(*(one(i) for i in range(runs)), return_exceptions=True)
        wall = time.perf_counter() - t0
    finally:
        await sup.stop()
        await store.close()
    errors = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    return {
        "runs": runs,
        "succeeded": sum(1 for o in outcomes if o == "succeeded"),
        "failed": len(outcomes) - sum(1 for o in outcomes if o == "succeeded"),
        "errors": sorted(set(errors))[:5],
        "wall_s": wall,
        "ideal_s": LEVELS * NODE_S,
        "times_ideal": wall / (LEVELS * NODE_S),
        "peak_rss_mb": peak_rss_mb(),
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        "open_logs_closed": store.open_logs.closed,
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(base: Path, runs: int, nofile: int | None) -> dict[str, Any]:
    """Run `concurrent` in a fresh process (its own peak RSS, its own open-file limit)."""
    cmd = [sys.executable, __file__, "--child", str(runs), "--dir", str(base)]
    if nofile is not None:
        cmd += ["--nofile", str(nofile)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"runs": runs, "succeeded": 0, "failed": runs, "errors": [proc.stderr[-2000:]]}
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


async def bench(base: Path, quick: bool) -> dict[str, Any]:
    """Every measurement, as a JSON-able dict."""
    await aos.run_round(DURABLE, Path(tempfile.mkdtemp(dir=base)), 3, False)  # warm up
    await aos.run_round(MEMORY, Path(tempfile.mkdtemp(dir=base)), 3, False)
    flight = await in_flight(base, 3 if quick else 7, 100)
    single = await one_at_a_time(base, 2 if quick else 5, 30 if quick else 200)
    many = child(base, 1000 if quick else 5000, None)
    many["ok"] = (
        many["failed"] == 0
        and many["times_ideal"] <= MAX_TIMES_IDEAL
        and many["peak_rss_mb"] < MAX_RSS_MB
    )
    fleet = child(base, 2000 if quick else 10_000, 1024)
    fleet["ok"] = fleet["failed"] == 0
    return {"in_flight": flight, "one_at_a_time": single, "latency_bound": many, "fleet": fleet}


def report(results: dict[str, Any]) -> str:
    """The results as markdown."""

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    f, s = results["in_flight"], results["one_at_a_time"]
    m, n = results["latency_bound"], results["fleet"]
    out = [f"Machine: {describe(results['machine'])}. Command: `{results['command']}`.", ""]
    rows: list[list[object]] = [
        [
            f"{f['runs']} in flight: durable / in memory (warm stores)",
            f"{f['durable_runs_per_s']:,.0f} / {f['memory_runs_per_s']:,.0f} runs/s",
            f"{f['ratio']:.2f}x",
            f"≥ {MIN_VS_MEMORY}x",
            verdict(f["ok"]),
        ],
        [
            f"{f['runs']} in flight, the first burst on a new store",
            f"{f['cold_durable_runs_per_s']:,.0f} / {f['cold_memory_runs_per_s']:,.0f} runs/s",
            f"{f['cold_ratio']:.2f}x",
            "(shown)",
            "",
        ],
        [
            "one at a time, durable: run / fsync floor",
            f"{s['run_ms']:.2f} ms / ({s['flushes_per_run']:.1f} x {s['flush_us']:.0f} µs)",
            f"{s['times_floor']:.2f}x",
            f"≤ {MAX_TIMES_FLOOR:.0f}x",
            verdict(s["ok"]),
        ],
    ]
    if "wall_s" in m:
        rows += [
            [
                f"{m['runs']:,} latency-bound runs: wall / ideal",
                f"{m['wall_s']:.2f} s / {m['ideal_s']:.2f} s",
                f"{m['times_ideal']:.1f}x",
                f"≤ {MAX_TIMES_IDEAL:.0f}x",
                verdict(m["times_ideal"] <= MAX_TIMES_IDEAL),
            ],
            [
                f"{m['runs']:,} latency-bound runs: peak RSS",
                f"{m['succeeded']:,} succeeded",
                f"{m['peak_rss_mb']:.0f} MB",
                f"< {MAX_RSS_MB:.0f} MB",
                verdict(m["peak_rss_mb"] < MAX_RSS_MB),
            ],
        ]
    fleet_wall = f", {n['wall_s']:.1f} s" if "wall_s" in n else ""
    rows.append(
        [
            f"{n['runs']:,} runs at once, open files {n.get('nofile', ['?'])[0]}",
            f"{n['succeeded']:,} succeeded{fleet_wall}",
            f"{n['failed']:,} failed",
            "none failed",
            verdict(n["ok"]),
        ]
    )
    out.append(markdown(["measurement", "figures", "measured", "target", "verdict"], rows))
    for r in (m, n):
        if r.get("errors"):
            out += ["", f"errors ({r['runs']:,} runs): " + "; ".join(r["errors"])]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and runs")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--dir", help="where to put the data dirs (default: a temp dir)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--nofile", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        if args.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))
        root = Path(tempfile.mkdtemp(prefix="scale-", dir=args.dir))
        try:
            print(json.dumps(asyncio.run(concurrent(root, args.child))))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return 0
    base = Path(tempfile.mkdtemp(prefix="agentos-writes-", dir=args.dir))
    try:
        results = asyncio.run(bench(base, args.quick))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    results["machine"] = machine()
    results["command"] = "python benchmarks/write_scale_bench.py" + (
        " --quick" if args.quick else ""
    )
    print(json.dumps(results, indent=2) if args.json else report(results))
    checks = [results[k]["ok"] for k in ("in_flight", "one_at_a_time", "latency_bound", "fleet")]
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
