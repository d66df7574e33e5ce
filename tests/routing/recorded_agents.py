"""Agents of the recorded-answer tests (graphs name them as `recorded_agents:NAME`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentos.actors import Next, NodeContext


async def ask_then_hold(ctx: NodeContext) -> dict[str, Any]:
    """One call, then wait until the file `inputs["release"]` exists (a kill comes first)."""
    response = await ctx.complete(max_tokens=64)
    release = Path(ctx.inputs["release"])
    for _ in range(6000):  # at most a minute
        if release.exists():
            break
        await asyncio.sleep(0.01)
    return {"text": response.text, "attempt": ctx.attempt}


async def ask_then_fail_once(ctx: NodeContext) -> dict[str, Any]:
    """Two calls; the first attempt fails after them, the retry makes the same calls."""
    first = await ctx.complete(max_tokens=64)
    second = await ctx.complete(f"again: {first.text[:40]}", max_tokens=64)
    if ctx.attempt == 1:
        raise RuntimeError("the agent failed after its calls")
    return {"first": first.text, "second": second.text, "attempt": ctx.attempt}


async def ask(ctx: NodeContext) -> dict[str, Any]:
    """One call in the simple form."""
    response = await ctx.complete(max_tokens=64)
    return {"text": response.text}


async def ask_streamed(ctx: NodeContext) -> dict[str, Any]:
    """One streamed call."""
    response = await ctx.complete(max_tokens=64, stream=True)
    return {"text": response.text}


async def ask_per_attempt(ctx: NodeContext) -> dict[str, Any]:
    """Two calls, the second naming the attempt; the first attempt fails after them."""
    first = await ctx.complete(max_tokens=64)
    second = await ctx.complete(f"attempt {ctx.attempt}", max_tokens=64)
    if ctx.attempt == 1:
        raise RuntimeError("the agent failed after its calls")
    return {"first": first.text, "second": second.text}


async def draft(ctx: NodeContext) -> dict[str, Any]:
    """The same request on every loop pass."""
    response = await ctx.complete("draft it", max_tokens=16)
    return {"text": response.text}


async def review(ctx: NodeContext) -> Next:
    """Always sends the draft back (the loop's bound ends it)."""
    return Next(["writer"], {"seen": ctx.outputs["writer"]["text"]})


async def publish(ctx: NodeContext) -> dict[str, Any]:
    return {"published": ctx.outputs["writer"]["text"]}
