"""AgentOS side of the comparison: the same 8-node graph with no-op coroutine agents."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore, InMemoryEventStore, JsonlEventStore
from agentos.eventstore._writer import FileOps

NODES = ("planner", "py_fixer", "fe_fixer", "test_writer", "aggregator", "tester", "security")
VARIANTS = ("JSONL durable (fsync)", "JSONL no fsync", "in memory")


async def step(ctx: NodeContext) -> dict[str, Any]:
    """A no-op node."""
    return {"ok": True}


async def join(ctx: NodeContext) -> dict[str, Any]:
    """The join: reads the three parallel results from `ctx.upstream`."""
    return {"merged": len(ctx.upstream)}


async def sleepy(ctx: NodeContext) -> dict[str, Any]:
    """A node that waits 10 ms, as an I/O-bound agent would."""
    await asyncio.sleep(0.01)
    return {"ok": True}


def registry() -> AgentRegistry:
    """The benchmark agents."""
    reg = AgentRegistry()
    reg.register("step", step)
    reg.register("join", join)
    reg.register("sleepy", sleepy)
    return reg


def graph(agent: str = "step") -> dict[str, Any]:
    """planner → 3 in parallel → aggregator (join) → tester → security → release."""
    after = {
        "py_fixer": ["planner"],
        "fe_fixer": ["planner"],
        "test_writer": ["planner"],
        "aggregator": ["py_fixer", "fe_fixer", "test_writer"],
        "tester": ["aggregator"],
        "security": ["tester"],
        "release": ["security"],
    }
    names = [*NODES, "release"]
    join_agent = "join" if agent == "step" else agent
    return {
        "name": "bench8",
        "nodes": [
            {
                "name": n,
                "agent": join_agent if n == "aggregator" else agent,
                "after": after.get(n, []),
            }
            for n in names
        ],
    }


def fsync_cost(base: Path, n: int) -> float:
    """Seconds per small append + fdatasync on this disk (median of `n`)."""
    path = base / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, b'{"seq":1,"type":"node_started","node":"planner"}\n')
            os.fdatasync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times)


class FsyncCounter:
    """Counts the store's fdatasync and syncfs calls (each one disk flush)."""

    def __init__(self) -> None:
        self.count = 0
        self._syncfs = FileOps().syncfs

    def __call__(self, fd: int) -> None:
        self.count += 1
        os.fdatasync(fd)

    def syncfs(self, fd: int) -> None:
        """The store's syncfs, counted."""
        assert self._syncfs is not None
        self.count += 1
        self._syncfs(fd)


def store(variant: str, root: Path, counter: FsyncCounter | None = None) -> EventStore:
    """A fresh store of the variant under `root`."""
    if variant == VARIANTS[0]:
        ops = None
        if counter is not None:
            syncfs = counter.syncfs if FileOps().syncfs is not None else None
            ops = FileOps(fsync=counter, syncfs=syncfs)
        return JsonlEventStore(root, durable=True, ops=ops)
    if variant == VARIANTS[1]:
        return JsonlEventStore(root, durable=False)
    return InMemoryEventStore()


async def settle(sup: Supervisor, st: EventStore, burst: int) -> None:
    """Bursts of `burst` runs until a JSONL store keeps that many spare folders, then
    wait (at most 5 s each) until they are made: as a store running such bursts would."""
    spares = st.spares if isinstance(st, JsonlEventStore) else None
    for _ in range(8):
        ids = await asyncio.gather(*(sup.start_run({"task": -1}) for _ in range(burst)))
        for run_id in ids:
            state = await sup.wait(run_id)
            assert state.status == "succeeded", state.status
        if spares is None:
            return
        deadline = time.monotonic() + 5
        while spares.ready < spares.target and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if spares.target >= min(burst, spares.size):
            return


async def run_round(
    variant: str,
    root: Path,
    runs: int,
    parallel: bool,
    agent: str = "step",
    counter: FsyncCounter | None = None,
    warm: bool = False,
) -> tuple[float, float]:
    """Wall seconds of `runs` runs on a fresh store and Supervisor; events in one run's log.

    `warm`: untimed bursts of `runs` runs first, until a JSONL store keeps spare folders
    for such a burst (as a store that has been running would), so the round times the
    steady state, not a new store."""
    st = store(variant, root, counter)
    sup = Supervisor.start(graph(agent), st, agents=registry())
    try:
        if warm:
            counted = counter.count if counter is not None else 0
            await settle(sup, st, runs)
            if counter is not None:
                counter.count = counted  # the warm-up's flushes are not the round's

        async def one(i: int) -> str:
            run_id = await sup.start_run({"task": i})
            state = await sup.wait(run_id)
            assert state.status == "succeeded", state.status
            return run_id

        t0 = time.perf_counter()
        if parallel:
            ids = await asyncio.gather(*(one(i) for i in range(runs)))
        else:
            ids = [await one(i) for i in range(runs)]
        wall = time.perf_counter() - t0
        events = len(await st.read_all(ids[0]))
    finally:
        await sup.stop()
        await st.close()
    return wall, float(events)
