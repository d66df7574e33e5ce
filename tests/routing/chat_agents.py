"""Agents of the real-provider run tests (graphs name them as `chat_agents:NAME`)."""

from __future__ import annotations

from typing import Any

from agentos.actors import NodeContext
from agentos.routing.messages import ChatMessage, Tool

LOOKUP = Tool(name="lookup", description="look a number up", parameters={"type": "object"})


async def ask(ctx: NodeContext) -> dict[str, Any]:
    """One call in the simple form: the compiled context."""
    response = await ctx.complete(max_tokens=64)
    return {"text": response.text, "tokens_in": response.tokens_in}


async def converse(ctx: NodeContext) -> dict[str, Any]:
    """The messages form: the model asks for a tool, gets its answer, then replies."""
    turns = ctx.messages()
    first = await ctx.complete(messages=turns, tools=[LOOKUP], temperature=0.0, max_tokens=64)
    answers = [
        ChatMessage(role="tool", content="42", tool_call_id=call.id) for call in first.tool_calls
    ]
    turns = [*turns, first.message(), *answers]
    second = await ctx.complete(messages=turns, tools=[LOOKUP], max_tokens=64)
    return {"calls": [c.name for c in first.tool_calls], "text": second.text}
