"""What every demo agent does with its context: its workspace, its one model call,
the outputs of the nodes before it."""

from __future__ import annotations

from typing import Any

from agentos._exceptions import AgentOSError
from agentos.actors.node_context import NodeContext
from agentos.tools.workspace import Workspace


class DemoAgentError(AgentOSError, RuntimeError):
    """A demo agent cannot do its job; the node fails with this message."""


def workspace(ctx: NodeContext) -> Workspace:
    """The run's workspace; the demo graph always has one."""
    if ctx.workspace is None:
        raise DemoAgentError(f"node {ctx.node!r} needs a workspace: set `workspace:` in the graph")
    return ctx.workspace


async def ask_model(ctx: NodeContext, task: str) -> dict[str, Any] | None:
    """Call the node's routed model once (recorded as model_called); None without a model.

    The simulated provider answers deterministically: the agents decide with their tools,
    the call shows what a real model would have been asked and what it would cost.
    """
    if ctx.model is None:
        return None
    context = ctx.context.text if ctx.context is not None else ""
    reply = await ctx.complete(f"{context}\n\n## task\n{task}", max_tokens=128)
    return {
        "provider": reply.provider,
        "model": reply.model,
        "tokens_in": reply.tokens_in,
        "tokens_out": reply.tokens_out,
    }


def upstream_output(ctx: NodeContext, node: str) -> dict[str, Any]:
    """The output of node `node` if it succeeded, else an empty dict."""
    output = ctx.outputs.get(node)
    return output if isinstance(output, dict) else {}


def flag(ctx: NodeContext, name: str) -> bool:
    """The run's boolean input `name` (false when absent); DemoAgentError for any other
    value, so that "false" as a string does not turn a feature on."""
    value = ctx.inputs.get(name, False)
    if not isinstance(value, bool):
        raise DemoAgentError(f"input {name} must be true or false, not {value!r}")
    return value
