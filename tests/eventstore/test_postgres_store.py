"""What the PostgreSQL store adds to the contract: transactions, group commit, owners,
epochs, NOTIFY, and the real Supervisor and CLI on it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from store_support import make_batch, make_event

from agentos.actors import Supervisor
from agentos.agents import AgentRegistry
from agentos.cli import cli
from agentos.events.codec import encode
from agentos.eventstore import (
    ConcurrencyError,
    JsonlEventStore,
    RunLockedError,
    RunLog,
    StoreError,
)
from agentos.eventstore._pg_schema import MIGRATIONS
from agentos.eventstore.postgres import PostgresEventStore

HERE = Path(__file__).parent
AGENTOS = str(Path(sys.executable).parent / "agentos")
sys.path.insert(0, str(HERE.parent / "actors"))
from runtime_shapes import eight_node_graph  # noqa: E402

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need agentos[postgres]")


def _let_go(url: str, run_id: str) -> None:
    """Free a run's row, as an owner that lost its session would leave it for others."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE runs SET owner = NULL WHERE run_id = %s", (run_id,))


def _rows(url: str, query: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


async def test_schema_is_made_and_versioned_once(pg_url: str) -> None:
    first = PostgresEventStore(pg_url)
    second = PostgresEventStore(pg_url)
    await first.close()
    await second.close()
    versions = _rows(pg_url, "SELECT version FROM schema_version ORDER BY version")
    assert versions == [(n,) for n in range(1, len(MIGRATIONS) + 1)]


async def test_one_group_keeps_each_batch_whole_or_out(pg_url: str) -> None:
    """A refused batch leaves nothing, and does not take the group's other batches down."""
    a = PostgresEventStore(pg_url)
    b = PostgresEventStore(pg_url)
    try:
        await a.append("stale", make_batch("stale", 1, 2), expected_seq=0)
        await a.append("fine", make_batch("fine", 1, 2), expected_seq=0)
        _let_go(pg_url, "stale")  # as if a's session had been cut long enough
        await RunLog.open(b, "stale")  # b takes the run over: a's epoch is stale
        stale = a.submit("stale", make_batch("stale", 3, 4), expected_seq=2)
        fine = a.submit("fine", make_batch("fine", 3, 4), expected_seq=2)
        assert await asyncio.wrap_future(fine) == 6
        with pytest.raises(ConcurrencyError):
            await asyncio.wrap_future(stale)
        assert [e.seq for e in await b.read_all("stale")] == [1, 2]
        assert _rows(pg_url, "SELECT count(*) FROM events WHERE run_id = 'stale'") == [(2,)]
        with pytest.raises(ConcurrencyError):  # a run refused once takes no more appends
            a.submit("stale", make_batch("stale", 7, 1), expected_seq=6)
        assert await b.append("stale", make_batch("stale", 3, 1), expected_seq=2) == 3
    finally:
        await a.close()
        await b.close()


async def test_concurrent_appends_share_commits(pg_url: str) -> None:
    store = PostgresEventStore(pg_url)
    try:
        futures = [
            store.submit(f"r{i}", make_batch(f"r{i}", 1, 3), expected_seq=0) for i in range(200)
        ]
        assert await asyncio.gather(*map(asyncio.wrap_future, futures)) == [3] * 200
        commits, batches = store.commit_stats()
        assert commits <= 10 and batches == 200, f"{commits} transactions for 200 appends"
        assert len(await store.list_runs()) == 200
        assert _rows(pg_url, "SELECT count(*) FROM events") == [(600,)]
    finally:
        await store.close()


async def test_a_second_store_is_refused_as_owner(pg_url: str) -> None:
    a = PostgresEventStore(pg_url)
    b = PostgresEventStore(pg_url)
    try:
        await a.append("r1", make_batch("r1", 1, 2), expected_seq=0)
        with pytest.raises(RunLockedError):
            await RunLog.open(b, "r1")
        with pytest.raises(ConcurrencyError):  # a new run's name taken by another owner
            await asyncio.wrap_future(b.submit("r1", make_batch("r1", 1, 1), expected_seq=0))
        assert await b.has_writer("r1")
        await a.release("r1")
        assert not await b.has_writer("r1")
        handle = await RunLog.open(b, "r1")
        assert await asyncio.wrap_future(handle.submit(make_batch("r1", 3, 1))) == 3
        with pytest.raises(RunLockedError):
            await RunLog.open(a, "r1")
    finally:
        await a.close()
        await b.close()


OWNER = """
import asyncio, sys, time
sys.path.insert(0, sys.argv[2])
from store_support import make_batch
from agentos.eventstore.postgres import PostgresEventStore

async def main():
    store = PostgresEventStore(sys.argv[1])
    await store.append("r1", make_batch("r1", 1, 2), expected_seq=0)
    print(store.owner, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_dead_owners_run_is_taken_over(pg_url: str) -> None:
    """The owner's process dies (kill -9): its lock goes with its session, and another
    store claims the run at the next epoch and carries it on."""
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, pg_url, str(HERE)], stdout=subprocess.PIPE, text=True
    )
    b = PostgresEventStore(pg_url)
    try:
        assert owner.stdout is not None
        dead = int(owner.stdout.readline())
        assert await b.has_writer("r1")
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        deadline = time.monotonic() + 10
        while await b.has_writer("r1"):  # the server sees the session close
            assert time.monotonic() < deadline, "the dead owner's lock never went"
            await asyncio.sleep(0.01)
        await RunLog.open(b, "r1")
        assert _rows(pg_url, "SELECT owner, epoch FROM runs") == [(b.owner, 2)]
        assert b.owner != dead
        assert await b.append("r1", make_batch("r1", 3, 1), expected_seq=2) == 3
        assert [e.seq for e in await b.read_all("r1")] == [1, 2, 3]
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        await b.close()


async def test_a_stale_owners_append_is_refused_after_a_takeover(pg_url: str) -> None:
    """An owner cut off long enough for another to claim its run (its session ended,
    then opened again) may not append to it: the epoch moved on."""
    a = PostgresEventStore(pg_url)
    b = PostgresEventStore(pg_url)
    try:
        await a.append("r1", make_batch("r1", 1, 2), expected_seq=0)
        with psycopg.connect(pg_url, autocommit=True) as conn:  # a's claim taken by hand
            conn.execute("UPDATE runs SET owner = %s, epoch = epoch + 1", (b.owner,))
        with pytest.raises(ConcurrencyError):
            await asyncio.wrap_future(a.submit("r1", make_batch("r1", 3, 2), expected_seq=2))
        assert [e.seq for e in await b.read_all("r1")] == [1, 2]
    finally:
        await a.close()
        await b.close()


async def test_follow_wakes_through_notify(pg_url: str) -> None:
    writer = PostgresEventStore(pg_url)
    reader = PostgresEventStore(pg_url)
    reader.follow_poll_interval = 30.0  # only a NOTIFY can end this in time
    try:
        await writer.append("r1", make_batch("r1", 1, 1), expected_seq=0)

        async def follower() -> list[int]:
            seen = []
            async for event in reader.follow("r1"):
                seen.append(event.seq)
                if event.seq == 1:
                    await writer.append("r1", make_batch("r1", 2, 2), expected_seq=1)
                if event.seq == 3:
                    done = [make_event("r1", 4, "run_succeeded")]
                    await writer.append("r1", done, expected_seq=3)
            return seen

        assert await asyncio.wait_for(follower(), timeout=5) == [1, 2, 3, 4]
    finally:
        await writer.close()
        await reader.close()


async def test_supervisor_runs_the_eight_node_graph(pg_url: str, tmp_path: Path) -> None:
    reg = AgentRegistry()

    async def sleepy(ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"node": ctx.node, "upstream": sorted(ctx.upstream)}

    reg.register("sleepy", sleepy)
    store = PostgresEventStore(pg_url)
    sup = Supervisor.start(eight_node_graph(), store, agents=reg, workdir=tmp_path / "work")
    try:
        states = await asyncio.gather(*(sup.run({"pr": i}, timeout=20) for i in range(5)))
    finally:
        await sup.stop()
    try:
        for state in states:
            assert state.status == "succeeded"
            events = await store.read_all(state.run_id)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert sum(e.type == "node_succeeded" for e in events) == 8
            assert not await store.has_writer(state.run_id)  # released once it ended
        assert sorted(await store.list_runs()) == sorted(s.run_id for s in states)
    finally:
        await store.close()


GRAPH = """\
name: small
nodes:
  - {name: a, agent: "pg_agents:echo"}
  - {name: b, agent: "pg_agents:echo", after: [a]}
"""


def test_cli_run_and_events_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    graph = tmp_path / "small.yaml"
    graph.write_text(GRAPH)
    runner = CliRunner()
    ran = runner.invoke(cli, ["--store", pg_url, "run", str(graph)], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    assert "run succeeded" in ran.stdout
    monkeypatch.setenv("AGENTOS_STORE", pg_url)
    listed = runner.invoke(cli, ["runs", "--json"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert not (tmp_path / "data").exists()
    (run_id,) = _rows(pg_url, "SELECT run_id FROM runs")[0]
    assert run_id in listed.stdout
    shown = runner.invoke(cli, ["events", run_id, "--json"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert [line.encode() for line in lines] == [
        row[0].encode() for row in _rows(pg_url, "SELECT event FROM events ORDER BY seq")
    ]
    # the same lines as the JSONL store prints for the same events
    copy = JsonlEventStore(tmp_path / "copy", durable=False)

    events = asyncio.run(_read(pg_url, run_id))
    asyncio.run(copy.append(run_id, events, expected_seq=0))
    asyncio.run(copy.close())
    monkeypatch.delenv("AGENTOS_STORE")
    from_files = runner.invoke(
        cli, ["--data", str(tmp_path / "copy"), "events", run_id, "--json"], catch_exceptions=False
    )
    assert from_files.stdout.splitlines() == lines
    assert lines == [encode(e).decode() for e in events]


async def _read(url: str, run_id: str) -> list[Any]:
    store = PostgresEventStore(url)
    try:
        return await store.read_all(run_id)
    finally:
        await store.close()


def test_cli_refuses_a_store_that_is_no_url() -> None:
    result = CliRunner().invoke(cli, ["--store", "mysql://x", "runs"])
    assert result.exit_code == 2
    assert "not a postgresql:// URL" in result.output


def test_store_and_data_may_follow_the_command(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`agentos run FILE --store URL`, `agentos runs --store URL`: as before the
    command; after it, it wins over the data dir given before it."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.delenv("AGENTOS_STORE", raising=False)
    graph = tmp_path / "small.yaml"
    graph.write_text(GRAPH)
    runner = CliRunner()
    ran = runner.invoke(cli, ["run", str(graph), "--store", pg_url], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    (run_id,) = _rows(pg_url, "SELECT run_id FROM runs")[0]
    elsewhere = ["--data", str(tmp_path / "files")]
    listed = runner.invoke(cli, [*elsewhere, "runs", "--json", "--store", pg_url])
    assert listed.exit_code == 0 and run_id in listed.stdout, listed.output
    bad = runner.invoke(cli, ["runs", "--store", "mysql://x"])
    assert bad.exit_code == 2 and "not a postgresql:// URL" in bad.output


def test_an_unreachable_server_is_one_line_at_once() -> None:
    """A server that refuses connections: the worker says so in one line and exits 1,
    without waiting for the pool's timeout."""
    done = subprocess.run(
        [AGENTOS, "worker", "--store", "postgresql://nobody@127.0.0.1:1/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "cannot connect to the event store database" in done.stderr
    assert "Connection refused" in done.stderr or "connection failed" in done.stderr


def test_missing_psycopg_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    with pytest.raises(StoreError, match=r"agentos\[postgres\]"):
        PostgresEventStore("postgresql://127.0.0.1:1/x")


async def test_the_api_keeps_its_runs_in_postgres(pg_url: str, tmp_path: Path) -> None:
    """`agentos serve --store URL`: the app's runtime writes and reads the database."""
    import httpx

    from agentos.api.app import create_app
    from agentos.demo import registry as demo_agents
    from agentos.demo.graph import resolve_source

    app = create_app(
        tmp_path / "data", agents=demo_agents, resolve_source=resolve_source, store=pg_url
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            body = {"graph": "git-to-prod-multi", "inputs": {"pr_number": 7}}
            res = await client.post("/runs", json=body)
            assert res.status_code == 200, res.text
            run_id = res.json()["run_id"]
            state: dict[str, Any] = {}
            async with asyncio.timeout(60):
                while state.get("status") not in ("succeeded", "failed"):
                    state = (await client.get(f"/runs/{run_id}")).json()
                    await asyncio.sleep(0.05)
            assert state["status"] == "succeeded"
            listed = (await client.get("/runs")).json()
    assert run_id in str(listed)
    assert _rows(pg_url, "SELECT run_id FROM runs") == [(run_id,)]
    assert not (tmp_path / "data" / run_id).exists()


async def test_close_with_releases_queued_gives_every_run_up(pg_url: str) -> None:
    """Releases queued while a group commits and the store closes are made, and close
    returns (it once waited forever for a wake-up that had been used)."""
    store = PostgresEventStore(pg_url)
    for i in range(20):
        await store.append(f"r{i}", make_batch(f"r{i}", 1, 1), expected_seq=0)
    blocker = await psycopg.AsyncConnection.connect(pg_url)
    await blocker.execute("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")  # holds the writer
    held = store.submit("held", make_batch("held", 1, 1), expected_seq=0)
    releases = [asyncio.create_task(store.release(f"r{i}")) for i in range(20)]
    await asyncio.sleep(0)  # each release is queued behind the held group now
    closing = asyncio.create_task(store.close())
    async with asyncio.timeout(10):
        probes = 0
        while True:  # until the store refuses appends: it is closing
            try:
                store.submit(f"probe{probes}", make_batch(f"probe{probes}", 1, 1), 0)
            except StoreError:
                break
            probes += 1
            await asyncio.sleep(0)
    await blocker.rollback()
    await blocker.close()
    await asyncio.wait_for(closing, timeout=10)
    await asyncio.wait_for(asyncio.gather(*releases), timeout=10)
    assert await asyncio.wrap_future(held) == 1
    assert _rows(pg_url, "SELECT count(*) FROM runs WHERE owner IS NOT NULL") == [(0,)]
