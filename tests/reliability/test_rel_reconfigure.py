"""Reconfiguring while running is safe: registering policies while runs are created never
fails or loses a request; new runs get the new policy, runs already handed to the old
supervisor keep theirs (which is retired only once they have ended)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from rel_http_server import final_state, thread_server

from agentos.actors import NodeContext
from agentos.agents import AgentRegistry
from agentos.api.app import create_app
from agentos.eventstore.jsonl import JsonlEventStore

CLIENTS, RUNS_EACH = 4, 15


def _registry() -> AgentRegistry:
    reg = AgentRegistry()

    async def work(ctx: NodeContext) -> dict[str, Any]:
        await asyncio.sleep(0.005)
        return {"node": ctx.node}

    reg.register("work", work)
    return reg


def _graph(**extra: Any) -> dict[str, Any]:
    return {
        "name": "tuned",
        "nodes": [
            {"name": "first", "agent": "work", "policy": "tuning"},
            {"name": "second", "agent": "work", "policy": "tuning", "after": ["first"]},
        ],
        **extra,
    }


def _policy(timeout: float) -> dict[str, Any]:
    return {"name": "tuning", "policy": {"timeout": timeout}}


def _timeout_of(run: dict[str, Any]) -> float:
    """The timeout of the `tuning` policy the run was created with."""
    timeout: float = run["spec"]["policies"]["tuning"]["timeout"]
    return timeout


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def _source(tmp_path: Path) -> Path:
    """A small source tree for the runs' workspaces (snapshotting it takes a few awaits)."""
    source = tmp_path / "repo"
    source.mkdir()
    for i in range(5):
        (source / f"file{i}.txt").write_text(f"file {i}\n")
    return source


async def test_policies_registered_during_concurrent_posts_lose_nothing(tmp_path: Path) -> None:
    run = {"graph": "tuned", "inputs": {"repo": str(_source(tmp_path))}}
    with thread_server(tmp_path / "data", agents=_registry()) as base:
        async with httpx.AsyncClient(base_url=base, timeout=20) as c:
            assert (await c.post("/policies", json=_policy(30))).status_code == 200
            assert (await c.post("/graphs", json=_graph(workspace="repo"))).status_code == 200
            answers: list[tuple[int, str]] = []
            registered: list[int] = []
            posting = True

            async def poster() -> None:
                async with httpx.AsyncClient(base_url=base, timeout=20) as own:
                    for _ in range(RUNS_EACH):
                        res = await own.post("/runs", json=run)
                        answers.append((res.status_code, res.text))

            async def reconfigure() -> None:
                async with httpx.AsyncClient(base_url=base, timeout=20) as own:
                    n = 0
                    while posting or n < 3:
                        n += 1
                        res = await own.post("/policies", json=_policy(30 + n % 2))
                        registered.append(res.status_code)

            reconfiguring = asyncio.create_task(reconfigure())
            await asyncio.gather(*(poster() for _ in range(CLIENTS)))
            posting = False
            await reconfiguring

            assert [code for code, _ in answers if code != 200] == [], answers
            assert len(answers) == CLIENTS * RUNS_EACH and set(registered) == {200}
            ids = [json.loads(text)["run_id"] for _, text in answers]
            assert len(set(ids)) == len(ids)
            finals = [await final_state(c, run_id) for run_id in ids]
            assert {f["status"] for f in finals} == {"succeeded"}

            before = await final_state(c, (await c.post("/runs", json=run)).json()["run_id"])
            assert (await c.post("/policies", json=_policy(45))).status_code == 200
            after = await final_state(c, (await c.post("/runs", json=run)).json()["run_id"])
            assert _timeout_of(before) in (30, 31) and _timeout_of(after) == 45


class HeldStore(JsonlEventStore):
    """A JSONL store that holds a run's workspace snapshot until released: the request
    has its supervisor and is between its checks and handing the run over."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, durable=False)
        self.holding = True
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def put_artifact(self, run_id: str, name: str, doc: Any) -> None:
        if self.holding and name == "workspace-base":
            self.holding = False
            self.entered.set()
            await self.go.wait()
        await super().put_artifact(run_id, name, doc)


@asynccontextmanager
async def held_app(data: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The app over `data`, its runtime's store a HeldStore, and a client of it."""
    app = create_app(data, agents=_registry())
    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        await rt.store.close()
        rt.store = HeldStore(data)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=10) as c:
            yield c, rt


async def test_a_run_handed_over_while_its_supervisor_retires_keeps_the_old_policy(
    tmp_path: Path,
) -> None:
    source = _source(tmp_path)
    async with held_app(tmp_path / "data") as (c, rt):
        assert (await c.post("/policies", json=_policy(30))).status_code == 200
        assert (await c.post("/graphs", json=_graph(workspace="repo"))).status_code == 200
        body = {"graph": "tuned", "inputs": {"repo": str(source)}}

        early = asyncio.create_task(c.post("/runs", json=body))
        await rt.store.entered.wait()  # it has the old supervisor, not yet its run
        old = rt.supervisor("tuned")
        assert (await c.post("/policies", json=_policy(45))).status_code == 200
        calls = getattr(old, "in_flight", None)  # the retiring drain waits for the early POST
        await _until(lambda: old not in rt._retired or bool(calls and calls._waiters))
        late = await c.post("/runs", json=body)  # a fresh supervisor: the new policy
        rt.store.go.set()

        first = await early
        assert first.status_code == 200, first.text
        assert late.status_code == 200, late.text
        kept = await final_state(c, first.json()["run_id"])
        new = await final_state(c, late.json()["run_id"])
        assert (kept["status"], new["status"]) == ("succeeded", "succeeded")
        assert (_timeout_of(kept), _timeout_of(new)) == (30, 45)
        await _until(lambda: old not in rt._retired)  # retired once its run ended
