"""The catalog of a PostgreSQL store is shared by every member: what one server
registers, another lists, runs and shows on its dashboard at its next request; a worker
finds a child graph registered after it started."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg_agents import graph
from pg_servers import server, until

from agentos.cli.serve import keep_pool
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.catalog import catalog_for
from agentos.routing.pool import default_pool

HERE = Path(__file__).parent
AGENTOS = str(Path(sys.executable).parent / "agentos")

HOLD = {"name": "hold", "nodes": [{"name": "gate", "wait": "go"}]}


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)


async def post(client: httpx.AsyncClient, path: str, body: Any) -> dict[str, Any]:
    res = await client.post(path, json=body)
    assert res.status_code == 200, res.text
    return dict(res.json())


async def test_what_one_server_registers_another_lists_and_runs(
    pg_url: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(server(tmp_path / "one", pg_url))
        two = await stack.enter_async_context(server(tmp_path / "two", pg_url))
        assert (await two.get("/graphs/steps")).status_code == 404  # read before: cached
        await post(one, "/policies", {"name": "patient", "policy": {"timeout": 30}})
        await post(one, "/contextprofiles", {"name": "lean", "profile": {"budget": 400}})
        pool = (await one.get("/providerpool")).json()
        pool["providers"] = pool["providers"][:1]
        await post(one, "/providerpool", pool)
        steps = graph(0.01)
        steps["nodes"][0]["policy"] = "patient"
        await post(one, "/graphs", steps)
        assert "steps" in {g["name"] for g in (await two.get("/graphs")).json()}
        assert (await two.get("/policies")).json()["patient"]["timeout"] == 30
        assert (await two.get("/contextprofiles")).json()["lean"]["budget"] == 400
        assert (await two.get("/providerpool")).json() == pool
        assert 'value="steps"' in (await two.get("/dashboard")).text
        run_id = (await post(two, "/runs", {"graph": "steps"}))["run_id"]
        done = await until(one, run_id, "succeeded")
        assert sorted(done["nodes"]) == ["a", "b", "c", "d"]
        steps["description"] = "replaced on two"
        await post(two, "/graphs", steps)  # a replacement travels the other way too
        assert (await one.get("/graphs/steps")).json()["description"] == "replaced on two"
        # POST /runs as the first request after a registration elsewhere: it is known
        await post(one, "/graphs", graph(0.01, name="first-ask"))
        run_id = (await post(two, "/runs", {"graph": "first-ask"}))["run_id"]
        await until(two, run_id, "succeeded")
        assert not (tmp_path / "one" / ".catalog").exists()  # nothing in the data dirs
        assert not (tmp_path / "two" / ".catalog").exists()


def worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    """`agentos worker` on `url`, its log lines in `log`."""
    env = dict(os.environ, AGENTOS_STORE=url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    with open(log, "w") as out:  # the child keeps its own descriptor
        return subprocess.Popen([AGENTOS, "worker", "--capacity", "4"], env=env, stderr=out)


async def members(store: PostgresEventStore) -> int:
    rows = await store.query("SELECT count(*) FROM members", ())
    return int(rows[0][0])


async def test_a_worker_runs_a_child_graph_registered_after_it_started(
    pg_url: str, tmp_path: Path
) -> None:
    store = PostgresEventStore(pg_url)
    proc: subprocess.Popen[bytes] | None = None
    try:
        async with server(tmp_path / "one", pg_url, capacity=1) as one:
            await post(one, "/graphs", HOLD)
            held = (await post(one, "/runs", {"graph": "hold"}))["run_id"]
            await until(one, held, "waiting")  # the server is full: the worker drives the rest
            proc = worker(pg_url, tmp_path / "worker.log")
            deadline = time.monotonic() + 30
            while await members(store) < 2:
                assert proc.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker never joined"
                await asyncio.sleep(0.05)
            await post(one, "/graphs", graph(0.01, name="child"))
            parent = {"name": "parent", "nodes": [{"name": "sub", "graph": "child"}]}
            await post(one, "/graphs", parent)
            run_id = (await post(one, "/runs", {"graph": "parent"}))["run_id"]
            done = await until(one, run_id, "succeeded")
            child_id = done["nodes"]["sub"]["child_run"]
            child = await until(one, child_id, "succeeded")
            pids = {n["output"]["pid"] for n in child["nodes"].values()}
            assert pids == {proc.pid}, (pids, proc.pid)
            await post(one, f"/runs/{held}/signals/go", {"approved": True})
            await until(one, held, "succeeded")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        await store.close()


async def test_serve_pool_goes_to_the_shared_catalog(pg_url: str, tmp_path: Path) -> None:
    pool = default_pool()
    pool = pool.model_copy(update={"providers": pool.providers[:1]})
    await asyncio.to_thread(keep_pool, pool, tmp_path / "data", pg_url)  # `serve --pool F`
    store = PostgresEventStore(pg_url)
    try:
        assert catalog_for(tmp_path / "other", None, store).pool == pool
    finally:
        await store.close()
    assert not (tmp_path / "data" / ".catalog").exists()


async def test_agentos_run_finds_a_graph_of_the_shared_catalog(pg_url: str, tmp_path: Path) -> None:
    """`agentos run NAME` on a PostgreSQL store runs the graph registered there (by a
    server), not the data dir's catalog: the data dir holds no catalog at all."""
    async with server(tmp_path / "one", pg_url) as one:
        await post(one, "/graphs", graph(0.01, name="shared-steps"))
    env = dict(os.environ, AGENTOS_STORE=pg_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    cmd = [AGENTOS, "--data", str(tmp_path / "cli"), "run", "shared-steps", "--json"]
    done = await asyncio.to_thread(
        subprocess.run, cmd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "cli" / ".catalog").exists()
    other = await asyncio.to_thread(
        subprocess.run,
        [AGENTOS, "--data", str(tmp_path / "cli"), "run", "shared-steps", "--json"],
        env={k: v for k, v in env.items() if k != "AGENTOS_STORE"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 2 and "shared-steps" in other.stderr  # the files know none
    listed = await asyncio.to_thread(
        subprocess.run,
        [AGENTOS, "--data", str(tmp_path / "cli"), "graphs", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "shared-steps" in {g["name"] for g in json.loads(listed.stdout)}
