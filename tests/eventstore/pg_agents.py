"""Agents for the Postgres store's tests, importable as pg_agents:NAME (also by the
`agentos worker` subprocesses of the members' tests)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from agentos.actors import NodeContext


async def echo(ctx: NodeContext) -> dict[str, Any]:
    """Return the node's name and its upstream nodes."""
    return {"node": ctx.node, "upstream": sorted(ctx.upstream)}


async def step(ctx: NodeContext) -> dict[str, Any]:
    """Sleep `params.sleep` seconds; report who ran it (pid) and with what."""
    await asyncio.sleep(float(ctx.params.get("sleep", 0.05)))
    return {"node": ctx.node, "pid": os.getpid(), "attempt": ctx.attempt}


def graph(sleep: float = 0.05, name: str = "steps") -> dict[str, Any]:
    """a -> (b, c) -> d, each node sleeping `sleep` seconds."""
    after = {"b": ["a"], "c": ["a"], "d": ["b", "c"]}
    return {
        "name": name,
        "nodes": [
            {
                "name": n,
                "agent": "pg_agents:step",
                "after": after.get(n, []),
                "params": {"sleep": sleep},
            }
            for n in "abcd"
        ],
    }
