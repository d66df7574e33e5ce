"""Streamed answers of the SDK-backed providers, read chunk by chunk into one answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentos._exceptions import StreamCutError as StreamCutError
from agentos.routing.messages import ToolCall


@dataclass
class Streamed:
    """An answer put together from its chunks."""

    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None


async def read_openai(chunks: AsyncIterable[Any], on_token: Callable[[str], None]) -> Streamed:
    """A Chat Completions stream (`stream_options.include_usage` on); StreamCutError when
    it breaks or ends without a finish reason."""
    out = Streamed()
    pieces: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    try:
        async for chunk in chunks:
            if chunk.usage is not None:
                out.tokens_in = int(chunk.usage.prompt_tokens)
                out.tokens_out = int(chunk.usage.completion_tokens)
            for choice in chunk.choices[:1]:
                delta = choice.delta
                if delta.content:
                    pieces.append(delta.content)
                    on_token(delta.content)
                for part in delta.tool_calls or ():
                    call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = part.id or call["id"]
                    if part.function is not None:
                        call["name"] += part.function.name or ""
                        call["arguments"] += part.function.arguments or ""
                out.finish_reason = choice.finish_reason or out.finish_reason
    except Exception as exc:  # a broken connection mid-body, an error event in the stream
        raise StreamCutError(f"stream cut: {exc}") from None
    if out.finish_reason is None:
        raise StreamCutError("stream cut: it ended before the answer did")
    out.text = "".join(pieces)
    out.calls = [ToolCall(**calls[i]) for i in sorted(calls)]
    return out


async def read_anthropic(events: AsyncIterable[Any], on_token: Callable[[str], None]) -> Streamed:
    """A Messages stream; StreamCutError when it breaks or ends before `message_stop`."""
    out = Streamed()
    pieces: list[str] = []
    blocks: dict[int, dict[str, str]] = {}
    stopped = False
    try:
        async for event in events:
            kind = event.type
            if kind == "message_start":
                out.tokens_in = int(event.message.usage.input_tokens)
            elif kind == "content_block_start" and event.content_block.type == "tool_use":
                block = event.content_block
                blocks[event.index] = {"id": str(block.id), "name": str(block.name), "input": ""}
            elif kind == "content_block_delta" and event.delta.type == "text_delta":
                pieces.append(event.delta.text)
                on_token(event.delta.text)
            elif kind == "content_block_delta" and event.delta.type == "input_json_delta":
                blocks[event.index]["input"] += event.delta.partial_json
            elif kind == "message_delta":
                out.finish_reason = event.delta.stop_reason
                out.tokens_out = int(event.usage.output_tokens)
            elif kind == "message_stop":
                stopped = True
    except Exception as exc:  # a broken connection mid-body, an error event in the stream
        raise StreamCutError(f"stream cut: {exc}") from None
    if not stopped:
        raise StreamCutError("stream cut: it ended before the answer did")
    out.text = "".join(pieces)
    out.calls = [
        ToolCall(id=b["id"], name=b["name"], arguments=_arguments(b["input"]))
        for _, b in sorted(blocks.items())
    ]
    return out


def _arguments(partial: str) -> str:
    """The tool input as JSON text (`{}` when the model gave none)."""
    if not partial.strip():
        return "{}"
    try:
        return json.dumps(json.loads(partial))
    except ValueError:
        return partial
