"""The runs list, live: the summary of each run that appeared or changed, as
server-sent events, found by comparing the listing with the one sent before."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
from pydantic import BaseModel

log = logging.getLogger(__name__)

#: how often the listing is compared with the last one sent
TICK = 0.5
#: a comment frame this often keeps proxies from closing an idle stream
KEEPALIVE = 15.0


async def run_changes(
    listing: Callable[[], Awaitable[Sequence[Any]]],
    summary: Callable[[Any], BaseModel],
    disconnected: Callable[[], Awaitable[bool]],
    tick: float = TICK,
) -> AsyncIterator[bytes]:
    """`run` frames with the summary of each run that is new or changed since the
    stream began (or since its last frame), `removed` frames with the id of each run
    that is gone; nothing for what was there at the start: the client reads that from
    GET /runs. Ends when the client goes away, or when the listing fails (the server
    is stopping): an EventSource client connects again."""
    yield b"retry: 1000\n\n"
    sent = _keys(await listing(), summary)
    quiet = 0.0
    while not await disconnected():
        await asyncio.sleep(tick)
        try:
            now = _keys(await listing(), summary)
        except Exception as exc:  # the store closed (the server stops): the client retries
            log.warning("runs stream ended: %s", exc)
            return
        frames = [
            b"event: run\ndata: %s\n\n" % blob
            for run_id, blob in now.items()
            if sent.get(run_id) != blob
        ]
        frames += [
            b"event: removed\ndata: %s\n\n" % orjson.dumps({"run_id": run_id})
            for run_id in sent
            if run_id not in now
        ]
        sent = now
        quiet = 0.0 if frames else quiet + tick
        if quiet >= KEEPALIVE:
            frames, quiet = [b": keepalive\n\n"], 0.0
        if frames:
            yield b"".join(frames)


def _keys(runs: Sequence[Any], summary: Callable[[Any], BaseModel]) -> dict[str, bytes]:
    """Each run's summary as JSON bytes, by run id."""
    found: dict[str, bytes] = {}
    for run in runs:
        doc = summary(run)
        found[str(getattr(doc, "run_id", ""))] = doc.model_dump_json().encode()
    return found
