"""Agents for CLI tests, importable as cli_agents:NAME (tests/cli is put on sys.path)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from agentos.actors import NodeContext


async def echo(ctx: NodeContext) -> dict[str, Any]:
    """Return the node's name and inputs after a short sleep."""
    await asyncio.sleep(float(ctx.params.get("sleep", 0.01)))
    return {"node": ctx.node, "inputs": ctx.inputs}


async def boom(ctx: NodeContext) -> dict[str, Any]:
    """Always fail."""
    raise ValueError("boom [on purpose]")


async def gated(ctx: NodeContext) -> dict[str, Any]:
    """Fail while the file $CLI_TEST_GATE exists, else succeed."""
    gate = os.environ.get("CLI_TEST_GATE", "")
    if gate and os.path.exists(gate):
        raise RuntimeError("gate closed")
    return {"passed": True}
