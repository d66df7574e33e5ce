"""Deterministic agents for the reliability tests; child processes import them by name."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from agentos.actors import NodeContext
from agentos.agents import AgentRegistry

# the 8-node shape lives with the runtime tests
sys.path.append(str(Path(__file__).resolve().parents[1] / "actors"))
from runtime_shapes import eight_node_graph

EXEC_LOG = "AGENTOS_REL_EXEC_LOG"
SLEEP = "AGENTOS_REL_SLEEP"


def record(ctx: NodeContext) -> None:
    """Append `run node attempt` to the execution side file, durably."""
    path = os.environ.get(EXEC_LOG)
    if not path:
        return
    with open(path, "a") as f:
        f.write(f"{ctx.run_id} {ctx.node} {ctx.attempt}\n")
        f.flush()
        os.fsync(f.fileno())


async def steady(ctx: NodeContext) -> dict[str, Any]:
    """Sleep, record the execution, return an output that depends only on the graph."""
    await asyncio.sleep(float(ctx.params.get("sleep", os.environ.get(SLEEP, "0.03"))))
    record(ctx)
    return {"node": ctx.node, "upstream": sorted(ctx.upstream)}


def eight_graph(agent: str = "rel_agents:steady", sleep: float | None = None) -> dict[str, Any]:
    """The runtime tests' 8-node shape, run by `steady` unless told otherwise."""
    params = {"sleep": sleep} if sleep is not None else {}
    return eight_node_graph(agent, params=params)


class Executions:
    """Agent executions in this process: (run, node, attempt), in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def registry(self, name: str = "steady") -> AgentRegistry:
        """A registry with one agent, `name`, that behaves as `steady` and records here."""
        reg = AgentRegistry()

        async def agent(ctx: NodeContext) -> dict[str, Any]:
            await asyncio.sleep(float(ctx.params.get("sleep", 0.01)))
            self.seen.append((ctx.run_id, ctx.node, ctx.attempt))
            return {"node": ctx.node, "upstream": sorted(ctx.upstream)}

        reg.register(name, agent)
        return reg
