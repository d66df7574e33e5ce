"""Members on one PostgreSQL store: throughput of one `agentos worker` against two, and
takeover after `kill -9` of a member (first claim, all runs finished).

Workers are real `agentos worker` processes on a throwaway cluster (as the tests start
it), running the 4-node graph of tests/eventstore/pg_agents.py.

    .venv/bin/python benchmarks/members_bench.py [--runs 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "eventstore"))
from pg_agents import graph  # noqa: E402
from postgres_cluster import cluster  # noqa: E402

from agentos.eventstore.pg_cluster import Membership, enqueue  # noqa: E402
from agentos.eventstore.postgres import PostgresEventStore  # noqa: E402
from agentos.graphs import load_graph  # noqa: E402

AGENTOS = str(Path(sys.executable).parent / "agentos")


def worker(url: str, capacity: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, AGENTOS_STORE=url, AGENTOS_FSYNC="1")
    env["PYTHONPATH"] = str(ROOT / "tests" / "eventstore")
    cmd = [AGENTOS, "worker", "--capacity", str(capacity)]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


async def queue(url: str, runs: int, sleep: float, prefix: str) -> None:
    store = PostgresEventStore(url)
    try:
        await Membership(store, 1).join()  # migrate before the workers race
        doc = load_graph(graph(sleep)).model_dump(mode="json")
        await asyncio.gather(*(enqueue(store, f"{prefix}{i}", doc, {}, None) for i in range(runs)))
    finally:
        await store.close()


def wait_ended(url: str, runs: int, timeout: float = 300) -> float:
    deadline = time.perf_counter() + timeout
    while count(url, "SELECT count(*) FROM runs WHERE ended") < runs:
        if time.perf_counter() > deadline:
            raise SystemExit("runs did not end in time")
        time.sleep(0.01)
    return time.perf_counter()


def throughput(url: str, runs: int, members: int) -> tuple[float, list[float]]:
    """runs/s of `members` running workers given `runs` queued runs (from the first
    enqueue to the last end); CPU s per member while they ran."""
    asyncio.run(queue(url, 0, 0.0, "t"))  # the schema, before the workers start
    procs = [worker(url, 100) for _ in range(members)]
    try:
        while count(url, "SELECT count(*) FROM members") < members:
            time.sleep(0.01)
        before = [cpu_seconds(p.pid) for p in procs]
        t0 = time.perf_counter()
        asyncio.run(queue(url, runs, 0.0, "t"))
        end = wait_ended(url, runs)
        cpu = [cpu_seconds(p.pid) - b for p, b in zip(procs, before, strict=True)]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
    return runs / (end - t0), cpu


def takeover(url: str, runs: int) -> tuple[float, float]:
    """After kill -9 of the member that drives `runs` runs, seconds to the first claim
    by the other member and to the end of every run."""
    asyncio.run(queue(url, runs, 2.0, "k"))  # each node 2 s: the kill meets them running
    first = worker(url, runs)
    while count(url, "SELECT count(*) FROM runs WHERE last_seq > 3") < runs:
        time.sleep(0.01)
    second = worker(url, runs)
    time.sleep(1.0)  # the second member is up and idle
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    t0 = time.perf_counter()
    while count(url, "SELECT count(*) FROM runs WHERE epoch > 1") == 0:
        if time.perf_counter() - t0 > 60:
            raise SystemExit("no run was taken over within 60 s")
        time.sleep(0.002)
    claimed = time.perf_counter() - t0
    end = wait_ended(url, runs) - t0
    second.send_signal(signal.SIGTERM)
    second.wait(30)
    return claimed, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with cluster() as pg:
        if isinstance(pg, str):
            sys.exit(f"no PostgreSQL: {pg}")
        print("members | runs | runs/s (median) | CPU s per member (median round)")
        for members in (1, 2):
            rounds = [throughput(pg.fresh_url(), args.runs, members) for _ in range(args.rounds)]
            rates = [r[0] for r in rounds]
            mid = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
            cpu = ", ".join(f"{c:.1f}" for c in mid[1])
            print(f"{members} | {args.runs} | {statistics.median(rates):.0f} | {cpu}")
        print()
        print("takeover after kill -9 | runs | first claim s | all runs ended s")
        results = [takeover(pg.fresh_url(), 200) for _ in range(args.rounds)]
        claim = statistics.median(r[0] for r in results)
        end = statistics.median(r[1] for r in results)
        print(f"median of {args.rounds} | 200 | {claim:.3f} | {end:.2f}")
        print("all rounds: " + "; ".join(f"{c:.3f} / {e:.2f}" for c, e in results))


if __name__ == "__main__":
    main()
