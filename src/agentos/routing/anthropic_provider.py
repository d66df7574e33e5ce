"""Provider kind `anthropic`: the Messages API through the official `anthropic` SDK (the
optional `anthropic` extra)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from agentos.context.tokens import SimpleTokenCounter, TokenCounter
from agentos.routing._http_errors import detail, status_error, transport_error
from agentos.routing._streams import StreamCutError, Streamed, read_anthropic
from agentos.routing.messages import ChatMessage, Tool, ToolCall
from agentos.routing.openai_provider import api_key
from agentos.routing.pool import ProviderSpec
from agentos.routing.providers import CompletionRequest, CompletionResponse, ProviderError

_PLACEHOLDER_KEY = "none"


def _sdk() -> Any:
    import anthropic  # the optional `anthropic` extra: only pools naming this kind load it

    return anthropic


class AnthropicProvider:
    """Messages through `anthropic.AsyncAnthropic`; the SDK's own retries are off, the
    router owns retries and fallback."""

    def __init__(self, spec: ProviderSpec, counter: TokenCounter | None = None) -> None:
        self.spec = spec
        self.counter = counter or SimpleTokenCounter()
        self._key, self._problem = api_key(spec)
        self._sdk = _sdk()
        self._client = self._sdk.AsyncAnthropic(
            api_key=self._key or _PLACEHOLDER_KEY,
            base_url=spec.base_url,
            timeout=spec.timeout,
            max_retries=0,
        )

    @property
    def name(self) -> str:
        """The provider's name."""
        return self.spec.name

    async def aclose(self) -> None:
        """Close the SDK client's connections (on the loop that made them)."""
        await self._client.close()

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Send the request's turns; map the SDK's failures to ProviderError."""
        return await self._answer(request, None)

    async def stream(
        self, request: CompletionRequest, on_token: Callable[[str], None]
    ) -> CompletionResponse:
        """As `complete`, streamed: each text delta to `on_token` as it arrives; a stream
        cut mid-way is a retryable ProviderError."""
        return await self._answer(request, on_token)

    async def _answer(
        self, request: CompletionRequest, on_token: Callable[[str], None] | None
    ) -> CompletionResponse:
        model = self.spec.model(request.model)
        label = f"{self.name}/{model.name}"
        if self._problem is not None:
            raise ProviderError(f"{label}: {self._problem}", retryable=False)
        started = time.perf_counter()
        create = self._client.messages.create
        try:
            if on_token is None:
                got = _parts(await create(**self._params(request)))
            else:
                got = await read_anthropic(
                    await create(**self._params(request), stream=True), on_token
                )
        except self._sdk.APIStatusError as exc:
            message = detail(exc.body, str(exc.message))
            headers = exc.response.headers
            raise status_error(label, exc.status_code, message, headers, [self._key]) from None
        except self._sdk.APITimeoutError:
            raise transport_error(label, f"timed out after {self.spec.timeout:g}s", []) from None
        except self._sdk.APIConnectionError as exc:
            raise transport_error(label, f"connection failed: {exc}", [self._key]) from None
        except StreamCutError as exc:
            raise transport_error(label, str(exc), [self._key]) from None
        latency = (time.perf_counter() - started) * 1000
        tokens_in = got.tokens_in
        tokens_out = got.tokens_out
        if tokens_in is None or tokens_out is None:
            tokens_in, tokens_out = self.counter.count(request.prompt), self.counter.count(got.text)
        return CompletionResponse(
            text=got.text,
            model=model.name,
            provider=self.name,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=latency,
            cost=model.cost(tokens_in, tokens_out),
            tool_calls=got.calls,
            finish_reason=got.finish_reason,
        )

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
