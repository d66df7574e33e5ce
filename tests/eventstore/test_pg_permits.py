"""Node concurrency limits across the members of one PostgreSQL store: permits in the
database (taken up to the limit, given back, taken back from a dead member), and two
real worker processes that never run more attempts of a limited node at once than its
limit."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pg_permit_agents import read

from agentos.events.model import Envelope, NodeSucceeded
from agentos.eventstore.pg_cluster import Membership, enqueue
from agentos.eventstore.pg_permits import acquire, drop_own, freed_key, release
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs import load_graph
from agentos.state import fold

HERE = Path(__file__).parent
AGENTOS = str(Path(sys.executable).parent / "agentos")


async def test_permits_up_to_the_limit_then_one_given_back_lets_the_next_in(pg_url: str) -> None:
    a, b = PostgresEventStore(pg_url), PostgresEventStore(pg_url)
    try:
        assert await acquire(a, "g", "n", 2, "ha") == 0
        assert await acquire(b, "g", "n", 2, "hb") == 1
        assert await acquire(b, "g", "n", 2, "hb") is None  # two taken: the limit
        assert await acquire(a, "g", "n", 2, "ha") is None
        assert await acquire(b, "g", "other", 1, "hb") == 0  # each (graph, node) its own
        assert await acquire(b, "h", "n", 1, "hb") == 0
        with b.wakeups(freed_key("g", "n")) as freed:
            await release(a, "g", "n", 0, "ha")
            await asyncio.wait_for(freed.wait(), 10)  # b hears of it through NOTIFY
        assert await acquire(b, "g", "n", 2, "hb") == 0
        rows = await a.query("SELECT slot, member FROM node_permits WHERE graph = 'g'", ())
        assert sorted(rows) == [(0, b.owner), (0, b.owner), (1, b.owner)]
    finally:
        await a.close()
        await b.close()


async def test_a_lowered_limit_counts_the_permits_above_it(pg_url: str) -> None:
    store = PostgresEventStore(pg_url)
    try:
        assert [await acquire(store, "g", "n", 3, "h") for _ in range(3)] == [0, 1, 2]
        await release(store, "g", "n", 0, "h")
        await release(store, "g", "n", 1, "h")
        assert await acquire(store, "g", "n", 1, "h") is None  # slot 2 still runs
        await release(store, "g", "n", 2, "h")
        assert await acquire(store, "g", "n", 1, "h") == 0
    finally:
        await store.close()


async def test_a_member_starting_again_drops_what_its_past_life_held(pg_url: str) -> None:
    a, b = PostgresEventStore(pg_url), PostgresEventStore(pg_url)
    try:
        assert await acquire(a, "g", "n", 1, "old") == 0
        assert await acquire(b, "g", "n", 1, "hb") is None
        await drop_own(a)
        assert await acquire(b, "g", "n", 1, "hb") == 0
    finally:
        await a.close()
        await b.close()


HOLD = """
import asyncio, sys
from agentos.eventstore.pg_permits import acquire
from agentos.eventstore.postgres import PostgresEventStore

async def main():
    store = PostgresEventStore(sys.argv[1])
    print(await acquire(store, "g", "n", 1, "doomed"), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_the_permits_of_a_killed_member_are_taken_back(pg_url: str) -> None:
    store = PostgresEventStore(pg_url)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, pg_url], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line.strip() == "0"  # the other process holds the only permit
        assert await acquire(store, "g", "n", 1, "me") is None  # its owner lives
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait)
        deadline = time.monotonic() + 30
        while (slot := await acquire(store, "g", "n", 1, "me")) is None:
            assert time.monotonic() < deadline, "the dead member's permit was never taken back"
            await asyncio.sleep(0.05)  # its session ends when the server sees the kill
        assert slot == 0
        rows = await store.query("SELECT member, holder FROM node_permits", ())
        assert rows == [(store.owner, "me")]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await store.close()


def worker(url: str, capacity: int, log: Path) -> subprocess.Popen[str]:
    """`agentos worker` on `url`, importing the agents here; its log lines go to `log`."""
    env = dict(os.environ, AGENTOS_STORE=url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    with open(log, "w") as out:  # the child keeps its own descriptor
        cmd = [AGENTOS, "worker", "--capacity", str(capacity)]
        return subprocess.Popen(cmd, env=env, stderr=out, text=True)


async def ended(store: PostgresEventStore, run_ids: list[str]) -> list[list[Envelope]]:
    """The logs of `run_ids` once every run ended; each succeeded, seqs contiguous."""
    deadline = time.monotonic() + 120
    done = -1
    while done < len(run_ids):
        assert time.monotonic() < deadline, f"{done} of {len(run_ids)} runs ended"
        await asyncio.sleep(0.05)
        rows = await store.query(
            "SELECT count(*) FROM runs WHERE run_id = ANY(%(r)s) AND ended", {"r": run_ids}
        )
        done = rows[0][0]
    logs = [await store.read_all(r) for r in run_ids]
    for run_id, log in zip(run_ids, logs, strict=True):
        assert [e.seq for e in log] == list(range(1, len(log) + 1)), run_id
        assert fold(log).status == "succeeded", run_id
    return logs


def counted_graph(
    name: str, counter: Path, limit: int | None, until: int, order: Path | None = None
) -> dict[str, Any]:
    """One node whose attempts count themselves in `counter` (and note their pid in
    `order`) and wait for `until` of them to run at once; `limit` is its concurrency."""
    policy = {"concurrency": limit} if limit is not None else {}
    params: dict[str, Any] = {"counter": str(counter), "until": until, "sleep": 0.1}
    if order is not None:
        params["order"] = str(order)
    node = {"name": "work", "agent": "pg_permit_agents:counted", "params": params}
    if policy:
        node["policy"] = policy
    return load_graph({"name": name, "nodes": [node]}).model_dump(mode="json")


async def members_joined(store: PostgresEventStore, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(await store.query("SELECT 1 FROM members", ())) < n:
        assert time.monotonic() < deadline, "the workers never joined"
        await asyncio.sleep(0.05)


async def two_workers(
    pg_url: str, tmp_path: Path
) -> tuple[PostgresEventStore, list[subprocess.Popen[str]]]:
    """A store on `pg_url` (its schema made before the workers race) and two `agentos
    worker` processes of capacity 6 on it."""
    store = PostgresEventStore(pg_url)
    here = Membership(store, 1)
    await here.join()
    await here.leave()
    return store, [worker(pg_url, 6, tmp_path / f"w{i}.log") for i in range(2)]


async def test_a_node_limit_holds_across_two_worker_processes(pg_url: str, tmp_path: Path) -> None:
    store, workers = await two_workers(pg_url, tmp_path)
    limited, free = tmp_path / "limited", tmp_path / "free"
    run_ids = [f"l{i}" for i in range(12)]
    try:
        await members_joined(store, 2)
        # every attempt waits until two run at once: a limit served one at a time fails
        doc = counted_graph("limited", limited, limit=2, until=2)
        for run_id in run_ids:
            await enqueue(store, run_id, doc, {}, None)
        logs = await ended(store, run_ids)
        # a graph without a limit: four attempts run at once, across the members
        free_ids = [f"f{i}" for i in range(8)]
        doc = counted_graph("free", free, limit=None, until=4)
        for run_id in free_ids:
            await enqueue(store, run_id, doc, {}, None)
        await ended(store, free_ids)
        deadline = time.monotonic() + 30
        while await store.query("SELECT 1 FROM node_permits", ()):
            assert time.monotonic() < deadline, "permits were not given back"
            await asyncio.sleep(0.05)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            await asyncio.to_thread(proc.wait, 30)
        await store.close()
    now, most, started = read(limited)
    assert (now, most, started) == (0, 2, 12)  # never more than the limit at once
    pids = {e.data.output["pid"] for log in logs for e in log if isinstance(e, NodeSucceeded)}
    assert pids == {p.pid for p in workers}  # both members ran some
    assert any(e.type == "node_scheduled" for log in logs for e in log)  # some waited
    now, most, started = read(free)
    assert now == 0 and most >= 4 and started == 8


async def test_a_member_with_waiting_attempts_does_not_keep_a_busy_node_to_itself(
    pg_url: str, tmp_path: Path
) -> None:
    """Limit 1, six runs on each member: a member whose own attempts wait keeps a freed
    permit only while no other member says it waits, so the node goes back and forth."""
    store, workers = await two_workers(pg_url, tmp_path)
    counter, order = tmp_path / "counter", tmp_path / "order"
    run_ids = [f"o{i}" for i in range(12)]
    try:
        await members_joined(store, 2)
        doc = counted_graph("single", counter, limit=1, until=1, order=order)
        for run_id in run_ids:
            await enqueue(store, run_id, doc, {}, None)
        await ended(store, run_ids)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            await asyncio.to_thread(proc.wait, 30)
        await store.close()
    assert read(counter) == (0, 1, 12)
    pids = [int(line) for line in order.read_text().split()]
    assert sorted(set(pids)) == sorted(p.pid for p in workers)
    # kept to itself, each member would run its six in one go: one switch
    switches = sum(a != b for a, b in itertools.pairwise(pids))
    assert switches >= 3, pids
