"""Provider kind `openai`: any OpenAI-compatible Chat Completions endpoint, through the
official `openai` SDK (the optional `openai` extra)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentos.context.tokens import TokenCounter
from agentos.routing._sdk_provider import SdkProvider
from agentos.routing._streams import Streamed, read_openai
from agentos.routing.messages import ChatMessage, Tool, ToolCall
from agentos.routing.pool import ProviderSpec
from agentos.routing.providers import CompletionRequest


def _sdk() -> Any:
    import openai  # the optional `openai` extra: only pools naming this kind load it

    return openai


class OpenAIProvider(SdkProvider):
    """Chat Completions through `openai.AsyncOpenAI`."""

    def __init__(self, spec: ProviderSpec, counter: TokenCounter | None = None) -> None:
        super().__init__(spec, counter, _sdk(), "AsyncOpenAI")

    async def _exchange(
        self, request: CompletionRequest, on_token: Callable[[str], None] | None
    ) -> Streamed | None:
        create = self._client.chat.completions.create
        if on_token is None:
            return _parts(await create(**self._params(request)))
        chunks = await create(
            **self._params(request), stream=True, stream_options={"include_usage": True}
        )
        return await read_openai(chunks, on_token)

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model,
            "messages": [wire_message(m) for m in request.messages()],
            "max_tokens": request.max_tokens,
        }
        chat = request.chat
        if chat is not None:
            if chat.tools:
                params["tools"] = [wire_tool(t) for t in chat.tools]
            if chat.temperature is not None:
                params["temperature"] = chat.temperature
            if chat.stop:
                params["stop"] = list(chat.stop)
        return params


def wire_message(message: ChatMessage) -> dict[str, Any]:
    """A turn in the Chat Completions format."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    return wire


def wire_tool(tool: Tool) -> dict[str, Any]:
    """A tool definition in the Chat Completions format."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _parts(answer: Any) -> Streamed | None:
    """A whole answer's text, tool calls, finish reason and usage (None: no choices)."""
    if not answer.choices:
        return None
    choice = answer.choices[0]
    usage = answer.usage
    return Streamed(
        text=str(choice.message.content or ""),
        calls=[_call(c) for c in choice.message.tool_calls or () if _has_function(c)],
        finish_reason=choice.finish_reason,
        tokens_in=int(usage.prompt_tokens) if usage else None,
        tokens_out=int(usage.completion_tokens) if usage else None,
    )


def _has_function(call: Any) -> bool:
    return getattr(call, "function", None) is not None


def _call(call: Any) -> ToolCall:
    return ToolCall(
        id=str(call.id), name=str(call.function.name), arguments=str(call.function.arguments)
    )
