"""Chat messages with roles, tool definitions and tool calls, and a context as messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentos.context.manifest import CompiledContext

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A call of one tool the model asked for; `arguments` is JSON text as it wrote it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    arguments: str = "{}"


class ChatMessage(BaseModel):
    """One turn: `tool_calls` on an assistant turn, `tool_call_id` on a tool's answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None


class Tool(BaseModel):
    """A function the model may call, its parameters as a JSON schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Chat(BaseModel):
    """The messages form of a call: turns, tools, and sampling settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[Tool] = Field(default_factory=list)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stop: list[str] = Field(default_factory=list, max_length=16)

    def text(self) -> str:
        """The turns as one text (what a simulated provider reads, what is counted)."""
        return "\n\n".join(_turn_text(m) for m in self.messages)


def _turn_text(message: ChatMessage) -> str:
    calls = "".join(f"\n[call {c.name} {c.arguments}]" for c in message.tool_calls)
    return f"[{message.role}]\n{message.content}{calls}"


def context_messages(context: CompiledContext | None, prompt: str | None) -> list[ChatMessage]:
    """A system turn holding the context's instructions and a user turn holding the rest
    of it, or `prompt` when given."""
    system, rest = split_instructions(context)
    user = prompt if prompt is not None else rest
    turns = [ChatMessage(role="system", content=system)] if system else []
    return [*turns, ChatMessage(role="user", content=user)]


def split_instructions(context: CompiledContext | None) -> tuple[str, str]:
    """(the instructions blocks' text, the other blocks with their headers) of a context.

    The compiled text is the included items' blocks, in manifest order, each opening
    with `## name` and joined by blank lines.
    """
    if context is None:
        return "", ""
    text = context.text
    kept = [i for i in context.manifest.items if i.status != "dropped"]
    starts: list[int] = []
    at = 0
    for item in kept:
        found = text.find(f"## {item.name}", at)
        if found < 0:
            return "", text  # not the shape compiled contexts have: keep it whole
        starts.append(found)
        at = found + len(item.name) + 3
    system: list[str] = []
    rest: list[str] = []
    for index, item in enumerate(kept):
        end = starts[index + 1] if index + 1 < len(kept) else len(text)
        block = text[starts[index] : end].rstrip("\n")
        if item.source == "instructions":
            system.append(block.partition("\n")[2])
        else:
            rest.append(block)
    return "\n\n".join(system), "\n\n".join(rest)
