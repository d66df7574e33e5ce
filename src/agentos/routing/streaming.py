"""Live token deltas of streamed model calls: sent to whoever listens, never logged."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from agentos.routing.providers import CompletionRequest, CompletionResponse, Provider

OnToken = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TokenDelta:
    """A piece of a model's answer as it arrives; `restart` opens a new try of the call
    (a fallback or a retry after a cut stream): drop what the call showed so far."""

    run_id: str
    node: str
    attempt: int
    call: int
    text: str
    restart: bool = False

    def to_json(self) -> dict[str, Any]:
        """The delta as a JSON object (an SSE `token` frame's data)."""
        return {
            "node": self.node,
            "attempt": self.attempt,
            "call": self.call,
            "text": self.text,
            "restart": self.restart,
        }


Listener = Callable[[TokenDelta], None]


class TokenFeed:
    """Deltas by run to listeners on any thread: each listener gets them on its loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, list[tuple[asyncio.AbstractEventLoop, Listener]]] = {}

    @contextmanager
    def listen(self, run_id: str, listener: Listener) -> Iterator[None]:
        """Call `listener` (on the running loop) with the run's deltas until the block ends."""
        entry = (asyncio.get_running_loop(), listener)
        with self._lock:
            self._listeners.setdefault(run_id, []).append(entry)
        try:
            yield
        finally:
            with self._lock:
                entries = self._listeners.get(run_id, [])
                if entry in entries:
                    entries.remove(entry)
                if not entries:
                    self._listeners.pop(run_id, None)

    def listening(self, run_id: str) -> bool:
        """Whether anyone listens to the run's deltas."""
        with self._lock:
            return run_id in self._listeners

    def publish(self, delta: TokenDelta) -> None:
        """Hand `delta` to the run's listeners, each on its own loop."""
        with self._lock:
            entries = list(self._listeners.get(delta.run_id, ()))
        for loop, listener in entries:
            if not loop.is_closed():
                loop.call_soon_threadsafe(listener, delta)


#: the process's feed: node actors publish, the SSE stream and `agentos run` listen
FEED = TokenFeed()


class Deltas:
    """The router's `on_token` for one call: publishes each delta on `feed`, marking the
    first one of every try after the first as a restart."""

    def __init__(
        self, run_id: str, node: str, attempt: int, call: int, feed: TokenFeed = FEED
    ) -> None:
        self.run_id, self.node, self.attempt, self.call = run_id, node, attempt, call
        self.feed = feed
        self._try: int | None = None

    def __call__(self, attempt: int, text: str) -> None:
        restart = self._try is not None and attempt != self._try
        self._try = attempt
        self.feed.publish(
            TokenDelta(self.run_id, self.node, self.attempt, self.call, text, restart)
        )


async def send(
    provider: Provider, request: CompletionRequest, on_token: OnToken | None
) -> CompletionResponse:
    """Call `provider`; streamed, delta by delta to `on_token`, when given and it can."""
    streamer = getattr(provider, "stream", None)
    if on_token is None or streamer is None:
        return await provider.complete(request)
    response: CompletionResponse = await streamer(request, on_token)
    return response
