"""Agents of the observe tests, importable as observe_agents:NAME (this folder is put
on sys.path, and on PYTHONPATH for the `agentos` subprocesses)."""

from __future__ import annotations

from typing import Any

from agentos.actors import Next, NodeContext


async def echo(ctx: NodeContext) -> dict[str, Any]:
    """Return the node's inputs: a run's input values end up in its outputs."""
    return {"node": ctx.node, "inputs": ctx.inputs}


async def caller(ctx: NodeContext) -> dict[str, Any]:
    """Call the node's model once; say which pass of a loop this is."""
    answer = await ctx.complete(max_tokens=16)
    return {"model": answer.model, "pass": 1 if ctx.outputs.get("reviewer") is None else 2}


async def reviewer(ctx: NodeContext) -> Next:
    """Send the writer back once, then go on to `done`."""
    if ctx.outputs["writer"]["pass"] == 1:
        return Next(["writer"], {"again": True})
    return Next(["done"], {"ok": True})


async def flaky(ctx: NodeContext) -> dict[str, Any]:
    """Fail the first attempt, succeed the second."""
    if ctx.attempt == 1:
        raise ConnectionError("flaky on its first attempt")
    return {"attempt": ctx.attempt}


async def boom(ctx: NodeContext) -> dict[str, Any]:
    """Always fail, naming no input."""
    raise KeyError("questions")
