"""What an agent receives: its inputs, upstream outputs, context, model and workspace."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentos._exceptions import NoModelError as NoModelError
from agentos.context.manifest import CompiledContext
from agentos.routing.messages import Chat, ChatMessage, Tool, context_messages
from agentos.routing.providers import CompletionResponse
from agentos.routing.router import Selection
from agentos.tools.workspace import Workspace


@dataclass
class Next:
    """An agent's result that also chooses which successors run (a conditional edge)."""

    nodes: list[str]
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class NodeContext:
    """Everything one node attempt may use. Agents call models only through `complete`.

    `cancelled` turns true once the attempt is cancelled (the run was cancelled or
    ended). An async agent is stopped at once by its task's cancellation; a plain
    function agent runs on a thread nobody can stop, so a long one should poll
    `ctx.cancelled` and return early: the run does not wait for it, and whatever it
    returns after the cancel is ignored (logged as a late result, never appended).
    """

    run_id: str
    node: str
    attempt: int
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    upstream: dict[str, dict[str, Any]]
    params: dict[str, Any]
    context: CompiledContext | None = None
    model: Selection | None = None
    workspace: Workspace | None = None
    artifacts: dict[str, Any] = field(default_factory=dict)
    item: Any = None  # the item of a map instance (`researcher[2]`)
    index: int | None = None  # its index in the mapped list; None for any other node
    _complete: Callable[[str, int, Chat, bool | None], Awaitable[CompletionResponse]] | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def cancelled(self) -> bool:
        """Whether the attempt was cancelled: a thread agent should stop and return."""
        return self._cancel.is_set()

    async def complete(
        self,
        prompt: str | None = None,
        max_tokens: int = 256,
        *,
        messages: Sequence[ChatMessage | Mapping[str, Any]] | None = None,
        tools: Sequence[Tool | Mapping[str, Any]] = (),
        temperature: float | None = None,
        stop: Sequence[str] = (),
        stream: bool | None = None,
    ) -> CompletionResponse:
        """Call the node's model; the call is recorded in the log before this returns.

        Simple form: `prompt`, else the compiled context (sent as `messages()`). Messages
        form: `messages`, turns with roles (`messages()` gives the first ones), with
        optional `tools`; the model's `tool_calls` come back on the response, whose
        `message()` is the assistant turn that carries the conversation on.

        The log's recorded answer to this very call (same node, loop pass, call index
        and request) answers it on a resume, a retry or a replay: nothing is sent again.
        `stream` (else the node policy's `stream`): the answer's tokens reach live
        listeners (SSE `token` frames) as they arrive; the log has the whole answer only.
        """
        if self._complete is None or self.model is None:
            raise NoModelError(f"node {self.node!r} has no model: give it a context profile")
        text = prompt if prompt is not None else (self.context.text if self.context else "")
        chat = Chat.model_validate(
            {
                "messages": list(self.messages(prompt) if messages is None else messages),
                "tools": list(tools),
                "temperature": temperature,
                "stop": list(stop),
            }
        )
        prompt_text = text if messages is None else chat.text()
        return await self._complete(prompt_text, max_tokens, chat, stream)

    def messages(self, prompt: str | None = None) -> list[ChatMessage]:
        """A system turn with the context profile's instructions, and a user turn with the
        rest of the compiled context (or `prompt`)."""
        return context_messages(self.context, prompt)

    def put_artifact(self, name: str, doc: Any) -> None:
        """Keep a JSON document as a named artifact of the run (stored with the result)."""
        self.artifacts[name] = doc
