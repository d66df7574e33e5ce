"""Server-sent events: a run's events as `id: <seq>` / `data: <json>` frames."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from agentos.actors.stall import RunStalledError
from agentos.events.codec import to_dict
from agentos.events.model import Envelope
from agentos.eventstore.base import EventStore
from agentos.routing.streaming import FEED, TokenDelta, TokenFeed

#: what a stream waits on besides the log: the run's stall, or None once it ended
StallWatch = asyncio.Future[RunStalledError | None]

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(seq: int, kind: str, data: bytes) -> bytes:
    """One SSE frame."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, kind.encode(), data)


def event_frame(event: Envelope) -> bytes:
    """The event's `message` frame; an `error` frame naming it if it cannot be JSON."""
    try:
        return frame(event.seq, "message", orjson.dumps(to_dict(event)))
    except (TypeError, ValueError) as exc:  # e.g. an integer beyond 64 bits in an old log
        data = {"status": "error", "error": f"event {event.seq} cannot be sent: {exc}"}
        return frame(event.seq, "error", orjson.dumps(data))


def resume_after(after: int, last_event_id: str | None) -> int:
    """Where a stream starts: after the `after` seq or the client's Last-Event-ID."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        try:
            return max(after, int(last_event_id.strip()))
        except ValueError:  # digits int() refuses ("²") or too many of them
            return after
    return after


def token_frame(delta: TokenDelta) -> bytes:
    """A live token delta's `token` frame: no id, so a reconnect resumes by event seq."""
    return b"event: token\ndata: %s\n\n" % orjson.dumps(delta.to_json())


async def stream(
    store: EventStore,
    run_id: str,
    after: int,
    ended: bool = False,
    stall: StallWatch | None = None,
    feed: TokenFeed = FEED,
) -> AsyncIterator[bytes]:
    """The run's events after `after`, live, ending after the terminal event.

    Each event is a plain `message` frame; a last `end` frame tells EventSource clients
    that the run is over, so they close instead of reconnecting. `ended`: the run has
    ended and `after` is at or past its terminal event, so there is nothing to follow.
    When `stall` gives an error (an append failed), the events stored before it are
    sent, then a last `error` frame: `{"status": "stalled", "error": ..., "code": ...}`.
    Between them, the deltas of streamed model calls (`feed`) as `token` frames: live
    only, never in the log.
    """
    yield b"retry: 1000\n\n"
    last = after
    if ended:
        yield frame(last, "end", b"{}")
        return
    tokens: asyncio.Queue[TokenDelta] = asyncio.Queue()
    follow = aiter(store.follow(run_id, after))
    waits = _Waits(follow, stall, tokens)
    try:
        with feed.listen(run_id, tokens.put_nowait):
            while (item := await waits.next()) is not None:
                if isinstance(item, TokenDelta):
                    yield token_frame(item)
                    continue
                if isinstance(item, RunStalledError):
                    async for event in store.read(run_id, after_seq=last):
                        last = event.seq
                        yield event_frame(event)
                    data = {"status": "stalled", "error": item.reason, "code": item.code}
                    yield frame(last, "error", orjson.dumps(data))
                    return
                last = item.seq
                yield event_frame(item)
    finally:
        await waits.close()
        await follow.aclose()  # type: ignore[attr-defined]
    yield frame(last, "end", b"{}")


class _Waits:
    """The next of: an event of `follow` (None at its end), the stall, a token delta.

    A pending read of `follow` is kept across calls (a delta may come first), and
    cancelled only on close: the follow must be idle to be closed."""

    def __init__(
        self,
        follow: AsyncIterator[Envelope],
        stall: StallWatch | None,
        tokens: asyncio.Queue[TokenDelta],
    ) -> None:
        self.follow, self.stall, self.tokens = follow, stall, tokens
        self._step: asyncio.Future[Envelope | None] | None = None
        self._token: asyncio.Future[TokenDelta] | None = None

    async def _pull(self) -> Envelope | None:
        return await anext(self.follow, None)

    async def next(self) -> Envelope | RunStalledError | TokenDelta | None:
        while True:
            if self._step is None:
                self._step = asyncio.ensure_future(self._pull())
            if self._token is None:
                self._token = asyncio.ensure_future(self.tokens.get())
            step, token = self._step, self._token
            either: set[asyncio.Future[Any]] = {step, token}
            stall = self.stall
            # a stall that came already wakes the wait at once; an end without one never
            if stall is not None and (not stall.done() or stall.result() is not None):
                either.add(stall)
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if step.done():  # the log first: a delta never overtakes its call's event
                self._step = None
                return step.result()
            error = self.stall.result() if self.stall is not None and self.stall.done() else None
            if error is not None:
                await self._stop_step()  # the stored events are read once more instead
                return error
            if token.done():
                self._token = None
                return token.result()

    async def close(self) -> None:
        """Stop the pending reads (the client went away, or the stream ended)."""
        if self._token is not None:
            self._token.cancel()
        await self._stop_step()

    async def _stop_step(self) -> None:
        step, self._step = self._step, None
        if step is not None and not step.done():
            step.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait({step})
