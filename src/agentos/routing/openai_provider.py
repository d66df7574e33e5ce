"""Provider kind `openai`: any OpenAI-compatible Chat Completions endpoint, through the
official `openai` SDK (the optional `openai` extra)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from agentos.context.tokens import SimpleTokenCounter, TokenCounter
from agentos.routing._http_errors import detail, status_error, transport_error
from agentos.routing._streams import StreamCutError, Streamed, read_openai
from agentos.routing.messages import ChatMessage, Tool, ToolCall
from agentos.routing.pool import ProviderSpec
from agentos.routing.providers import CompletionRequest, CompletionResponse, ProviderError

_PLACEHOLDER_KEY = "none"  # servers that need no key (vLLM, Ollama) still get a header


def _sdk() -> Any:
    import openai  # the optional `openai` extra: only pools naming this kind load it

    return openai


def api_key(spec: ProviderSpec) -> tuple[str | None, str | None]:
    """(the key from the variable `spec.api_key_env`, the problem when it is unset)."""
    if spec.api_key_env is None:
        return None, None
    key = os.environ.get(spec.api_key_env)
    if not key:
        return None, f"environment variable {spec.api_key_env} is not set"
    return key, None


class OpenAIProvider:
    """Chat Completions through `openai.AsyncOpenAI`; the SDK's own retries are off, the
    router owns retries and fallback."""

    def __init__(self, spec: ProviderSpec, counter: TokenCounter | None = None) -> None:
        self.spec = spec
        self.counter = counter or SimpleTokenCounter()
        self._key, self._problem = api_key(spec)
        self._sdk = _sdk()
        self._client = self._sdk.AsyncOpenAI(
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
        create = self._client.chat.completions.create
        try:
            if on_token is None:
                got = _parts(await create(**self._params(request)))
            else:
                chunks = await create(
                    **self._params(request), stream=True, stream_options={"include_usage": True}
                )
                got = await read_openai(chunks, on_token)
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
        if got is None:
            raise ProviderError(f"{label}: the response has no choices")
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
