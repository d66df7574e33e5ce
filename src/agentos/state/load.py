"""Folding a run straight from an event store."""

from __future__ import annotations

from agentos.eventstore.base import EventStore
from agentos.state.fold import Folding
from agentos.state.run_state import RunState


async def load_state(store: EventStore, run_id: str, upto: int | str | None = None) -> RunState:
    """The run's state folded from the store, up to a seq or just before a step."""
    folding = Folding(upto)
    async for event in store.read(run_id):
        if not folding.feed(event):
            break
    return folding.result(run_id)
