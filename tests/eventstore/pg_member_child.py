"""A member process for the kill tests: a `Member` wired as `agentos worker` wires it
(lifecycle lines on stderr), whose listener also records every acknowledged event.

    python pg_member_child.py URL ACKS CAPACITY TTL

Each batch the supervisor acknowledges is written to ACKS as lines `run seq sha256`
(the hash of the event's stored JSON), in one `write` call right after the ack and
before the batch's effects: a kill -9 keeps every line already written (the page cache
outlives the process), so the file lists what the member saw acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import sys
from collections.abc import Sequence

from agentos.agents import AgentRegistry
from agentos.cluster import Member
from agentos.events.codec import encode
from agentos.events.model import Envelope
from agentos.eventstore.postgres import PostgresEventStore
from agentos.observe.lifecycle import LifecycleLog
from agentos.observe.logformat import log_lines
from agentos.state import RunState


def digest(line: bytes) -> str:
    """The hash the ack files carry for an event's stored JSON."""
    return hashlib.sha256(line).hexdigest()[:24]


class AckFile:
    """Appends `run seq hash` lines for each acknowledged batch, one write per batch."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def listen(self, events: Sequence[Envelope], state: RunState) -> None:
        lines = "".join(f"{e.run_id} {e.seq} {digest(encode(e))}\n" for e in events)
        os.write(self.fd, lines.encode())


async def main(url: str, acks: str, capacity: int, ttl: float) -> None:
    store = PostgresEventStore(url)
    lifecycle = LifecycleLog()
    member = Member(
        store,
        AgentRegistry(),
        capacity=capacity,
        ttl=ttl,
        listeners=[AckFile(acks).listen, lifecycle.listen],
        on_taken_over=lambda state: lifecycle.taken_over(state, store.owner),
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, member.stop)
    try:
        await member.run()
    finally:
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGTERM)
        await store.close()


if __name__ == "__main__":
    with log_lines("text", "agentos"):
        asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
