"""Provider kind `anthropic`: the Messages API through the official `anthropic` SDK (the
optional `anthropic` extra)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentos.context.tokens import TokenCounter
from agentos.routing._sdk_provider import SdkProvider
from agentos.routing._streams import Streamed, read_anthropic
from agentos.routing.messages import ChatMessage, Tool, ToolCall
from agentos.routing.pool import ProviderSpec
from agentos.routing.providers import CompletionRequest


def _sdk() -> Any:
    import anthropic  # the optional `anthropic` extra: only pools naming this kind load it

    return anthropic


class AnthropicProvider(SdkProvider):
    """Messages through `anthropic.AsyncAnthropic`."""

    def __init__(self, spec: ProviderSpec, counter: TokenCounter | None = None) -> None:
        super().__init__(spec, counter, _sdk(), "AsyncAnthropic")

    async def _exchange(
        self, request: CompletionRequest, on_token: Callable[[str], None] | None
    ) -> Streamed | None:
        create = self._client.messages.create
        if on_token is None:
            return _parts(await create(**self._params(request)))
        return await read_anthropic(await create(**self._params(request), stream=True), on_token)

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        turns = request.messages()
        system = "\n\n".join(m.content for m in turns if m.role == "system")
        params: dict[str, Any] = {
            "model": request.model,
            "messages": wire_messages([m for m in turns if m.role != "system"]),
            "max_tokens": max(1, request.max_tokens),  # the API takes no 0
        }
        if system:
            params["system"] = system
        chat = request.chat
        if chat is not None:
            if chat.tools:
                params["tools"] = [wire_tool(t) for t in chat.tools]
            if chat.temperature is not None:
                # its range is 0..1; in the body, as SDK releases differ on the keyword
                params["extra_body"] = {"temperature": min(chat.temperature, 1.0)}
            if chat.stop:
                params["stop_sequences"] = list(chat.stop)
        return params


def _parts(answer: Any) -> Streamed:
    """A whole answer's text, tool calls, stop reason and usage."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in answer.content:
        if block.type == "text":
            texts.append(str(block.text))
        elif block.type == "tool_use":
            calls.append(
                ToolCall(id=str(block.id), name=str(block.name), arguments=json.dumps(block.input))
            )
    usage = answer.usage
    return Streamed(
        text="".join(texts),
        calls=calls,
        finish_reason=answer.stop_reason,
        tokens_in=int(usage.input_tokens) if usage else None,
        tokens_out=int(usage.output_tokens) if usage else None,
    )


def wire_messages(turns: list[ChatMessage]) -> list[dict[str, Any]]:
    """Turns in the Messages format: tool answers are user turns holding `tool_result`
    blocks, and consecutive turns of one role are merged."""
    wire: list[dict[str, Any]] = []
    for turn in turns:
        role = "assistant" if turn.role == "assistant" else "user"
        blocks = _blocks(turn)
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return wire


def _blocks(turn: ChatMessage) -> list[dict[str, Any]]:
    if turn.role == "tool":
        return [{"type": "tool_result", "tool_use_id": turn.tool_call_id, "content": turn.content}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": turn.content}] if turn.content else []
    for call in turn.tool_calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = {}
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def wire_tool(tool: Tool) -> dict[str, Any]:
    """A tool definition in the Messages format."""
    return {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
