"""Store acknowledgements handed to the supervisor in bunches, one message per bunch."""

from __future__ import annotations

import concurrent.futures
from collections import deque
from collections.abc import Callable
from typing import Any

import pykka

from agentos.actors.messages import Acked, AcksDue
from agentos.eventstore.base import EventStore


class AckQueue:
    """Collects the outcome of appends as the store resolves them, for the actor.

    A group commit resolves many appends at once. Rather than one message per append,
    outcomes are queued as they resolve, and the store's commit hook (run where the
    group was resolved: the loop that submitted it, or the store's thread) tells the
    actor once per group: `AcksDue`.
    """

    def __init__(self, tell: Callable[[Any], None], store: EventStore | None = None) -> None:
        self._tell = tell
        self._queue: deque[Acked] = deque()
        self._due = False  # an AcksDue is on its way: later outcomes ride along
        self._unhook = store.on_commit(self.wake) if store is not None else lambda: None

    def watch(self, run_id: str, future: concurrent.futures.Future[int]) -> None:
        """Queue the append's outcome for the actor once the store resolves it."""
        future.add_done_callback(lambda f: self._queue.append(Acked(run_id, f)))
        if future.done():  # resolved before the callback was added: it ran here, now
            self.wake()

    def wake(self) -> None:
        """Tell the actor, unless nothing is queued or a message is already on its way.

        The store's commit hook (any thread), called after it resolved a group."""
        if self._queue and not self._due:
            self._due = True
            try:
                self._tell(AcksDue())
            except pykka.ActorDeadError:  # the actor stopped on a failure: stop listening
                self.close()

    def close(self) -> None:
        """Stop hearing from the store."""
        self._unhook()

    def drain(self) -> list[Acked]:
        """In the actor: every outcome queued so far, in arrival order."""
        self._due = False  # reset before draining: an ack queued after this wakes again
        acks = []
        while self._queue:
            acks.append(self._queue.popleft())
        return acks
