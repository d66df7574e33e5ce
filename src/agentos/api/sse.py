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


async def stream(
    store: EventStore,
    run_id: str,
    after: int,
    ended: bool = False,
    stall: StallWatch | None = None,
) -> AsyncIterator[bytes]:
    """The run's events after `after`, live, ending after the terminal event.

    Each event is a plain `message` frame; a last `end` frame tells EventSource clients
    that the run is over, so they close instead of reconnecting. `ended`: the run has
    ended and `after` is at or past its terminal event, so there is nothing to follow.
    When `stall` gives an error (an append failed), the events stored before it are
    sent, then a last `error` frame: `{"status": "stalled", "error": ..., "code": ...}`.
    """
    yield b"retry: 1000\n\n"
    last = after
    if ended:
        yield frame(last, "end", b"{}")
        return
    follow = aiter(store.follow(run_id, after))
    try:
        while (item := await _next(follow, stall)) is not None:
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
        await follow.aclose()  # type: ignore[attr-defined]
    yield frame(last, "end", b"{}")


async def _next(
    follow: AsyncIterator[Envelope], stall: StallWatch | None
) -> Envelope | RunStalledError | None:
    """The next event of `follow` (None at its end), or the stall if it comes first."""

    async def pull() -> Envelope | None:
        return await anext(follow, None)

    step = asyncio.ensure_future(pull())
    try:
        if stall is not None:
            either: set[asyncio.Future[Any]] = {step, stall}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            error = stall.result() if stall.done() and not step.done() else None
            if error is not None:
                step.cancel()
                await asyncio.wait({step})
                return error
        return await step
    except BaseException:  # the client went away: the follow must be idle to be closed
        step.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait({step})
        raise
