"""Members on one PostgreSQL store: throughput of one `agentos worker` against two, and
takeover after `kill -9` of a member (first claim, all runs finished).

CPU is read from /proc: each member process's, and the PostgreSQL server's (the
postmaster, its live backends, and the backends it reaped meanwhile), per 100 runs.

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


def server_cpu_seconds(url: str) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster with its reaped
    children, and its live children (found as the parent of this query's backend)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        backend = Path(f"/proc/{row[0]}/stat").read_text()  # while it is alive
    postmaster = int(backend.rsplit(")", 1)[1].split()[1])
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile: reaped, so counted in the postmaster's
            continue
        if int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def runs_by_pid(url: str) -> dict[int, int]:
    """How many runs each member process started (it ran their first node)."""
    sql = """
        SELECT (event::jsonb #>> '{data,output,pid}')::int, count(*) FROM events
        WHERE event::jsonb ->> 'type' = 'node_succeeded' AND event::jsonb ->> 'node' = 'a'
        GROUP BY 1
    """
    with psycopg.connect(url, autocommit=True) as conn:
        return {int(pid): int(n) for pid, n in conn.execute(sql).fetchall()}


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


def throughput(url: str, runs: int, members: int) -> tuple[float, list[tuple[float, int]], float]:
    """runs/s of `members` running workers given `runs` queued runs (from the first
    enqueue to the last end); each member's CPU s and the runs it drove, and the
    server's CPU s, while they ran."""
    asyncio.run(queue(url, 0, 0.0, "t"))  # the schema, before the workers start
    procs = [worker(url, 100) for _ in range(members)]
    try:
        while count(url, "SELECT count(*) FROM members") < members:
            time.sleep(0.01)
        before = [cpu_seconds(p.pid) for p in procs]
        server_before = server_cpu_seconds(url)
        t0 = time.perf_counter()
        asyncio.run(queue(url, runs, 0.0, "t"))
        end = wait_ended(url, runs)
        cpu = [cpu_seconds(p.pid) - b for p, b in zip(procs, before, strict=True)]
        server = server_cpu_seconds(url) - server_before
        driven = runs_by_pid(url)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
    shares = [(c, driven.get(p.pid, 0)) for c, p in zip(cpu, procs, strict=True)]
    return runs / (end - t0), shares, server


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
        print(
            "members | runs | runs/s (median) | CPU s per member (runs it drove)"
            " | member CPU s per 100 of its runs | server CPU s | server CPU s per 100 runs"
            " (median round)"
        )
        for members in (1, 2):
            rounds = [throughput(pg.fresh_url(), args.runs, members) for _ in range(args.rounds)]
            rates = [r[0] for r in rounds]
            mid = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
            cpu = ", ".join(f"{c:.2f} ({n})" for c, n in mid[1])
            each = ", ".join(f"{100 * c / max(n, 1):.3f}" for c, n in mid[1])
            server = f"{mid[2]:.2f} | {100 * mid[2] / args.runs:.3f}"
            median = statistics.median(rates)
            print(f"{members} | {args.runs} | {median:.0f} | {cpu} | {each} | {server}")
        print()
        print("takeover after kill -9 | runs | first claim s | all runs ended s")
        results = [takeover(pg.fresh_url(), 200) for _ in range(args.rounds)]
        claim = statistics.median(r[0] for r in results)
        end = statistics.median(r[1] for r in results)
        print(f"median of {args.rounds} | 200 | {claim:.3f} | {end:.2f}")
        print("all rounds: " + "; ".join(f"{c:.3f} / {e:.2f}" for c, e in results))


if __name__ == "__main__":
    main()
