"""`RunLog`: the one writer's handle on a run's log (open, append, release)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence

from agentos.events.model import Envelope
from agentos.eventstore.base import EventStore, StoreError


class RunLog:
    """Write access to one run's log, held by whoever drives the run.

    `open` takes an existing log (read, checked and locked: a second owner, in this
    process or another, is refused there with RunLockedError); `new` is a run whose log
    does not exist yet: its first append creates it and takes the same lock, so a name
    taken meanwhile is refused by that append. Each append continues the log after the
    last seq this handle appended; `release` lets other writers in.
    """

    def __init__(self, store: EventStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.released = False

    @classmethod
    async def open(cls, store: EventStore, run_id: str) -> RunLog:
        """Own the existing log of `run_id` (off the loop: it reads the log)."""
        await store.prepare(run_id)
        return cls(store, run_id)

    @classmethod
    def new(cls, store: EventStore, run_id: str) -> RunLog:
        """Own the log a new run's first append creates."""
        return cls(store, run_id)

    def submit(self, events: Sequence[Envelope]) -> concurrent.futures.Future[int]:
        """Append `events` (seqs following the log's last): resolves once stored."""
        if self.released:
            raise StoreError(f"run {self.run_id}: its log was released by this owner")
        return self.store.submit(self.run_id, events, events[0].seq - 1 if events else 0)

    async def release(self) -> None:
        """Give the log up (idempotent): other writers may take it from now on."""
        if not self.released:
            self.released = True
            await self.store.release(self.run_id)
