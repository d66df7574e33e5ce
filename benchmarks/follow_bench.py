"""Follow latency across processes on one PostgreSQL store: a writer process appends
events to N runs at a steady rate; a follower process follows the N runs with
`store.follow` (woken by the NOTIFY each commit group sends). Latency is the time from
the writer's append returning (acknowledged) to the follower yielding the event, and
from the append's call (so with its commit) to the same; both ends read CLOCK_MONOTONIC
(one clock for every process of the machine). The follower can see an event before the
writer's loop gets round to its acknowledgement: such latencies are negative.

On a throwaway PostgreSQL cluster, as the tests start it (fsync, synchronous_commit on).

    .venv/bin/python benchmarks/follow_bench.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "eventstore"))
from postgres_cluster import cluster  # noqa: E402
from store_support import make_batch, make_event  # noqa: E402

from agentos.eventstore.postgres import PostgresEventStore  # noqa: E402

#: (runs followed, events per second over all runs)
CASES = ((1, 100), (100, 500), (100, 2000))


async def create(url: str, runs: int) -> None:
    """Each run's first event, appended by this process (which then lets them go)."""
    store = PostgresEventStore(url)
    try:
        first = [make_event(f"f{i}", 1, "run_created") for i in range(runs)]
        await asyncio.gather(*(store.append(e.run_id, [e], 0) for e in first))
    finally:
        await store.close()


async def write(
    url: str, runs: int, rate: float, seconds: float
) -> dict[str, list[tuple[int, int]]]:
    """Append one event at a time to each run on a steady schedule; the monotonic ns at
    which each append was called and returned, per run (seq 2 onward)."""
    store = PostgresEventStore(url)
    per_run = max(1, int(rate * seconds / runs))
    period = runs / rate
    acked: dict[str, list[tuple[int, int]]] = {}

    async def one(i: int, t0: float) -> None:
        run_id = f"f{i}"
        times = acked.setdefault(run_id, [])
        await store.prepare(run_id)  # the claim, before the clock starts
        for k in range(per_run):
            await asyncio.sleep(max(0.0, t0 + i * period / runs + k * period - time.monotonic()))
            seq = k + 2
            called = time.monotonic_ns()
            await store.append(run_id, make_batch(run_id, seq, 1), seq - 1)
            times.append((called, time.monotonic_ns()))

    try:
        t0 = time.monotonic() + 0.5
        await asyncio.gather(*(one(i, t0) for i in range(runs)))
    finally:
        await store.close()
    return acked


async def follow(url: str, runs: int, events: int) -> dict[str, list[int]]:
    """Follow each run until `events` more events came; the monotonic ns at which each
    was yielded, per run. Prints `ready` once every follower has read the run."""
    store = PostgresEventStore(url)
    seen: dict[str, list[int]] = {f"f{i}": [] for i in range(runs)}
    started = asyncio.Event()
    reading = 0

    async def one(run_id: str) -> None:
        nonlocal reading
        async for event in store.follow(run_id):
            if event.seq == 1:
                reading += 1
                if reading == runs:
                    started.set()
                continue
            seen[run_id].append(time.monotonic_ns())
            if len(seen[run_id]) == events:
                return

    try:
        tasks = [asyncio.create_task(one(r)) for r in seen]
        await started.wait()
        print("ready", flush=True)
        await asyncio.gather(*tasks)
    finally:
        await store.close()
    return seen


def case(url: str, runs: int, rate: float, seconds: float) -> tuple[list[float], list[float]]:
    """Latencies (ms) of every event of one case, writer and follower in two processes:
    from the append's acknowledgement, and from its call."""
    asyncio.run(create(url, runs))
    per_run = max(1, int(rate * seconds / runs))
    me = [sys.executable, __file__, "--url", url, "--runs", str(runs)]
    follower = subprocess.Popen(
        [*me, "--role", "follower", "--events", str(per_run)], stdout=subprocess.PIPE, text=True
    )
    assert follower.stdout is not None
    assert follower.stdout.readline().strip() == "ready"
    writer = subprocess.run(
        [*me, "--role", "writer", "--rate", str(rate), "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(follower.communicate(timeout=120)[0])
    acked = json.loads(writer.stdout)
    pairs = [(t, s) for r in acked for t, s in zip(acked[r], seen[r], strict=True)]
    return [(s - a) / 1e6 for (_, a), s in pairs], [(s - c) / 1e6 for (c, _), s in pairs]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", choices=("writer", "follower"))
    parser.add_argument("--url")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--events", type=int, default=0)
    args = parser.parse_args()
    if args.role == "writer":
        print(json.dumps(asyncio.run(write(args.url, args.runs, args.rate, args.seconds))))
        return
    if args.role == "follower":
        print(json.dumps(asyncio.run(follow(args.url, args.runs, args.events))))
        return
    with cluster() as pg:
        if isinstance(pg, str):
            sys.exit(f"no PostgreSQL: {pg}")
        print(
            "runs followed | events/s | events | from ack: min, p50, p99, max ms"
            " | from the append's call: p50, p99, max ms (median of rounds)"
        )
        for runs, rate in CASES:
            rounds = [case(pg.fresh_url(), runs, rate, args.seconds) for _ in range(args.rounds)]
            acked = summary([r[0] for r in rounds], low=True)
            called = summary([r[1] for r in rounds], low=False)
            print(f"{runs} | {rate:.0f} | {len(rounds[0][0])} | {acked} | {called}")


def summary(rounds: list[list[float]], low: bool) -> str:
    """Median over rounds of (min,) p50, p99 and max, in ms."""
    stats = [quantile(r, 0.5) for r in rounds], [quantile(r, 0.99) for r in rounds]
    found = [statistics.median(stats[0]), statistics.median(stats[1])]
    found.append(statistics.median(max(r) for r in rounds))
    if low:
        found.insert(0, statistics.median(min(r) for r in rounds))
    return ", ".join(f"{v:.1f}" for v in found)


if __name__ == "__main__":
    main()
