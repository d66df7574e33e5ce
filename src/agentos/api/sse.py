"""Server-sent events: a run's events as `id: <seq>` / `data: <json>` frames."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from agentos.events.codec import to_dict
from agentos.eventstore.base import EventStore

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(seq: int, kind: str, data: bytes) -> bytes:
    """One SSE frame."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, kind.encode(), data)


def resume_after(after: int, last_event_id: str | None) -> int:
    """Where a stream starts: after the `after` seq or the client's Last-Event-ID."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        try:
            return max(after, int(last_event_id.strip()))
        except ValueError:  # digits int() refuses ("²") or too many of them
            return after
    return after


async def stream(
    store: EventStore, run_id: str, after: int, ended: bool = False
) -> AsyncIterator[bytes]:
    """The run's events after `after`, live, ending after the terminal event.

    Each event is a plain `message` frame; a last `end` frame tells EventSource clients
    that the run is over, so they close instead of reconnecting. `ended`: the run has
    ended and `after` is at or past its terminal event, so there is nothing to follow.
    """
    yield b"retry: 1000\n\n"
    last = after
    if ended:
        yield frame(last, "end", b"{}")
        return
    async for event in store.follow(run_id, after):
        last = event.seq
        yield frame(event.seq, "message", orjson.dumps(to_dict(event)))
    yield frame(last, "end", b"{}")
