"""Agents for the Postgres store's CLI test, importable as pg_agents:NAME."""

from __future__ import annotations

from typing import Any

from agentos.actors import NodeContext


async def echo(ctx: NodeContext) -> dict[str, Any]:
    """Return the node's name and its upstream nodes."""
    return {"node": ctx.node, "upstream": sorted(ctx.upstream)}
