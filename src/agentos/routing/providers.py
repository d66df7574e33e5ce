"""Providers: the completion interface and a deterministic simulated implementation."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agentos._exceptions import ProviderError as ProviderError
from agentos.context.tokens import TokenCounter
from agentos.routing.messages import Chat, ChatMessage, ToolCall
from agentos.routing.pool import ProviderSpec

_WORDS = (
    "the", "plan", "holds", "each", "step", "one", "fact", "and", "next", "uses",
    "it", "so", "work", "stays", "small", "clear", "easy", "to", "test", "while",
    "edit", "is", "kept", "done",
)  # fmt: skip


class CompletionRequest(BaseModel):
    """A prompt sent to one model: `prompt` alone (one user turn), or `chat`, whose turns
    a real provider sends (`prompt` is then their text, what a simulated one reads)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    prompt: str
    max_tokens: int = Field(ge=0)
    seed: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)
    chat: Chat | None = None

    def messages(self) -> list[ChatMessage]:
        """The turns to send."""
        if self.chat is not None:
            return list(self.chat.messages)
        return [ChatMessage(role="user", content=self.prompt)]


class CompletionResponse(BaseModel):
    """A model's answer with its token counts, latency and cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    model: str
    provider: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cost: float
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None

    def message(self) -> ChatMessage:
        """The answer as an assistant turn, to carry a conversation on."""
        return ChatMessage(role="assistant", content=self.text, tool_calls=self.tool_calls)


class Provider(Protocol):
    """Something that completes prompts."""

    @property
    def name(self) -> str: ...

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Return the completion of `request`; raise ProviderError when it fails."""
        ...


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).digest()


class SimulatedProvider:
    """A deterministic stand-in for a real provider, derived from hashes of the request.

    `fail_next` forces that many upcoming calls to fail (a test hook).
    """

    def __init__(self, spec: ProviderSpec, counter: TokenCounter) -> None:
        self.spec = spec
        self.counter = counter
        self.fail_next = 0
        self.calls = 0

    @property
    def name(self) -> str:
        """The provider's name."""
        return self.spec.name

    def answer(self, request: CompletionRequest) -> str:
        """Return the deterministic answer text for `request`."""
        digest = _digest(request.seed, request.model, request.prompt)
        target = min(request.max_tokens, 12 + digest[0] % 52)
        words = [_WORDS[b % len(_WORDS)] for b in _digest("words", digest.hex()) * 2]
        full = f"sim:{request.model}:{digest.hex()[:16]} " + " ".join(words)
        return self.counter.truncate(full, target)

    def fails(self, request: CompletionRequest) -> bool:
        """Whether the failure rate makes this request fail on this provider."""
        if self.spec.failure_rate <= 0:
            return False
        digest = _digest("fail", self.spec.name, self.spec.seed, request.seed, request.model)
        draw = int.from_bytes(_digest(digest.hex(), request.prompt)[:8], "big") / 2**64
        return draw < self.spec.failure_rate

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Sleep the simulated latency, then answer or raise ProviderError."""
        model = self.spec.model(request.model)
        self.calls += 1
        forced = self.fail_next > 0
        if forced:
            self.fail_next -= 1
        latency = model.latency_ms * self.spec.latency_scale
        if latency > 0:
            await asyncio.sleep(latency / 1000)
        if forced:
            raise ProviderError(f"{self.name}/{model.name}: forced failure")
        if self.fails(request):
            raise ProviderError(f"{self.name}/{model.name}: simulated failure")
        text = self.answer(request)
        tokens_in = self.counter.count(request.prompt)
        tokens_out = self.counter.count(text)
        return CompletionResponse(
            text=text,
            model=model.name,
            provider=self.name,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=latency,
            cost=model.cost(tokens_in, tokens_out),
        )

    async def stream(
        self, request: CompletionRequest, on_token: Callable[[str], None]
    ) -> CompletionResponse:
        """The answer of `complete`, handed to `on_token` word by word as well."""
        response = await self.complete(request)
        for piece in re.findall(r"\S+\s*", response.text):
            on_token(piece)
        return response
