"""Members on one PostgreSQL store: queued runs claimed once, orphans taken over after
kill -9 (a takeover is a resume), a paused owner fenced out, commands to the owner."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pg_acks import Members
from pg_agents import graph
from postgres_cluster import Cluster

from agentos.actors.cancel import cancel_elsewhere
from agentos.actors.signals import send_signal
from agentos.agents import AgentRegistry
from agentos.cluster import Member
from agentos.events.model import Envelope, NodeRetrying, NodeSucceeded
from agentos.eventstore.pg_cluster import Membership, enqueue
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs import load_graph
from agentos.state import fold

HERE = Path(__file__).parent
AGENTOS = str(Path(sys.executable).parent / "agentos")


def spec_doc(sleep: float = 0.05) -> dict[str, Any]:
    return load_graph(graph(sleep)).model_dump(mode="json")


async def all_ended(store: PostgresEventStore, run_ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    ended = -1
    while True:
        try:
            rows = await store.query(
                "SELECT count(*) FROM runs WHERE run_id = ANY(%(r)s) AND ended", {"r": run_ids}
            )
            ended = rows[0][0]
        except psycopg.OperationalError:  # a pooled connection the server restart cut
            pass
        if ended == len(run_ids):
            return
        assert time.monotonic() < deadline, f"{ended} of {len(run_ids)} runs ended"
        await asyncio.sleep(0.05)


async def check_logs(store: PostgresEventStore, run_ids: list[str]) -> list[list[Envelope]]:
    """Every run succeeded, seqs contiguous, no attempt of a node succeeded twice."""
    logs = []
    for run_id in run_ids:
        events = await store.read_all(run_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1)), run_id
        assert fold(events).status == "succeeded", run_id
        done = Counter(e.node for e in events if e.type == "node_succeeded")
        assert set(done.values()) == {1}, (run_id, done)
        logs.append(events)
    return logs


def worker(
    url: str, capacity: int = 50, ttl: float = 10.0, log: Path | None = None
) -> subprocess.Popen[str]:
    """`agentos worker` on `url`; its log lines go to `log` (never a pipe nobody reads)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["AGENTOS_STORE"] = url
    cmd = [AGENTOS, "worker", "--capacity", str(capacity)]
    if log is None:
        return subprocess.Popen(
            [*cmd, "--ttl", str(ttl)], env=env, stderr=subprocess.DEVNULL, text=True
        )
    with open(log, "w") as out:  # the child keeps its own descriptor
        return subprocess.Popen([*cmd, "--ttl", str(ttl)], env=env, stderr=out, text=True)


async def test_queued_runs_are_claimed_once_across_members(pg_url: str) -> None:
    registry = AgentRegistry()
    stores = [PostgresEventStore(pg_url) for _ in range(2)]
    members = [Member(s, registry, capacity=5) for s in stores]
    tasks = [asyncio.create_task(m.run()) for m in members]
    run_ids = [f"q{i}" for i in range(30)]
    try:
        for run_id in run_ids:
            await enqueue(stores[0], run_id, spec_doc(0.01), {"n": 1}, None)
        await all_ended(stores[0], run_ids)
        logs = await check_logs(stores[0], run_ids)
    finally:
        for m in members:
            m.stop()
        await asyncio.gather(*tasks)
        for s in stores:
            await s.close()
    owners = Counter(
        e.data.output["pid"] for log in logs for e in log if isinstance(e, NodeSucceeded)
    )
    assert sum(owners.values()) == 30 * 4  # one process here: both members ran nodes
    assert not await_queue_left(pg_url)


def await_queue_left(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM run_queue").fetchone()
    return int(row[0]) if row else 0


async def test_kill_9_of_one_of_two_members_with_200_runs_in_flight(
    pg_url: str, tmp_path: Path
) -> None:
    """Two member processes drive 100 runs each; one is killed -9 mid-run. Every queued
    run ends, and the logs agree with what each member saw acknowledged (`pg_acks`)."""
    store = PostgresEventStore(pg_url)
    members = Members(pg_url, tmp_path, capacity=100)
    run_ids = [f"k{i}" for i in range(200)]
    try:
        await Membership(store, 1).join()  # the schema exists before the members race
        doc = spec_doc(0.3)
        await asyncio.gather(*(enqueue(store, r, doc, {}, None) for r in run_ids))
        doomed, survivor = members.spawn(), members.spawn()
        deadline = time.monotonic() + 60
        while len(await store.query("SELECT run_id FROM runs WHERE last_seq > 3", ())) < 200:
            assert time.monotonic() < deadline, "the members never started all the runs"
            await asyncio.sleep(0.05)
        before = {r: await store.read_all(r) for r in run_ids}
        doomed.kill()
        await all_ended(store, run_ids, timeout=90)
        logs = await check_logs(store, run_ids)
        await asyncio.to_thread(members.settled)
        survivor.stop()
        turns = members.check()
    finally:
        members.stop()
        await store.close()
    assert survivor.proc.returncode == 0
    driven = {i: {r for (r, _) in m.acked()} for i, m in enumerate(members.all)}
    assert len(driven[0]) >= 50 and len(driven[1]) >= 50  # both drove runs when one died
    taken = [r for r in run_ids if turns[r] == 2]
    assert taken, "no run of the killed member was taken over"
    for run_id, log in zip(run_ids, logs, strict=True):
        kept = before[run_id]
        assert log[: len(kept)] == kept  # what was read before the kill is still there
    retried = [e for log in logs for e in log if isinstance(e, NodeRetrying)]
    assert retried and all("interrupted" in e.data.error for e in retried)
    lines = (tmp_path / "member1.log").read_text()
    assert "run_taken_over" in lines and "run_finished" in lines  # its lifecycle log


async def test_a_paused_owner_is_swept_and_fenced_out(pg_url: str) -> None:
    store = PostgresEventStore(pg_url)
    paused = worker(pg_url, ttl=2.0)
    other = None
    run_ids = [f"p{i}" for i in range(5)]
    try:
        await Membership(store, 1).join()
        for run_id in run_ids:
            await enqueue(store, run_id, spec_doc(1.0), {}, None)
        deadline = time.monotonic() + 30
        while len(await store.query("SELECT 1 FROM runs WHERE last_seq > 3", ())) < 5:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        os.kill(paused.pid, signal.SIGSTOP)
        other = worker(pg_url, ttl=2.0)
        await all_ended(store, run_ids)
        os.kill(paused.pid, signal.SIGCONT)  # it wakes up owning nothing it can write
        paused.wait(30)  # swept out: it stops by itself
        logs = await check_logs(store, run_ids)
    finally:
        for proc in (paused, other):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        await store.close()
    assert paused.returncode is not None
    epochs = await_epochs(pg_url, run_ids)
    assert all(e >= 2 for e in epochs)  # every run was claimed again
    for log in logs:
        assert fold(log).status == "succeeded"


def await_epochs(url: str, run_ids: list[str]) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT epoch FROM runs WHERE run_id = ANY(%s)", (run_ids,)).fetchall()
    return [int(r[0]) for r in rows]


async def test_cancel_and_signal_reach_the_member_that_owns_the_run(pg_url: str) -> None:
    owner_store, other_store = PostgresEventStore(pg_url), PostgresEventStore(pg_url)
    registry = AgentRegistry()
    member = Member(owner_store, registry, capacity=5)
    task = asyncio.create_task(member.run())
    waiting = {
        "name": "approve",
        "nodes": [
            {"name": "a", "agent": "pg_agents:step"},
            {"name": "approval", "after": ["a"], "wait": "approval"},
            {"name": "b", "agent": "pg_agents:step", "after": ["approval"]},
        ],
    }
    doc = load_graph(waiting).model_dump(mode="json")
    try:
        for run_id in ("s1", "s2"):
            await enqueue(other_store, run_id, doc, {}, None)
        for run_id in ("s1", "s2"):
            deadline = time.monotonic() + 30
            while (await load(other_store, run_id)) != "waiting":
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        state = await send_signal(other_store, "s1", "approval", {"approved": True, "by": "ana"})
        assert state.nodes["approval"].output == {"approved": True, "by": "ana"}
        ended = await cancel_elsewhere(other_store, "s2", "not needed")
        assert ended.status == "cancelled" and ended.error == "not needed"
        await all_ended(other_store, ["s1", "s2"])
        assert (await load(other_store, "s1")) == "succeeded"
    finally:
        member.stop()
        await task
        await owner_store.close()
        await other_store.close()


async def load(store: PostgresEventStore, run_id: str) -> str:
    try:
        return fold(await store.read_all(run_id)).status
    except Exception:
        return "absent"


def test_the_worker_needs_a_postgres_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENTOS_STORE"}
    res = subprocess.run(
        [AGENTOS, "--data", str(tmp_path), "worker"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert "needs a shared PostgreSQL store" in res.stderr and "Traceback" not in res.stderr


async def test_a_worker_serves_its_metrics(pg_url: str, tmp_path: Path) -> None:
    store = PostgresEventStore(pg_url)
    env = dict(os.environ, AGENTOS_STORE=pg_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [AGENTOS, "worker", "--metrics-port", "0"], env=env, stderr=out, text=True
        )
    try:
        url = ""
        deadline = time.monotonic() + 30
        while not url:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            found = [ln for ln in log.read_text().splitlines() if ln.startswith("metrics: ")]
            url = found[0].split(" ", 1)[1].strip() if found else ""
            await asyncio.sleep(0.05)
        await enqueue(store, "m1", spec_doc(0.01), {}, None)
        await all_ended(store, ["m1"])
        text = ""
        deadline = time.monotonic() + 10
        while 'agentos_runs_finished_total{graph="steps",status="succeeded"} 1.0' not in text:
            assert time.monotonic() < deadline, text[-2000:]
            text = (await asyncio.to_thread(httpx.get, url)).text
            await asyncio.sleep(0.05)
        assert 'agentos_node_attempts_total{graph="steps",outcome="succeeded"} 4.0' in text
        assert "agentos_runs_queued 0.0" in text  # counted from the shared queue
        groups = [ln for ln in text.splitlines() if ln.startswith("agentos_store_commit_groups")]
        assert groups and float(groups[0].split()[-1]) >= 1  # its appends, in groups
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 30)
        await store.close()


async def test_a_server_restart_mid_run_loses_nothing_acknowledged(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """The member's sessions are cut by a PostgreSQL restart: it reconnects under the same
    owner id, runs whose append failed are resumed, nothing acknowledged is lost or
    written twice."""
    if pg_cluster.restart is None:
        pytest.skip("an external PostgreSQL server (AGENTOS_TEST_POSTGRES_URL) is not restarted")
    store = PostgresEventStore(pg_url)
    member = Member(store, AgentRegistry(), capacity=20)
    task = asyncio.create_task(member.run())
    run_ids = [f"r{i}" for i in range(30)]
    try:
        for run_id in run_ids:
            await enqueue(store, run_id, spec_doc(0.1), {}, None)
        deadline = time.monotonic() + 30
        while len(await store.query("SELECT 1 FROM runs WHERE last_seq > 3", ())) < 30:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        before = {r: await store.read_all(r) for r in run_ids}
        await asyncio.to_thread(pg_cluster.restart)
        await all_ended(store, run_ids, timeout=90)
        logs = await check_logs(store, run_ids)
    finally:
        member.stop()
        await task
        await store.close()
    for run_id, log in zip(run_ids, logs, strict=True):
        assert log[: len(before[run_id])] == before[run_id]


async def test_the_queue_length_is_reported(pg_url: str) -> None:
    store = PostgresEventStore(pg_url)
    seen: list[int] = []
    member = Member(store, AgentRegistry(), capacity=1, on_queued=seen.append)
    try:
        await Membership(store, 1).join()
        for i in range(3):
            await enqueue(store, f"w{i}", spec_doc(0.3), {}, None)
        assert await member.membership.queued() == 3
        task = asyncio.create_task(member.run())
        await all_ended(store, ["w0", "w1", "w2"])
        member.stop()
        await task
    finally:
        await store.close()
    assert seen[0] >= 2  # one run started, the others waited for room
    assert seen == sorted(seen, reverse=True)
